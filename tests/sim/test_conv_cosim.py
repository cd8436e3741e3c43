"""cocotb co-simulation of convolutional and residual networks (the generated Verilog of
:class:`~spikeforge.hdl.conv_layer.ConvLIFLayer` cores) on Verilator and Icarus against
``spikeforge.model.run``: every step's spikes, every neuron's i, u, b, s, by equality, and every
step's ``step_cycles`` against the schedule model."""

import numpy as np
import pytest
from spikeforge.sim.cosim import cosim_report
from spikeforge.sim.random_networks import (
    random_conv_network,
    random_residual_network,
    random_spikes,
)

from .conftest import require
from .test_cocotb_cosim import check_report

pytestmark = pytest.mark.sim

#: (seed, lanes, convolutional layers, dense readout, saturating)
VERILATOR_CASES = [
    (31, 1, 2, True, False),
    (32, 2, 2, False, True),
    (33, 2, 1, True, False),
]
ICARUS_CASES = [
    (41, 1, 1, False, True),
    (42, 2, 2, True, False),
]


def case(seed, lanes, convs, dense_out, saturating, *, samples=2, steps=12):
    rng = np.random.default_rng(seed)
    network = random_conv_network(rng, lanes, convs=convs, dense_out=dense_out,
                                  saturating=saturating)
    rate = 0.9 if saturating else 0.5
    x = np.stack([random_spikes(rng, steps, network.n_in, rate) for _ in range(samples)])
    return network, x


@pytest.mark.parametrize("seed,lanes,convs,dense_out,saturating", VERILATOR_CASES)
def test_verilator_conv_matches_reference(seed, lanes, convs, dense_out, saturating):
    require("verilator")
    network, x = case(seed, lanes, convs, dense_out, saturating)
    assert any(layer.output_shape is not None for layer in network.layers)
    check_report(network, x, cosim_report(network, x, "verilator", lanes=lanes))


@pytest.mark.parametrize("seed,lanes,convs,dense_out,saturating", ICARUS_CASES)
def test_icarus_conv_matches_reference(seed, lanes, convs, dense_out, saturating):
    require("icarus")
    network, x = case(seed, lanes, convs, dense_out, saturating)
    check_report(network, x, cosim_report(network, x, "icarus", lanes=lanes))


@pytest.mark.parametrize("sim,seed,lanes,source", [
    ("verilator", 61, 2, 0),
    ("verilator", 62, 1, -1),
    ("icarus", 63, 2, -1),
    ("icarus", 64, 1, 0),
])
def test_residual_network_matches_reference(sim, seed, lanes, source):
    """A residual block (its join from a layer or from the input) and a dense readout, two
    samples cleared between: every value and cycle."""
    require(sim)
    rng = np.random.default_rng(seed)
    network = random_residual_network(rng, lanes, source=source, dense_out=True)
    x = np.stack([random_spikes(rng, 12, network.n_in, 0.6) for _ in range(2)])
    assert network.layers[1].shortcut.source == source
    check_report(network, x, cosim_report(network, x, sim, lanes=lanes))
