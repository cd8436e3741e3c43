"""On-chip learning rules in integers (SuperSpike, e-prop), their float versions, and targets.

NumPy only: importing this package never imports torch. See ``docs/learning.md``.
"""

from .config import LearningConfig, lr_shift_from_rate, make_feedback
from .float_rule import float_gradient
from .integer_ops import bit_length, decay, pow2_product, round_shift, surrogate_exponent
from .lfsr import LFSR_MASK, lfsr_sequence, lfsr_step
from .rule import LearningRule, check_layer_supported
from .step import LayerTraces, LearnState, initial_learn_state, learning_step, rows_of
from .targets import check_targets, class_targets
from .trial import TrialResult, apply_update, learn_samples, presynaptic, run_trial

__all__ = [
    "LFSR_MASK",
    "LayerTraces",
    "LearnState",
    "LearningConfig",
    "LearningRule",
    "TrialResult",
    "apply_update",
    "bit_length",
    "check_layer_supported",
    "check_targets",
    "class_targets",
    "decay",
    "float_gradient",
    "initial_learn_state",
    "learn_samples",
    "learning_step",
    "lfsr_sequence",
    "lfsr_step",
    "lr_shift_from_rate",
    "make_feedback",
    "pow2_product",
    "presynaptic",
    "round_shift",
    "rows_of",
    "run_trial",
    "surrogate_exponent",
]
