r"""Adaptive LIF (ALIF, the neuron of e-prop): a LIF whose threshold rises with each spike.

.. math::

    b[n+1] &= \mathrm{sat}_b\big(D_{adapt}(b[n]) + d\,s[n]\big) \\
    s[n+1] &= U[n+1] \ge \theta + b[n+1]

with ``d = adapt_jump``; ``I`` and ``U`` follow :class:`~.lif.LIF`. ``b`` is unsigned, in
``trace_format`` (default u16 once quantized).
"""

from dataclasses import dataclass
from typing import ClassVar

from ...model import IntFormat, NeuronKind, ResetMode
from ...model.decay import Decay
from .base import check_format, register_node
from .neuron import DEFAULTS, Neuron

__all__ = ["ALIF"]


@register_node
@dataclass(frozen=True)
class ALIF(Neuron):
    """``n`` adaptive LIF neurons (see the module for the threshold trace)."""

    n: int
    k_syn: Decay | int | list = DEFAULTS["k_syn"]
    k_mem: Decay | int | list = DEFAULTS["k_mem"]
    theta: int | float = DEFAULTS["theta"]
    reset: ResetMode = DEFAULTS["reset"]
    compare: str = ">="
    k_adapt: Decay | int | list = DEFAULTS["k_adapt"]
    adapt_jump: int = DEFAULTS["adapt_jump"]
    trace_format: IntFormat | None = None
    theta_reset: int | float | None = None
    input_shift: int = DEFAULTS["input_shift"]
    same_step_recurrence: bool = DEFAULTS["same_step_recurrence"]
    current_format: IntFormat | None = None
    potential_format: IntFormat | None = None
    name: str = ""

    kind: ClassVar = NeuronKind.ALIF

    def __post_init__(self):
        label = f"{type(self).__name__} {self.name or '?'}"
        fmt = check_format(label, "trace_format", self.trace_format, signed=False)
        object.__setattr__(self, "trace_format", fmt)
        self._validate()  # k_adapt and adapt_jump by LayerParams, against the trace format

    def extra_params(self):
        return {"k_adapt": self.k_adapt, "adapt_jump": self.adapt_jump,
                "trace_format": self.trace_format or IntFormat(16, signed=False)}
