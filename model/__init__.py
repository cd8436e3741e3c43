"""The integer contract (NumPy only) and, in :mod:`spikeforge.model.training`, the torch side.

Importing this package never imports torch.
"""

from .encoding import RateEncoding, SpikeEncoding, encoding_from_dict
from .layer import Layer
from .netfile import NetworkFileError, load_network, save_network
from .network import Network, Readout, Trace, final_states, run
from .numerics import IntFormat, Rounding, floor_shift, quantize, saturate
from .params import LayerParams, NeuronKind, ResetMode
from .reference import LayerState, initial_state, layer_step, synaptic_input

__all__ = [
    "IntFormat", "Rounding", "floor_shift", "quantize", "saturate",
    "LayerParams", "NeuronKind", "ResetMode",
    "Layer", "LayerState", "initial_state", "layer_step", "synaptic_input",
    "Network", "Readout", "Trace", "run", "final_states",
    "RateEncoding", "SpikeEncoding", "encoding_from_dict",
    "NetworkFileError", "load_network", "save_network",
]
