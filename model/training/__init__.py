"""Training on the integer semantics with PyTorch: exact forward, surrogate-gradient backward."""

from .functional import exact_dtype, layer_sequence
from .modules import SpikingLayer, SpikingNetwork
from .quantization import floor_shift_ste, quantize_weight, round_ste
from .surrogates import SURROGATES, spike_function

__all__ = [
    "SURROGATES",
    "SpikingLayer",
    "SpikingNetwork",
    "exact_dtype",
    "floor_shift_ste",
    "layer_sequence",
    "quantize_weight",
    "round_ste",
    "spike_function",
]
