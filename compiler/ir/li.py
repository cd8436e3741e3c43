r"""The non-spiking leaky-integrator readout: the last layer of a network read by membrane.

.. math::

    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I[n]) + a[n]\big) \\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n]\big)

It never spikes; the class of a sample is the argmax of :math:`\max_n U` or :math:`\sum_n U`
(the :class:`~.output.Output` node's readout). NIR's ``LI`` (``k_syn = 0``) and ``CubaLI``
lower to it.
"""

from dataclasses import dataclass
from typing import ClassVar

from ...model import IntFormat, NeuronKind, ResetMode
from ...model.decay import Decay
from .base import register_node
from .neuron import DEFAULTS, Neuron

__all__ = ["LI"]


@register_node
@dataclass(frozen=True)
class LI(Neuron):
    """``n`` leaky integrators. ``reset`` is unused (an LI never spikes) but kept, so that a
    network file maps to the IR and back unchanged."""

    n: int
    k_syn: Decay | int | list = DEFAULTS["k_syn"]
    k_mem: Decay | int | list = DEFAULTS["k_mem"]
    reset: ResetMode = DEFAULTS["reset"]
    input_shift: int = DEFAULTS["input_shift"]
    current_format: IntFormat | None = None
    potential_format: IntFormat | None = None
    name: str = ""

    kind: ClassVar = NeuronKind.LI
    theta: ClassVar[int] = 1
    compare: ClassVar[str] = ">="
    theta_reset: ClassVar[None] = None

    def __post_init__(self):
        self._validate()
