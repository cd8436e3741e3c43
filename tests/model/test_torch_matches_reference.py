"""The torch training forward pass computes exactly the reference's integers, every variant."""

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.model import IntFormat, Layer, LayerParams, Network, SpikeEncoding, run
from spikeforge.model.training import SpikingNetwork


@st.composite
def layer_params(draw, n_in):
    kind = draw(st.sampled_from(["lif", "if", "alif", "li"]))
    cur = IntFormat(draw(st.integers(6, 20)))
    pot = IntFormat(draw(st.integers(6, 20)))
    trc = IntFormat(draw(st.integers(4, 16)), signed=False)
    n = draw(st.integers(1, 12))
    spiking = kind != "li"
    return LayerParams(
        n_in,
        n,
        kind=kind,
        k_syn=draw(st.integers(0, cur.width - 1)),
        k_mem=0 if kind == "if" else draw(st.integers(0, pot.width - 1)),
        theta=draw(st.integers(1, pot.max)) if spiking else 1,
        reset=draw(st.sampled_from(["subtract", "zero"])),
        recurrent=spiking and draw(st.booleans()),
        bias=draw(st.booleans()),
        weight_format=IntFormat(draw(st.integers(2, 12))),
        current_format=cur,
        potential_format=pot,
        trace_format=trc,
        k_adapt=draw(st.integers(0, trc.width - 1)) if kind == "alif" else 0,
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_torch_forward_equals_reference(case):
    network, x = case
    expected = run(network, x)
    model = SpikingNetwork.from_network(network)
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
