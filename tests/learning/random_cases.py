"""Random learning setups for the differential tests: networks, configurations, stimuli.

Layers mix one-shift and 1- to 4-term decays (synaptic, membrane, ALIF trace), the four reset
modes and reset amounts below the threshold."""

import numpy as np
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind, ResetMode
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.learning import LearningConfig, LearningRule
from spikeforge.sim.random_networks import random_decay

__all__ = ["random_case"]


def _decay(rng, width, top):
    """A one-shift decay k in 0..top (half the time) or a random decay of 1 to 4 terms."""
    if rng.integers(0, 2) == 0:
        return int(rng.integers(0, top + 1))
    return random_decay(rng, width, max_shift=top)


def _layer(rng, n_in, n, kind, recurrent, saturating):
    wf = IntFormat(int(rng.integers(4, 9)))
    cf = IntFormat(int(rng.integers(7, 10)) if saturating else 16)
    pf = IntFormat(int(rng.integers(7, 10)) if saturating else 16)
    extra = {}
    if kind is NeuronKind.ALIF:
        tw = int(rng.integers(4, 10))
        extra = dict(trace_format=IntFormat(tw, signed=False),
                     k_adapt=_decay(rng, tw, min(4, tw - 1)),
                     adapt_jump=int(rng.integers(1, min(1 << tw, 40))))
    theta = int(rng.integers(8, min(pf.max, 4 * wf.max) + 1))
    reset = ResetMode(int(rng.integers(0, len(ResetMode))))
    if reset.subtracts and rng.integers(0, 2):
        extra["theta_reset"] = int(rng.integers(1, theta + 1))
    params = LayerParams(
        n_in=n_in, n=n, kind=kind, k_syn=_decay(rng, cf.width, 3),
        k_mem=0 if kind is NeuronKind.IF else _decay(rng, pf.width, 4),
        theta=theta, reset=reset, recurrent=recurrent,
        bias=bool(rng.integers(0, 2)), weight_format=wf, current_format=cf,
        potential_format=pf, **extra)
    weight = rng.integers(wf.min // 2, wf.max + 1, (n, n_in))
    rec = rng.integers(wf.min // 2, wf.max + 1, (n, n)) if recurrent else None
    bias = rng.integers(cf.min // 8, cf.max // 8 + 1, n) if params.bias else None
    return Layer(params, weight, recurrent=rec, bias=bias)


def random_case(rng, rule, *, lanes=1, trials=3, steps=8, saturating=False):
    """``(network, config, spikes, targets, learn)`` for ``rule`` (a LearningRule)."""
    rule = LearningRule(rule)
    n_in = int(rng.integers(2, 6))
    if rule is LearningRule.SUPERSPIKE:
        kinds = [NeuronKind(int(rng.choice([0, 1]))), NeuronKind.LIF]
        recurrent = [False, False]
    else:
        kinds = [NeuronKind(int(rng.choice([0, 1, 2]))), NeuronKind(int(rng.choice([0, 2])))]
        recurrent = [bool(rng.integers(0, 2)), bool(rng.integers(0, 2))]
    sizes = [lanes * int(rng.integers(1, 4)), lanes * int(rng.integers(1, 3))]
    layers, size = [], n_in
    for kind, rec, n in zip(kinds, recurrent, sizes, strict=True):
        layers.append(_layer(rng, size, n, kind, rec, saturating))
        size = n
    network = Network(tuple(layers), SpikeEncoding(steps))
    narrow = dict(trace_format=IntFormat(int(rng.integers(8, 13)), signed=False),
                  elig_format=IntFormat(int(rng.integers(10, 16))),
                  error_format=IntFormat(int(rng.integers(6, 10))),
                  grad_format=IntFormat(int(rng.integers(14, 20)))) if saturating else {}
    which = [(0, 1), (1,), (0,)][int(rng.integers(0, 3))]
    config = LearningConfig.create(
        network, rule, layers=which, learning_rate=2.0 ** -int(rng.integers(0, 10)),
        seed=int(rng.integers(0, 1000)), trace_shift=int(rng.integers(4, 10)),
        error_shift=int(rng.integers(0, 6)), k_err=int(rng.integers(0, 5)),
        sg_shift=int(rng.integers(0, 5)), sg_cut=int(rng.integers(3, 10)),
        sg_slope=int(rng.integers(1, 3)), psi_shift=int(rng.integers(0, 6)),
        rounding=["stochastic", "nearest"][int(rng.integers(0, 2))],
        lfsr_seed=int(rng.integers(1, 1 << 32)), **narrow)
    spikes = (rng.random((trials, steps, n_in)) < 0.5).astype(np.int64)
    targets = (rng.random((trials, steps, network.n_out)) < 0.3).astype(np.int64)
    learn = [bool(v) for v in rng.integers(0, 4, trials) > 0]
    return network, config, spikes, targets, learn
