r"""Synapses from the layer's input: a weight matrix (or a convolution's kernel) and an optional
bias.

.. math::  a_i[n] = \sum_j W_{ij}\, s_{in,j}[n] + c_i

Without a ``connectivity``, ``W`` has shape ``(n, n_in)`` and ``c`` shape ``(n,)``. With one
(:class:`~spikeforge.model.Connectivity`: the input read as a ``(C, H, W)`` spike map, sum-pooled
by ``pool``, then dense or a 2-d convolution), ``weight`` and ``bias`` hold what the network
file stores: a kernel ``(C_out, C_in, K, K)`` and a per-channel bias ``(C_out,)`` for a
convolution, ``(n, C·H_p·W_p)`` and ``(n,)`` for a pooled dense layer. The node then computes

.. math::  a = U(W)\, s_{in} + E(c)

with :math:`U(W)` the *unrolled* dense ``(n, n_in)`` matrix (every entry a kernel weight or 0,
:meth:`~spikeforge.model.Connectivity.unrolled`) and :math:`E(c)` the bias expanded to every
output position (:attr:`Affine.dense_weight`, :attr:`Affine.dense_bias`): exactly the same sum.
Passes that need per-neuron rows (the range bounds) read the dense form; the quantize pass
scales the stored weight (one scale per tensor, the same for a kernel as for a matrix).

Before the quantize pass ``W`` and ``c`` may be floats (NIR weights with the neuron's input gain
folded in); afterwards they are integers, ``W`` in ``weight_format`` and ``c`` in the neuron's
``current_format``. Consecutive ``Affine`` nodes (allowed in a graph, as NIR writes them)
compose, :math:`W = W_2 W_1`, :math:`c = W_2 c_1 + c_2`: the fuse pass merges them before
quantization (not when one has a connectivity: a product of a convolution with another map is
not a convolution, and the pass refuses it).

A convolution may carry a residual join (``shortcut``, :class:`~spikeforge.model.Shortcut`, with
its 1×1 kernel ``shortcut_weight`` of shape ``(C_out, C_src, 1, 1)``): the spikes of an earlier
layer added through it, in ``weight_format`` as the kernel is.
"""

from dataclasses import dataclass

import numpy as np

from ...model import Connectivity, IntFormat, Shortcut
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
    """Weights ``W`` and bias ``c`` (or ``None``), dense or as ``connectivity`` says; see the
    module for the math and the shapes."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    weight_format: IntFormat | None = None
    name: str = ""
    connectivity: Connectivity | None = None
    shortcut: Shortcut | None = None
    shortcut_weight: np.ndarray | None = None

    def __post_init__(self):
        check_name(self.name)
        label = f"Affine {self.name or '?'}"
        conn = self.connectivity
        if isinstance(conn, dict):
            conn = Connectivity.from_dict(conn)
            object.__setattr__(self, "connectivity", conn)
        if conn is not None and not isinstance(conn, Connectivity):
            raise TypeError(f"{label}: connectivity must be a Connectivity or None, not {conn!r}")
        convolution = conn is not None and conn.conv is not None
        weight = float_array(label, "weight", self.weight, 4 if convolution else 2)
        if 0 in weight.shape:
            raise ValueError(f"{label}: weight must not be empty, not shape {weight.shape}")
        bias_shape = (weight.shape[0],)
        if conn is not None:
            expected = conn.weight_shape(weight.shape[0])
            if weight.shape != expected:
                what = ("a kernel (out channels, in channels, K, K)" if convolution else
                        "(n, pooled inputs C·H_p·W_p)")
                raise ValueError(f"{label}: weight has shape {weight.shape} but its connectivity "
                                 f"{_describe(conn)} needs {expected}, {what}")
            bias_shape = conn.bias_shape(weight.shape[0])
        object.__setattr__(self, "weight", weight)
        if self.bias is not None:
            bias = float_array(label, "bias", self.bias, 1)
            if bias.shape != bias_shape:
                per = "output channels" if convolution else "outputs"
                raise ValueError(f"{label}: bias has {bias.size} values for {bias_shape[0]} "
                                 f"{per}")
            object.__setattr__(self, "bias", bias)
        fmt = check_format(label, "weight_format", self.weight_format)
        object.__setattr__(self, "weight_format", fmt)
        if fmt is not None:
            if not is_integral(weight):
                raise ValueError(f"{label}: weights with a weight_format must be integers")
            fmt.check_array(f"{label}.weight", weight.astype(np.int64))
        self._check_shortcut(label, convolution)

    def _check_shortcut(self, label, convolution):
        """A join and its kernel come together, on a convolution, in the kernel's format."""
        short = self.shortcut
        if isinstance(short, dict):
            short = Shortcut.from_dict(short)
            object.__setattr__(self, "shortcut", short)
        if short is None:
            if self.shortcut_weight is not None:
                raise ValueError(f"{label}: shortcut_weight given without a shortcut")
            return
        if not isinstance(short, Shortcut):
            raise TypeError(f"{label}: shortcut must be a Shortcut or None, not {short!r}")
        if not convolution:
            raise ValueError(f"{label}: a residual join needs a convolution (the join adds a "
                             "map to the convolution's output map)")
        if self.shortcut_weight is None:
            raise ValueError(f"{label}: a shortcut needs its shortcut_weight")
        kernel = float_array(label, "shortcut_weight", self.shortcut_weight, 4)
        if kernel.shape != short.weight_shape or kernel.shape[0] != self.weight.shape[0]:
            raise ValueError(f"{label}: shortcut_weight has shape {kernel.shape}, the join "
                             f"needs {short.weight_shape} with {self.weight.shape[0]} outputs")
        object.__setattr__(self, "shortcut_weight", kernel)
        if self.weight_format is not None:
            if not is_integral(kernel):
                raise ValueError(f"{label}: shortcut weights with a weight_format must be "
                                 "integers")
            self.weight_format.check_array(f"{label}.shortcut_weight", kernel.astype(np.int64))

    @property
    def n(self) -> int:
        """Outputs: ``C_out·H_out·W_out`` for a convolution, else the weight's rows."""
        if self.connectivity is None:
            return self.weight.shape[0]
        return self.connectivity.neurons(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        """Inputs: the input map's ``C·H·W`` with a connectivity, else the weight's columns."""
        if self.connectivity is None:
            return self.weight.shape[1]
        return self.connectivity.n_in

    @property
    def convolutional(self) -> bool:
        return self.connectivity is not None and self.connectivity.conv is not None

    @property
    def output_shape(self) -> tuple | None:
        """``(C, H, W)`` of the map a convolution produces; None otherwise."""
        return None if self.connectivity is None else self.connectivity.output_shape

    @property
    def dense_weight(self) -> np.ndarray:
        """:math:`U(W)`, the ``(n, n_in)`` matrix that computes the same sum (the weight itself
        without a connectivity); unrolled once and kept (the node is immutable)."""
        if self.connectivity is None:
            return self.weight
        if "_dense_weight" not in self.__dict__:
            object.__setattr__(self, "_dense_weight",
                               self.connectivity.unrolled(self.weight, self.weight.shape[0]))
        return self.__dict__["_dense_weight"]

    @property
    def dense_bias(self) -> np.ndarray | None:
        """:math:`E(c)`, the bias of every neuron ``(n,)`` (per channel repeated over the output
        positions of a convolution)."""
        if self.bias is None or self.connectivity is None:
            return self.bias
        return self.connectivity.expand_bias(self.bias)

    @property
    def quantized(self) -> bool:
        return self.weight_format is not None and (self.bias is None or is_integral(self.bias))

    def to_dict(self):
        data = {"type": "Affine", "weight": self.weight.tolist(),
                "bias": None if self.bias is None else self.bias.tolist(),
                "weight_format": format_to_dict(self.weight_format), "name": self.name}
        if self.connectivity is not None:
            data["connectivity"] = self.connectivity.to_dict()
        if self.shortcut is not None:
            data["shortcut"] = self.shortcut.to_dict()
            data["shortcut_weight"] = self.shortcut_weight.tolist()
        return data

    @classmethod
    def from_fields(cls, fields):
        fields = dict(fields)
        fields["weight_format"] = format_from_dict(fields.get("weight_format"))
        if fields.get("connectivity") is not None:
            fields["connectivity"] = Connectivity.from_dict(fields["connectivity"])
        return cls(**fields)


def _describe(conn) -> str:
    """``"2×8×8 map, pool 2, conv 4 × 3×3 stride 1 padding 1"``."""
    text = f"{'×'.join(map(str, conn.input_shape))} map"
    if conn.pool != 1:
        text += f", pool {conn.pool}"
    if conn.conv is not None:
        c = conn.conv
        text += f", conv {c.out_channels} × {c.kernel}×{c.kernel} stride {c.stride} " \
                f"padding {c.padding}"
    else:
        text += ", dense"
    return f"({text})"
