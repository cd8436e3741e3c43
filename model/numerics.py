"""Integer formats and the helpers every integer path in spikeforge shares.

Nothing here converts floats to fixed point implicitly: quantizers take an explicit scale and
rounding mode, and saturation is an explicit call. NumPy only, no torch.
"""

from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = [
    "IntFormat",
    "Rounding",
    "check_int",
    "floor_shift",
    "quantize",
    "saturate",
    "saturation_count",
]


def check_int(name, value, lo=None, hi=None):
    """Validate that ``value`` is an integer in ``lo..hi`` (inclusive); return it as ``int``.

    Raises ``TypeError`` for a non-integer and ``ValueError`` for an out-of-range value, naming
    the parameter, the allowed range and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else str(lo)
        hi_s = "inf" if hi is None else str(hi)
        raise ValueError(f"{name} must be an integer in {lo_s}..{hi_s}, not {value}")
    return value


@dataclass(frozen=True)
class IntFormat:
    """A two's complement (``signed``) or unsigned integer format of ``width`` bits.

    Parameters
    ----------
    width : int
        Number of bits, 1..32.
    signed : bool
        Two's complement if true.
    """

    width: int
    signed: bool = True

    def __post_init__(self):
        check_int("width", self.width, 1, 32)
        if not isinstance(self.signed, bool):
            raise TypeError(f"signed must be a bool, not {self.signed!r}")

    @property
    def min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def contains(self, values) -> bool:
        """True if every element of ``values`` is representable."""
        arr = np.asarray(values)
        if arr.size == 0:
            return True
        return bool(arr.min() >= self.min and arr.max() <= self.max)

    def check_array(self, name, values):
        """Raise ``ValueError`` naming the first value of ``values`` that does not fit."""
        arr = np.asarray(values)
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integers, not {arr.dtype}")
        bad = np.flatnonzero((arr < self.min) | (arr > self.max))
        if bad.size:
            index = np.unravel_index(bad[0], arr.shape)
            raise ValueError(
                f"{name}{list(map(int, index))} = {int(arr[index])} does not fit {self}: "
                f"allowed {self.min}..{self.max} ({bad.size} value(s) out of range); "
                f"quantize with a smaller scale or choose a wider format"
            )

    @property
    def storage_dtype(self):
        """The smallest NumPy dtype that holds the format."""
        for bits in (8, 16, 32):
            if self.width <= bits:
                return np.dtype(f"{'int' if self.signed else 'uint'}{bits}")
        raise AssertionError("unreachable: width is at most 32")

    def to_dict(self):
        return {"width": self.width, "signed": self.signed}

    @classmethod
    def from_dict(cls, data):
        return cls(width=data["width"], signed=data.get("signed", True))

    def __str__(self):
        return f"{'s' if self.signed else 'u'}{self.width}"


class Rounding(Enum):
    """How a quantizer maps a real value to an integer."""

    NEAREST = "nearest"  # round half to even (NumPy's rint)
    FLOOR = "floor"
    TRUNCATE = "truncate"  # towards zero


def floor_shift(values, k):
    """Arithmetic right shift by ``k`` bits: ``floor(values / 2**k)``.

    For negative values this rounds towards minus infinity, as a hardware arithmetic shift does
    (``-1 >> 4 == -1``). ``k = 0`` returns the values unchanged.
    """
    return np.right_shift(np.asarray(values, dtype=np.int64), k)


def saturate(values, fmt: IntFormat):
    """Clamp ``values`` to the range of ``fmt``."""
    return np.clip(np.asarray(values, dtype=np.int64), fmt.min, fmt.max)


def saturation_count(values, fmt: IntFormat):
    """Number of elements of ``values`` (along the last axis) that ``saturate`` would change."""
    arr = np.asarray(values)
    return np.count_nonzero((arr < fmt.min) | (arr > fmt.max), axis=-1)


def quantize(values, scale, fmt: IntFormat, rounding=Rounding.NEAREST):
    """Quantize real ``values`` to ``fmt`` as ``round(values * scale)``, then saturate.

    Returns ``(q, clipped)``: the integer array in ``fmt.storage_dtype`` and the number of values
    that had to be clipped.
    """
    scaled = np.asarray(values, dtype=np.float64) * float(scale)
    if rounding is Rounding.NEAREST:
        rounded = np.rint(scaled)
    elif rounding is Rounding.FLOOR:
        rounded = np.floor(scaled)
    elif rounding is Rounding.TRUNCATE:
        rounded = np.trunc(scaled)
    else:
        raise TypeError(f"rounding must be a Rounding, not {rounding!r}")
    ints = rounded.astype(np.int64)
    clipped = int(np.count_nonzero((ints < fmt.min) | (ints > fmt.max)))
    return saturate(ints, fmt).astype(fmt.storage_dtype), clipped
