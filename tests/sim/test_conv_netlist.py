"""Post-synthesis netlists (Yosys ``synth_ice40`` / ``synth_ecp5``) of convolutional networks
(:class:`~spikeforge.hdl.conv_layer.ConvLIFLayer` cores, the kernel in block RAM) simulated with
the cocotb testbench, exactly as ``spikeforge cosim NET.sfn --netlist ice40|ecp5``: every step's
spikes and every neuron's state equal ``spikeforge.model.run``, and every step's cycle count
equals the schedule model. iCE40 runs on Icarus; ECP5 on Verilator (Icarus 11 cannot parse
Yosys's ECP5 cell models)."""

import numpy as np
import pytest
from spikeforge.model import run
from spikeforge.sim.cosim import cosim_report
from spikeforge.sim.random_networks import (
    random_conv_network,
    random_residual_network,
    random_spikes,
)

from .conftest import require

pytestmark = [pytest.mark.sim, pytest.mark.synth]


@pytest.mark.parametrize("target,sim,seed,lanes", [
    ("ice40", "icarus", 45, 1),
    # Verilator compiles the ECP5 netlist's C++ for minutes on 2 cores: with the slow tests
    pytest.param("ecp5", "verilator", 48, 2, marks=pytest.mark.slow),
])
def test_conv_netlist_matches_reference(target, sim, seed, lanes):
    require(sim)
    rng = np.random.default_rng(seed)
    network = random_conv_network(rng, lanes, convs=1, dense_out=True, saturating=True)
    conv = network.layers[0].connectivity
    assert conv is not None and conv.conv is not None
    x = np.stack([random_spikes(rng, 8, network.n_in, 0.7)])
    _check_netlist(network, x, sim, lanes, target)


@pytest.mark.parametrize("target,sim,seed,lanes,source", [
    ("ice40", "icarus", 46, 2, 0),
    pytest.param("ecp5", "verilator", 47, 1, -1, marks=pytest.mark.slow),
])
def test_residual_netlist_matches_reference(target, sim, seed, lanes, source):
    require(sim)
    rng = np.random.default_rng(seed)
    network = random_residual_network(rng, lanes, source=source, dense_out=True,
                                      saturating=True)
    x = np.stack([random_spikes(rng, 8, network.n_in, 0.7)])
    _check_netlist(network, x, sim, lanes, target)


def _check_netlist(network, x, sim, lanes, target):
    report = cosim_report(network, x, sim, lanes=lanes, netlist=target)
    assert report["design"] == f"{target} netlist" and report["harness"] == "cocotb"
    assert (report["mismatches"], report["first_mismatch"]) == (0, None)
    assert report["values_compared"] > 0 and report["probe_order_ok"]
    assert report["cycle_mismatches"] == 0
    assert report["cycles_predicted"] == report["cycles_measured"] > 0
    assert report["counters"]["out_events"] == int(run(network, x).spikes[-1].sum())
