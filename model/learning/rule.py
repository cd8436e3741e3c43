"""The on-chip learning rules and which layer kinds each supports.

The enum crosses every boundary (reference, HDL, command line): its values are the hardware's
encoding of the rule.
"""

from enum import IntEnum

from ..params import NeuronKind

__all__ = ["LearningRule", "check_layer_supported"]


class LearningRule(IntEnum):
    """A local learning rule (see :mod:`spikeforge.model.learning.step`)."""

    #: Zenke & Ganguli 2018 (doi:10.1162/neco_a_01086); Neftci, Mostafa & Zenke 2019, Sec. V-B.
    #: Feed-forward LIF/IF layers.
    SUPERSPIKE = 0
    #: Bellec et al. 2020 (doi:10.1038/s41467-020-17236-y). LIF, IF and ALIF layers, recurrent
    #: or not; the ALIF eligibility carries the adaptive-threshold component.
    EPROP = 1


_SUPPORTED = {
    LearningRule.SUPERSPIKE: (NeuronKind.LIF, NeuronKind.IF),
    LearningRule.EPROP: (NeuronKind.LIF, NeuronKind.IF, NeuronKind.ALIF),
}


def check_layer_supported(rule: LearningRule, layer, index: int) -> None:
    """Raise ``ValueError`` if ``rule`` cannot train layer ``index``, saying why and what to use.

    Multi-term decays, a reset amount ``theta_reset`` and reset before the leak are supported
    (the reset is not differentiated); same-step recurrence and an input shift are not yet.
    """
    p = layer.params
    label = f"layer {index} ({layer.name or p.kind.name.lower()})"
    if p.kind not in _SUPPORTED[rule]:
        kinds = ", ".join(k.name for k in _SUPPORTED[rule])
        hint = (
            "; an LI readout does not spike, so no spike-based rule can train it"
            if p.kind is NeuronKind.LI
            else "; use --rule eprop for adaptive (ALIF) layers"
        )
        raise ValueError(
            f"rule {rule.name.lower()} does not support {p.kind.name} layers: {label} is "
            f"{p.kind.name}, supported: {kinds}{hint}"
        )
    if p.same_step_recurrence:
        raise ValueError(
            f"rule {rule.name.lower()} does not support same-step recurrence yet: {label} has "
            "same_step_recurrence, which the presynaptic traces do not model; train it off-chip "
            "(spikeforge train) or learn on a copy without same_step_recurrence"
        )
    if p.input_shift:
        raise ValueError(
            f"rule {rule.name.lower()} does not support an input shift yet: {label} has "
            f"input_shift = {p.input_shift}, which the presynaptic traces do not model; train "
            "it off-chip (spikeforge train) or use input_shift = 0 for learning layers"
        )
    if rule is LearningRule.SUPERSPIKE and p.recurrent:
        raise ValueError(
            f"rule superspike does not support recurrent layers: {label} has recurrent weights; "
            f"use --rule eprop"
        )
