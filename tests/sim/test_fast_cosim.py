"""The C++ harness on Verilator (:mod:`spikeforge.sim.verilator_fast`) sees exactly what the
cocotb testbench sees: the same probe records, output events, per-step cycle counts and
counters, value by value, on the same build inputs; and the CLI drives it."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import save_network
from spikeforge.sim.cosim import cosim_report, hardware_trace
from spikeforge.sim.random_networks import feature_network, random_spikes

from .conftest import require
from .test_cocotb_cosim import VERILATOR_CASES, case, check_report

pytestmark = pytest.mark.sim


def _same(a, b):
    assert np.array_equal(a.output, b.output)
    for name in ("spikes", "i", "u", "b"):
        for got, want in zip(getattr(a, name), getattr(b, name), strict=True):
            assert np.array_equal(got, want), name
    assert np.array_equal(a.step_cycles, b.step_cycles)
    assert a.counters == b.counters
    assert a.probe_order_ok and b.probe_order_ok


@pytest.mark.parametrize("gap", [0, 3])
def test_the_cpp_harness_sees_what_cocotb_sees(gap):
    require("verilator")
    seed, lanes, kinds, saturating = VERILATOR_CASES[0]
    network, x = case(seed, lanes, kinds, saturating, samples=3)
    seen = []
    fast, _ = hardware_trace(network, x, "verilator", lanes, gap, harness="c++",
                             progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]  # each sample as it finishes
    slow, _ = hardware_trace(network, x, "verilator", lanes, gap, harness="cocotb")
    _same(fast, slow)


def test_the_cpp_harness_on_every_version_2_feature():
    require("verilator")
    rng = np.random.default_rng(61)
    network = feature_network(rng, 4, saturating=True)
    x = np.stack([random_spikes(rng, 16, network.n_in, 0.6) for _ in range(3)])
    report = cosim_report(network, x, "verilator", lanes=4)
    assert report["harness"] == "c++"
    check_report(network, x, report)


def test_a_harness_a_simulator_cannot_use_is_refused():
    network, x = case(*VERILATOR_CASES[0])
    for sim, netlist in (("icarus", None), ("verilator", "ice40")):
        with pytest.raises(ValueError, match=r"C\+\+ harness runs Verilator on the RTL only"):
            hardware_trace(network, x, sim, netlist=netlist, harness="c++")
    for harness in ("c++", "cocotb"):
        with pytest.raises(ValueError, match="Amaranth simulator runs the design itself"):
            hardware_trace(network, x, "amaranth", harness=harness)


def test_cosim_cli_runs_every_test_sample_on_the_cpp_harness(tmp_path, capsys):
    """``--samples all`` on a dataset network: the whole digits test set is compared (a small
    network on the digits inputs keeps it quick); a network without a dataset is refused."""
    require("verilator")
    from spikeforge.datasets import load_dataset
    from spikeforge.model import Layer, LayerParams, Network

    data = load_dataset("digits", steps=8)
    rng = np.random.default_rng(3)
    layer = Layer(LayerParams(data.n_in, 10, theta=60), rng.integers(-20, 40, (10, data.n_in)),
                  name="out")
    network = Network((layer,), data.encoding, name="digits-tiny",
                      metadata={"dataset": "digits"})
    netfile = save_network(network, tmp_path / "tiny.sfn")
    assert main(["cosim", str(netfile), "--samples", "all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["harness"] == "c++" and report["samples"] == len(data.y_test) == 360
    assert report["mismatches"] == 0 and report["cycle_mismatches"] == 0
    bare = save_network(Network((layer,), data.encoding, name="bare"), tmp_path / "bare.sfn")
    assert main(["cosim", str(bare), "--samples", "all"]) == 2
    assert "--samples all needs a network trained on a dataset" in capsys.readouterr().err


def test_cached_build_keeps_the_executable_not_the_intermediates(tmp_path, monkeypatch):
    """A cached C++-harness build keeps its executable and sources, not Verilator's precompiled
    headers and object files (about 150 MB a design before): a sweep of hundreds of designs
    no longer fills the disk, and the cached build still runs."""
    from spikeforge.hdl.verilog import generate_verilog
    from spikeforge.sim.verilator_fast import _build

    require("verilator")
    monkeypatch.setenv("SPIKEFORGE_CACHE", str(tmp_path))
    network = feature_network(np.random.default_rng(3), 1)
    executable = _build(generate_verilog(network), len(network.layers))
    assert executable.exists()
    left = sorted(p.name for p in executable.parent.iterdir()
                  if p.suffix in (".gch", ".o", ".a"))
    assert left == []
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) < 20 * 2**20
    assert _build(generate_verilog(network), len(network.layers)) == executable
    x = random_spikes(np.random.default_rng(4), 6, network.n_in, 0.5)[None]
    check_report(network, x, cosim_report(network, x, "verilator"))
