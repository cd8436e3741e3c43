"""Neuron and layer parameters of the integer contract, validated once, shared by every side.

The enums cross every boundary (network file, compiler, HDL, host driver): they are defined here
once, as ``IntEnum`` with fixed values, and the hardware uses their values as its encoding.
"""

from dataclasses import dataclass, field, replace
from enum import IntEnum

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

    SUBTRACT = 0  #: U ← decayed U + I − θ   (soft reset)
    ZERO = 1  #: U ← I                      (the decayed potential is dropped)


@dataclass(frozen=True)
class LayerParams:
    """Parameters of one layer of ``n`` neurons fed by ``n_in`` inputs.

    Parameters
    ----------
    n_in, n : int
        Number of inputs and of neurons (1..65536).
    kind : NeuronKind
    k_syn : int
        Synaptic decay shift, α = 1 − 2^−k_syn; 0 means no synaptic filter (α = 0).
        0 ≤ k_syn < current_format.width.
    k_mem : int
        Membrane decay shift, β = 1 − 2^−k_mem. 0 ≤ k_mem < potential_format.width.
        Must be 0 for IF neurons, which do not leak.
    theta : int
        Firing threshold, 1..potential_format.max. Unused (must be left at 1) for LI readouts.
    reset : ResetMode
    recurrent : bool
        Whether the layer has recurrent weights ``V`` (n × n) from its own spikes.
    bias : bool
        Whether a constant integer current ``c`` (in ``current_format``) is added every step.
    weight_format, current_format, potential_format : IntFormat
        Formats of W (and V), of I and of U. Defaults: s8, s16, s16.
    k_adapt : int
        ALIF only: decay shift of the threshold trace b, 0 ≤ k_adapt < trace_format.width.
    adapt_jump : int
        ALIF only: added to b on every spike, 0..trace_format.max.
    trace_format : IntFormat
        ALIF only: unsigned format of b. Default u16.
    """

    n_in: int
    n: int
    kind: NeuronKind = NeuronKind.LIF
    k_syn: int = 1
    k_mem: int = 3
    theta: int = 64
    reset: ResetMode = ResetMode.SUBTRACT
    recurrent: bool = False
    bias: bool = False
    weight_format: IntFormat = field(default_factory=lambda: IntFormat(8))
    current_format: IntFormat = field(default_factory=lambda: IntFormat(16))
    potential_format: IntFormat = field(default_factory=lambda: IntFormat(16))
    k_adapt: int = 0
    adapt_jump: int = 0
    trace_format: IntFormat = field(default_factory=lambda: IntFormat(16, signed=False))

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
        for name in ("recurrent", "bias"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {getattr(self, name)!r}")
        check_int("k_syn", self.k_syn, 0, self.current_format.width - 1)
        if self.kind is NeuronKind.IF:
            if self.k_mem != 0:
                raise ValueError(
                    f"k_mem must be 0 for IF neurons (they do not leak), not {self.k_mem}"
                )
        else:
            check_int("k_mem", self.k_mem, 0, self.potential_format.width - 1)
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
        if self.kind is NeuronKind.ALIF:
            check_int("k_adapt", self.k_adapt, 0, self.trace_format.width - 1)
            check_int("adapt_jump", self.adapt_jump, 0, self.trace_format.max)
        else:
            if self.k_adapt != 0 or self.adapt_jump != 0:
                raise ValueError(
                    "k_adapt and adapt_jump apply to ALIF layers only; "
                    f"this layer is {self.kind.name}"
                )

    @property
    def spiking(self) -> bool:
        return self.kind is not NeuronKind.LI

    def replace(self, **changes) -> "LayerParams":
        return replace(self, **changes)

    def to_dict(self):
        data = {
            "n_in": self.n_in,
            "n": self.n,
            "kind": self.kind.name.lower(),
            "k_syn": self.k_syn,
            "k_mem": self.k_mem,
            "theta": self.theta,
            "reset": self.reset.name.lower(),
            "recurrent": self.recurrent,
            "bias": self.bias,
            "weight_format": self.weight_format.to_dict(),
            "current_format": self.current_format.to_dict(),
            "potential_format": self.potential_format.to_dict(),
        }
        if self.kind is NeuronKind.ALIF:
            data.update(
                k_adapt=self.k_adapt,
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
