r"""Synapses from the layer's own spikes of the previous step (a recurrent layer's ``V``).

.. math::  a_i[n] \mathrel{+}= \sum_k V_{ik}\, s_k[n]

``V`` is ``(n, n)`` and shares the layer's ``weight_format`` (that of the :class:`~.affine.Affine`
before it). In a graph a ``Recurrent`` node sits between the layer's ``Affine`` and its neuron
node: the neuron's input is the sum of both. NIR writes it as a loop ``neuron → Affine → the same
neuron``; snnTorch's ``RSynaptic``/``RLeaky`` export that.
"""

from dataclasses import dataclass

import numpy as np

from .base import check_name, float_array, is_integral, register_node

__all__ = ["Recurrent"]


@register_node
@dataclass(frozen=True, eq=False)
class Recurrent:
    """Recurrent weights ``V`` (n, n); see the module for the math."""

    weight: np.ndarray
    name: str = ""

    def __post_init__(self):
        check_name(self.name)
        label = f"Recurrent {self.name or '?'}"
        weight = float_array(label, "weight", self.weight, 2)
        if weight.shape[0] != weight.shape[1] or 0 in weight.shape:
            raise ValueError(f"{label}: weight must be square (n, n), not shape {weight.shape}")
        object.__setattr__(self, "weight", weight)

    @property
    def n(self) -> int:
        return self.weight.shape[0]

    @property
    def integral(self) -> bool:
        return is_integral(self.weight)

    def to_dict(self):
        return {"type": "Recurrent", "weight": self.weight.tolist(), "name": self.name}
