r"""Adaptive LIF (ALIF, the neuron of e-prop): a LIF whose threshold rises with each spike.

.. math::

    b[n+1] &= \mathrm{sat}_b\big(b[n] - (b[n] \gg k_{adapt}) + d\,s[n]\big) \\
    s[n+1] &= U[n+1] \ge \theta + b[n+1]

with ``d = adapt_jump``; ``I`` and ``U`` follow :class:`~.lif.LIF`. ``b`` is unsigned, in
``trace_format`` (default u16 once quantized).
"""

from dataclasses import dataclass
from typing import ClassVar

from ...model import IntFormat, NeuronKind, ResetMode
from ...model.numerics import check_int
from .base import check_format, register_node
from .neuron import Neuron

__all__ = ["ALIF"]


@register_node
@dataclass(frozen=True)
class ALIF(Neuron):
    """``n`` adaptive LIF neurons (see the module for the threshold trace)."""

    n: int
    k_syn: int = 0
    k_mem: int = 0
    theta: int | float = 1
    reset: ResetMode = ResetMode.SUBTRACT
    compare: str = ">="
    k_adapt: int = 0
    adapt_jump: int = 0
    trace_format: IntFormat | None = None
    current_format: IntFormat | None = None
    potential_format: IntFormat | None = None
    name: str = ""

    kind: ClassVar = NeuronKind.ALIF

    def __post_init__(self):
        label = self._validate()
        fmt = check_format(label, "trace_format", self.trace_format, signed=False)
        object.__setattr__(self, "trace_format", fmt)
        width = fmt.width if fmt else 16
        check_int(f"{label}: k_adapt", self.k_adapt, 0, width - 1)
        check_int(f"{label}: adapt_jump", self.adapt_jump, 0, (1 << width) - 1)

    def extra_params(self):
        return {"k_adapt": self.k_adapt, "adapt_jump": self.adapt_jump,
                "trace_format": self.trace_format or IntFormat(16, signed=False)}
