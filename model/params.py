"""Neuron and layer parameters of the integer contract, validated once, shared by every side.

The enums cross every boundary (network file, compiler, HDL, host driver): they are defined here
once, as ``IntEnum`` with fixed values, and the hardware uses their values as its encoding.
"""

from dataclasses import dataclass, field, replace
from enum import IntEnum

from .decay import Decay
from .numerics import IntFormat, check_int

__all__ = ["LayerParams", "NeuronKind", "ResetMode"]


class NeuronKind(IntEnum):
    """Which state update a layer applies (see :mod:`spikeforge.model.reference`)."""

    LIF = 0  #: leaky integrate-and-fire, current-based synapse
    IF = 1  #: integrate-and-fire: no membrane leak (ANN→SNN conversion)
    ALIF = 2  #: LIF with an adaptive threshold trace (e-prop)
    LI = 3  #: non-spiking leaky integrator readout; its output is the membrane potential


class ResetMode(IntEnum):
    """What a spike does to the membrane on the next update."""

    SUBTRACT = 0  #: U ← D(U) + I − θ_r     (soft reset; the subtracted amount does not decay)
    ZERO = 1  #: U ← I                      (the decayed potential is dropped)
    SUBTRACT_BEFORE_LEAK = 2  #: U ← D(U − θ_r) + I  (the reset decays with the membrane)
    CLEAR = 3  #: U ← 0  (the step's drive is dropped too: snnTorch's Synaptic/RLeaky/RSynaptic)

    @property
    def subtracts(self) -> bool:
        """Whether a spike subtracts θ_r (the two subtract resets), rather than setting U."""
        return self in (ResetMode.SUBTRACT, ResetMode.SUBTRACT_BEFORE_LEAK)


@dataclass(frozen=True)
class LayerParams:
    """Parameters of one layer of ``n`` neurons fed by ``n_in`` inputs.

    Parameters
    ----------
    n_in, n : int
        Number of inputs and of neurons (1..65536).
    kind : NeuronKind
    k_syn : Decay (or an int shift, or a list of signed shifts)
        Synaptic decay (:mod:`spikeforge.model.decay`): α = 1 − d; one term ``k`` is
        α = 1 − 2^−k, and ``0`` means no synaptic filter (α = 0). Shifts < current_format.width.
    k_mem : Decay
        Membrane decay, β = 1 − d. Shifts < potential_format.width. Must be 0 for IF neurons,
        which do not leak.
    theta : int
        Firing threshold, 1..potential_format.max. Unused (must be left at 1) for LI readouts.
    reset : ResetMode
    theta_reset : int or None
        What a spike subtracts with the two subtract resets, 1..potential_format.max; None (the
        default) means ``theta``. A threshold "U > v" fires at θ = v + 1 and removes v.
    recurrent : bool
        Whether the layer has recurrent weights ``V`` (n × n) from its own spikes.
    same_step_recurrence : bool
        Recurrent layers only: the recurrent input of a step's spikes reaches the membrane at
        the next update, as snnTorch's ``RLeaky``/``RSynaptic`` do, instead of passing through
        the synaptic current first (one step later). See :mod:`spikeforge.model.reference`.
    input_shift : int
        f in a[n] = (W s_in + V s) · 2^f + c: the state keeps f more fractional bits than the
        weights (free in hardware: wiring). 0 ≤ f < current_format.width.
    bias : bool
        Whether a constant integer current ``c`` (in ``current_format``) is added every step.
    weight_format, current_format, potential_format : IntFormat
        Formats of W (and V), of I and of U. Defaults: s8, s16, s16.
    k_adapt : Decay
        ALIF only: decay of the threshold trace b, shifts < trace_format.width.
    adapt_jump : int
        ALIF only: added to b on every spike, 0..trace_format.max.
    trace_format : IntFormat
        ALIF only: unsigned format of b. Default u16.
    """

    n_in: int
    n: int
    kind: NeuronKind = NeuronKind.LIF
    k_syn: Decay = 1
    k_mem: Decay = 3
    theta: int = 64
    reset: ResetMode = ResetMode.SUBTRACT
    recurrent: bool = False
    bias: bool = False
    weight_format: IntFormat = field(default_factory=lambda: IntFormat(8))
    current_format: IntFormat = field(default_factory=lambda: IntFormat(16))
    potential_format: IntFormat = field(default_factory=lambda: IntFormat(16))
    k_adapt: Decay = 0
    adapt_jump: int = 0
    trace_format: IntFormat = field(default_factory=lambda: IntFormat(16, signed=False))
    theta_reset: int | None = None
    same_step_recurrence: bool = False
    input_shift: int = 0

    def __post_init__(self):
        check_int("n_in", self.n_in, 1, 65536)
        check_int("n", self.n, 1, 65536)
        object.__setattr__(self, "kind", _cast_enum(NeuronKind, "kind", self.kind))
        object.__setattr__(self, "reset", _cast_enum(ResetMode, "reset", self.reset))
        for name in ("weight_format", "current_format", "potential_format", "trace_format"):
            if not isinstance(getattr(self, name), IntFormat):
                raise TypeError(f"{name} must be an IntFormat, not {getattr(self, name)!r}")
        for name in ("weight_format", "current_format", "potential_format"):
            if not getattr(self, name).signed:
                raise ValueError(f"{name} must be signed, not {getattr(self, name)}")
        if self.trace_format.signed:
            raise ValueError(f"trace_format must be unsigned, not {self.trace_format}")
        for name in ("recurrent", "bias", "same_step_recurrence"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {getattr(self, name)!r}")
        for name, fmt in (("k_syn", self.current_format), ("k_mem", self.potential_format),
                          ("k_adapt", self.trace_format)):
            decay = Decay.of(getattr(self, name), name)
            decay.check_width(name, fmt.width)
            object.__setattr__(self, name, decay)
        check_int("input_shift", self.input_shift, 0, self.current_format.width - 1)
        if self.same_step_recurrence and not self.recurrent:
            raise ValueError("same_step_recurrence applies to recurrent layers only")
        if self.kind is NeuronKind.IF and self.k_mem != _NO_MEMORY:
            raise ValueError(
                f"k_mem must be 0 for IF neurons (they do not leak), not {self.k_mem.to_json()}"
            )
        if self.kind is NeuronKind.LI:
            if self.theta != 1:
                raise ValueError(
                    f"theta must be left at 1 for a non-spiking LI readout, not {self.theta}"
                )
            if self.recurrent:
                raise ValueError(
                    "an LI readout does not spike, so it cannot have recurrent weights"
                )
        else:
            check_int("theta", self.theta, 1, self.potential_format.max)
        if self.theta_reset is not None:
            if not self.spiking or not self.reset.subtracts:
                raise ValueError("theta_reset applies to spiking layers with a subtract reset "
                                 f"only; this layer is {self.kind.name} with reset "
                                 f"{self.reset.name.lower()}: leave it unset")
            check_int("theta_reset", self.theta_reset, 1, self.potential_format.max)
        if self.kind is NeuronKind.ALIF:
            check_int("adapt_jump", self.adapt_jump, 0, self.trace_format.max)
        else:
            if self.k_adapt != _NO_MEMORY or self.adapt_jump != 0:
                raise ValueError(
                    "k_adapt and adapt_jump apply to ALIF layers only; "
                    f"this layer is {self.kind.name}"
                )

    @property
    def spiking(self) -> bool:
        return self.kind is not NeuronKind.LI

    @property
    def reset_amount(self) -> int:
        """θ_r: what a spike subtracts with a subtract reset (``theta_reset``, else ``theta``)."""
        return self.theta if self.theta_reset is None else self.theta_reset

    @property
    def decays(self) -> dict:
        """The decays this layer applies, by name (``k_mem`` absent for IF, ``k_adapt`` for
        all but ALIF)."""
        out = {"k_syn": self.k_syn}
        if self.kind is not NeuronKind.IF:
            out["k_mem"] = self.k_mem
        if self.kind is NeuronKind.ALIF:
            out["k_adapt"] = self.k_adapt
        return out

    @property
    def version_2(self) -> bool:
        """Uses a part of the contract that network file version 1 cannot hold."""
        return (any(not d.single for d in (self.k_syn, self.k_mem, self.k_adapt))
                or self.theta_reset is not None or self.same_step_recurrence
                or self.input_shift != 0
                or self.reset in (ResetMode.SUBTRACT_BEFORE_LEAK, ResetMode.CLEAR))

    def replace(self, **changes) -> "LayerParams":
        return replace(self, **changes)

    def to_dict(self):
        data = {
            "n_in": self.n_in,
            "n": self.n,
            "kind": self.kind.name.lower(),
            "k_syn": self.k_syn.to_json(),
            "k_mem": self.k_mem.to_json(),
            "theta": self.theta,
            "reset": self.reset.name.lower(),
            "recurrent": self.recurrent,
            "bias": self.bias,
            "weight_format": self.weight_format.to_dict(),
            "current_format": self.current_format.to_dict(),
            "potential_format": self.potential_format.to_dict(),
        }
        if self.theta_reset is not None:
            data["theta_reset"] = self.theta_reset
        if self.same_step_recurrence:
            data["same_step_recurrence"] = True
        if self.input_shift:
            data["input_shift"] = self.input_shift
        if self.kind is NeuronKind.ALIF:
            data.update(
                k_adapt=self.k_adapt.to_json(),
                adapt_jump=self.adapt_jump,
                trace_format=self.trace_format.to_dict(),
            )
        return data

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown layer parameter(s) {unknown}; expected some of {sorted(known)}"
            )
        for name in ("weight_format", "current_format", "potential_format", "trace_format"):
            if name in data:
                if not isinstance(data[name], dict):
                    raise TypeError(
                        f"{name} must be an object with width/signed, not {data[name]!r}"
                    )
                data[name] = IntFormat.from_dict(data[name])
        for name, enum in (("kind", NeuronKind), ("reset", ResetMode)):
            if isinstance(data.get(name), str):
                data[name] = _enum_by_name(enum, name, data[name])
        return cls(**data)


_NO_MEMORY = Decay.of(0)


def _enum_by_name(enum, name, text):
    try:
        return enum[text.upper()]
    except KeyError:
        choices = ", ".join(m.name.lower() for m in enum)
        raise ValueError(f"{name} must be one of {choices}, not {text!r}") from None


def _cast_enum(enum, name, value):
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        return _enum_by_name(enum, name, value)
    choices = ", ".join(m.name.lower() for m in enum)
    raise TypeError(f"{name} must be a {enum.__name__} ({choices}), not {value!r}")
