"""The compiler's intermediate representation: typed, validated node dataclasses, one family a
file, chained in a :class:`Graph` that maps one to one to the network file
(:mod:`.network_map`). Every node has ``to_dict``; :func:`node_from_dict` and
:meth:`Graph.from_dict` read them back, keyed by ``"type"``.
"""

from .affine import Affine
from .alif import ALIF
from .base import NODE_TYPES, node_from_dict
from .graph import Graph, LayerNodes
from .input import Input
from .li import LI
from .lif import IF, LIF
from .network_map import graph_from_network, graph_to_network
from .neuron import Neuron
from .output import Output
from .recurrent import Recurrent

__all__ = ["ALIF", "IF", "LI", "LIF", "NODE_TYPES", "Affine", "Graph", "Input", "LayerNodes",
           "Neuron", "Output", "Recurrent", "graph_from_network", "graph_to_network",
           "node_from_dict"]
