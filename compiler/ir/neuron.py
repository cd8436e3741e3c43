r"""What the neuron nodes (:class:`~.lif.LIF`, :class:`~.lif.IF`, :class:`~.li.LI`,
:class:`~.alif.ALIF`) share: validation, (de)serialization and the mapping to
:class:`~spikeforge.model.LayerParams`.

A neuron node of ``n`` neurons receives the synaptic sum :math:`a[n]` of the synapse nodes before
it and applies the contract's update (``docs/contract.md``) with decay shifts ``k_syn``,
``k_mem`` (:math:`\alpha = 1 - 2^{-k_{syn}}`, :math:`\beta = 1 - 2^{-k_{mem}}`).

Before the quantize pass a threshold may be a float in the units of the (float) weights, with
``compare`` saying how the source fires: ``">="`` (:math:`U \ge \theta`, the contract) or
``">"`` (:math:`v > v_{th}`, NIR, snnTorch, Norse). The pass turns it into the contract's
integer :math:`\theta` with ``compare = ">="``; the formats (``None`` = let the pass choose)
become concrete at the same time.
"""

from dataclasses import fields

from ...model import LayerParams, ResetMode
from ...model.numerics import check_int
from ...model.params import _cast_enum
from .base import (
    check_format,
    check_name,
    check_shift,
    check_threshold,
    format_from_dict,
    format_to_dict,
)

__all__ = ["COMPARES", "Neuron"]

COMPARES = (">=", ">")


class Neuron:
    """Mixin of the neuron dataclasses; each defines ``kind`` and its fields."""

    kind = None  #: the :class:`~spikeforge.model.NeuronKind` the node lowers to

    # -- validation ---------------------------------------------------------------------------
    def _validate(self):
        label = f"{type(self).__name__} {self.name or '?'}"
        check_name(self.name)
        check_int(f"{label}: n", self.n, 1, 65536)
        for name in ("current_format", "potential_format"):
            object.__setattr__(self, name, check_format(label, name, getattr(self, name)))
        if hasattr(self, "reset"):
            object.__setattr__(self, "reset", _cast_enum(ResetMode, "reset", self.reset))
        cf, pf = self.current_format, self.potential_format
        check_shift(label, "k_syn", self.k_syn, cf and cf.width)
        check_shift(label, "k_mem", self.k_mem, pf and pf.width)
        if self.spiking:
            if self.compare not in COMPARES:
                raise ValueError(f"{label}: compare must be one of {COMPARES}, not "
                                 f"{self.compare!r}")
            object.__setattr__(self, "theta", check_threshold(label, self.theta))
            if pf is not None and isinstance(self.theta, int) and self.theta > pf.max:
                raise ValueError(f"{label}: theta {self.theta} exceeds {pf} (max {pf.max})")
        return label

    # -- properties ---------------------------------------------------------------------------
    @property
    def spiking(self) -> bool:
        return self.kind.name != "LI"

    @property
    def quantized(self) -> bool:
        """Integer threshold compared with ``>=`` and concrete formats: ready for the network
        file."""
        concrete = self.current_format is not None and self.potential_format is not None
        if not self.spiking:
            return concrete
        return concrete and isinstance(self.theta, int) and self.compare == ">="

    # -- lowering -----------------------------------------------------------------------------
    def extra_params(self) -> dict:
        """Parameters beyond the common ones (ALIF adds its trace)."""
        return {}

    def layer_params(self, n_in, *, weight_format, recurrent, bias) -> LayerParams:
        """The :class:`~spikeforge.model.LayerParams` of this neuron fed by ``n_in`` inputs."""
        if not self.quantized:
            raise ValueError(f"{type(self).__name__} {self.name or '?'} is not quantized (float "
                             "threshold or open formats): run the quantize pass first")
        return LayerParams(
            n_in=n_in, n=self.n, kind=self.kind, k_syn=self.k_syn, k_mem=self.k_mem,
            theta=self.theta if self.spiking else 1, reset=self.reset, recurrent=recurrent,
            bias=bias, weight_format=weight_format, current_format=self.current_format,
            potential_format=self.potential_format, **self.extra_params())

    # -- serialization ------------------------------------------------------------------------
    def to_dict(self):
        data = {"type": type(self).__name__}
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if name.endswith("_format"):
                value = format_to_dict(value)
            elif name == "reset":
                value = value.name.lower()
            data[name] = value
        return data

    @classmethod
    def from_fields(cls, values):
        values = dict(values)
        for name in list(values):
            if name.endswith("_format"):
                values[name] = format_from_dict(values[name])
        return cls(**values)
