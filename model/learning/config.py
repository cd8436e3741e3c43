r"""Everything a learning rule needs besides the network: one validated, frozen object.

The same :class:`LearningConfig` drives the integer reference
(:mod:`spikeforge.model.learning.trial`), the float version, and the hardware
(:class:`spikeforge.hdl.learning_core.LearningCore`), so the semantics are written once.

Fixed-point scales (all powers of two, so they are shifts):

* presynaptic traces carry ``trace_shift`` = :math:`F` fraction bits: a spike adds :math:`2^F`;
* the output error adds :math:`(\hat s - s)\, 2^{E}` with :math:`E` = ``error_shift``;
* the learning rate is :math:`\eta = 2^{-k_\eta}` (``lr_shift``): :math:`\Delta W =
  \mathrm{round}(G / 2^{k_\eta})` at the end of a trial.
"""

from dataclasses import dataclass, field

import numpy as np

from ..numerics import IntFormat, check_int
from .rule import LearningRule, check_layer_supported

__all__ = ["LearningConfig", "lr_shift_from_rate", "make_feedback"]


def lr_shift_from_rate(rate) -> int:
    """``k`` such that ``rate == 2**-k`` (0..31); ``ValueError`` naming the nearest otherwise."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"learning rate must be a number 2^-k, not {rate!r}")
    rate = float(rate)
    if not 0 < rate <= 1:
        raise ValueError(f"learning rate must be a power of two 2^-k in 2^-31..1, not {rate}")
    mantissa, exponent = np.frexp(rate)
    k = 1 - int(exponent)
    if mantissa != 0.5 or k > 31:
        near = min(max(round(-np.log2(rate)), 0), 31)
        raise ValueError(
            f"learning rate must be a power of two 2^-k (k in 0..31) so that the update is a "
            f"shift, not {rate}; nearest: 2^-{near} = {2.0 ** -near}"
        )
    return k


def make_feedback(rng, n, n_out):
    """A fixed random sign matrix :math:`B \\in \\{-1, +1\\}^{n \\times n_{out}}` (int8)."""
    return np.where(rng.random((n, n_out)) < 0.5, -1, 1).astype(np.int8)


@dataclass(frozen=True, eq=False)
class LearningConfig:
    r"""Rule, learning layers, fixed-point scales and random feedback for on-chip learning.

    Parameters
    ----------
    rule : LearningRule
    layers : tuple of int
        Indices of the layers that learn (their feed-forward and, under e-prop, recurrent
        weights). The output (last) layer learns from its own error; a hidden layer from the
        error fed back through ``feedback[index]``.
    lr_shift : int
        :math:`k_\eta`, the learning rate is :math:`2^{-k_\eta}`; 0..31.
    trace_shift : int
        :math:`F`, fraction bits of the presynaptic traces; 0..12.
    error_shift : int
        :math:`E`, scale of the output error; 0..12.
    k_err : int
        Shift of the van Rossum kernel :math:`\kappa = 1 - 2^{-k_{err}}` that filters the error
        and the eligibility; 0..15.
    sg_shift, sg_cut, sg_slope : int
        Width :math:`2^s` of the central bin of the surrogate, the last bin that is not zero and
        the tail's power :math:`m`
        (:func:`~spikeforge.model.learning.integer_ops.surrogate_exponent`); 0..15, 0..15, 1..2.
    psi_shift : int
        ALIF (e-prop) only: the eligibility :math:`\lambda` holds :math:`2^{\text{psi\_shift}}`
        times :math:`\partial s / \partial W`; the adaptive component divides it back. 0..15.
    rounding : str
        ``"stochastic"``: :math:`\Delta W = (G + r) \gg k_\eta` with :math:`r` the low
        :math:`k_\eta` bits of a shared LFSR (:mod:`~spikeforge.model.learning.lfsr`), unbiased;
        ``"nearest"``: round half up, :math:`r = 2^{k_\eta - 1}`. Small accumulated gradients
        vanish under deterministic rounding, so stochastic is the default.
    lfsr_seed : int
        Initial LFSR state, 1..2^32-1.
    trace_format, elig_format, error_format, grad_format : IntFormat
        Saturating formats of the presynaptic traces (unsigned), eligibilities (signed), output
        errors (signed) and per-synapse gradient accumulators (signed).
    feedback : dict
        ``{layer index: int8 array (n, n_out)}`` of −1/0/+1 for every hidden learning layer.
    """

    rule: LearningRule
    layers: tuple
    lr_shift: int = 20
    trace_shift: int = 6
    error_shift: int = 4
    k_err: int = 3
    sg_shift: int = 6
    sg_cut: int = 8
    sg_slope: int = 1
    psi_shift: int = 4
    rounding: str = "stochastic"
    lfsr_seed: int = 1
    trace_format: IntFormat = field(default_factory=lambda: IntFormat(16, signed=False))
    elig_format: IntFormat = field(default_factory=lambda: IntFormat(24))
    error_format: IntFormat = field(default_factory=lambda: IntFormat(16))
    grad_format: IntFormat = field(default_factory=lambda: IntFormat(32))
    feedback: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.rule, str):
            try:
                object.__setattr__(self, "rule", LearningRule[self.rule.upper()])
            except KeyError:
                choices = ", ".join(r.name.lower() for r in LearningRule)
                raise ValueError(f"rule must be one of {choices}, not {self.rule!r}") from None
        if not isinstance(self.rule, LearningRule):
            raise TypeError(f"rule must be a LearningRule, not {self.rule!r}")
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("at least one layer must learn")
        for index in layers:
            check_int("learning layer index", index, 0, 255)
        if len(set(layers)) != len(layers):
            raise ValueError(f"learning layers must be distinct, not {layers}")
        object.__setattr__(self, "layers", tuple(sorted(int(i) for i in layers)))
        check_int("lr_shift", self.lr_shift, 0, 31)
        check_int("trace_shift", self.trace_shift, 0, 12)
        check_int("error_shift", self.error_shift, 0, 12)
        for name in ("k_err", "sg_shift", "sg_cut", "psi_shift"):
            check_int(name, getattr(self, name), 0, 15)
        check_int("sg_slope", self.sg_slope, 1, 2)
        if self.rounding not in ("stochastic", "nearest"):
            raise ValueError(f"rounding must be 'stochastic' or 'nearest', not {self.rounding!r}")
        check_int("lfsr_seed", self.lfsr_seed, 1, (1 << 32) - 1)
        for name, signed in (("trace_format", False), ("elig_format", True),
                             ("error_format", True), ("grad_format", True)):
            fmt = getattr(self, name)
            if not isinstance(fmt, IntFormat):
                raise TypeError(f"{name} must be an IntFormat, not {fmt!r}")
            if fmt.signed != signed:
                raise ValueError(f"{name} must be {'signed' if signed else 'unsigned'}, not {fmt}")
        object.__setattr__(self, "feedback", {
            int(k): np.asarray(v, dtype=np.int8) for k, v in dict(self.feedback).items()})

    @property
    def learning_rate(self) -> float:
        return 2.0 ** -self.lr_shift

    @classmethod
    def create(cls, network, rule, *, layers=None, learning_rate=2.0 ** -20, seed=0, **options):
        """A configuration for ``network``, validated, with seeded random feedback.

        ``layers`` defaults to the last layer for SuperSpike and to every layer for e-prop.
        ``learning_rate`` must be a power of two.
        """
        rule = LearningRule[rule.upper()] if isinstance(rule, str) else LearningRule(rule)
        last = len(network.layers) - 1
        if layers is None:
            layers = (last,) if rule is LearningRule.SUPERSPIKE else tuple(range(last + 1))
        for index in layers:
            if not 0 <= index <= last:
                raise ValueError(
                    f"learning layer {index} does not exist: the network has layers 0..{last}")
        rng = np.random.default_rng(seed)
        feedback = {
            index: make_feedback(rng, network.layers[index].params.n, network.n_out)
            for index in sorted(layers) if index != last
        }
        config = cls(rule, tuple(layers), lr_shift=lr_shift_from_rate(learning_rate),
                     feedback=feedback, **options)
        config.check(network)
        return config

    def check(self, network) -> None:
        """Raise ``ValueError`` if this configuration cannot train ``network``."""
        last = len(network.layers) - 1
        if not network.layers[last].params.spiking:
            raise ValueError(
                "on-chip learning needs a spiking output layer (its error is a spike-train "
                "distance to the targets); the last layer is "
                f"{network.layers[last].params.kind.name}"
            )
        for index in self.layers:
            if index > last:
                raise ValueError(
                    f"learning layer {index} does not exist: the network has layers 0..{last}")
            check_layer_supported(self.rule, network.layers[index], index)
            if index != last:
                fb = self.feedback.get(index)
                shape = (network.layers[index].params.n, network.n_out)
                if fb is None:
                    raise ValueError(f"hidden learning layer {index} needs a feedback matrix")
                if fb.shape != shape or not np.isin(fb, (-1, 0, 1)).all():
                    raise ValueError(
                        f"feedback[{index}] must be a {shape} matrix of -1/0/+1, not "
                        f"{fb.dtype}{fb.shape}")

    def to_dict(self):
        return {
            "rule": self.rule.name.lower(), "layers": list(self.layers),
            "learning_rate": self.learning_rate, "lr_shift": self.lr_shift,
            "trace_shift": self.trace_shift, "error_shift": self.error_shift,
            "k_err": self.k_err, "sg_shift": self.sg_shift, "sg_cut": self.sg_cut,
            "sg_slope": self.sg_slope,
            "psi_shift": self.psi_shift, "rounding": self.rounding, "lfsr_seed": self.lfsr_seed,
            "formats": {name: str(getattr(self, name)) for name in
                        ("trace_format", "elig_format", "error_format", "grad_format")},
        }
