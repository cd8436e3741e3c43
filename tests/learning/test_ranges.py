"""The learning state's ranges: the bound's induction step checked on every value, the reference
driven as hard as it can be staying inside the narrowed hardware formats, and the cases where
no bound holds keeping the configured formats."""

import numpy as np
import pytest
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind
from spikeforge.model.decay import Decay
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.learning import LearningConfig
from spikeforge.model.learning.integer_ops import decay
from spikeforge.model.learning.ranges import error_format, hardware_formats, leaky_bound
from spikeforge.model.learning.step import initial_learn_state, learning_step

DECAYS = [0, 1, 2, 3, 5, Decay(((1, 1), (-1, 4))), Decay(((1, 2), (1, 4), (-1, 7))),
          Decay(((1, 3), (-1, 6), (1, 8), (-1, 11)))]


@pytest.mark.parametrize("k", DECAYS, ids=str)
@pytest.mark.parametrize("drive", [1, 3, 64, 1000])
def test_a_leaky_sum_never_leaves_its_bound(k, drive):
    bound = leaky_bound(drive, k)
    x = np.arange(-bound, bound + 1, dtype=np.int64)
    # the induction step, on every value in the bound: the strongest drive either way stays in
    assert (decay(x, k) + drive).max() <= bound and (decay(x, k) - drive).min() >= -bound
    # and the bound is reached, or nearly (a multi-term decay removes more than d|x|)
    value = 0
    for _ in range(4 * bound + 8):
        value = int(decay(np.int64(value), k)) + drive
    assert value <= bound
    if isinstance(k, int):
        assert value == bound


def _network(kind=NeuronKind.LIF, k_syn=2, k_mem=3):
    rng = np.random.default_rng(1)
    hidden = Layer(LayerParams(3, 4, kind=kind, k_syn=k_syn,
                               k_mem=0 if kind is NeuronKind.IF else k_mem),
                   rng.integers(-8, 8, (4, 3)))
    out = Layer(LayerParams(4, 2, k_syn=k_syn, k_mem=k_mem), rng.integers(-8, 8, (2, 4)))
    return Network((hidden, out), SpikeEncoding(4))


@pytest.mark.parametrize(("k_syn", "k_mem", "k_err", "trace_shift", "error_shift"), [
    (2, 3, 3, 6, 4),  # the learning demo's
    (1, 4, 2, 8, 0),
    (Decay(((1, 2), (-1, 5))), Decay(((1, 3), (1, 6), (-1, 9))), 4, 5, 3),
])
def test_the_reference_driven_hardest_stays_in_the_hardware_formats(
        k_syn, k_mem, k_err, trace_shift, error_shift):
    network = _network(k_syn=k_syn, k_mem=k_mem)
    config = LearningConfig.create(network, "superspike", layers=(0, 1), k_err=k_err,
                                   trace_shift=trace_shift, error_shift=error_shift, sg_shift=15)
    formats = {index: hardware_formats(network, config, index) for index in config.layers}
    errors = error_format(config)
    state = initial_learn_state(network, config)
    peaks = {name: 0 for name in ("p", "q", "ebar", "err")}
    # every input spikes every step, every neuron is at its threshold (σ' = 1: λ = q) and the
    # error is pushed one way for 300 steps, then the other: each sum meets its largest drive
    for step in range(600):
        sign = 1 if step < 300 else -1
        presyn = {index: np.ones(network.layers[index].params.n_in, np.int64)
                  for index in config.layers}
        post = {index: (np.full(network.layers[index].params.n, network.layers[index].params.theta),
                        np.zeros(network.layers[index].params.n, np.int64))
                for index in config.layers}
        output = np.zeros(network.n_out, np.int64) if sign > 0 else np.ones(network.n_out)
        state = learning_step(network, config, state, presyn, post, output, 1 - output)
        assert errors.contains(state.error)
        peaks["err"] = max(peaks["err"], int(np.abs(state.error).max()))
        for index, traces in state.layers.items():
            f = formats[index]
            assert f.p.contains(traces.p) and f.q.contains(traces.q)
            assert f.ebar.contains(traces.ebar)
            for name in ("p", "q", "ebar"):
                peaks[name] = max(peaks[name], int(np.abs(getattr(traces, name)).max()))
    # the formats are narrower than the configured ones, and their top bit is used
    f = formats[1]
    for name, fmt, configured in (("p", f.p, config.trace_format),
                                  ("q", f.q, config.trace_format),
                                  ("ebar", f.ebar, config.elig_format),
                                  ("err", errors, config.error_format)):
        assert fmt.width < configured.width, name
        assert peaks[name] > fmt.max // 2, name


def test_no_bound_keeps_the_configured_format():
    # IF: q does not leak, so it keeps its format, and the eligibility is sized from that
    # format's largest value
    network = _network(kind=NeuronKind.IF)
    config = LearningConfig.create(network, "superspike", layers=(0, 1))
    formats = hardware_formats(network, config, 0)
    assert formats.p.width < config.trace_format.width and formats.q == config.trace_format
    bound = leaky_bound(config.trace_format.max, config.k_err, signed=False)
    assert formats.ebar == IntFormat(bound.bit_length() + 1) != config.elig_format
    # ALIF under e-prop: λ and the adaptive component feed each other
    alif = _network(kind=NeuronKind.ALIF)
    config = LearningConfig.create(alif, "eprop")
    assert hardware_formats(alif, config, 0).ebar == config.elig_format
    # a configured format narrower than the bound saturates for real, so it stays
    narrow = LearningConfig.create(network, "superspike", trace_format=IntFormat(6, signed=False),
                                   error_format=IntFormat(5))
    assert hardware_formats(network, narrow, 1).p == narrow.trace_format
    assert error_format(narrow) == narrow.error_format
