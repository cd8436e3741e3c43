"""What every IR node shares: the registry ``to_dict``/``from_dict`` dispatch on, and checked
conversions of arrays, formats and enums to and from plain JSON values.

A node's dictionary always carries ``"type"`` (the class name); :func:`node_from_dict` looks the
class up in :data:`NODE_TYPES`, which each node class joins with :func:`register_node`.
"""

import dataclasses
import math

import numpy as np

from ...model import IntFormat

__all__ = ["NODE_TYPES", "check_format", "check_name", "float_array", "format_from_dict",
           "format_to_dict", "node_from_dict", "register_node"]

#: node type name → class
NODE_TYPES = {}


def register_node(cls):
    """Class decorator: make ``cls`` known to :func:`node_from_dict` under its name."""
    NODE_TYPES[cls.__name__] = cls
    return cls


def node_from_dict(data):
    """The node ``data`` (a dict with a ``"type"``) describes."""
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError(f"an IR node must be an object with a 'type', not {data!r}")
    kind = data["type"]
    if kind not in NODE_TYPES:
        raise ValueError(f"unknown IR node type {kind!r}; known: {', '.join(sorted(NODE_TYPES))}")
    cls = NODE_TYPES[kind]
    fields = {k: v for k, v in data.items() if k != "type"}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"{kind}: unknown field(s) {unknown}; expected some of {sorted(known)}")
    return cls.from_fields(fields) if hasattr(cls, "from_fields") else cls(**fields)


def float_array(owner, name, values, ndim):
    """``values`` as a finite float64 array of ``ndim`` dimensions (integers stay exact up to
    2^53, far beyond any format here)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be numbers, not {type(values).__name__}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{owner}: {name} must have {ndim} dimension(s), not shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{owner}: {name} holds NaN or infinite values")
    return arr


def is_integral(arr) -> bool:
    """Whether every value of ``arr`` is an integer."""
    return bool(np.all(np.asarray(arr) == np.rint(arr)))


def check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, not {name!r}")
    return name


def check_format(owner, name, value, signed=True):
    """``None`` (chosen later by the quantize pass) or an :class:`IntFormat` of that sign."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = IntFormat.from_dict(value)
    if not isinstance(value, IntFormat):
        raise TypeError(f"{owner}: {name} must be an IntFormat or None, not {value!r}")
    if value.signed != signed:
        raise ValueError(f"{owner}: {name} must be {'signed' if signed else 'unsigned'}, "
                         f"not {value}")
    return value


def format_to_dict(value):
    return None if value is None else value.to_dict()


def format_from_dict(value):
    return None if value is None else IntFormat.from_dict(value)


def check_threshold(owner, value):
    """A positive, finite threshold: an integer once quantized, a float before."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: theta must be a number, not {value!r}")
    if not (math.isfinite(float(value)) and value > 0):
        raise ValueError(f"{owner}: theta must be positive and finite, not {value}")
    return int(value) if isinstance(value, (int, np.integer)) else float(value)
