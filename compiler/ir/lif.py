r"""Leaky and non-leaky integrate-and-fire neurons: the contract's spiking layers.

.. math::

    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I[n]) + a[n]\big) \\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n] - \theta_r\,s[n]\big)
              \quad\text{(reset by subtraction; reset to zero drops the decayed } U\text{)} \\
    s[n+1] &= U[n+1] \ge \theta

with :math:`D` the multi-shift decays and :math:`\theta_r` the reset amount (``theta_reset``,
default :math:`\theta`); ``reset = subtract_before_leak`` decays the subtraction with the
membrane, and ``same_step_recurrence`` feeds the recurrent input to the membrane one step earlier
(:mod:`spikeforge.model.reference` is the one definition).

``LIF`` with ``k_syn = 0`` is snnTorch's ``Leaky`` (no synaptic filter), with ``k_syn > 0`` its
``Synaptic`` / NIR's ``CubaLIF``. ``IF`` does not leak (:math:`k_{mem} = 0`, the term
:math:`U \gg k_{mem}` is absent): the neuron of ANN→SNN conversion.
"""

from dataclasses import dataclass
from typing import ClassVar

from ...model import IntFormat, NeuronKind, ResetMode
from ...model.decay import Decay
from .base import register_node
from .neuron import DEFAULTS, Neuron

__all__ = ["IF", "LIF"]


@register_node
@dataclass(frozen=True)
class LIF(Neuron):
    """``n`` leaky integrate-and-fire neurons (see the module for the update)."""

    n: int
    k_syn: Decay | int | list = DEFAULTS["k_syn"]
    k_mem: Decay | int | list = DEFAULTS["k_mem"]
    theta: int | float = DEFAULTS["theta"]
    reset: ResetMode = DEFAULTS["reset"]
    compare: str = ">="
    theta_reset: int | float | None = None
    input_shift: int = DEFAULTS["input_shift"]
    same_step_recurrence: bool = DEFAULTS["same_step_recurrence"]
    current_format: IntFormat | None = None
    potential_format: IntFormat | None = None
    name: str = ""

    kind: ClassVar = NeuronKind.LIF

    def __post_init__(self):
        self._validate()


@register_node
@dataclass(frozen=True)
class IF(Neuron):
    """``n`` integrate-and-fire neurons: :class:`LIF` without the membrane leak."""

    n: int
    k_syn: Decay | int | list = DEFAULTS["k_syn"]
    theta: int | float = DEFAULTS["theta"]
    reset: ResetMode = DEFAULTS["reset"]
    compare: str = ">="
    theta_reset: int | float | None = None
    input_shift: int = DEFAULTS["input_shift"]
    same_step_recurrence: bool = DEFAULTS["same_step_recurrence"]
    current_format: IntFormat | None = None
    potential_format: IntFormat | None = None
    name: str = ""

    kind: ClassVar = NeuronKind.IF
    k_mem: ClassVar[Decay] = Decay.of(0)

    def __post_init__(self):
        self._validate()
