"""cocotb co-simulation of the generated Verilog on Verilator and Icarus against
``spikeforge.model.run``: every step's spikes and every neuron's i, u, b, s by equality, and the
``step_cycles`` counter of every step against the schedule model.

Verilator builds cost tens of seconds each (cached per design afterwards), so Verilator gets a
few networks chosen to cover every variant, saturation and 1, 2, 4 lanes; Icarus builds in about
a second and gets more.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.model import NeuronKind, run
from spikeforge.sim.cosim import cosim_report
from spikeforge.sim.random_networks import feature_network, random_network, random_spikes

from .conftest import require

pytestmark = pytest.mark.sim

L, IF, LIF, LI, ALIF = None, NeuronKind.IF, NeuronKind.LIF, NeuronKind.LI, NeuronKind.ALIF

#: (seed, lanes, layer kinds, saturating) — together: every kind, saturation, 1/2/4 lanes
VERILATOR_CASES = [
    (11, 1, (LIF, ALIF), True),
    (12, 2, (IF, LI), False),
    (13, 4, (ALIF, LIF, LIF), True),
]
ICARUS_CASES = [
    (21, 1, (LIF,), False),
    (22, 1, (IF, ALIF), True),
    (23, 2, (ALIF, LI), True),
    (24, 2, (LIF, IF, LIF), False),
    (25, 4, (IF, LIF), True),
    (26, 4, (LIF, LI), False),
]


def case(seed, lanes, kinds, saturating, *, samples=2, steps=24):
    rng = np.random.default_rng(seed)
    network = random_network(rng, lanes, layers=len(kinds), kinds=kinds, saturating=saturating)
    rate = 0.9 if saturating else 0.4
    x = np.stack([random_spikes(rng, steps, network.n_in, rate) for _ in range(samples)])
    return network, x


def check_report(network, x, report):
    """Everything the co-simulation reports must agree with the reference exactly."""
    trace = run(network, x)
    neurons = sum(layer.params.n for layer in network.layers)
    assert report["first_mismatch"] is None
    assert report["mismatches"] == 0
    assert report["probe_order_ok"]
    assert report["cycle_mismatches"] == 0
    assert report["cycles_measured"] == report["cycles_predicted"]
    assert report["neuron_steps_compared"] == neurons * x.shape[0] * x.shape[1]
    assert report["unresolved_counters"] == []
    counters = report["counters"]
    assert counters["steps"] == x.shape[0] * x.shape[1]
    assert counters["in_events"] == int(x.sum())
    assert counters["out_events"] == int(trace.spikes[-1].sum())
    assert counters["synops"] == report["synaptic_operations"]
    assert counters["saturations"] == sum(int(s.sum()) for s in trace.saturations)


@pytest.mark.parametrize("seed,lanes,kinds,saturating", VERILATOR_CASES)
def test_verilator_matches_reference(seed, lanes, kinds, saturating):
    require("verilator")
    network, x = case(seed, lanes, kinds, saturating)
    check_report(network, x, cosim_report(network, x, "verilator", lanes=lanes))


@pytest.mark.parametrize("seed,lanes,kinds,saturating", ICARUS_CASES)
def test_icarus_matches_reference(seed, lanes, kinds, saturating):
    require("icarus")
    network, x = case(seed, lanes, kinds, saturating)
    check_report(network, x, cosim_report(network, x, "icarus", lanes=lanes))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), lanes=st.sampled_from([1, 2, 4]),
       layers=st.integers(1, 3), saturating=st.booleans())
def test_icarus_random_networks(seed, lanes, layers, saturating):
    """Any network the generator draws (every kind, reset, recurrence, bias) is exact."""
    require("icarus")
    rng = np.random.default_rng(seed)
    network = random_network(rng, lanes, layers=layers, saturating=saturating)
    x = random_spikes(rng, 16, network.n_in, float(rng.choice([0.3, 1.0])))[None]
    check_report(network, x, cosim_report(network, x, "icarus", lanes=lanes))


@pytest.mark.parametrize("sim,lanes,saturating", [("verilator", 2, True), ("icarus", 1, False)])
def test_version_2_features_match_reference(sim, lanes, saturating):
    """Every version-2 feature on purpose (``feature_network``: decays of 1 to 4 terms,
    reset amount, reset before the leak, input shift, same-step recurrence): every value and
    every step's cycle count."""
    require(sim)
    rng = np.random.default_rng(60 + lanes)
    network = feature_network(rng, lanes, saturating=saturating)
    x = np.stack([random_spikes(rng, 16, network.n_in, 0.6) for _ in range(2)])
    report = cosim_report(network, x, sim, lanes=lanes)
    check_report(network, x, report)
    assert report["counters"]["saturations"] > 0 or not saturating


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_slow_consumer_drops_nothing(sim):
    """Backpressure: full-rate input, a consumer that waits 5 cycles after each output event.
    Reuses a build of the cases above; stalls show up, results stay exact."""
    require(sim)
    seed, lanes, kinds, saturating = (VERILATOR_CASES if sim == "verilator" else ICARUS_CASES)[1]
    network, x = case(seed, lanes, kinds, saturating)
    x[:] = 1  # every input spikes every step
    report = cosim_report(network, x, sim, lanes=lanes, consumer_gap=5)
    trace = run(network, x)
    assert report["mismatches"] == 0
    assert report["counters"]["in_events"] == int(x.sum())
    assert report["counters"]["out_events"] == int(trace.spikes[-1].sum())
