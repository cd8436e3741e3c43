"""The learning core equals the integer reference bit for bit: every synapse's traces after every
step and the weights after every trial, over random networks, configurations and stimuli."""

import numpy as np
import pytest
from spikeforge.model.learning import LearningRule
from spikeforge.sim.learning_amaranth import simulate_learning
from spikeforge.sim.learning_compare import compare_learning, expected_run
from spikeforge.toolchain import missing_reason

from .random_cases import random_case

RULES = [LearningRule.SUPERSPIKE, LearningRule.EPROP]


def check(seed, rule, sim, lanes=1, saturating=False, trials=3):
    rng = np.random.default_rng(seed)
    network, config, x, targets, learn = random_case(rng, rule, lanes=lanes, trials=trials,
                                                     saturating=saturating)
    if sim == "amaranth":
        got = simulate_learning(network, config, x, targets, learn, lanes=lanes)
    else:
        from spikeforge.sim.learning_cocotb import cosimulate_learning

        got, _ = cosimulate_learning(network, config, x, targets, learn, sim=sim, lanes=lanes)
    _, expected = expected_run(network, config, x, targets, learn)
    result = compare_learning(config, expected, got)
    assert result["values_compared"] > 0
    assert result["mismatches"] == 0, result
    return expected


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(4))
def test_amaranth_equals_reference(rule, seed):
    check(seed, rule, "amaranth", lanes=1 + seed % 2, saturating=seed % 2 == 1)


def test_cases_are_not_vacuous():
    """The random cases do learn, multi-term decays among them: weights change."""
    moved = moved_multi = 0
    for seed in range(16):
        rng = np.random.default_rng(seed)
        network, config, x, targets, learn = random_case(rng, RULES[seed % 2])
        _, expected = expected_run(network, config, x, targets, learn)
        before = {i: network.layers[i].weight for i in config.layers}
        after = expected[-1]["weights"]
        changed = any(not np.array_equal(before[i], after[i][:, :before[i].shape[1]])
                      for i in config.layers)
        multi = any(not d.single for i in config.layers
                    for d in network.layers[i].params.decays.values())
        moved += changed
        moved_multi += changed and multi
    assert moved >= 8 and moved_multi >= 4


def need(sim):
    reason = missing_reason(sim)
    if reason:
        pytest.skip(reason)


@pytest.mark.sim
@pytest.mark.parametrize("rule", RULES)
def test_verilator_equals_reference(rule):
    need("verilator")
    check(100 + int(rule), rule, "verilator", lanes=2, saturating=True)


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(12))
def test_verilator_sweep(rule, seed):
    need("verilator")
    check(200 + seed, rule, "verilator", lanes=1 + seed % 2, saturating=seed % 3 == 0,
          trials=4)
