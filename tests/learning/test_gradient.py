"""The float rules equal torch autograd where they are the true gradient; the integer rules'
updates point the same way as autograd's gradient (measured cosine)."""

import numpy as np
import pytest
import torch
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind, ResetMode
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.learning import LearningConfig, float_gradient, run_trial
from spikeforge.sim.random_networks import random_decay

from .torch_forward import forward, van_rossum_loss

KINDS = {
    "superspike": [NeuronKind.LIF, NeuronKind.IF],
    "eprop": [NeuronKind.LIF, NeuronKind.ALIF],
}


def _decay(rng, low, high):
    """A one-shift decay in low..high-1, or (half the time) a random multi-term one."""
    if rng.integers(0, 2) == 0:
        return int(rng.integers(low, high))
    while True:
        decay = random_decay(rng, 16, max_shift=high - 1)
        if decay.terms[0][1] >= low:
            return decay


def single_layer(rng, kind, n_in=6, n=4, steps=24, reset=ResetMode.SUBTRACT):
    extra = {}
    if kind is NeuronKind.ALIF:
        extra = dict(k_adapt=_decay(rng, 1, 5), adapt_jump=int(rng.integers(4, 40)))
    if reset.subtracts and rng.integers(0, 2):
        extra["theta_reset"] = int(rng.integers(16, 128))
    params = LayerParams(
        n_in=n_in, n=n, kind=kind, k_syn=_decay(rng, 0, 4),
        k_mem=0 if kind is NeuronKind.IF else _decay(rng, 1, 5),
        theta=int(rng.integers(32, 128)), reset=reset,
        weight_format=IntFormat(8), current_format=IntFormat(20), potential_format=IntFormat(20),
        **extra)
    weight = rng.integers(-20, 60, (n, n_in))
    network = Network((Layer(params, weight),), SpikeEncoding(steps))
    z = (rng.random((steps, n_in)) < 0.4).astype(np.int64)
    target = (rng.random((steps, n)) < 0.25).astype(np.int64)
    return network, z, target


@pytest.mark.parametrize("rule", ["superspike", "eprop"])
@pytest.mark.parametrize("seed", range(6))
def test_float_rule_equals_autograd(rule, seed):
    """One non-recurrent layer, its own error, reset by subtraction after or before the leak
    (whose term SuperSpike drops, i.e. detaches), decays of one or more terms: the float rule is
    the exact gradient. (Reset to zero replaces U by I, a path the presynaptic trace does not
    follow, so there it is an approximation.)"""
    rng = np.random.default_rng(seed)
    kind = KINDS[rule][seed % 2]
    reset = ResetMode.SUBTRACT_BEFORE_LEAK if seed % 3 == 1 else ResetMode.SUBTRACT
    network, z, target = single_layer(rng, kind, reset=reset)
    params = network.layers[0].params
    config = LearningConfig.create(network, rule, sg_shift=int(rng.integers(2, 6)),
                                   sg_cut=int(rng.integers(2, 8)),
                                   sg_slope=int(rng.integers(1, 3)), k_err=2)
    weight = torch.tensor(network.layers[0].weight, dtype=torch.float64, requires_grad=True)
    out = forward(params, config, weight, z, mode="float")
    loss = van_rossum_loss(out["s"], target, config.k_err)
    loss.backward()
    ours = float_gradient(params, config, z, out["u"].detach().numpy(),
                          out["b"].detach().numpy(), out["s"].detach().numpy(), target)
    assert np.abs(weight.grad.numpy()).max() > 0, "a vacuous case: no gradient at all"
    np.testing.assert_allclose(ours, weight.grad.numpy(), rtol=1e-9, atol=1e-12)


def cosine(a, b):
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator else float("nan")


def integer_vs_autograd(rule, seed):
    """Cosine between the integer rule's accumulated update G and −∂L/∂W from autograd through
    the exact integer forward (same trajectory), for one random single-layer case."""
    rng = np.random.default_rng(1000 + seed)
    kind = KINDS[rule][seed % 2]
    network, z, target = single_layer(rng, kind, reset=ResetMode(seed % 3))
    params = network.layers[0].params
    config = LearningConfig.create(network, rule, sg_shift=4, sg_cut=6, sg_slope=1, k_err=2,
                                   trace_shift=8, error_shift=6)
    result = run_trial(network, config, z, target, learn=False)
    weight = torch.tensor(network.layers[0].weight, dtype=torch.float64, requires_grad=True)
    out = forward(params, config, weight, z, mode="integer")
    van_rossum_loss(out["s"], target, config.k_err).backward()
    return cosine(result.state.layers[0].g, -weight.grad.numpy())


@pytest.mark.parametrize("rule", ["superspike", "eprop"])
def test_integer_update_aligns_with_autograd(rule):
    values = [integer_vs_autograd(rule, seed) for seed in range(20)]
    values = [v for v in values if not np.isnan(v)]
    assert len(values) >= 15
    print(f"{rule}: cosine(integer update, -autograd gradient) over {len(values)} cases: "
          f"median {np.median(values):.4f}, mean {np.mean(values):.4f}, min {min(values):.4f}")
    assert np.median(values) > 0.9, values
    assert min(values) > 0.5, values
