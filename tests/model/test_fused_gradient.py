"""The fused layer's hand-written BPTT equals autograd through the straight-through graph."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spikeforge.model import IntFormat, LayerParams
from spikeforge.model.training import layer_sequence, spike_function
from spikeforge.model.training.fused import fused_layer_sequence


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["lif", "if", "alif", "li"]),
    reset=st.sampled_from(["subtract", "zero"]),
    recurrent=st.booleans(),
    k_syn=st.integers(0, 4),
    k_mem=st.integers(0, 4),
    narrow=st.booleans(),
    surrogate=st.sampled_from(["fast_sigmoid", "piecewise_linear", "exponential", "sigmoid"]),
    seed=st.integers(0, 2**31),
)
def test_fused_matches_autograd(kind, reset, recurrent, k_syn, k_mem, narrow, surrogate, seed):
    spiking = kind != "li"
    fmt = IntFormat(9 if narrow else 16)  # narrow formats saturate often
    p = LayerParams(
        6,
        5,
        kind=kind,
        reset=reset,
        recurrent=spiking and recurrent,
        k_syn=k_syn,
        k_mem=0 if kind == "if" else k_mem,
        theta=40 if spiking else 1,
        current_format=fmt,
        potential_format=fmt,
        k_adapt=2 if kind == "alif" else 0,
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

    ref = layer_sequence(p, x @ w.t(), spike_function(surrogate, 3.0), v)
    got = fused_layer_sequence(p, x @ w.t(), surrogate, 3.0, recurrent=v)
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
