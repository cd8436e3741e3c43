"""Random networks of every variant of the contract, for differential tests and benchmarks.

Every layer has a multiple of the lane count neurons; ``saturating`` narrows I and U so that
clamping happens often. Layers mix every part of contract version 2 (multi-term decays, reset
amount, reset before the leak, the clearing reset, input shift, same-step recurrence) with the
version-1 variants."""

from dataclasses import replace

import numpy as np
from spikeforge.model import (
    Connectivity,
    Conv2d,
    IntFormat,
    Layer,
    LayerParams,
    Network,
    NeuronKind,
    ResetMode,
    Shortcut,
)
from spikeforge.model.decay import Decay
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.network import Readout

__all__ = [
    "FEATURE_LAYERS", "feature_network", "random_conv_network", "random_decay", "random_layer",
    "random_network", "random_residual_network", "random_spikes",
]


def random_decay(rng, width, *, max_terms=4, max_shift=6):
    """A random valid decay (:class:`~spikeforge.model.decay.Decay`) of 1 to ``max_terms``
    terms: the first shift at most ``max_shift``, later ones up to ``width - 1``."""
    top = min(width - 1, max_shift)
    while True:
        count = int(rng.integers(1, max_terms + 1))
        first = int(rng.integers(0, top + 1))
        later = np.arange(first + 1, width)
        if later.size < count - 1:
            continue
        shifts = [first, *sorted(rng.choice(later, count - 1, replace=False).tolist())]
        signs = [1, *rng.choice([-1, 1], count - 1).tolist()]
        try:
            return Decay(tuple(zip(signs, shifts, strict=True)))
        except ValueError:  # d > 1 (a first shift of 0 followed by a positive term)
            continue


def random_layer(rng, n_in, n, kind, *, saturating=False, recurrent=False, bias=False,
                 reset=ResetMode.SUBTRACT, k_syn=None, version=2, **changes):
    """A layer with random formats, decays and weights; ``saturating`` narrows I and U.

    ``version=2`` (the default) draws every part of contract version 2 as well: decays of 1
    to 4 terms (:func:`random_decay`), a reset amount other than θ (half the subtract-reset
    layers), an input shift of 0 to 2 and, in half the recurrent layers, same-step recurrence.
    ``version=1`` draws the one-term layers of version 1 (the same draws as before version 2).
    ``changes`` (``LayerParams`` fields) replace what was drawn.
    """
    if version not in (1, 2):
        raise ValueError(f"version must be 1 or 2, not {version!r}")
    wbits = int(rng.integers(3, 9))
    cw = int(rng.integers(5, 9)) if saturating else int(rng.integers(10, 17))
    pw = int(rng.integers(5, 9)) if saturating else int(rng.integers(10, 17))
    wf, cf, pf = IntFormat(wbits), IntFormat(cw), IntFormat(pw)
    spiking = kind is not NeuronKind.LI
    if version == 1:
        def decay(width, top=5):
            return int(rng.integers(0, min(width, top + 1)))
    else:
        def decay(width, top=5):
            return random_decay(rng, width, max_shift=top)
    extra = {}
    if kind is NeuronKind.ALIF:
        tw = int(rng.integers(4, 12))
        extra = dict(trace_format=IntFormat(tw, signed=False), k_adapt=decay(tw, tw - 1),
                     adapt_jump=int(rng.integers(0, (1 << tw))))
    k_syn = decay(cw) if k_syn is None else k_syn
    k_mem = 0 if kind is NeuronKind.IF else decay(pw)
    theta = int(rng.integers(1, min(pf.max, 4 * wf.max) + 1)) if spiking else 1
    params = dict(
        n_in=n_in, n=n, kind=kind, k_syn=k_syn, k_mem=k_mem, theta=theta, reset=reset,
        recurrent=recurrent and spiking, bias=bias,
        weight_format=wf, current_format=cf, potential_format=pf, **extra,
    )
    if version == 2:
        if spiking and reset.subtracts and rng.integers(0, 2):
            params["theta_reset"] = int(rng.integers(1, min(pf.max, 2 * theta) + 1))
        params["input_shift"] = int(rng.choice([0, 0, 1, 2]))
        params["same_step_recurrence"] = params["recurrent"] and bool(rng.integers(0, 2))
    params = LayerParams(**{**params, **changes})
    hi = wf.max + 1
    lo = wf.min
    weight = rng.integers(lo // 2 if not saturating else lo, hi, (n, n_in))
    rec = rng.integers(lo, hi, (n, n)) if params.recurrent else None
    c = rng.integers(cf.min // 4, cf.max // 4 + 1, n) if bias else None
    return Layer(params, weight, recurrent=rec, bias=c)


def random_network(rng, lanes, *, layers=2, kinds=None, saturating=False, version=2):
    """A network whose every layer has a multiple of ``lanes`` neurons (``version``: see
    :func:`random_layer`; version 2 draws the reset before the leak and the clearing reset
    too)."""
    n_in = int(rng.integers(1, 9))
    size = n_in
    built = []
    resets = len(ResetMode) if version == 2 else 2
    for index in range(layers):
        last = index == layers - 1
        kind = kinds[index] if kinds else NeuronKind(int(rng.integers(0, 4 if last else 3)))
        n = lanes * int(rng.integers(1, 5))
        built.append(random_layer(
            rng, size, n, kind, saturating=saturating, recurrent=bool(rng.integers(0, 2)),
            bias=bool(rng.integers(0, 2)), reset=ResetMode(int(rng.integers(0, resets))),
            version=version,
        ))
        size = n
    readout = Readout.SPIKE_COUNT if built[-1].params.spiking else Readout.MEMBRANE_MAX
    return Network(tuple(built), SpikeEncoding(8), readout=readout)


def random_conv_network(rng, lanes, *, convs=None, saturating=False, dense_out=None):
    """A random convolutional network: 1 or 2 convolutional layers (random input map, sum
    pooling, kernel, stride, padding; ``C_out`` a multiple of ``lanes``), then, in
    ``dense_out`` (default: half the nets), a dense layer over the (possibly pooled) last map.
    Neurons, decays, resets, biases and formats are drawn as in :func:`random_layer`."""
    convs = int(rng.integers(1, 3)) if convs is None else convs
    dense_out = bool(rng.integers(0, 2)) if dense_out is None else dense_out
    shape = (int(rng.integers(1, 3)), int(rng.integers(3, 7)), int(rng.integers(3, 7)))
    resets = len(ResetMode)
    built = []
    for index in range(convs + dense_out):
        last = index == convs + dense_out - 1
        pool = int(rng.integers(1, 3)) if min(shape[1:]) >= 4 else 1
        pooled = (shape[0], shape[1] // pool, shape[2] // pool)
        kind = NeuronKind(int(rng.integers(0, 4 if last else 3)))
        if index < convs:
            kernel = int(rng.integers(1, min(3, min(pooled[1:])) + 1))
            conv = Conv2d(lanes * int(rng.integers(1, 3)), kernel, int(rng.integers(1, 3)),
                          int(rng.integers(0, kernel)))
            conn = Connectivity(shape, pool, conv)
            n = conn.neurons()
        else:
            conn = Connectivity(shape, pool) if pool > 1 else None
            n = lanes * int(rng.integers(1, 4))
        n_in = int(np.prod(shape))
        bias = bool(rng.integers(0, 2))
        drawn = random_layer(rng, n_in, n, kind, saturating=saturating, bias=bias,
                             reset=ResetMode(int(rng.integers(0, resets))))
        if conn is None:
            built.append(drawn)
            continue
        wf, cf = drawn.params.weight_format, drawn.params.current_format
        weight = rng.integers(wf.min // 2, wf.max + 1, conn.weight_shape(n))
        c = rng.integers(cf.min // 4, cf.max // 4 + 1, conn.bias_shape(n)) if bias else None
        built.append(Layer(drawn.params, weight, bias=c, name=f"l{index}", connectivity=conn))
        shape = conn.output_shape
    readout = Readout.SPIKE_COUNT if built[-1].params.spiking else Readout.MEMBRANE_MAX
    return Network(tuple(built), SpikeEncoding(8), readout=readout)


def random_residual_network(rng, lanes, *, source=None, saturating=False, dense_out=None):
    """A random residual block: a convolution ``a`` (stride 1, "same" padding) over a random
    input map, then a convolution ``b`` over ``a``'s map (sum pool 1 or 2, stride 1 or 2,
    kernel 1 or 3 with "same" padding) whose residual join reads ``source`` (0: ``a``, -1: the
    network input; drawn if None) through the same pool and a 1×1 convolution of the same
    stride, so the two maps agree; then, in ``dense_out`` (default: half the nets), a dense
    layer. Neurons, decays, resets, biases, formats and join weights are drawn as in
    :func:`random_conv_network`."""
    source = int(rng.integers(-1, 1)) if source is None else source
    dense_out = bool(rng.integers(0, 2)) if dense_out is None else dense_out
    shape = (int(rng.integers(1, 3)), int(rng.integers(2, 7)), int(rng.integers(2, 7)))
    pool = int(rng.integers(1, 3)) if min(shape[1:]) >= 4 else 1
    stride = int(rng.integers(1, 3))
    kernels = [int(rng.choice([1, 3])) for _ in range(2)]
    a = Connectivity(shape, 1, Conv2d(lanes * int(rng.integers(1, 3)), kernels[0], 1,
                                      kernels[0] // 2))
    b = Connectivity(a.output_shape, pool, Conv2d(lanes * int(rng.integers(1, 3)), kernels[1],
                                                  stride, kernels[1] // 2))
    join = Shortcut(source, Connectivity(shape if source < 0 else a.output_shape, pool,
                                         Conv2d(b.conv.out_channels, 1, stride, 0)))
    built = []
    for index, conn in enumerate((a, b)):
        last = index == 1 and not dense_out
        kind = NeuronKind(int(rng.integers(0, 4 if last else 3)))
        bias = bool(rng.integers(0, 2))
        drawn = random_layer(rng, conn.n_in, conn.neurons(), kind, saturating=saturating,
                             bias=bias, reset=ResetMode(int(rng.integers(0, len(ResetMode)))))
        wf, cf = drawn.params.weight_format, drawn.params.current_format
        weight = rng.integers(wf.min // 2, wf.max + 1, conn.weight_shape(None))
        c = rng.integers(cf.min // 4, cf.max // 4 + 1, conn.bias_shape(None)) if bias else None
        extra = {}
        if index == 1:
            extra = dict(shortcut=join, shortcut_weight=rng.integers(
                wf.min // 2, wf.max + 1, join.weight_shape))
        built.append(Layer(drawn.params, weight, bias=c, name="ab"[index], connectivity=conn,
                           **extra))
    if dense_out:
        kind = NeuronKind(int(rng.integers(0, 4)))
        built.append(random_layer(rng, b.neurons(), lanes * int(rng.integers(1, 4)), kind,
                                  saturating=saturating, bias=bool(rng.integers(0, 2))))
    readout = Readout.SPIKE_COUNT if built[-1].params.spiking else Readout.MEMBRANE_MAX
    return Network(tuple(built), SpikeEncoding(8), readout=readout)


#: every version-2 feature, each in a layer that also has the version-1 variants around it
#: (kind, changes); decays are fixed so that every term count appears, shifts below 5 so that
#: they fit the narrowest (saturating) formats (trace: 4 bits)
FEATURE_LAYERS = (
    (NeuronKind.ALIF, dict(k_syn=[1, 2, -3, 4], k_mem=[2, -4], k_adapt=[1, 2, -3],
                           reset=ResetMode.SUBTRACT_BEFORE_LEAK, recurrent=True,
                           same_step_recurrence=True, input_shift=1, bias=True)),
    (NeuronKind.LIF, dict(k_syn=[2, -4], k_mem=[1, 2, -4], reset=ResetMode.SUBTRACT,
                          recurrent=True, same_step_recurrence=False, input_shift=2,
                          bias=False)),
    (NeuronKind.IF, dict(k_syn=[1, -3, 4], reset=ResetMode.ZERO, recurrent=True,
                         same_step_recurrence=True, input_shift=0, bias=True)),
    (NeuronKind.LIF, dict(k_syn=[1, -3], k_mem=2, reset=ResetMode.CLEAR, recurrent=True,
                          same_step_recurrence=True, input_shift=1, bias=True)),
    (NeuronKind.LI, dict(k_syn=2, k_mem=[1, 2, 3, -4], input_shift=1, bias=True)),
)


def feature_network(rng, lanes, *, saturating=False):
    """Five layers that together hold every version-2 feature on purpose (decays of 1 to 4
    terms on I, U and b, a reset amount other than θ with both subtract resets, the reset
    before the leak, the clearing reset, input shifts, same-step recurrence with three reset
    modes, and recurrence
    without it), formats and weights drawn; every layer has ``lanes`` or ``2 lanes`` neurons."""
    size = int(rng.integers(2, 9))
    built = []
    for kind, changes in FEATURE_LAYERS:
        n = lanes * int(rng.integers(1, 3))
        extra = dict(changes)
        layer = random_layer(rng, size, n, kind, saturating=saturating,
                             recurrent=extra.pop("recurrent", False),
                             bias=extra.pop("bias", False),
                             reset=extra.pop("reset", ResetMode.SUBTRACT), **extra)
        if layer.params.spiking and layer.params.reset.subtracts:
            theta = layer.params.theta
            layer = replace(layer, params=layer.params.replace(theta_reset=theta // 2 + 1))
        built.append(layer)
        size = n
    return Network(tuple(built), SpikeEncoding(8), readout=Readout.MEMBRANE_MAX)


def random_spikes(rng, steps, n_in, rate=0.5):
    """Input spikes (T, n_in) of 0/1."""
    return (rng.random((steps, n_in)) < rate).astype(np.int64)
