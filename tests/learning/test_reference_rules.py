"""The integer learning rules: their operations, the LFSR, and clear errors for bad setups."""

import numpy as np
import pytest
from spikeforge.model import Layer, LayerParams, Network, NeuronKind
from spikeforge.model.decay import Decay
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.learning import (
    LearningConfig,
    LearningRule,
    bit_length,
    class_targets,
    decay,
    lfsr_step,
    lr_shift_from_rate,
    pow2_product,
    run_trial,
    surrogate_exponent,
)
from spikeforge.sim.random_networks import random_decay


def net(*kinds, recurrent=False):
    layers, size = [], 3
    rng = np.random.default_rng(0)
    for kind in kinds:
        params = LayerParams(size, 2, kind=kind, theta=1 if kind is NeuronKind.LI else 20,
                             recurrent=recurrent and kind is not NeuronKind.LI,
                             k_adapt=2 if kind is NeuronKind.ALIF else 0,
                             adapt_jump=5 if kind is NeuronKind.ALIF else 0)
        rec = rng.integers(-5, 5, (2, 2)) if params.recurrent else None
        layers.append(Layer(params, rng.integers(-5, 30, (2, size)), recurrent=rec))
        size = 2
    readout = "spike_count" if kinds[-1] is not NeuronKind.LI else "membrane_max"
    return Network(tuple(layers), SpikeEncoding(6), readout=readout)


def test_decay_goes_to_zero_both_ways():
    x = np.array([1, 7, 8, 100, -1, -9, 0])
    assert decay(x, 3).tolist() == [0, 6, 7, 87, 0, -7, 0]
    assert decay(x, 0).tolist() == [0] * 7
    trace = np.array([5])
    for _ in range(40):
        trace = decay(trace, 2)
    assert trace[0] == 0


def test_multi_term_trace_decay_goes_to_zero_and_stays_within_its_factor():
    """Every x in a range, random 1- to 4-term decays: |D(x)| <= (1 - d)|x|, |D(x)| < |x| for
    x != 0, never past zero; one term is the one-shift decay exactly."""
    x = np.arange(-3000, 3001)
    for k in range(8):
        assert np.array_equal(decay(x, Decay.of(k)), decay(x, k))
    rng = np.random.default_rng(1)
    for _ in range(300):
        d = random_decay(rng, 16, max_shift=8)
        y = decay(x, d)
        assert (np.abs(y) <= np.abs(x) * d.factor).all(), d
        assert ((np.abs(y) < np.abs(x)) | (x == 0)).all(), d
        assert (y * x >= 0).all(), d
    # hand-computed: d = 2^-1 + 2^-2 removes ceil(x/2) + ceil(x/4) for x > 0
    assert decay(np.array([1, 2, 3, 8, -1, -3, -8]), Decay.of([1, 2])).tolist() == [
        0, 0, 0, 2, 0, 0, -2]
    # d = 2^-2 - 2^-4: removes ceil(x/4) - floor(x/16) for x > 0, floor(x/4) - ceil(x/16) below
    assert decay(np.array([1, 15, 16, 100, -1, -15, -100]), Decay.of([2, -4])).tolist() == [
        0, 11, 13, 81, 0, -11, -81]


def test_bit_length_and_pow2_product():
    assert bit_length([0, 1, 2, 3, 4, 255, 256]).tolist() == [0, 1, 2, 2, 3, 8, 9]
    assert pow2_product([0, 1, 5, -5, -8], [3, 3, 3, 3, 3]).tolist() == [0, 3, 12, -12, -24]


def test_surrogate_is_a_power_of_two_lookup():
    exponent, active = surrogate_exponent([0, 7, 8, -8, 15, 16, 1000], 3, 2, 2)
    assert exponent.tolist() == [0, 0, 2, 2, 2, 4, 14]
    assert active.tolist() == [True, True, True, True, True, True, False]


def test_lfsr_has_no_short_cycle():
    state, seen = 1, set()
    for _ in range(10000):
        seen.add(state)
        state = lfsr_step(state)
    assert len(seen) == 10000 and 0 not in seen


def test_learning_rate_must_be_a_power_of_two():
    assert lr_shift_from_rate(2.0 ** -20) == 20
    assert lr_shift_from_rate(1) == 0
    with pytest.raises(ValueError, match=r"power of two.*not 0.001; nearest: 2\^-10"):
        lr_shift_from_rate(0.001)
    with pytest.raises(ValueError, match="power of two"):
        LearningConfig.create(net(NeuronKind.LIF, NeuronKind.LIF), "superspike",
                              learning_rate=0.3)


def test_rule_on_unsupported_layer_is_refused():
    with pytest.raises(ValueError, match=r"superspike does not support ALIF.*eprop"):
        LearningConfig.create(net(NeuronKind.ALIF, NeuronKind.LIF), "superspike", layers=(0,))
    with pytest.raises(ValueError, match="superspike does not support recurrent"):
        LearningConfig.create(net(NeuronKind.LIF, NeuronKind.LIF, recurrent=True), "superspike")
    with pytest.raises(ValueError, match="spiking output layer"):
        LearningConfig.create(net(NeuronKind.LIF, NeuronKind.LI), "eprop", layers=(0,))
    with pytest.raises(ValueError, match="layer 5 does not exist"):
        LearningConfig.create(net(NeuronKind.LIF, NeuronKind.LIF), "eprop", layers=(5,))
    config = LearningConfig.create(net(NeuronKind.ALIF, NeuronKind.LIF, recurrent=True), "eprop")
    assert config.rule is LearningRule.EPROP and config.layers == (0, 1)


@pytest.mark.parametrize("rule", ["superspike", "eprop"])
def test_features_the_rules_cannot_express_are_refused(rule):
    """Same-step recurrence and an input shift on a learning layer: a clear error naming the
    layer and the feature; the same features on a layer that does not learn are fine, and so
    are multi-term decays, a reset amount and reset before the leak."""
    base = net(NeuronKind.LIF, NeuronKind.LIF, recurrent=True)

    def with_params(layer, **changes):
        params = layer.params.replace(**changes)
        return Layer(params, layer.weight, name=layer.name,
                     recurrent=layer.recurrent if params.recurrent else None)

    hidden, out = base.layers[0], with_params(base.layers[1], recurrent=False)

    same_step = Network((with_params(hidden, same_step_recurrence=True), out), base.encoding)
    with pytest.raises(ValueError, match=rf"{rule} does not support same-step recurrence yet: "
                                         r"layer 0 \(lif\) has same_step_recurrence"):
        LearningConfig.create(same_step, rule, layers=(0,))
    shifted = Network((hidden, with_params(out, input_shift=2)), base.encoding)
    with pytest.raises(ValueError, match=rf"{rule} does not support an input shift yet: "
                                         r"layer 1 \(lif\) has input_shift = 2"):
        LearningConfig.create(shifted, rule, layers=(1,))
    LearningConfig.create(shifted, "eprop", layers=(0,))  # layer 0 learns, layer 1 does not
    v2 = Network((hidden, with_params(out, k_mem=[2, 4, -7], k_syn=[1, -3], theta_reset=7,
                                      reset="subtract_before_leak")), base.encoding)
    assert LearningConfig.create(v2, rule, layers=(1,)).layers == (1,)


def test_targets_of_the_wrong_shape_are_refused():
    network = net(NeuronKind.LIF, NeuronKind.LIF)
    config = LearningConfig.create(network, "superspike")
    x = np.zeros((6, 3), np.int64)
    with pytest.raises(ValueError, match=r"targets must have shape \(T, n_out\) = \(6, 2\)"):
        run_trial(network, config, x, np.zeros((6, 3), np.int64))
    with pytest.raises(ValueError, match="only 0 and 1"):
        run_trial(network, config, x, np.full((6, 2), 2))


def test_output_layer_learns_towards_targets():
    """A silent output neuron with a target gains weight; a spiking one without loses weight."""
    rng = np.random.default_rng(3)
    params = LayerParams(4, 2, k_syn=1, k_mem=2, theta=200)
    layer = Layer(params, np.array([[4] * 4, [60] * 4]))
    network = Network((layer,), SpikeEncoding(20))
    config = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -12,
                                   sg_shift=5, rounding="nearest")
    x = (rng.random((20, 4)) < 0.7).astype(np.int64)
    target = class_targets([0], 2, 20, period=3)[0]
    result = run_trial(network, config, x, target)
    assert result.output[:, 1].sum() > 0 and result.output[:, 0].sum() == 0
    delta = result.network.layers[0].weight.astype(int) - layer.weight
    assert (delta[0] > 0).all() and (delta[1] < 0).all()


def test_frozen_trial_keeps_weights_and_lfsr():
    network = net(NeuronKind.LIF, NeuronKind.LIF)
    config = LearningConfig.create(network, "eprop")
    x = np.ones((6, 3), np.int64)
    result = run_trial(network, config, x, np.ones((6, 2), np.int64), learn=False, lfsr=77)
    assert result.network is network and result.lfsr == 77
