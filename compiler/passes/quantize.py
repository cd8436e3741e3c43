r"""Quantize: float weights and thresholds to the contract's integers, per layer, with the
rounding error reported.

A layer that is already integer (a network file, a converted ANN) passes through unchanged with
zero error. For the others, one scale :math:`s` per layer multiplies ``W`` and ``V`` (spikes are
binary, so scaling a layer's potentials changes nothing downstream):

* ``weight_bits = B``: :math:`s = (2^{B-1} - 1) / \max(|W|, |V|)`, then round to nearest;
* ``weight_bits = None``: the weights must be exact integers after a power-of-two scale
  :math:`s = 2^j` (:math:`j \ge 0` the smallest that makes every weight an integer, at most 24),
  else an error says to pass ``weight_bits``. Equality is exact, with no tolerance: a gain of
  :math:`1 + 5\cdot10^{-8}` is not 1.

Fractional bits. The state keeps :math:`f` more bits than the weights: the layer's
``input_shift`` is :math:`f`, so the contract adds :math:`2^f\,W s` and every state value is in
units of :math:`2^{-f}` of a weight unit; the state scale is :math:`S = s\,2^f`. A decay's floor
then costs :math:`2^{-f}` of a unit instead of a whole one. :math:`f` is
``options.fraction_bits`` or, by default, chosen from the state bounds: the largest
:math:`f \le 24` whose bounds (:func:`~.ranges.state_bounds` to a fixed point, at least the
inference's steps) fit the state width; a layer without a decay that floors (no leak, no
synaptic filter) keeps :math:`f = 0`. The state width is ``state_bits``, or
:math:`\max(16, b_0 + 18)` bits (capped at 32), :math:`b_0` the width the bounds need at
:math:`f = 0`: 18 fractional bits put the floors near a float32 peer's own rounding for states
up to about :math:`2^5`.

At the state scale :math:`S`:

* threshold: ``compare = ">"`` (fires on :math:`v > v_{th}`) gives
  :math:`\theta = \lfloor S\,v_{th} \rfloor + 1`, ``">="`` gives :math:`\lceil S\,\theta \rceil`
  (on integers :math:`U > x \iff U \ge \lfloor x \rfloor + 1`): the comparison is exact;
* reset amount: :math:`\theta_r = \mathrm{round}(S\,v_r)` (``theta_reset``, when the source
  gives one; a ``">"`` threshold without one resets by :math:`S\,v_{th}`, not by
  :math:`\theta`), exact when :math:`S\,v_r` is an integer;
* bias: :math:`c = \mathrm{round}(S\,b)` (the contract does not shift the bias).

A convolutional or pooled layer (an ``Affine`` with a connectivity) is scaled the same way: the
stored weight (a kernel ``(C_out, C_in, K, K)`` or the pooled dense matrix) is the tensor, one
scale for all of it (every unrolled entry is a kernel weight or 0, so the unrolled matrix gets
the same integers); the bias is per output channel; the state bounds are those of the unrolled
layer, which computes the same. A residual join's 1×1 kernel shares the layer's scale (its
columns are scaled with the kernel's), so the two paths keep their proportions.

Reported per layer: the scale, :math:`f`, the largest and RMS rounding error of the weights in
integer units, the largest relative to the largest weight, which values were rounded
(``approximations``), whether saturation is possible in the steady state and the chosen formats.
"""

import dataclasses
import math

import numpy as np

from ...model import IntFormat, Layer, LayerParams, NeuronKind
from ..ir import Affine, Recurrent
from .base import Pass

__all__ = ["Quantize", "QuantizeError", "floors"]

#: the most fractional bits the default chooses, and those it aims to add to the state
MAX_FRACTION_BITS = 24
TARGET_FRACTION_BITS = 18
#: the most power-of-two scale an exact import may apply to make weights integers
MAX_EXACT_SHIFT = 24
#: steps the bounds are iterated to at most when looking for their fixed point
BOUND_STEPS = 8192


class QuantizeError(ValueError):
    """A layer that cannot be quantized as asked."""


def _width(max_abs, minimum):
    return max(minimum, int(max_abs).bit_length() + 1)


def floors(neuron) -> bool:
    """Whether a decay of ``neuron`` can floor a state (a shift > 0 somewhere)."""
    decays = [neuron.k_syn] + ([] if neuron.kind is NeuronKind.IF else [neuron.k_mem])
    return any(k > 0 for decay in decays for _, k in decay.terms)


def _threshold(neuron, scale):
    if not neuron.spiking:
        return 1
    theta = float(neuron.theta) * scale
    if neuron.compare == ">":
        return math.floor(theta) + 1
    return math.ceil(theta)


def _exact_row(nodes):
    affine, neuron = nodes.affines[0], nodes.neuron
    return {"layer": nodes.name, "nodes": [affine.name, neuron.name], "exact": True,
            "approximations": [], "scale": 1.0, "state_scale": 2.0 ** neuron.input_shift,
            "input_shift": neuron.input_shift,
            "weight_rounding_max_error": 0.0, "weight_rounding_rms_error": 0.0,
            "weight_rounding_relative_error": 0.0,
            "theta": neuron.theta if neuron.spiking else None,
            "theta_reset": neuron.theta_reset if neuron.spiking else None,
            "threshold_float": None, "weight_format": f"s{affine.weight_format.width}",
            "state_format": f"s{neuron.potential_format.width}",
            "saturation_possible": None}


def _exact_scale(label, both):
    """The smallest ``2^j`` that makes every weight an exact integer."""
    for shift in range(MAX_EXACT_SHIFT + 1):
        scaled = both * 2.0**shift
        if np.all(scaled == np.rint(scaled)):
            return 2.0**shift
    off = float(np.abs(both - np.rint(both)).max())
    raise QuantizeError(
        f"layer {label!r}: the effective weights (the source's weights times the gain of the "
        f"discretization) are not integers, nor integers divided by a power of two up to "
        f"2^{MAX_EXACT_SHIFT} (off by up to {off:.3g}); pass weight_bits (--weight-bits 8) "
        "to quantize them")


def _bounds_width(params, weight, recurrent, bias, steps, connectivity=None, shortcut=None,
                  shortcut_weight=None):
    """Signed width that holds the state bounds of a layer (to their fixed point)."""
    from .ranges import state_bounds

    fmt = params.current_format
    layer = Layer(params, weight.astype(np.int64),
                  recurrent=None if recurrent is None else recurrent.astype(np.int64),
                  bias=None if bias is None else np.clip(bias, fmt.min, fmt.max).astype(np.int64),
                  connectivity=connectivity, shortcut=shortcut,
                  shortcut_weight=None if shortcut is None else shortcut_weight.astype(np.int64))
    (i_lo, i_hi), (u_lo, u_hi) = state_bounds(layer, steps, until_stable=True)
    return max(_width(max(-i_lo, i_hi), 2), _width(max(-u_lo, u_hi), 2))


def _weight_scale(label, both, weight_bits):
    """The layer's weight scale :math:`s` (see the module)."""
    if weight_bits is None:
        return _exact_scale(label, both)
    largest = float(np.abs(both).max())
    if largest == 0:
        raise QuantizeError(f"every weight of {label!r} is zero: nothing to quantize")
    return IntFormat(weight_bits).max / largest


class _ScaledLayer:
    """A layer at weight scale ``scale``: its integer weights, and its threshold, reset amount,
    bias, parameters and state bits needed at ``f`` fraction bits."""

    def __init__(self, nodes, scale, rounded, w_width, steps):
        self.affine, self.recurrent, self.neuron = nodes.affines[0], nodes.recurrent, nodes.neuron
        self.scale, self.w_width, self.steps = scale, w_width, steps
        shape = self.affine.weight.shape  # a kernel (C_out, C_in, K, K) is scaled as rows
        columns = int(np.prod(shape[1:]))
        self.w_int = rounded[:, :columns].reshape(shape)
        self.v_int = None if self.recurrent is None else rounded[:, columns:]
        # a residual join's 1×1 kernel: its columns follow the kernel's, at the same scale
        self.s_int = None if self.affine.shortcut is None else rounded[:, columns:].reshape(
            self.affine.shortcut_weight.shape)
        self._needed = {}

    def integers(self, f):
        """``(theta, reset, bias)`` at the state scale, before rounding (the threshold is
        already an integer)."""
        neuron = self.neuron
        state = self.scale * 2.0**f
        theta = _threshold(neuron, state)
        reset = None
        if neuron.spiking and neuron.reset.subtracts:
            source = neuron.theta_reset if neuron.theta_reset is not None else (
                neuron.theta if neuron.compare == ">" else None)
            reset = None if source is None else float(source) * state
        bias = None if self.affine.bias is None else self.affine.bias * state
        return theta, reset, bias

    def params_at(self, f, width):
        """``(params, bias)``: the layer's parameters and rounded bias in a ``width``-bit
        state."""
        neuron = self.neuron
        theta, reset, bias = self.integers(f)
        fmt = IntFormat(width)
        return LayerParams(
            n_in=self.affine.n_in, n=neuron.n, kind=neuron.kind, k_syn=neuron.k_syn,
            k_mem=neuron.k_mem if neuron.kind is not NeuronKind.IF else 0,
            theta=max(1, min(theta, fmt.max)) if neuron.spiking else 1, reset=neuron.reset,
            theta_reset=None if reset is None else max(1, min(round(reset), fmt.max)),
            recurrent=self.recurrent is not None, bias=bias is not None,
            weight_format=IntFormat(self.w_width), current_format=fmt, potential_format=fmt,
            input_shift=f, same_step_recurrence=getattr(neuron, "same_step_recurrence", False),
            **neuron.extra_params()), (None if bias is None else np.rint(bias))

    def needed(self, f):
        """State bits the bounds and the threshold need at ``f`` fraction bits (cached)."""
        if f not in self._needed:
            params, bias = self.params_at(f, 32)
            bits = _bounds_width(params, self.w_int, self.v_int, bias, max(self.steps, 1),
                                 self.affine.connectivity, self.affine.shortcut, self.s_int)
            theta = self.integers(f)[0]
            self._needed[f] = max(bits, int(theta).bit_length() + 2 if self.neuron.spiking else 2)
        return self._needed[f]


def _state_format(layer, options, label):
    """``(f, width)``: the fraction bits and the state width (see the module)."""
    neuron = layer.neuron
    fixed_width = (neuron.current_format or neuron.potential_format) is not None
    if options.fraction_bits is not None:
        f = options.fraction_bits
    elif neuron.input_shift or not floors(neuron):
        f = neuron.input_shift
    else:
        f = None
    bits0 = layer.needed(f or 0)
    if fixed_width:
        width = (neuron.potential_format or neuron.current_format).width
    elif options.state_bits is not None:
        width = options.state_bits
    else:
        width = min(32, max(16, bits0 + (TARGET_FRACTION_BITS if f is None else 0)))
        shifts = [k for d in (neuron.k_syn, neuron.k_mem) for _, k in d.terms]
        width = max(width, max(shifts) + 1)  # every decay shift below the state width
    if f is None:
        f = max(0, min(MAX_FRACTION_BITS, width - 1, width - bits0))
        while f > 0 and layer.needed(f) > width:
            f -= 1
    if not 0 <= f < width:
        raise QuantizeError(f"layer {label!r}: fraction bits {f} must be in 0..{width - 1} "
                            f"for a {width}-bit state")
    return f, width


def _check_threshold(neuron, theta, width, state_scale):
    fmt = IntFormat(width)
    if neuron.spiking and theta < 1:
        raise QuantizeError(f"node {neuron.name!r}: threshold {neuron.theta:g} gives an integer "
                            f"threshold {theta} < 1; thresholds must be positive")
    if neuron.spiking and theta > fmt.max:
        raise QuantizeError(f"node {neuron.name!r}: threshold {theta} at scale {state_scale:g} "
                            f"does not fit a {width}-bit state (max {fmt.max}); widen the state "
                            "(state_bits) or lower the fraction bits")


def _theta_reset(neuron, theta, reset, width, approximations):
    """The integer reset amount (None: reset by the threshold), noting a rounding in
    ``approximations``."""
    if reset is None:
        return None
    theta_reset = round(reset)
    if theta_reset != reset:
        approximations.append(f"reset amount {reset:.6g} rounded to {theta_reset}")
    if not 1 <= theta_reset <= IntFormat(width).max:
        raise QuantizeError(f"node {neuron.name!r}: reset amount {theta_reset} does not fit "
                            f"a {width}-bit state")
    if theta_reset == theta and neuron.theta_reset is None and neuron.compare == ">=":
        return None
    return theta_reset


def quantize_layer(nodes, options, steps=32):
    """``(nodes, row)``: the layer's nodes in integers, and its report row."""
    weight_bits = options.weight_bits
    affine, recurrent, neuron = nodes.affines[0], nodes.recurrent, nodes.neuron
    label = affine.name or nodes.name or "?"
    rows = affine.weight.reshape(len(affine.weight), -1)  # a kernel: one row per out channel
    both = rows if recurrent is None else np.hstack([rows, recurrent.weight])
    if affine.shortcut is not None:  # a join's kernel shares the layer's one scale
        both = np.hstack([rows, affine.shortcut_weight.reshape(len(rows), -1)])
    largest = float(np.abs(both).max())
    scale = _weight_scale(label, both, weight_bits)
    scaled = both * scale
    rounded = np.rint(scaled)
    error = np.abs(scaled - rounded)
    keep_format = affine.weight_format is not None and scale == 1.0
    w_width = affine.weight_format.width if keep_format else _width(
        np.abs(rounded).max(), 2 if weight_bits is None else weight_bits)
    layer = _ScaledLayer(nodes, scale, rounded, w_width, steps)
    f, width = _state_format(layer, options, label)
    saturation = layer.needed(f) > width
    theta, reset, bias = layer.integers(f)
    _check_threshold(neuron, theta, width, scale * 2**f)
    approximations = []
    if weight_bits is not None and float(error.max()) > 0:
        approximations.append(f"weights rounded to {weight_bits} bits (up to "
                              f"{float(error.max()):.3g} of an integer unit)")
    theta_reset = _theta_reset(neuron, theta, reset, width, approximations)
    c_int = None
    if bias is not None:
        c_int = np.rint(bias)
        if np.any(c_int != bias):
            approximations.append(f"bias rounded (up to {float(np.abs(c_int - bias).max()):.3g}"
                                  " of a state unit)")
    if saturation:
        approximations.append(f"the state may saturate: its bound needs {layer.needed(f)} bits, "
                              f"the state has {width}")
    fmt = IntFormat(width)
    changes = {"current_format": fmt, "potential_format": fmt, "input_shift": f}
    if neuron.spiking:
        changes.update(theta=int(theta), compare=">=", theta_reset=theta_reset)
    new_neuron = dataclasses.replace(neuron, **changes)
    new_affine = Affine(layer.w_int, c_int, IntFormat(w_width), name=affine.name,
                        connectivity=affine.connectivity, shortcut=affine.shortcut,
                        shortcut_weight=layer.s_int)
    new_rec = None if recurrent is None else Recurrent(layer.v_int, name=recurrent.name)
    row = {"layer": nodes.name, "nodes": [affine.name, neuron.name],
           "exact": not approximations, "approximations": approximations,
           "scale": scale, "input_shift": f, "state_scale": scale * 2.0**f,
           "weight_rounding_max_error": float(error.max()),
           "weight_rounding_rms_error": float(np.sqrt(np.mean(error**2))),
           "weight_rounding_relative_error": float(error.max() / (largest * scale))
           if largest else 0.0,
           "theta": int(theta) if neuron.spiking else None, "theta_reset": theta_reset,
           "threshold_float": float(neuron.theta) if neuron.spiking else None,
           "weight_format": f"s{w_width}", "state_format": f"s{width}",
           "state_bits_needed": layer.needed(f), "saturation_possible": saturation}
    return nodes._replace(affines=(new_affine,), recurrent=new_rec, neuron=new_neuron), row


class Quantize(Pass):
    """Integer weights, thresholds and formats (see the module); needs a fused graph."""

    name = "quantize"

    def run(self, graph, options, report):
        if not graph.fused:
            raise QuantizeError("quantize needs one Affine per layer: run the fuse pass first")
        layers, rows = [], []
        steps = graph.input.encoding.steps
        for nodes in graph.layers:
            done = (nodes.affines[0].quantized and nodes.neuron.quantized
                    and (nodes.recurrent is None or nodes.recurrent.integral))
            if done:
                layers.append(nodes)
                rows.append(_exact_row(nodes))
            else:
                new, row = quantize_layer(nodes, options, steps)
                layers.append(new)
                rows.append(row)
        report[self.name] = {"weight_bits": options.weight_bits,
                             "exact": all(r["exact"] for r in rows), "layers": rows}
        return graph.with_layers(layers)
