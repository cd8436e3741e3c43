r"""Synapses from the layer's input: a weight matrix and an optional bias.

.. math::  a_i[n] = \sum_j W_{ij}\, s_{in,j}[n] + c_i

``W`` has shape ``(n, n_in)``. Before the quantize pass ``W`` and ``c`` may be floats (NIR
weights with the neuron's input gain folded in); afterwards they are integers, ``W`` in
``weight_format`` and ``c`` in the neuron's ``current_format``. Consecutive ``Affine`` nodes
(allowed in a graph, as NIR writes them) compose, :math:`W = W_2 W_1`,
:math:`c = W_2 c_1 + c_2`: the fuse pass merges them before quantization.
"""

from dataclasses import dataclass

import numpy as np

from ...model import IntFormat
from .base import (
    check_format,
    check_name,
    float_array,
    format_from_dict,
    format_to_dict,
    is_integral,
    register_node,
)

__all__ = ["Affine"]


@register_node
@dataclass(frozen=True, eq=False)
class Affine:
    """Weights ``W`` (n, n_in) and bias ``c`` (n,) or ``None``; see the module for the math."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    weight_format: IntFormat | None = None
    name: str = ""

    def __post_init__(self):
        check_name(self.name)
        label = f"Affine {self.name or '?'}"
        weight = float_array(label, "weight", self.weight, 2)
        if 0 in weight.shape:
            raise ValueError(f"{label}: weight must not be empty, not shape {weight.shape}")
        object.__setattr__(self, "weight", weight)
        if self.bias is not None:
            bias = float_array(label, "bias", self.bias, 1)
            if bias.shape != (weight.shape[0],):
                raise ValueError(f"{label}: bias has {bias.size} values for {weight.shape[0]} "
                                 "outputs")
            object.__setattr__(self, "bias", bias)
        fmt = check_format(label, "weight_format", self.weight_format)
        object.__setattr__(self, "weight_format", fmt)
        if fmt is not None:
            if not is_integral(weight):
                raise ValueError(f"{label}: weights with a weight_format must be integers")
            fmt.check_array(f"{label}.weight", weight.astype(np.int64))

    @property
    def n(self) -> int:
        return self.weight.shape[0]

    @property
    def n_in(self) -> int:
        return self.weight.shape[1]

    @property
    def quantized(self) -> bool:
        return self.weight_format is not None and (self.bias is None or is_integral(self.bias))

    def to_dict(self):
        return {"type": "Affine", "weight": self.weight.tolist(),
                "bias": None if self.bias is None else self.bias.tolist(),
                "weight_format": format_to_dict(self.weight_format), "name": self.name}

    @classmethod
    def from_fields(cls, fields):
        fields = dict(fields)
        fields["weight_format"] = format_from_dict(fields.get("weight_format"))
        return cls(**fields)
