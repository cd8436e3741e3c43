"""What a compile target offers: logic, block RAM and DSP budgets of the FPGA on each board.

Numbers are the device datasheets' (Lattice iCE40 UltraPlus UP5K: 5,280 LUT4, 30 EBR of
4 kbit, 4 SPRAM of 256 kbit, 8 DSP; ECP5 LFE5U-85F: 83,640 LUT4, 208 EBR of 18 kbit, 156 18×18
multipliers). A block RAM holds a memory in one of its aspect ratios (``bram_shapes``, depth ×
width): iCE40 ``SB_RAM40_4K`` 256×16 … 2048×2, ECP5 ``DP16KD`` 512×36 … 16384×1. The network
cores never use a DSP (the budget is listed so reports can say so). The UP5K's SPRAM holds the
board's host-link buffers (``hdl/link_ram.py``) and, where the block RAMs cannot hold a design,
its largest weight memories (``hdl/weight_spram.py``,
:func:`spikeforge.compiler.resources.spram_plan`).
"""

from typing import NamedTuple

__all__ = ["TARGETS", "Target", "get_target"]

ICE40_SHAPES = ((256, 16), (512, 8), (1024, 4), (2048, 2))
ECP5_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


class Target(NamedTuple):
    name: str
    device: str
    luts: int | None  #: LUT4s, None for unlimited
    bram_blocks: int | None  #: block RAMs, None for unlimited
    bram_block_bits: int  #: bits of one block RAM
    bram_shapes: tuple  #: (depth, width) configurations of one block RAM
    dsps: int | None
    family: str | None  #: Yosys synthesis family, None for generic
    spram_blocks: int = 0  #: UltraPlus single-port RAMs (link buffers; weights where needed)
    spram_block_bits: int = 0

    def to_dict(self):
        data = self._asdict()
        data["bram_shapes"] = [list(s) for s in self.bram_shapes]
        return data


TARGETS = {
    "icebreaker": Target("icebreaker", "iCE40UP5K-SG48", 5280, 30, 4096, ICE40_SHAPES, 8, "ice40",
                         spram_blocks=4, spram_block_bits=256 * 1024),
    "ulx3s-85f": Target("ulx3s-85f", "LFE5U-85F-CABGA381", 83640, 208, 18432, ECP5_SHAPES, 156,
                        "ecp5"),
    "generic": Target("generic", "any", None, None, 18432, ECP5_SHAPES, None, None),
}


def get_target(name) -> Target:
    if isinstance(name, Target):
        return name
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None
