r"""Quantize: float weights and thresholds to the contract's integers, per layer, with the
rounding error reported.

A layer that is already integer (a network file, a converted ANN) passes through unchanged with
zero error. For the others, one scale :math:`s` per layer multiplies ``W``, ``V``, ``c`` and
:math:`\theta` (spikes are binary, so scaling a layer's potentials changes nothing downstream):

* ``weight_bits = B``: :math:`s = (2^{B-1} - 1) / \max(|W|, |V|)`, then round to nearest;
* ``weight_bits = None``: :math:`s = 1` and the weights must already be integers (to within
  :math:`10^{-6}`, as float32 files store them), else an error says to pass ``weight_bits``;
* threshold: ``compare = ">"`` (fires on :math:`v > v_{th}`) gives
  :math:`\theta = \lfloor s\,v_{th} \rfloor + 1`, ``">="`` gives :math:`\lceil s\,\theta \rceil`
  (on integers :math:`U > x \iff U \ge \lfloor x \rfloor + 1`);
* formats left open: weights take the smallest signed width holding them (at least ``B``, or 2
  when exact); ``I`` and ``U`` take ``state_bits`` or
  :math:`\max(16,\ w_W + \lceil\log_2(R+1)\rceil + k_{syn} + k_{mem} + 1,\ |\theta| + 2)`
  bits (capped at 32): room for the steady-state bound of an all-spiking input, which the ranges
  pass then checks.

Reported per layer: the scale, the largest and RMS rounding error of the weights in integer
units, the largest relative to the largest weight, and the chosen formats.
"""

import dataclasses
import math

import numpy as np

from ...model import IntFormat
from ..ir import Affine, Recurrent
from .base import Pass

__all__ = ["Quantize", "QuantizeError"]


class QuantizeError(ValueError):
    """A layer that cannot be quantized as asked."""


def _width(max_abs, minimum):
    return max(minimum, int(max_abs).bit_length() + 1)


def _threshold(neuron, scale):
    if not neuron.spiking:
        return 1
    theta = float(neuron.theta) * scale
    if neuron.compare == ">":
        return math.floor(theta + 1e-9) + 1
    return math.ceil(theta - 1e-9)


def _exact_row(nodes):
    affine, neuron = nodes.affines[0], nodes.neuron
    return {"layer": nodes.name, "nodes": [affine.name, neuron.name], "exact": True,
            "scale": 1.0, "weight_rounding_max_error": 0.0, "weight_rounding_rms_error": 0.0,
            "weight_rounding_relative_error": 0.0,
            "theta": neuron.theta if neuron.spiking else None,
            "threshold_float": None, "weight_format": f"s{affine.weight_format.width}",
            "state_format": f"s{neuron.potential_format.width}"}


def quantize_layer(nodes, weight_bits, state_bits):
    """``(nodes, row)``: the layer's nodes in integers, and its report row."""
    affine, recurrent, neuron = nodes.affines[0], nodes.recurrent, nodes.neuron
    label = affine.name or nodes.name or "?"
    both = affine.weight if recurrent is None else np.hstack([affine.weight, recurrent.weight])
    largest = float(np.abs(both).max())
    if weight_bits is not None:
        if largest == 0:
            raise QuantizeError(f"every weight of {label!r} is zero: nothing to quantize")
        scale = IntFormat(weight_bits).max / largest
    else:
        scale = 1.0
    scaled = both * scale
    rounded = np.rint(scaled)
    error = np.abs(scaled - rounded)
    if weight_bits is None and not np.allclose(scaled, rounded, rtol=1e-6, atol=1e-6):
        raise QuantizeError(
            f"layer {label!r}: effective weights are not integers (off by up to "
            f"{float(error.max()):.3g}); pass weight_bits (--weight-bits 8) to quantize them")
    theta = _threshold(neuron, scale)
    if theta < 1:
        raise QuantizeError(f"node {neuron.name!r}: threshold {neuron.theta:g} gives an integer "
                            f"threshold {theta} < 1; thresholds must be positive")
    keep_format = affine.weight_format is not None and scale == 1.0
    w_width = affine.weight_format.width if keep_format else _width(
        np.abs(rounded).max(), 2 if weight_bits is None else weight_bits)
    fan_in = both.shape[1]
    bound = w_width + max(1, fan_in.bit_length()) + neuron.k_syn + neuron.k_mem + 1
    state = state_bits or min(32, max(16, bound, theta.bit_length() + 2))
    changes = {"current_format": neuron.current_format or IntFormat(state),
               "potential_format": neuron.potential_format or IntFormat(state)}
    if neuron.spiking:
        changes.update(theta=int(theta), compare=">=")
    new_neuron = dataclasses.replace(neuron, **changes)
    bias = None if affine.bias is None else np.rint(affine.bias * scale)
    n_in = affine.n_in
    new_affine = Affine(rounded[:, :n_in], bias, IntFormat(w_width), name=affine.name)
    new_rec = None if recurrent is None else Recurrent(rounded[:, n_in:], name=recurrent.name)
    row = {"layer": nodes.name, "nodes": [affine.name, neuron.name], "exact": weight_bits is None,
           "scale": scale, "weight_rounding_max_error": float(error.max()),
           "weight_rounding_rms_error": float(np.sqrt(np.mean(error**2))),
           "weight_rounding_relative_error": float(error.max() / (largest * scale))
           if largest else 0.0,
           "theta": int(theta) if neuron.spiking else None,
           "threshold_float": float(neuron.theta) if neuron.spiking else None,
           "weight_format": f"s{w_width}",
           "state_format": f"s{changes['potential_format'].width}"}
    return nodes._replace(affines=(new_affine,), recurrent=new_rec, neuron=new_neuron), row


class Quantize(Pass):
    """Integer weights, thresholds and formats (see the module); needs a fused graph."""

    name = "quantize"

    def run(self, graph, options, report):
        if not graph.fused:
            raise QuantizeError("quantize needs one Affine per layer: run the fuse pass first")
        layers, rows = [], []
        for nodes in graph.layers:
            done = (nodes.affines[0].quantized and nodes.neuron.quantized
                    and (nodes.recurrent is None or nodes.recurrent.integral))
            if done:
                layers.append(nodes)
                rows.append(_exact_row(nodes))
            else:
                new, row = quantize_layer(nodes, options.weight_bits, options.state_bits)
                layers.append(new)
                rows.append(row)
        report[self.name] = {"weight_bits": options.weight_bits,
                             "exact": all(r["exact"] for r in rows), "layers": rows}
        return graph.with_layers(layers)
