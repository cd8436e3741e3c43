"""Large differential sweep: many random networks through the Amaranth simulator.

The budgeted tests in ``test_network_core.py`` run on every commit; this one is marked ``slow``
(about ten minutes on one core) and checks at least 200 networks and 10^6 neuron-steps.
"""

import math

import numpy as np
import pytest
from spikeforge.hdl.schedule import schedule
from spikeforge.model import run
from spikeforge.sim.amaranth_sim import simulate_network
from spikeforge.sim.random_networks import random_network, random_spikes
from spikeforge.sim.sweep import FEATURES


def sweep(networks, *, seed, neuron_steps_each):
    """Simulate ``networks`` random networks; count comparisons and every kind of mismatch."""
    rng = np.random.default_rng(seed)
    totals = {"networks": 0, "neuron_steps": 0, "mismatches": 0, "cycle_mismatches": 0,
              "output_mismatches": 0, "cycles": 0, "synops": 0, "issue_cycles": 0,
              "features": dict.fromkeys(FEATURES, 0)}
    for index in range(networks):
        lanes = (1, 2, 4)[index % 3]
        network = random_network(rng, lanes, layers=1 + index % 3, saturating=index % 2 == 1)
        neurons = sum(layer.params.n for layer in network.layers)
        steps = math.ceil(neuron_steps_each / neurons)
        spikes = random_spikes(rng, steps, network.n_in, float(rng.choice([0.2, 0.5, 1.0])))
        result = simulate_network(network, spikes, lanes=lanes)
        trace = run(network, spikes[None])
        for index_l in range(len(network.layers)):
            for got, want in ((result.spikes, trace.spikes), (result.i, trace.i),
                              (result.u, trace.u), (result.b, trace.b)):
                totals["mismatches"] += int(np.count_nonzero(got[index_l] != want[index_l][0]))
        totals["output_mismatches"] += int(np.count_nonzero(result.output != trace.spikes[-1][0]))
        predicted = schedule(network, spikes, lanes, trace)
        totals["cycle_mismatches"] += int(np.count_nonzero(result.step_cycles != predicted.cycles))
        totals["networks"] += 1
        for layer in network.layers:
            for name, test in FEATURES.items():
                totals["features"][name] += int(test(layer.params))
        totals["neuron_steps"] += steps * neurons
        totals["cycles"] += result.counters["cycles"]
        totals["synops"] += result.counters["synops"]
        totals["issue_cycles"] += int(predicted.issue_cycles.sum()) * lanes
    return totals


@pytest.mark.slow
def test_sweep_of_200_networks_and_a_million_neuron_steps():
    totals = sweep(201, seed=2026, neuron_steps_each=5000)
    print(totals)
    assert totals["networks"] >= 200
    assert totals["neuron_steps"] >= 10**6
    assert totals["mismatches"] == 0
    assert totals["output_mismatches"] == 0
    assert totals["cycle_mismatches"] == 0
    assert totals["synops"] == totals["issue_cycles"]  # one op per lane per issue cycle
    # every part of contract version 2 is in it, in many layers
    assert min(totals["features"].values()) >= 20, totals["features"]
