r"""Requantization: a trained network's weights in fewer (or more) bits, the state scale kept.

A layer with weights :math:`W` of :math:`B_0` bits and input shift :math:`f` adds
:math:`A = 2^f\, W s` to its current (:mod:`spikeforge.model.reference`). For :math:`B < B_0`
bits, :math:`k = B_0 - B`:

.. math::

    W' = \mathrm{clamp}_B\big(\mathrm{round}(W / 2^k)\big), \qquad f' = f + k, \qquad
    A' = 2^{f'} W' s = 2^f \big(2^k W'\big) s \approx 2^f W s

so the currents keep their scale: θ, the decays, the bias and the state formats stay what they
are and only the weights' rounding changes. Where no weight is clamped,
:math:`|2^k W' - W| \le 2^{k-1}` for every weight, and a network whose weights are all
multiples of :math:`2^k` is requantized exactly (the same integer run). ``round`` is to
nearest, ties to even (``Rounding.NEAREST``), done in integers; the clamp only bites at the
top of the range (:math:`W / 2^k` rounds up to :math:`2^{B-1}`, one past the largest weight).
Recurrent weights :math:`V` share the format and the shift, so they are requantized alike.

For :math:`B > B_0` the weights are kept and only their format widens (the weight memories
grow, the integer run does not change); :math:`B = B_0` returns the network unchanged.
The shift :math:`f' < w_I` (the current's width) bounds how far a layer can be narrowed.
"""

import numpy as np

from ..model import IntFormat, Layer, Network

__all__ = ["RequantizeError", "network_weight_bits", "requantize", "requantize_weights"]


class RequantizeError(ValueError):
    """The network cannot be requantized to the bits asked for: which layer, why, what to do."""


def network_weight_bits(network) -> int:
    """The network's own weight width: the widest of its layers' weight formats."""
    return max(layer.params.weight_format.width for layer in network.layers)


def requantize_weights(weights, shift, fmt):
    """``clamp(round(weights / 2**shift))`` in ``fmt``, ties to even, in exact integers."""
    w = np.asarray(weights, dtype=np.int64)
    if shift == 0:
        return np.clip(w, fmt.min, fmt.max).astype(fmt.storage_dtype)
    q = np.right_shift(w, shift)  # floor(w / 2^k)
    rest = w - np.left_shift(q, shift)  # 0 <= rest < 2^k
    half = 1 << (shift - 1)
    q = q + ((rest > half) | ((rest == half) & (q % 2 == 1)))
    return np.clip(q, fmt.min, fmt.max).astype(fmt.storage_dtype)


def _layer(layer, index, bits):
    p = layer.params
    width = p.weight_format.width
    fmt = IntFormat(bits)
    if bits == width:
        return layer
    if bits > width:  # wider format, same weights
        return Layer(p.replace(weight_format=fmt), layer.weight, layer.recurrent, layer.bias,
                     name=layer.name)
    shift = width - bits
    top = p.current_format.width - 1
    if p.input_shift + shift > top:
        raise RequantizeError(
            f"cannot narrow layer {index} ({layer.name or '?'}) from {width} to {bits} weight "
            f"bits: its input shift would become {p.input_shift} + {shift} = "
            f"{p.input_shift + shift}, but the shift must stay below the current's width "
            f"({p.current_format}, at most {top}). Choose at least "
            f"{width - (top - p.input_shift)} weight bits, or a wider current format")
    recurrent = None if layer.recurrent is None else requantize_weights(layer.recurrent, shift,
                                                                        fmt)
    return Layer(p.replace(weight_format=fmt, input_shift=p.input_shift + shift),
                 requantize_weights(layer.weight, shift, fmt), recurrent, layer.bias,
                 name=layer.name)


def requantize(network: Network, bits: int) -> Network:
    """``network`` with every layer's weights in ``bits`` bits (see the module)."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 2 <= bits <= 32:
        raise RequantizeError(f"weight bits must be an integer in 2..32, not {bits!r}")
    bits = int(bits)
    layers = tuple(_layer(layer, index, bits) for index, layer in enumerate(network.layers))
    if all(new is old for new, old in zip(layers, network.layers, strict=True)):
        return network
    metadata = dict(network.metadata)
    metadata["requantized"] = {"weight_bits": bits, "from": [
        layer.params.weight_format.width for layer in network.layers]}
    return Network(layers, network.encoding, network.readout, network.name, metadata)
