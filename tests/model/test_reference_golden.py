"""The reference against values computed by hand from docs/contract.md, one case per variant."""

from fractions import Fraction

import numpy as np
import pytest
from spikeforge.model import (
    IntFormat,
    Layer,
    LayerParams,
    Network,
    SpikeEncoding,
    floor_shift,
    run,
)
from spikeforge.model.decay import Decay


def _run_single(params, weight, inputs, **arrays):
    layer = Layer(params, np.array(weight), **arrays)
    x = np.array(inputs, dtype=np.uint8).reshape(1, len(inputs), -1)
    readout = "spike_count" if params.spiking else "membrane_max"
    trace = run(Network((layer,), SpikeEncoding(len(inputs)), readout), x)
    return {k: getattr(trace, k)[0][0] for k in ("spikes", "i", "u", "b")}, trace.saturations[0][0]


def test_floor_shift_rounds_towards_minus_infinity():
    assert floor_shift(np.array([-1, -7, -5, 7, 0]), 2).tolist() == [-1, -2, -2, 1, 0]
    assert floor_shift(np.array([-17]), 2).tolist() == [-5]


def test_lif_reset_by_subtraction():
    p = LayerParams(1, 1, k_syn=1, k_mem=2, theta=10)
    out, _ = _run_single(p, [[8]], [1, 1, 0, 0, 0])
    assert out["i"][:, 0].tolist() == [8, 12, 6, 3, 2]
    assert out["u"][:, 0].tolist() == [0, 8, 18, 10, 1]
    assert out["spikes"][:, 0].tolist() == [0, 0, 1, 1, 0]


def test_lif_reset_to_zero():
    p = LayerParams(1, 1, k_syn=1, k_mem=2, theta=10, reset="zero")
    out, _ = _run_single(p, [[8]], [1, 1, 0, 0, 0])
    assert out["u"][:, 0].tolist() == [0, 8, 18, 6, 8]
    assert out["spikes"][:, 0].tolist() == [0, 0, 1, 0, 0]


def test_negative_values_decay_by_floor_shift():
    p = LayerParams(1, 1, k_syn=2, k_mem=1, theta=100)
    out, _ = _run_single(p, [[-7]], [1, 0, 0, 0])
    assert out["i"][:, 0].tolist() == [-7, -5, -3, -2]
    assert out["u"][:, 0].tolist() == [0, -7, -8, -7]


def test_saturation_clamps_once_per_update_and_is_counted():
    p = LayerParams(
        2,
        1,
        k_syn=0,
        k_mem=4,
        theta=127,
        current_format=IntFormat(8),
        potential_format=IntFormat(8),
    )
    out, sats = _run_single(p, [[100, 100]], [[1, 1]] * 4)
    assert out["i"][:, 0].tolist() == [127, 127, 127, 127]
    assert out["u"][:, 0].tolist() == [0, 127, 120, 127]
    assert out["spikes"][:, 0].tolist() == [0, 1, 0, 1]
    assert sats.tolist() == [1, 1, 1, 2]


def test_if_neuron_does_not_leak():
    p = LayerParams(1, 1, kind="if", k_syn=0, k_mem=0, theta=10)
    out, _ = _run_single(p, [[4]], [1] * 5)
    assert out["u"][:, 0].tolist() == [0, 4, 8, 12, 6]
    assert out["spikes"][:, 0].tolist() == [0, 0, 0, 1, 0]


def test_li_readout_integrates_without_spiking():
    p = LayerParams(1, 1, kind="li", k_syn=1, k_mem=1, theta=1)
    out, _ = _run_single(p, [[10]], [1, 0, 0])
    assert out["i"][:, 0].tolist() == [10, 5, 3]
    assert out["u"][:, 0].tolist() == [0, 10, 10]
    assert out["spikes"].sum() == 0


def test_alif_threshold_adapts():
    p = LayerParams(1, 1, kind="alif", k_syn=0, k_mem=15, theta=5, k_adapt=1, adapt_jump=4)
    out, _ = _run_single(p, [[6]], [1] * 6)
    assert out["u"][:, 0].tolist() == [0, 6, 7, 13, 14, 15]
    assert out["b"][:, 0].tolist() == [0, 0, 4, 2, 5, 7]
    assert out["spikes"][:, 0].tolist() == [0, 1, 0, 1, 1, 1]


def test_recurrent_weights_use_the_previous_steps_spikes():
    p = LayerParams(1, 2, k_syn=0, k_mem=15, theta=10, recurrent=True)
    out, _ = _run_single(p, [[10], [0]], [1, 0, 0, 0], recurrent=np.array([[0, 0], [7, 0]]))
    assert out["i"].T.tolist() == [[10, 0, 0, 0], [0, 0, 7, 0]]
    assert out["u"].T.tolist() == [[0, 10, 0, 0], [0, 0, 0, 7]]


def test_bias_is_a_constant_current():
    p = LayerParams(1, 1, k_syn=0, k_mem=15, theta=5, bias=True)
    out, _ = _run_single(p, [[0]], [0] * 5, bias=np.array([3]))
    assert out["u"][:, 0].tolist() == [0, 3, 6, 4, 7]
    assert out["spikes"][:, 0].tolist() == [0, 0, 1, 0, 1]


def test_each_layer_adds_two_steps_of_latency():
    p = LayerParams(1, 1, k_syn=0, k_mem=15, theta=10)
    layers = (Layer(p, np.array([[10]])), Layer(p, np.array([[10]])))
    x = np.zeros((1, 6, 1), np.uint8)
    x[0, 0, 0] = 1
    trace = run(Network(layers, SpikeEncoding(6)), x)
    assert np.flatnonzero(trace.spikes[0][0, :, 0]).tolist() == [1]
    assert np.flatnonzero(trace.spikes[1][0, :, 0]).tolist() == [3]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_batch_rows_are_independent(reset):
    rng = np.random.default_rng(0)
    p = LayerParams(5, 3, theta=20, reset=reset)
    layer = Layer(p, rng.integers(-50, 50, (3, 5)))
    net = Network((layer,), SpikeEncoding(10))
    x = (rng.random((4, 10, 5)) < 0.5).astype(np.uint8)
    together = run(net, x)
    for row in range(4):
        alone = run(net, x[row : row + 1])
        assert np.array_equal(alone.u[0][0], together.u[0][row])
        assert np.array_equal(alone.spikes[0][0], together.spikes[0][row])


# --- version 2 of the contract: multi-term decays, reset amount, reset before the leak, input
# shift, same-step recurrence. Every value below is computed by hand from docs/contract.md.


def test_multi_term_decay_floors_each_term():
    d = Decay.of([2, -4])  # d = 1/4 - 1/16 = 3/16: D(x) = x - (x >> 2) + (x >> 4)
    assert d.d == Fraction(3, 16) and d.to_json() == [2, -4] and str(d) == "d = 2^-2 -2^-4"
    # -1 stays -1: -1 - (-1) + (-1); a negative term keeps a floor of its own
    assert d.apply(np.array([100, 81, -100, -82, -1, 0])).tolist() == [81, 66, -82, -67, -1, 0]
    assert Decay.of(3).to_json() == 3 and Decay.of([3]) == Decay.of(3)


def test_multi_term_synaptic_decay():
    p = LayerParams(1, 1, k_syn=[2, -4], k_mem=2, theta=10000)
    out, _ = _run_single(p, [[100]], [1, 0, 0, 0])
    assert out["i"][:, 0].tolist() == [100, 81, 66, 54]
    out, _ = _run_single(p, [[-100]], [1, 0, 0])
    assert out["i"][:, 0].tolist() == [-100, -82, -67]


def test_three_term_membrane_decay():
    p = LayerParams(1, 1, k_syn=0, k_mem=[1, -3, 5], theta=1000)  # d = 13/32
    out, _ = _run_single(p, [[64]], [1, 0, 0, 0])
    assert out["u"][:, 0].tolist() == [0, 64, 38, 22]  # 64-32+8-2, 38-19+4-1


def test_reset_amount_and_reset_before_the_leak():
    p = LayerParams(1, 1, k_syn=0, k_mem=2, theta=10, theta_reset=9)
    out, _ = _run_single(p, [[12]], [1, 1, 1, 1, 0])
    assert out["u"][:, 0].tolist() == [0, 12, 12, 12, 12]  # 12 - 3 + 12 - 9
    assert out["spikes"][:, 0].tolist() == [0, 1, 1, 1, 1]
    out, _ = _run_single(p.replace(reset="subtract_before_leak"), [[12]], [1, 1, 1, 1, 0])
    assert out["u"][:, 0].tolist() == [0, 12, 15, 17, 18]  # D(12-9)+12, D(15-9)+12, D(17-9)+12


def test_the_three_resets_one_neuron_apart():
    """θ = 10, D(U) = U − (U ≫ 2), a current of 12 from step 1 on (k_syn = 0: I[n] = A[n−1]).
    Reset to zero keeps the drive of the step after a spike, the clearing reset drops it:
    U[2] = 12 fires; zero: U[3] = I = 12, fires again; clear: U[3] = 0, U[4] = 12."""
    p = LayerParams(1, 1, k_syn=0, k_mem=2, theta=10)
    out, _ = _run_single(p.replace(reset="zero"), [[12]], [1, 1, 1, 1, 1, 0])
    assert out["u"][:, 0].tolist() == [0, 12, 12, 12, 12, 12]
    assert out["spikes"][:, 0].tolist() == [0, 1, 1, 1, 1, 1]
    out, _ = _run_single(p.replace(reset="clear"), [[12]], [1, 1, 1, 1, 1, 0])
    assert out["u"][:, 0].tolist() == [0, 12, 0, 12, 0, 12]
    assert out["spikes"][:, 0].tolist() == [0, 1, 0, 1, 0, 1]
    out, _ = _run_single(p.replace(reset="clear"), [[7]], [1, 1, 1, 1, 0])
    assert out["u"][:, 0].tolist() == [0, 7, 13, 0, 7]  # 7 - 1 + 7 = 13 fires, cleared


def test_input_shift_scales_weights_not_the_bias():
    p = LayerParams(1, 1, k_syn=1, k_mem=2, theta=10000, input_shift=3, bias=True)
    out, _ = _run_single(p, [[5]], [1, 0], bias=np.array([3]))
    assert out["i"][:, 0].tolist() == [43, 25]  # 5*8 + 3, 43 - 21 + 3


def test_same_step_recurrence():
    p = LayerParams(1, 1, k_syn=1, k_mem=1, theta=10, recurrent=True,
                    same_step_recurrence=True)
    out, _ = _run_single(p, [[20]], [1, 0, 0, 0, 0], recurrent=np.array([[7]]))
    assert out["i"][:, 0].tolist() == [20, 10, 9, 8, 8]  # D(I + R) + A: D(10+7), D(9+7), D(8+7)
    assert out["u"][:, 0].tolist() == [0, 20, 17, 15, 13]  # D(U) + I + R - θ s
    assert out["spikes"][:, 0].tolist() == [0, 1, 1, 1, 1]
    delayed, _ = _run_single(p.replace(same_step_recurrence=False), [[20]], [1, 0, 0, 0, 0],
                             recurrent=np.array([[7]]))
    assert delayed["i"][:, 0].tolist()[:3] == [20, 10, 12]  # the recurrent input a step later
    assert delayed["u"][:, 0].tolist()[:3] == [0, 20, 10]
