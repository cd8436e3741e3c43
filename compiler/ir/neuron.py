r"""What the neuron nodes (:class:`~.lif.LIF`, :class:`~.lif.IF`, :class:`~.li.LI`,
:class:`~.alif.ALIF`) share: validation, (de)serialization and the mapping to
:class:`~spikeforge.model.LayerParams`.

A neuron node of ``n`` neurons receives the synaptic sum :math:`a[n]` of the synapse nodes before
it and applies the contract's update (``docs/contract.md``) with decays ``k_syn`` and ``k_mem``
(:class:`~spikeforge.model.Decay`: :math:`D(x) = x - \sum_i s_i (x \gg k_i)`, given as an int
shift, a list of signed shifts or a ``Decay``), the reset amount ``theta_reset``, the input
shift ``input_shift`` (:math:`a = 2^f (W s + V s)`) and, for a recurrent layer,
``same_step_recurrence``.

Before the quantize pass a threshold may be a float in the units of the (float) weights, with
``compare`` saying how the source fires: ``">="`` (:math:`U \ge \theta`, the contract) or
``">"`` (:math:`v > v_{th}`, NIR, snnTorch, Norse); ``theta_reset`` may be a float in the same
units. The pass turns them into the contract's integers with ``compare = ">="``; the formats
(``None`` = let the pass choose) become concrete at the same time.

Validation is :class:`~spikeforge.model.LayerParams`' own: a node builds the parameters it
stands for (with placeholder formats and threshold while those are open) and keeps the
normalized decays and reset mode, so every range is checked in one place.
"""

from dataclasses import MISSING, fields

from ...model import IntFormat, LayerParams
from ...model.numerics import check_int
from .base import check_format, check_name, check_threshold, format_from_dict, format_to_dict

__all__ = ["COMPARES", "DEFAULTS", "Neuron"]

COMPARES = (">=", ">")

#: the defaults of the neuron parameters: :class:`~spikeforge.model.LayerParams`' own, so a node
#: and the layer it lowers to agree on what an unset parameter means
DEFAULTS = {f.name: f.default for f in fields(LayerParams) if f.default is not MISSING}

#: formats assumed while a node's formats are open (the widest the compiler chooses)
_OPEN = IntFormat(32)


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
        if self.spiking:
            if self.compare not in COMPARES:
                raise ValueError(f"{label}: compare must be one of {COMPARES}, not "
                                 f"{self.compare!r}")
            object.__setattr__(self, "theta", check_threshold(label, self.theta))
            if self.theta_reset is not None:
                value = check_threshold(label, self.theta_reset)
                object.__setattr__(self, "theta_reset", value)
        try:
            params = self._params(n_in=1, weight_format=IntFormat(8),
                                  recurrent=bool(getattr(self, "same_step_recurrence", False)),
                                  bias=False, placeholder=True)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{label}: {exc}") from None
        for name in ("k_syn", "k_mem", "reset"):
            if name in {f.name for f in fields(self)}:
                object.__setattr__(self, name, getattr(params, name))
        if "k_adapt" in {f.name for f in fields(self)}:
            object.__setattr__(self, "k_adapt", params.k_adapt)
        return label

    # -- properties ---------------------------------------------------------------------------
    @property
    def spiking(self) -> bool:
        return self.kind.name != "LI"

    @property
    def quantized(self) -> bool:
        """Integer threshold (and reset amount) compared with ``>=`` and concrete formats: ready
        for the network file."""
        concrete = self.current_format is not None and self.potential_format is not None
        if not self.spiking:
            return concrete
        return (concrete and isinstance(self.theta, int) and self.compare == ">="
                and (self.theta_reset is None or isinstance(self.theta_reset, int)))

    # -- lowering -----------------------------------------------------------------------------
    def extra_params(self) -> dict:
        """Parameters beyond the common ones (ALIF adds its trace)."""
        return {}

    def _params(self, *, n_in, weight_format, recurrent, bias, placeholder=False):
        exact = isinstance(self.theta, int) and isinstance(self.theta_reset, int | None)
        cf = self.current_format or (_OPEN if placeholder else None)
        pf = self.potential_format or (_OPEN if placeholder else None)
        spiking_theta = self.theta if exact or not placeholder else 1
        theta_reset = self.theta_reset
        if placeholder and not isinstance(theta_reset, int | None):
            theta_reset = 1
        if placeholder and isinstance(theta_reset, int) and theta_reset > pf.max:
            theta_reset = pf.max  # the range is checked again once the format is concrete
        return LayerParams(
            n_in=n_in, n=self.n, kind=self.kind, k_syn=self.k_syn, k_mem=self.k_mem,
            theta=spiking_theta if self.spiking else 1, reset=self.reset,
            theta_reset=theta_reset if self.spiking else None, recurrent=recurrent, bias=bias,
            weight_format=weight_format, current_format=cf, potential_format=pf,
            input_shift=self.input_shift,
            same_step_recurrence=bool(getattr(self, "same_step_recurrence", False)),
            **self.extra_params())

    def layer_params(self, n_in, *, weight_format, recurrent, bias) -> LayerParams:
        """The :class:`~spikeforge.model.LayerParams` of this neuron fed by ``n_in`` inputs."""
        if not self.quantized:
            raise ValueError(f"{type(self).__name__} {self.name or '?'} is not quantized (float "
                             "threshold or open formats): run the quantize pass first")
        return self._params(n_in=n_in, weight_format=weight_format, recurrent=recurrent,
                            bias=bias)

    # -- serialization ------------------------------------------------------------------------
    def to_dict(self):
        data = {"type": type(self).__name__}
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if name.endswith("_format"):
                value = format_to_dict(value)
            elif name == "reset":
                value = value.name.lower()
            elif name.startswith("k_"):
                value = value.to_json()
            data[name] = value
        return data

    @classmethod
    def from_fields(cls, values):
        values = dict(values)
        for name in list(values):
            if name.endswith("_format"):
                values[name] = format_from_dict(values[name])
        return cls(**values)
