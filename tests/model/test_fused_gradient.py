"""The fused layer's hand-written BPTT equals autograd through the straight-through graph."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spikeforge.model import IntFormat, LayerParams
from spikeforge.model.training import layer_sequence, spike_function
from spikeforge.model.training.fused import fused_layer_sequence
from spikeforge.sim.random_networks import random_decay


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["lif", "if", "alif", "li"]),
    reset=st.sampled_from(["subtract", "zero", "subtract_before_leak", "clear"]),
    recurrent=st.booleans(),
    same_step=st.booleans(),
    input_shift=st.integers(0, 2),
    theta_reset=st.none() | st.integers(1, 80),
    narrow=st.booleans(),
    surrogate=st.sampled_from(["fast_sigmoid", "piecewise_linear", "exponential", "sigmoid"]),
    seed=st.integers(0, 2**31),
)
def test_fused_matches_autograd(kind, reset, recurrent, same_step, input_shift, theta_reset,
                                narrow, surrogate, seed):
    """Random 1- to 4-term decays (and no memory), every reset, reset amount, input shift and
    same-step recurrence: equal forward values, equal gradients."""
    spiking = kind != "li"
    fmt = IntFormat(9 if narrow else 16)  # narrow formats saturate often
    rng = np.random.default_rng(seed)

    def decay(width):
        return 0 if rng.integers(0, 6) == 0 else random_decay(rng, width, max_shift=4)

    recurrent = spiking and recurrent
    p = LayerParams(
        6,
        5,
        kind=kind,
        reset=reset,
        recurrent=recurrent,
        same_step_recurrence=recurrent and same_step,
        input_shift=input_shift,
        k_syn=decay(fmt.width),
        k_mem=0 if kind == "if" else decay(fmt.width),
        theta=40 if spiking else 1,
        theta_reset=theta_reset if spiking and reset.startswith("subtract") else None,
        current_format=fmt,
        potential_format=fmt,
        k_adapt=decay(16) if kind == "alif" else 0,
        adapt_jump=9 if kind == "alif" else 0,
    )
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(3, 12, 6, generator=gen) < 0.5).double()
    w = torch.randint(-60, 60, (5, 6), generator=gen).double().requires_grad_()
    v = (
        torch.randint(-60, 60, (5, 5), generator=gen).double().requires_grad_()
        if p.recurrent
        else None
    )
    weights = torch.randn(4, 3, 12, 5, generator=gen, dtype=torch.float64)

    def loss(out):
        return sum((weights[k] * out[key]).sum() for k, key in enumerate("siub"))

    def drive():
        return (x @ w.t()) * 2.0**input_shift

    ref = layer_sequence(p, drive(), spike_function(surrogate, 3.0), v)
    got = fused_layer_sequence(p, drive(), surrogate, 3.0, recurrent=v)
    for key in "siub":
        assert torch.equal(ref[key], got[key]), key
    params = [w] + ([v] if v is not None else [])
    expected = torch.autograd.grad(loss(ref), params)
    actual = torch.autograd.grad(loss(got), params)
    for e, a in zip(expected, actual, strict=True):
        assert torch.allclose(e, a, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fused", [True, False])
def test_training_step_reduces_loss(fused):
    from spikeforge.datasets import load_digits
    from spikeforge.model.training.trainer import TrainConfig, build_network, train_epoch

    data = load_digits()
    net = build_network(64, 10, data.encoding, TrainConfig(hidden=(32,)))
    for layer in net.layers:
        layer.fused = fused
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x = torch.as_tensor(data.spikes("train")[:256], dtype=net.dtype)
    y = torch.as_tensor(data.labels("train")[:256])
    rng = np.random.default_rng(0)
    first, _ = train_epoch(net, opt, x, y, 64, rng)
    for _ in range(3):
        last, _ = train_epoch(net, opt, x, y, 64, rng)
    assert last < first
