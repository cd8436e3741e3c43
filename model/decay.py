r"""Multiplier-free decays: a state loses a short signed sum of shifted copies of itself.

A decay with terms :math:`(s_1, k_1), \dots, (s_m, k_m)`, :math:`s_i \in \{+1, -1\}`,
:math:`1 \le m \le 4`, maps a state :math:`x` to

.. math::

    D(x) = x - \sum_{i=1}^{m} s_i\,(x \gg k_i),

every :math:`x \gg k_i` an arithmetic (floor) shift of its own, so the result does not depend on
the order of the terms. The realized decay per step is :math:`d = \sum_i s_i\,2^{-k_i}` (the
factor is :math:`1 - d`). One positive term is the original contract, :math:`x - (x \gg k)`;
more terms are a canonical signed-digit approximation of any :math:`d` in :math:`(0, 1]`:
:math:`\tau/dt = 25` is :math:`d = 0.04 \approx 2^{-5} + 2^{-7} + 2^{-10}` (0.1 % off)
instead of :math:`2^{-5}` (τ 28 % long). In hardware each term is wiring (a shift by a
constant) and one adder.

Terms are written as signed integers: ``3`` is :math:`+2^{-3}`, ``-6`` is :math:`-2^{-6}`; a
decay is one integer (one positive term, as in version 1 network files) or a list of them.
A shift of 0 may only be the first term, and must be positive (``0`` alone is "no memory",
:math:`D(x) = 0`).

Rules: shifts strictly increasing, the first term positive, and :math:`0 < d \le 1`, so a decay
never grows a state in magnitude.
"""

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import numpy as np

from .numerics import check_int

__all__ = ["MAX_TERMS", "Decay"]

#: the most terms a decay may have (each costs one adder per state in hardware)
MAX_TERMS = 4


@dataclass(frozen=True)
class Decay:
    """A decay :math:`D(x) = x - \\sum_i s_i (x \\gg k_i)`; ``terms`` is ``((s_1, k_1), ...)``.

    Build one with :meth:`of` from what a user or a file writes (an int, a list of signed ints,
    or a ``Decay``).
    """

    terms: tuple

    def __post_init__(self):
        terms = tuple(self.terms)
        if not 1 <= len(terms) <= MAX_TERMS:
            raise ValueError(f"a decay has 1 to {MAX_TERMS} terms, not {len(terms)}")
        clean = []
        for sign, shift in terms:
            if sign not in (1, -1) or isinstance(sign, bool):
                raise ValueError(f"a decay term's sign is +1 or -1, not {sign!r}")
            clean.append((int(sign), check_int("decay shift", shift, 0, 63)))
        if clean[0][0] != 1:
            raise ValueError(f"the first (largest) decay term must be positive: {_text(clean)}")
        shifts = [k for _, k in clean]
        if any(b <= a for a, b in pairwise(shifts)):
            raise ValueError(f"decay shifts must be strictly increasing: {_text(clean)}")
        if _d(clean) > 1:
            raise ValueError(f"a decay removes at most the whole state per step (d <= 1), "
                             f"{_text(clean)} removes d = {float(_d(clean)):g}")
        object.__setattr__(self, "terms", tuple(clean))

    @classmethod
    def of(cls, value, name="decay"):
        """A ``Decay`` from an int ``k`` (one term), a list of signed ints, or a ``Decay``."""
        if isinstance(value, Decay):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{name} must be a shift >= 0 or a list of signed shifts, "
                                 f"not {value}")
            return cls(((1, int(value)),))
        if isinstance(value, (list, tuple)) and value:
            terms = []
            for item in value:
                if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                    raise TypeError(f"{name}: decay terms are signed integers (3 is +2^-3, "
                                    f"-6 is -2^-6), not {item!r}")
                terms.append((1 if item >= 0 else -1, abs(int(item))))
            try:
                return cls(tuple(terms))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        raise TypeError(f"{name} must be a shift (int) or a list of 1 to {MAX_TERMS} signed "
                        f"shifts, not {value!r}")

    @property
    def shifts(self) -> tuple:
        return tuple(k for _, k in self.terms)

    @property
    def max_shift(self) -> int:
        return self.terms[-1][1]

    @property
    def single(self) -> bool:
        """One term: exactly the version 1 contract ``x - (x >> k)``."""
        return len(self.terms) == 1

    @property
    def d(self) -> Fraction:
        """The realized decay per step, :math:`\\sum_i s_i 2^{-k_i}`, exactly."""
        return _d(self.terms)

    @property
    def factor(self) -> float:
        """The realized per-step factor :math:`1 - d` (α or β)."""
        return float(1 - self.d)

    def apply(self, x):
        """:math:`D(x)` of an integer array (int64)."""
        x = np.asarray(x, dtype=np.int64)
        out = x.copy()
        for sign, shift in self.terms:
            out = out - sign * np.right_shift(x, shift)
        return out

    def check_width(self, name, width):
        """Every shift below ``width`` (a larger one is always 0 or -1 and wastes a term)."""
        if self.max_shift > width - 1:
            raise ValueError(f"{name} shifts must be in 0..{width - 1} for a {width}-bit state, "
                             f"not {self.max_shift} (in {name} = {self.to_json()})")

    def to_json(self):
        """One int for a single term, else a list of signed ints (what the network file holds)."""
        if self.single:
            return self.terms[0][1]
        return [sign * shift for sign, shift in self.terms]

    def __str__(self):
        return _text(self.terms)


def _d(terms) -> Fraction:
    return sum((Fraction(sign, 1 << shift) for sign, shift in terms), Fraction(0))


def _text(terms) -> str:
    parts = [f"{'+' if s > 0 else '-'}2^-{k}" for s, k in terms]
    return "d = " + " ".join(parts).lstrip("+")
