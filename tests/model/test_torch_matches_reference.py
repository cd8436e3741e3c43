"""The torch training forward pass computes exactly the reference's integers, every variant of
contract version 2: 1- to 4-term decays, reset amounts, reset before the leak, input shifts,
same-step recurrence; through the fused kernel and through plain autograd."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.model import IntFormat, Layer, LayerParams, Network, SpikeEncoding, run
from spikeforge.model.training import SpikingNetwork
from spikeforge.sim.random_networks import random_decay


def _decay(draw, rng, width):
    """0 (no memory), or a random decay of 1 to 4 terms."""
    if draw(st.integers(0, 5)) == 0:
        return 0
    return random_decay(rng, width, max_shift=min(width - 1, 8))


@st.composite
def layer_params(draw, n_in):
    kind = draw(st.sampled_from(["lif", "if", "alif", "li"]))
    cur = IntFormat(draw(st.integers(6, 20)))
    pot = IntFormat(draw(st.integers(6, 20)))
    trc = IntFormat(draw(st.integers(4, 16)), signed=False)
    n = draw(st.integers(1, 12))
    spiking = kind != "li"
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    reset = draw(st.sampled_from(["subtract", "zero", "subtract_before_leak", "clear"]))
    recurrent = spiking and draw(st.booleans())
    subtract = spiking and reset in ("subtract", "subtract_before_leak")
    return LayerParams(
        n_in,
        n,
        kind=kind,
        k_syn=_decay(draw, rng, cur.width),
        k_mem=0 if kind == "if" else _decay(draw, rng, pot.width),
        theta=draw(st.integers(1, pot.max)) if spiking else 1,
        theta_reset=draw(st.none() | st.integers(1, pot.max)) if subtract else None,
        reset=reset,
        recurrent=recurrent,
        same_step_recurrence=recurrent and draw(st.booleans()),
        input_shift=draw(st.integers(0, min(4, cur.width - 1))),
        bias=draw(st.booleans()),
        weight_format=IntFormat(draw(st.integers(2, 12))),
        current_format=cur,
        potential_format=pot,
        trace_format=trc,
        k_adapt=_decay(draw, rng, trc.width) if kind == "alif" else 0,
        adapt_jump=draw(st.integers(0, trc.max)) if kind == "alif" else 0,
    )


@st.composite
def networks(draw):
    n_layers = draw(st.integers(1, 3))
    n_in = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layers = []
    for index in range(n_layers):
        params = draw(layer_params(n_in))
        if index < n_layers - 1 and params.kind.name == "LI":
            params = params.replace(kind="lif", theta=max(1, params.potential_format.max // 4))
        wf, cf = params.weight_format, params.current_format
        weight = rng.integers(wf.min, wf.max + 1, (params.n, params.n_in))
        rec = rng.integers(wf.min, wf.max + 1, (params.n, params.n)) if params.recurrent else None
        bias = rng.integers(cf.min // 4, cf.max // 4 + 1, params.n) if params.bias else None
        layers.append(Layer(params, weight, recurrent=rec, bias=bias, name=f"l{index}"))
        n_in = params.n
    readout = "spike_count" if layers[-1].params.spiking else "membrane_max"
    steps = draw(st.integers(1, 24))
    density = draw(st.sampled_from([0.1, 0.5, 0.95]))
    x = rng.random((draw(st.integers(1, 3)), steps, layers[0].params.n_in)) < density
    return Network(tuple(layers), SpikeEncoding(steps), readout), x.astype(np.uint8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
@pytest.mark.parametrize("fused", [True, False])
def test_torch_forward_equals_reference(fused, case):
    network, x = case
    expected = run(network, x)
    model = SpikingNetwork.from_network(network)
    for layer in model.layers:
        layer.fused = fused
    assert [ly.to_layer().weight.tolist() for ly in model.layers] == [
        ly.weight.tolist() for ly in network.layers
    ]
    with torch.no_grad():
        traces = model(x, dtype=torch.float64)
    for index, trace in enumerate(traces):
        for key, ref in (
            ("s", expected.spikes),
            ("i", expected.i),
            ("u", expected.u),
            ("b", expected.b),
        ):
            got = trace[key].numpy().astype(np.int64)
            assert np.array_equal(got, ref[index]), f"layer {index} field {key} differs"


def test_float32_is_used_only_where_it_is_exact():
    from spikeforge.model.training import exact_dtype

    assert exact_dtype([LayerParams(64, 128)]) == torch.float32
    wide = LayerParams(64, 128, current_format=IntFormat(24), potential_format=IntFormat(24))
    assert exact_dtype([wide]) == torch.float64
    assert exact_dtype([LayerParams(64, 128, input_shift=2)]) == torch.float32
    assert exact_dtype([LayerParams(64, 128, input_shift=10)]) == torch.float64  # 2^f W s
