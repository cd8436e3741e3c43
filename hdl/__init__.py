"""Amaranth cores that compute :func:`spikeforge.model.run` bit for bit, without multipliers.

See ``docs/hdl.md``; the top-level interface is documented in
:mod:`spikeforge.hdl.network_core`.
"""

from .events import EventLayout, ProbeLayout
from .lif_layer import LIFLayer
from .network_core import COUNTERS, NetworkCore
from .neuron_update import NeuronUpdate
from .ready_slice import ReadySlice
from .schedule import Schedule, layer_cycles, schedule
from .skid_buffer import SkidBuffer

__all__ = [
    "COUNTERS",
    "EventLayout",
    "LIFLayer",
    "NetworkCore",
    "NeuronUpdate",
    "ProbeLayout",
    "ReadySlice",
    "Schedule",
    "SkidBuffer",
    "layer_cycles",
    "schedule",
]
