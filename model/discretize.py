r"""From continuous-time time constants to the contract's multi-shift decays.

NIR describes neurons in continuous time, e.g. ``CubaLIF``:

.. math::

    \tau_{syn}\,\dot I = -I + w_{in}\,x, \qquad \tau_{mem}\,\dot v = (v_{leak} - v) + r\,I .

Over a step ``dt`` a decay becomes a factor :math:`1 - d` with

* ``euler``: :math:`d = dt/\tau` (forward Euler; what snnTorch's exporter assumes: it writes
  :math:`\tau = dt/(1-\beta)`),
* ``exact``: :math:`d = 1 - e^{-dt/\tau}` (exact exponential of the homogeneous part).

The contract decays by a short signed sum of shifts (:mod:`spikeforge.model.decay`),
:math:`d' = \sum_i s_i 2^{-k_i}` with at most ``max_terms`` terms. :func:`fit_decay` picks the
fewest terms whose realized :math:`d'` is within ``tolerance`` of :math:`d` (relative to
:math:`d`): one term is the nearest power of two (up to 33 % off in :math:`d`), and four terms
reach 0.6 % for any :math:`\tau/dt` in [2, 1000] when the state is wide enough to hold the
smallest shift. The search is a canonical-signed-digit expansion that tries both neighbouring
powers of two for every term (at most :math:`2^{m}` candidates for :math:`m` terms) and keeps
the closest. ``d ≥ 1`` (a time constant of at most one step) is the single term ``0``: no
memory, like the continuous neuron that forgets within a step.

The realized time constant is the one whose decay is :math:`d'` under the same method, and it is
reported per layer with the wanted one and the relative error.
"""

import math
from fractions import Fraction
from typing import NamedTuple

from .decay import MAX_TERMS, Decay

__all__ = ["DEFAULT_TOLERANCE", "METHODS", "DecayFitError", "Discretized", "discretize",
           "fit_decay", "wanted_decay"]

METHODS = ("euler", "exact")
#: default relative tolerance on d
DEFAULT_TOLERANCE = 0.01


class DecayFitError(ValueError):
    """No decay of at most ``max_terms`` terms is within the tolerance."""


class Discretized(NamedTuple):
    """One discretized time constant and what the approximation costs."""

    tau: float  #: wanted time constant (seconds, or steps when dt = 1)
    decay: Decay  #: the realized decay
    factor: float  #: wanted per-step factor 1 - d
    realized_factor: float  #: 1 - d'
    realized_tau: float  #: the time constant d' corresponds to, same method

    @property
    def shift(self) -> int:
        """The first (largest) term's shift; the whole decay when it has one term."""
        return self.decay.terms[0][1]

    @property
    def factor_error(self) -> float:
        return self.realized_factor - self.factor

    @property
    def d_relative_error(self) -> float:
        """(d' − d) / d: the error the tolerance bounds."""
        d = 1 - self.factor
        return (float(self.decay.d) - d) / d if d > 0 else 0.0

    @property
    def tau_relative_error(self) -> float:
        return (self.realized_tau - self.tau) / self.tau if math.isfinite(self.tau) else 0.0

    def to_dict(self):
        return {"tau": self.tau, "terms": self.decay.to_json(), "n_terms": len(self.decay.terms),
                "factor": self.factor, "realized_factor": self.realized_factor,
                "realized_tau": self.realized_tau, "factor_error": self.factor_error,
                "d_relative_error": self.d_relative_error,
                "tau_relative_error": self.tau_relative_error}


def _expansions(residual: Fraction, after: int, terms: int, max_shift: int):
    """Signed-digit expansions of ``residual`` with ``terms`` more terms, shifts > ``after``:
    yields ``[(sign, shift), ...]``. Each term is one of the two powers of two around the
    residual's magnitude, with the residual's sign."""
    if terms == 0 or residual == 0:
        yield []
        return
    sign = 1 if residual > 0 else -1
    low = math.floor(-math.log2(abs(residual)))  # 2^-low >= |r| > 2^-(low+1)
    for shift in (low, low + 1):
        if shift <= after or shift > max_shift:
            continue
        rest = residual - sign * Fraction(1, 1 << shift)
        for tail in _expansions(rest, shift, terms - 1, max_shift):
            yield [(sign, shift), *tail]


def _value(terms) -> Fraction:
    return sum((Fraction(s, 1 << k) for s, k in terms), Fraction(0))


def fit_decay(d, *, tolerance=DEFAULT_TOLERANCE, max_terms=MAX_TERMS, max_shift=15,
              what="decay", closest=False) -> Decay:
    """The decay with the fewest terms (≤ ``max_terms``, shifts ≤ ``max_shift``) whose
    :math:`d'` is within ``tolerance·d`` of ``d``; among those, the closest.

    Raises :class:`DecayFitError` when no decay within the budget meets the tolerance, naming
    the best one found and what to change; with ``closest`` it returns that best one instead.
    """
    if not (isinstance(d, (int, float)) and math.isfinite(d) and d > 0):
        raise ValueError(f"{what}: the decay per step must be a positive number, not {d!r}")
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):  # inf: any decay
        raise ValueError(f"decay tolerance must be a number >= 0, not {tolerance!r}")
    if isinstance(max_terms, bool) or not isinstance(max_terms, int) \
            or not 1 <= max_terms <= MAX_TERMS:
        raise ValueError(f"max decay terms must be an integer in 1..{MAX_TERMS}, not "
                         f"{max_terms!r}")
    if d >= 1:
        return Decay.of(0)
    target = Fraction(d)
    best = None
    for count in range(1, max_terms + 1):
        candidates = [t for t in _expansions(target, -1, count, max_shift) if t]
        candidates = [t for t in candidates if t[0][0] == 1 and _value(t) <= 1]
        if not candidates:
            continue
        terms = min(candidates, key=lambda t: (abs(_value(t) - target), len(t)))
        error = abs(float(_value(terms)) - d) / d
        if best is None or error < best[1]:
            best = (terms, error)
        if error <= tolerance:
            return Decay(tuple(terms))
    if best is None:
        raise DecayFitError(f"{what}: d = {d:g} is below the smallest decay a state of this "
                            f"width can hold (2^-{max_shift}); widen the state format")
    found = Decay(tuple(best[0]))
    if closest:
        return found
    raise DecayFitError(
        f"{what}: no decay of at most {max_terms} term(s) is within {tolerance:.2%} of "
        f"d = {d:.6g}; the best is {found} ({best[1]:.2%} off). Allow more terms "
        f"(--max-decay-terms, at most {MAX_TERMS}), loosen --decay-tolerance, or widen the state "
        "format so smaller shifts fit")


def wanted_decay(tau, dt, method="euler", what="tau") -> float:
    """:math:`d` of time constant ``tau`` over a step ``dt`` with ``method``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not (isinstance(dt, (int, float)) and not isinstance(dt, bool) and math.isfinite(dt)
            and dt > 0):
        raise ValueError(f"dt must be a positive number, not {dt!r}")
    try:
        tau = float(tau)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {tau!r}") from None
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"{what} must be a positive finite number, not {tau}")
    return dt / tau if method == "euler" else -math.expm1(-dt / tau)


def _tau_of(d, dt, method):
    if d >= 1:
        return dt if method == "euler" else 0.0
    return dt / d if method == "euler" else dt / -math.log1p(-d)


def discretize(tau, dt, method="euler", *, tolerance=DEFAULT_TOLERANCE, max_terms=MAX_TERMS,
               max_shift=15, what="tau", closest=False) -> Discretized:
    """Fit the decay of ``tau`` over ``dt`` (see :func:`fit_decay`) and report its cost."""
    d = wanted_decay(tau, dt, method, what)
    decay = fit_decay(d, tolerance=tolerance, max_terms=max_terms, max_shift=max_shift,
                      what=what, closest=closest)
    realized = float(decay.d)
    return Discretized(float(tau), decay, 1 - min(d, 1.0), 1 - realized,
                       _tau_of(realized, dt, method))
