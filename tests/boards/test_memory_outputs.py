"""``memory_outputs`` on hand-made netlists: a memory is listed when any of its read data bits
drives something other than a flip-flop's data input."""

import pytest
from spikeforge.boards.memory_outputs import memory_outputs


def _cell(kind, connections, directions):
    return {"type": kind, "connections": connections, "port_directions": directions}


def _netlist(*, weight_sink, spram_sink):
    """A DP16KD whose DO0 drives a flip-flop and ``weight_sink``; an iCE40 SPRAM whose
    DATAOUT drives ``spram_sink``."""
    cells = {
        "top.w.0.0": _cell("DP16KD", {"DOB0": [10], "DOB1": ["x"], "ADB0": [2]},
                           {"DOB0": "output", "DOB1": "output", "ADB0": "input"}),
        "top.w.0.1": _cell("DP16KD", {"DOB0": [11]}, {"DOB0": "output"}),
        "top.c.spram": _cell("SB_SPRAM256KA", {"DATAOUT": [20]}, {"DATAOUT": "output"}),
        "ff0": _cell("TRELLIS_FF", {"DI": [10], "Q": [30]}, {"DI": "input", "Q": "output"}),
        "ff1": _cell("TRELLIS_FF", {"DI": [11], "Q": [31]}, {"DI": "input", "Q": "output"}),
        "sink": _cell(weight_sink[0], {weight_sink[1]: [10], "Z": [32]},
                      {weight_sink[1]: "input", "Z": "output"}),
        "sink2": _cell(spram_sink[0], {spram_sink[1]: [20], "Q": [33]},
                       {spram_sink[1]: "input", "Q": "output"}),
    }
    return {"modules": {"top": {"cells": cells}}}


def test_memories_whose_data_reach_only_flip_flops_are_not_listed():
    netlist = _netlist(weight_sink=("TRELLIS_FF", "DI"), spram_sink=("SB_DFFE", "D"))
    assert memory_outputs(netlist, "top") == {
        "cells": 3, "memories": ["top.c", "top.w"], "registered": [], "through_logic": []}


@pytest.mark.parametrize("weight_sink", [("LUT4", "A"), ("TRELLIS_FF", "CE"),
                                         ("TRELLIS_FF", "LSR")])
def test_a_memory_whose_data_passes_logic_or_a_control_input_is_listed(weight_sink):
    netlist = _netlist(weight_sink=weight_sink, spram_sink=("SB_LUT4", "I0"))
    assert memory_outputs(netlist, "top")["through_logic"] == ["top.c", "top.w"]


def test_a_block_ram_read_through_its_output_register_may_drive_logic():
    """Port B's data come from the DP16KD's output register (``hdl/weight_bram.py``); port A's
    do not, so logic behind them still lists the memory."""
    netlist = _netlist(weight_sink=("LUT4", "A"), spram_sink=("SB_DFFE", "D"))
    cells = netlist["modules"]["top"]["cells"]
    for name in ("top.w.0.0", "top.w.0.1"):
        cells[name.replace(".0.", ".dp16kd_0_")] = dict(cells.pop(name),
                                                        parameters={"REGMODE_B": "OUTREG"})
    assert memory_outputs(netlist, "top") == {
        "cells": 3, "memories": ["top.c", "top.w"], "registered": ["top.w"], "through_logic": []}
    for name in ("top.w.dp16kd_0_0", "top.w.dp16kd_0_1"):
        cells[name]["parameters"] = {"REGMODE_A": "OUTREG", "REGMODE_B": "NOREG"}
    assert memory_outputs(netlist, "top")["through_logic"] == ["top.w"]


def test_a_missing_module_is_named():
    with pytest.raises(ValueError, match="no module 'core'"):
        memory_outputs({"modules": {}}, "core")
