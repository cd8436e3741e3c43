"""Training on the integer semantics with PyTorch: exact forward, surrogate-gradient backward."""

from .functional import apply_decay, exact_dtype, layer_sequence, neuron_update
from .modules import SpikingLayer, SpikingNetwork
from .quantization import floor_shift_ste, quantize_weight, round_ste
from .surrogates import SURROGATES, spike_function

__all__ = [
    "SURROGATES",
    "SpikingLayer",
    "SpikingNetwork",
    "apply_decay",
    "exact_dtype",
    "floor_shift_ste",
    "layer_sequence",
    "neuron_update",
    "quantize_weight",
    "round_ste",
    "spike_function",
]
