"""``spikeforge cosim``: one JSON object on stdout with the counts, exit status 0 when exact."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import NeuronKind, save_network
from spikeforge.sim.random_networks import random_network

from .conftest import require

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("sim", ["amaranth", "icarus"])
def test_cosim_json_report(sim, tmp_path, capsys):
    if sim != "amaranth":
        require(sim)
    network = random_network(np.random.default_rng(5), 2, layers=2,
                             kinds=(NeuronKind.LIF, NeuronKind.IF), saturating=True)
    path = tmp_path / "net.sfn"
    save_network(network, path)
    status = main(["cosim", str(path), "--sim", sim, "--lanes", "2", "--steps", "12",
                   "--samples", "2", "--seed", "3", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["mismatches"] == 0 and report["first_mismatch"] is None
    assert report["steps"] == 24
    assert report["neuron_steps_compared"] == 24 * sum(ly.params.n for ly in network.layers)
    assert report["cycles_measured"] == report["cycles_predicted"] > 0
    assert report["synaptic_operations"] == report["counters"]["synops"]
    assert 0 < report["sop_per_lane_per_cycle"] <= 1.0


def test_cosim_refuses_lanes_that_do_not_divide(tmp_path, capsys):
    network = random_network(np.random.default_rng(5), 2, layers=1, kinds=(NeuronKind.LIF,))
    path = tmp_path / "net.sfn"
    save_network(network, path)
    lanes = network.layers[0].params.n + 1
    status = main(["cosim", str(path), "--sim", "amaranth", "--lanes", str(lanes), "--json"])
    assert status == 2
    assert "lanes" in capsys.readouterr().err


@pytest.mark.synth
def test_cosim_runs_the_ice40_netlist(tmp_path, capsys):
    """``--netlist ice40``: the synthesized netlist, not the RTL, is what gets compared."""
    require("icarus")
    network = random_network(np.random.default_rng(8), 1, layers=1, kinds=(NeuronKind.LIF,))
    path = tmp_path / "net.sfn"
    save_network(network, path)
    status = main(["cosim", str(path), "--sim", "icarus", "--netlist", "ice40", "--steps", "8",
                   "--samples", "1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["design"] == "ice40 netlist"
    assert report["mismatches"] == 0 and report["cycle_mismatches"] == 0
    assert report["neuron_steps_compared"] == 8 * network.layers[0].params.n


def test_netlist_is_refused_on_the_amaranth_simulator(tmp_path, capsys):
    network = random_network(np.random.default_rng(8), 1, layers=1, kinds=(NeuronKind.LIF,))
    path = tmp_path / "net.sfn"
    save_network(network, path)
    status = main(["cosim", str(path), "--sim", "amaranth", "--netlist", "ice40", "--json"])
    assert status == 2
    assert "netlist runs on verilator or icarus" in capsys.readouterr().err
