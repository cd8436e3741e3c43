"""A layer: its parameters, its connectivity and its integer weight arrays, validated together."""

from dataclasses import dataclass

import numpy as np

from .connectivity import Connectivity
from .params import LayerParams
from .shortcut import Shortcut

__all__ = ["Layer"]


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of the network.

    Parameters
    ----------
    params : LayerParams
    weight : int array, shape (n, n_in), or as ``connectivity`` says
        Feed-forward weights W[i, j] from input j to neuron i, in ``params.weight_format``;
        with a connectivity, its stored weight (a kernel ``(C_out, C_in, K, K)`` for a
        convolution, ``(n, pooled inputs)`` for a pooled dense layer).
    recurrent : int array, shape (n, n), or None
        Recurrent weights V[i, k] from the layer's own neuron k; required iff ``params.recurrent``.
    bias : int array, shape (n,), or None
        Constant current c[i] in ``params.current_format``; required iff ``params.bias``.
        Per output channel ``(C_out,)`` for a convolution.
    name : str
    connectivity : Connectivity or None
        How the inputs reach the neurons (:mod:`spikeforge.model.connectivity`): None is dense
        over a flat input vector.
    shortcut : Shortcut or None
        A residual join (:mod:`spikeforge.model.shortcut`): the spikes of an earlier layer
        through a 1×1 convolution, added to the synaptic sum. Convolutional layers only.
    shortcut_weight : int array (C_out, C_src, 1, 1), or None
        The shortcut's kernel, in ``params.weight_format``; required iff ``shortcut``.
    """

    params: LayerParams
    weight: np.ndarray
    recurrent: np.ndarray | None = None
    bias: np.ndarray | None = None
    name: str = ""
    connectivity: Connectivity | None = None
    shortcut: Shortcut | None = None
    shortcut_weight: np.ndarray | None = None

    def __post_init__(self):
        p = self.params
        if not isinstance(p, LayerParams):
            raise TypeError(f"params must be LayerParams, not {p!r}")
        label = self.name or "layer"
        conn = self.connectivity
        weight_shape, bias_shape = (p.n, p.n_in), (p.n,)
        if conn is not None:
            _check_connectivity(label, p, conn)
            weight_shape, bias_shape = conn.weight_shape(p.n), conn.bias_shape(p.n)
        weight = _int_array(f"{label}.weight", self.weight, weight_shape)
        p.weight_format.check_array(f"{label}.weight", weight)
        object.__setattr__(self, "weight", weight.astype(p.weight_format.storage_dtype))
        if p.recurrent:
            if self.recurrent is None:
                raise ValueError(f"{label} is recurrent but no recurrent weights were given")
            rec = _int_array(f"{label}.recurrent", self.recurrent, (p.n, p.n))
            p.weight_format.check_array(f"{label}.recurrent", rec)
            object.__setattr__(self, "recurrent", rec.astype(p.weight_format.storage_dtype))
        elif self.recurrent is not None:
            raise ValueError(f"{label} has recurrent weights but params.recurrent is False")
        if p.bias:
            if self.bias is None:
                raise ValueError(f"{label} has bias=True but no bias array was given")
            bias = _int_array(f"{label}.bias", self.bias, bias_shape)
            p.current_format.check_array(f"{label}.bias", bias)
            object.__setattr__(self, "bias", bias.astype(np.int32))
        elif self.bias is not None:
            raise ValueError(f"{label} has a bias array but params.bias is False")
        if self.shortcut is not None:
            _check_shortcut(label, self.shortcut, conn)
            if self.shortcut_weight is None:
                raise ValueError(f"{label} has a shortcut but no shortcut_weight was given")
            kernel = _int_array(f"{label}.shortcut_weight", self.shortcut_weight,
                                self.shortcut.weight_shape)
            p.weight_format.check_array(f"{label}.shortcut_weight", kernel)
            object.__setattr__(self, "shortcut_weight",
                               kernel.astype(p.weight_format.storage_dtype))
        elif self.shortcut_weight is not None:
            raise ValueError(f"{label} has a shortcut_weight but no shortcut")

    @property
    def arrays(self) -> dict:
        """The integer arrays by name (``weight``, and ``recurrent``/``bias`` when present)."""
        out = {"weight": self.weight}
        if self.recurrent is not None:
            out["recurrent"] = self.recurrent
        if self.bias is not None:
            out["bias"] = self.bias
        if self.shortcut_weight is not None:
            out["shortcut"] = self.shortcut_weight
        return out

    @property
    def output_shape(self) -> tuple | None:
        """``(C, H, W)`` of the spike map a convolutional layer produces; None otherwise."""
        return None if self.connectivity is None else self.connectivity.output_shape

    def synaptic_sum(self, spikes, shortcut_spikes=None) -> np.ndarray:
        r""":math:`\sum_j W_{ij} s_j` (batch, n) in int64 for input spikes (batch, n_in), plus
        the shortcut's sum of ``shortcut_spikes`` (the source's spikes) for a residual join."""
        if self.connectivity is None:
            return np.asarray(spikes, dtype=np.int64) @ self.weight.astype(np.int64).T
        out = self.connectivity.synaptic_sum(self.weight, spikes)
        if self.shortcut is not None:
            if shortcut_spikes is None:
                raise ValueError(f"{self.name or 'layer'} has a residual join: give the spikes "
                                 f"of its source (layer {self.shortcut.source})")
            out += self.shortcut.synaptic_sum(self.shortcut_weight, shortcut_spikes)
        return out

    def dense(self) -> "Layer":
        """The same layer with dense weights (n × n_in) over a flat input: a convolution or
        pooling unrolled (:meth:`.Connectivity.unrolled`); computes exactly the same."""
        if self.connectivity is None:
            return self
        if self.shortcut is not None:
            raise ValueError(f"{self.name or 'layer'} has a residual join (a second input from "
                             f"layer {self.shortcut.source}), which a dense layer cannot hold; "
                             "the convolution core holds it (the layer's kernel and the join's)")
        if "_dense" not in self.__dict__:  # unrolled once per layer (the layer is immutable)
            conn = self.connectivity
            bias = None if self.bias is None else conn.expand_bias(self.bias)
            object.__setattr__(self, "_dense", Layer(
                self.params, conn.unrolled(self.weight, self.params.n),
                recurrent=self.recurrent, bias=bias, name=self.name))
        return self.__dict__["_dense"]

    def with_weights(self, **arrays) -> "Layer":
        """A copy with some arrays replaced (validated again)."""
        current = {"weight": self.weight, "recurrent": self.recurrent, "bias": self.bias,
                   "shortcut_weight": self.shortcut_weight}
        if "shortcut" in arrays:  # the name ``arrays`` gives it
            arrays["shortcut_weight"] = arrays.pop("shortcut")
        current.update(arrays)
        return Layer(self.params, name=self.name, connectivity=self.connectivity,
                     shortcut=self.shortcut, **current)


def _check_connectivity(label, p, conn):
    if not isinstance(conn, Connectivity):
        raise TypeError(f"{label}.connectivity must be a Connectivity, not {conn!r}")
    if conn.n_in != p.n_in:
        c, h, w = conn.input_shape
        raise ValueError(f"{label} reads a {c}×{h}×{w} input map ({conn.n_in} inputs) but its "
                         f"params say n_in = {p.n_in}")
    if conn.conv is not None:
        if conn.neurons() != p.n:
            c, h, w = conn.output_shape
            raise ValueError(f"{label}'s convolution produces a {c}×{h}×{w} map ({c * h * w} "
                             f"neurons) but its params say n = {p.n}")
        if p.recurrent:
            raise ValueError(f"{label} is convolutional and recurrent: a convolutional layer "
                             "cannot have recurrent weights")


def _check_shortcut(label, shortcut, conn):
    if not isinstance(shortcut, Shortcut):
        raise TypeError(f"{label}.shortcut must be a Shortcut, not {shortcut!r}")
    if conn is None or conn.conv is None:
        raise ValueError(f"{label} has a shortcut but is not convolutional: a residual join "
                         "adds to a convolutional layer's map")
    if shortcut.connectivity.output_shape != conn.output_shape:
        shape = lambda s: "×".join(map(str, s))  # noqa: E731
        raise ValueError(f"{label}'s residual join is of mismatched shapes: the shortcut gives "
                         f"{shape(shortcut.connectivity.output_shape)} but the layer's map is "
                         f"{shape(conn.output_shape)}: give the shortcut a stride (or a "
                         "projection) that makes them equal")


def _int_array(name, values, shape):
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, not {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {arr.shape}")
    return arr
