"""The integer contract (NumPy only) and, in :mod:`spikeforge.model.training`, the torch side.

Importing this package never imports torch.
"""

from .connectivity import Connectivity, Conv2d
from .encoding import RateEncoding, SpikeEncoding, encoding_from_dict
from .layer import Layer
from .netfile import NetworkFileError, load_network, save_network
from .network import Network, Readout, Trace, final_states, run
from .numerics import IntFormat, Rounding, floor_shift, quantize, saturate
from .params import LayerParams, NeuronKind, ResetMode
from .reference import LayerState, initial_state, layer_step, synaptic_input
from .shortcut import Shortcut

__all__ = [
    "Connectivity",
    "Conv2d",
    "IntFormat",
    "Layer",
    "LayerParams",
    "LayerState",
    "Network",
    "NetworkFileError",
    "NeuronKind",
    "RateEncoding",
    "Readout",
    "ResetMode",
    "Rounding",
    "Shortcut",
    "SpikeEncoding",
    "Trace",
    "encoding_from_dict",
    "final_states",
    "floor_shift",
    "initial_state",
    "layer_step",
    "load_network",
    "quantize",
    "run",
    "saturate",
    "save_network",
    "synaptic_input",
]
