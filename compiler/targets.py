"""What a compile target offers: logic, block RAM and DSP budgets of the FPGA on each board.

Numbers are the device datasheets' (Lattice iCE40 UltraPlus UP5K: 5,280 LUT4, 30 EBR of
4 kbit, 8 DSP; ECP5 LFE5U-85F: 83,640 LUT4, 208 EBR of 18 kbit, 156 18×18 multipliers). The
cores never use a DSP; the budget is listed so reports can say so.
"""

from typing import NamedTuple

__all__ = ["TARGETS", "Target", "get_target"]


class Target(NamedTuple):
    name: str
    device: str
    luts: int | None  #: LUT4s, None for unlimited
    bram_blocks: int | None  #: block RAMs, None for unlimited
    bram_block_bits: int  #: bits of one block RAM
    dsps: int | None
    family: str | None  #: Yosys synthesis family, None for generic

    def to_dict(self):
        return self._asdict()


TARGETS = {
    "icebreaker": Target("icebreaker", "iCE40UP5K-SG48", 5280, 30, 4096, 8, "ice40"),
    "ulx3s-85f": Target("ulx3s-85f", "LFE5U-85F-CABGA381", 83640, 208, 18432, 156, "ecp5"),
    "generic": Target("generic", "any", None, None, 18432, None, None),
}


def get_target(name) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None
