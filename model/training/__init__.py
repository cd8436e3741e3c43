"""Training on the integer semantics with PyTorch: exact forward, surrogate-gradient backward."""

from .functional import exact_dtype, layer_sequence
from .modules import SpikingLayer, SpikingNetwork
from .quantization import floor_shift_ste, quantize_weight, round_ste
from .surrogates import SURROGATES, spike_function

__all__ = [
    "SURROGATES", "spike_function", "round_ste", "floor_shift_ste", "quantize_weight",
    "exact_dtype", "layer_sequence", "SpikingLayer", "SpikingNetwork",
]
