"""The passes one by one: fuse is exact, quantize reports its rounding, the range check's bounds
hold on every reachable state, the schedule bounds every input; and the front-end registry."""

import numpy as np
import pytest
from spikeforge.compiler.frontends import FRONTENDS, FrontendError, frontend_for, load
from spikeforge.compiler.ir import (
    LI,
    LIF,
    Affine,
    Graph,
    Input,
    Output,
    graph_from_network,
    graph_to_network,
)
from spikeforge.compiler.passes import (
    LOWERING,
    PASSES,
    CheckRanges,
    Fuse,
    Options,
    Quantize,
    QuantizeError,
    SchedulePass,
    run_passes,
)
from spikeforge.compiler.passes.ranges import state_bounds
from spikeforge.model import IntFormat, Layer, LayerParams, Network, Readout, run
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.sim.random_networks import random_network


def test_passes_run_in_the_documented_order():
    assert [p.name for p in PASSES] == ["fuse", "quantize", "ranges", "allocation", "schedule"]
    assert PASSES[:2] == LOWERING


def test_fuse_composes_weights_and_biases_exactly():
    w1, b1 = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 0.0, -1.0])
    w2, b2 = np.array([[1.0, -1.0, 2.0]]), np.array([0.5])
    graph = Graph((Input(2, SpikeEncoding(4)), Affine(w1, b1, name="a"), Affine(w2, b2, name="b"),
                   LIF(1, theta=3.0), Output()))
    assert not graph.fused
    fused, report = run_passes(graph, Options(), (Fuse,))
    (affine,) = fused.layers[0].affines
    np.testing.assert_array_equal(affine.weight, w2 @ w1)
    np.testing.assert_array_equal(affine.bias, w2 @ b1 + b2)
    assert affine.name == "a+b" and report["fuse"]["fused"][0]["nodes"] == ["a", "b"]


def float_graph(weight, theta=1.0, compare=">"):
    n, n_in = weight.shape
    return Graph((Input(n_in, SpikeEncoding(8)), Affine(weight, name="fc"),
                  LIF(n, k_syn=0, k_mem=2, theta=theta, compare=compare, name="lif"), Output()))


def test_quantize_scales_rounds_and_reports_per_layer():
    weight = np.array([[0.5, -0.25, 0.1], [1.0, 0.3, -0.7]])
    graph, report = run_passes(float_graph(weight, theta=0.6), Options(weight_bits=8), LOWERING)
    (row,) = report["quantize"]["layers"]
    scale = 127 / 1.0
    assert row["scale"] == pytest.approx(scale)
    layer = graph_to_network(graph).layers[0]
    np.testing.assert_array_equal(layer.weight, np.rint(weight * scale))
    f = layer.params.input_shift  # the state keeps f bits below the weights' unit
    assert f == row["input_shift"] > 0 and row["state_scale"] == pytest.approx(scale * 2**f)
    state = scale * 2**f
    assert layer.params.theta == int(np.floor(0.6 * state)) + 1  # v > 0.6 ⇔ U ≥ ⌊0.6 S⌋ + 1
    assert layer.params.theta_reset == round(0.6 * state)  # the reset removes v_th, not θ
    assert row["weight_rounding_max_error"] == pytest.approx(np.abs(weight * scale - np.rint(
        weight * scale)).max())
    assert 0 < row["weight_rounding_relative_error"] <= 0.5 / 127
    assert row["weight_format"] == "s8" and not report["quantize"]["exact"]


def test_quantize_threshold_rules():
    weight = np.ones((1, 1))
    strict, _ = run_passes(float_graph(weight, theta=3.0, compare=">"), Options(), LOWERING)
    at_least, _ = run_passes(float_graph(weight, theta=3.0, compare=">="), Options(), LOWERING)
    p_strict = graph_to_network(strict).layers[0].params
    p_least = graph_to_network(at_least).layers[0].params
    f = p_strict.input_shift
    assert p_strict.theta == 3 * 2**f + 1 and p_strict.reset_amount == 3 * 2**f  # U > 3
    assert p_least.theta == 3 * 2**p_least.input_shift == p_least.reset_amount
    fixed, _ = run_passes(float_graph(weight, theta=3.0), Options(fraction_bits=0), LOWERING)
    assert graph_to_network(fixed).layers[0].params.theta == 4  # U > 3 ⇔ U ≥ 4 at f = 0


def test_fraction_bits_follow_the_state_width():
    """The largest f whose state bounds fit the width; a narrow state warns of saturation."""
    weight = np.ones((1, 4))
    wide, report = run_passes(float_graph(weight, theta=3.0), Options(state_bits=24), LOWERING)
    row = report["quantize"]["layers"][0]
    layer = graph_to_network(wide).layers[0]
    assert layer.params.potential_format.width == 24 and not row["saturation_possible"]
    # |I| <= 4 and, with the reset, U <= D(θ - 1) + 4 < 8 at f = 0: 4 signed bits, so f is 20
    # (19 when the bound's rounding at scale 2^20 needs one more bit)
    assert layer.params.input_shift in (19, 20) and row["state_bits_needed"] <= 24
    _, narrow = run_passes(float_graph(weight, theta=3.0), Options(state_bits=4), LOWERING)
    row = narrow["quantize"]["layers"][0]
    assert row["input_shift"] == 0 and row["saturation_possible"]
    assert any("saturate" in text for text in row["approximations"])
    assert not narrow["quantize"]["exact"]


def test_quantize_refuses_what_it_cannot_do():
    with pytest.raises(QuantizeError, match=r"not integers.*--weight-bits"):
        run_passes(float_graph(np.full((2, 2), 0.3)), Options(), LOWERING)
    with pytest.raises(QuantizeError, match="every weight of 'fc' is zero"):
        run_passes(float_graph(np.zeros((2, 2))), Options(weight_bits=8), LOWERING)
    with pytest.raises(QuantizeError, match="run the fuse pass first"):
        graph = Graph((Input(2, SpikeEncoding(4)), Affine(np.ones((2, 2))), Affine(np.ones((1, 2))),
                       LIF(1), Output()))
        run_passes(graph, Options(), (Quantize,))
    with pytest.raises(ValueError, match=r"weight_bits must be an integer in 2\.\.32"):
        Options(weight_bits=40)


def test_integer_layers_pass_quantize_unchanged():
    network = random_network(np.random.default_rng(2), 1, layers=2)
    graph, report = load(network)
    lowered, report = run_passes(graph, Options(weight_bits=4), LOWERING)
    assert report["quantize"]["exact"]
    for before, after in zip(network.layers, graph_to_network(lowered).layers, strict=True):
        assert before.params == after.params
        np.testing.assert_array_equal(before.weight, after.weight)


def test_decay_bounds_hold_for_every_decay_and_interval():
    """Every x in [lo, hi] (exhaustively, small ranges): D(x) within decay_bounds; a decay with
    a negative term that leaves -1 at -1 included."""
    from spikeforge.compiler.passes.ranges import decay_bounds
    from spikeforge.model.decay import Decay
    from spikeforge.sim.random_networks import random_decay

    rng = np.random.default_rng(0)
    decays = [Decay.of([1, -3]), Decay.of(0), Decay.of(4)] + [random_decay(rng, 16)
                                                              for _ in range(40)]
    assert Decay.of([1, -3]).apply(np.array([-1]))[0] == -1
    for decay in decays:
        for _ in range(20):
            lo = int(rng.integers(-300, 300))
            hi = lo + int(rng.integers(0, 200))
            values = decay.apply(np.arange(lo, hi + 1))
            low, high = decay_bounds(decay, np.array([lo]), np.array([hi]))
            assert low[0] <= values.min() and values.max() <= high[0], (decay, lo, hi)
            assert high[0] - values.max() <= len(decay.terms) + 1  # and not loose


@pytest.mark.parametrize("seed", range(16))
def test_state_bounds_hold_on_every_reachable_state(seed):
    """Random networks on all-spiking and random inputs: every I and U of the reference run
    lies within the range pass's bounds (which ignore saturation: checked where none happens)."""
    rng = np.random.default_rng(seed)
    network = random_network(rng, 1, layers=2)
    steps = network.steps
    inputs = np.concatenate([np.ones((1, steps, network.n_in), np.uint8),
                             (rng.random((6, steps, network.n_in)) < 0.4).astype(np.uint8)])
    trace = run(network, inputs)
    for index, layer in enumerate(network.layers):
        (i_lo, i_hi), (u_lo, u_hi) = state_bounds(layer, steps)
        if trace.saturations[index].any():
            continue
        assert i_lo <= trace.i[index].min() and trace.i[index].max() <= i_hi
        assert u_lo <= trace.u[index].min() and trace.u[index].max() <= u_hi


def narrow_layer(k_mem, theta, state_bits):
    params = LayerParams(n_in=4, n=2, k_syn=0, k_mem=k_mem, theta=theta,
                         current_format=IntFormat(state_bits),
                         potential_format=IntFormat(state_bits))
    return Layer(params, np.full((2, 4), 100), name="l")


def test_ranges_prove_saturation_free_or_show_the_bound():
    safe = Network((narrow_layer(1, 50, 16),), SpikeEncoding(16))
    _, report = run_passes(graph_from_network(safe), Options(), (Fuse, Quantize, CheckRanges))
    (row,) = report["ranges"]["layers"]
    assert report["ranges"]["saturation_free"] and row["accumulator_bits"] == 10  # 4 rows of s8
    assert row["synaptic_input_range"] == [0, 400] and row["current_bound"] == [0, 400]
    risky = Network((narrow_layer(4, 500, 10),), SpikeEncoding(16))
    _, report = run_passes(graph_from_network(risky), Options(), (Fuse, Quantize, CheckRanges))
    (row,) = report["ranges"]["layers"]
    assert not row["current_saturation_possible"]  # I = a ≤ 400 fits s10
    assert row["potential_saturation_possible"] and not report["ranges"]["saturation_free"]
    assert row["potential_bound"][1] > 511
    # and it does saturate: U of a neuron that integrates 400 a step with k_mem = 4 passes 511
    trace = run(risky, np.ones((1, 16, 4), np.uint8))
    assert trace.saturations[0].sum() > 0


def test_schedule_bounds_contain_every_input():
    network = random_network(np.random.default_rng(1), 2, layers=2)
    rng = np.random.default_rng(0)
    x = (rng.random((5, network.steps, network.n_in)) < 0.5).astype(np.uint8)
    x[0] = 0
    x[1] = 1
    graph, _ = load(network)
    _, report = run_passes(graph, Options(lanes=2, inputs=x), (Fuse, Quantize, SchedulePass))
    section = report["schedule"]
    cycles = section["cycles_per_inference"]
    assert cycles[0] == section["cycles_per_inference_min"]
    assert all(section["cycles_per_inference_min"] <= c <= section["cycles_per_inference_max_bound"]
               for c in cycles)
    assert sum(section["cycles_per_step"][2]) == cycles[2]


def test_frontends_are_registered_per_source_type(tmp_path):
    assert set(FRONTENDS) == {"ann", "network_file", "nir"}
    assert frontend_for("x.sfn").name == "network_file"
    assert frontend_for("model.NIR").name == "nir"
    assert frontend_for("mlp.pt").name == "ann"
    network = random_network(np.random.default_rng(0), 1, layers=1)
    assert frontend_for(network).name == "network_file"
    with pytest.raises(FrontendError, match=r"no front end reads \.onnx files \(supported: "):
        frontend_for("model.onnx")
    with pytest.raises(FrontendError, match="no front end reads a dict"):
        frontend_for({})
    with pytest.raises(FrontendError, match=r"does not take option\(s\) \['dt'\]"):
        load(network, dt=1e-3)


def test_spiking_network_module_goes_through_the_network_file_front_end():
    pytest.importorskip("torch")
    from spikeforge.model.training import SpikingNetwork

    network = Network((Layer(LayerParams(n_in=3, n=2), np.ones((2, 3), np.int64), name="a"),),
                      SpikeEncoding(4))
    graph, report = load(SpikingNetwork.from_network(network))
    assert report["frontend"] == "network_file" and report["source"] == "SpikingNetwork"
    lowered = graph_to_network(graph)
    np.testing.assert_array_equal(lowered.layers[0].weight, network.layers[0].weight)


def test_li_readout_float_graph_lowers():
    graph = Graph((Input(3, SpikeEncoding(4)), Affine(np.full((2, 3), 2.0)), LI(2, k_mem=1),
                   Output(Readout.MEMBRANE_MAX)))
    lowered, _ = run_passes(graph, Options(), LOWERING)
    assert graph_to_network(lowered).layers[0].params.theta == 1
