"""The device ceiling probe: a block-RAM read into a register, placed and routed for real."""

import json

import pytest
from spikeforge.boards import board_platform
from spikeforge.boards.ceiling import BlockRAMReadProbe, measure_ceiling

from .test_build import _need_tools

pytestmark = pytest.mark.synth


def _block_ram_modes(netlist):
    """REGMODE_A of every DP16KD cell of a Yosys JSON netlist."""
    cells = [cell for module in json.loads(netlist.read_text())["modules"].values()
             for cell in module["cells"].values() if cell["type"] == "DP16KD"]
    return [cell["parameters"]["REGMODE_A"] for cell in cells]


def test_the_up5k_block_ram_read_is_the_probes_critical_path(tmp_path):
    _need_tools()
    result = measure_ceiling(board_platform("icebreaker"), tmp_path)
    # the read's own path, nothing slower in front of it: the clock-to-data of SB_RAM40_4K
    assert result["block_ram_source"] and "RAM" in result["source"]
    assert result["fmax_mhz"] == pytest.approx(
        1000 / (result["logic_ns"] + result["routing_ns"]), rel=0.01)


def test_the_ecp5_output_register_takes_the_block_ram_off_the_critical_path(tmp_path):
    _need_tools()
    one_cycle = measure_ceiling(board_platform("ulx3s-85f"), tmp_path / "one")
    two_cycle = measure_ceiling(board_platform("ulx3s-85f"), tmp_path / "two",
                                output_register=True)
    assert _block_ram_modes(tmp_path / "one" / "probe.json") == ["NOREG"]
    assert _block_ram_modes(tmp_path / "two" / "probe.json") == ["OUTREG"]
    assert one_cycle["block_ram_source"] and two_cycle["block_ram_source"]
    # the one-cycle read's clock-to-data is most of its period; the output register's is not
    assert one_cycle["clock_to_out_ns"] > 2 * one_cycle["routing_ns"]
    assert two_cycle["clock_to_out_ns"] < one_cycle["clock_to_out_ns"] / 3
    assert two_cycle["fmax_mhz"] > 2 * one_cycle["fmax_mhz"]


def test_only_the_ecp5_probe_takes_an_output_register():
    from amaranth.hdl import Fragment

    with pytest.raises(ValueError, match="only the ECP5's DP16KD has an output register"):
        Fragment.get(BlockRAMReadProbe(output_register=True), board_platform("icebreaker"))
