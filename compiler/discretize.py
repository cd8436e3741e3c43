r"""From continuous-time time constants to the contract's shift decays.

NIR describes neurons in continuous time, e.g. ``CubaLIF``:

.. math::

    \tau_{syn}\,\dot I = -I + w_{in}\,x, \qquad \tau_{mem}\,\dot v = (v_{leak} - v) + r\,I .

Over a step ``dt`` a decay becomes a factor :math:`\alpha = 1 - d` with

* ``euler``: :math:`d = dt/\tau` (forward Euler; what snnTorch's exporter assumes: it writes
  :math:`\tau = dt/(1-\beta)`),
* ``exact``: :math:`d = 1 - e^{-dt/\tau}` (exact exponential of the homogeneous part).

The contract can only decay by a shift, :math:`x - (x \gg k)`, i.e. :math:`d = 2^{-k}`, so

.. math::  k = \operatorname{round}(\log_2(1/d))

(the realized time constant is the one whose ``d`` is :math:`2^{-k}`), and the cost is
reported per layer: the realized factor :math:`1 - 2^{-k}` against the wanted
:math:`1 - d`, and the realized time constant against the wanted one. ``d ≥ 1`` (a time
constant of at most one step) gives ``k = 0``: no memory, exactly like the continuous neuron
that forgets within a step.
"""

import math
from typing import NamedTuple

__all__ = ["METHODS", "Decay", "decay_shift"]

METHODS = ("euler", "exact")


class Decay(NamedTuple):
    """One discretized time constant and what the shift costs."""

    tau: float  #: wanted time constant (seconds)
    shift: int  #: k, with decay factor 1 - 2^-k
    factor: float  #: wanted per-step factor 1 - d
    realized_factor: float  #: 1 - 2^-k
    realized_tau: float  #: the time constant 1 - 2^-k corresponds to, same method

    @property
    def factor_error(self) -> float:
        return self.realized_factor - self.factor

    @property
    def tau_relative_error(self) -> float:
        return (self.realized_tau - self.tau) / self.tau if math.isfinite(self.tau) else 0.0

    def to_dict(self):
        return {**self._asdict(), "factor_error": self.factor_error,
                "tau_relative_error": self.tau_relative_error}


def decay_shift(tau, dt, method="euler", max_shift=31, what="tau") -> Decay:
    """The shift ``k`` closest (in log2) to the decay of ``tau`` over ``dt``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, not {dt!r}")
    tau = float(tau)
    if not tau > 0:
        raise ValueError(f"{what} must be positive, not {tau}")
    d = dt / tau if method == "euler" else -math.expm1(-dt / tau)
    shift = 0 if d >= 1 else min(max_shift, max(0, round(math.log2(1 / d))))
    realized_d = 2.0 ** -shift
    if method == "euler":
        realized_tau = dt / realized_d
    else:
        realized_tau = math.inf if realized_d >= 1 else dt / -math.log1p(-realized_d)
    if shift == 0:
        realized_tau = dt if method == "euler" else 0.0
    return Decay(tau, shift, 1 - min(d, 1.0), 1 - realized_d, realized_tau)
