"""A layer: its parameters and its integer weight arrays, validated together."""

from dataclasses import dataclass

import numpy as np

from .params import LayerParams

__all__ = ["Layer"]


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of the network.

    Parameters
    ----------
    params : LayerParams
    weight : int array, shape (n, n_in)
        Feed-forward weights W[i, j] from input j to neuron i, in ``params.weight_format``.
    recurrent : int array, shape (n, n), or None
        Recurrent weights V[i, k] from the layer's own neuron k; required iff ``params.recurrent``.
    bias : int array, shape (n,), or None
        Constant current c[i] in ``params.current_format``; required iff ``params.bias``.
    name : str
    """

    params: LayerParams
    weight: np.ndarray
    recurrent: np.ndarray | None = None
    bias: np.ndarray | None = None
    name: str = ""

    def __post_init__(self):
        p = self.params
        if not isinstance(p, LayerParams):
            raise TypeError(f"params must be LayerParams, not {p!r}")
        label = self.name or "layer"
        weight = _int_array(f"{label}.weight", self.weight, (p.n, p.n_in))
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
            bias = _int_array(f"{label}.bias", self.bias, (p.n,))
            p.current_format.check_array(f"{label}.bias", bias)
            object.__setattr__(self, "bias", bias.astype(np.int32))
        elif self.bias is not None:
            raise ValueError(f"{label} has a bias array but params.bias is False")

    @property
    def arrays(self) -> dict:
        """The integer arrays by name (``weight``, and ``recurrent``/``bias`` when present)."""
        out = {"weight": self.weight}
        if self.recurrent is not None:
            out["recurrent"] = self.recurrent
        if self.bias is not None:
            out["bias"] = self.bias
        return out

    def with_weights(self, **arrays) -> "Layer":
        """A copy with some arrays replaced (validated again)."""
        current = {"weight": self.weight, "recurrent": self.recurrent, "bias": self.bias}
        current.update(arrays)
        return Layer(self.params, name=self.name, **current)


def _int_array(name, values, shape):
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, not {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {arr.shape}")
    return arr
