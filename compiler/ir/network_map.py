"""The one-to-one map between a fused, quantized IR :class:`~.graph.Graph` and a
:class:`~spikeforge.model.Network` (the network file's content).

=====================================  ============================================
IR                                     network file
=====================================  ============================================
``Input(n, encoding)``                 ``encoding``; ``n`` = first layer's ``n_in``
``Affine(W, c, weight_format)``        ``layer<k>.weight``, ``layer<k>.bias``,
                                       ``params.weight_format``, ``params.bias``
``Affine.connectivity``                the layer's ``connectivity`` (then ``W`` is a
                                       kernel and ``c`` per channel for a convolution)
``Affine.shortcut``, ``.shortcut_weight``  the layer's residual join and its 1×1 kernel
``Recurrent(V)``                       ``layer<k>.recurrent``, ``params.recurrent``
neuron (``LIF``/``IF``/``ALIF``/``LI``)  ``params.kind`` and the other ``params``;
                                       the layer's ``name`` is the neuron's
``Output(readout)``                    ``readout``
``Graph.name``, ``Graph.metadata``     ``name``, ``metadata``
=====================================  ============================================

``graph_to_network(graph_from_network(net))`` writes the same network file as ``net``.
"""

import numpy as np

from ...model import Layer, Network, NeuronKind
from .affine import Affine
from .alif import ALIF
from .graph import Graph
from .input import Input
from .li import LI
from .lif import IF, LIF
from .output import Output
from .recurrent import Recurrent

__all__ = ["graph_from_network", "graph_to_network"]


def _neuron(layer):
    p = layer.params
    common = dict(current_format=p.current_format, potential_format=p.potential_format,
                  name=layer.name, reset=p.reset, k_syn=p.k_syn, input_shift=p.input_shift)
    if p.kind is NeuronKind.LI:
        return LI(p.n, k_mem=p.k_mem, **common)
    common.update(theta=p.theta, theta_reset=p.theta_reset,
                  same_step_recurrence=p.same_step_recurrence)
    if p.kind is NeuronKind.LIF:
        return LIF(p.n, k_mem=p.k_mem, **common)
    if p.kind is NeuronKind.IF:
        return IF(p.n, **common)
    return ALIF(p.n, k_mem=p.k_mem, k_adapt=p.k_adapt, adapt_jump=p.adapt_jump,
                trace_format=p.trace_format, **common)


def graph_from_network(network: Network) -> Graph:
    """The IR of ``network``: ``Input → (Affine → Recurrent? → neuron)* → Output``."""
    nodes = [Input(network.n_in, network.encoding)]
    for layer in network.layers:
        nodes.append(Affine(layer.weight.astype(np.int64),
                            None if layer.bias is None else layer.bias.astype(np.int64),
                            layer.params.weight_format, name=f"{layer.name}.weight"
                            if layer.name else "", connectivity=layer.connectivity,
                            shortcut=layer.shortcut,
                            shortcut_weight=None if layer.shortcut is None
                            else layer.shortcut_weight.astype(np.int64)))
        if layer.recurrent is not None:
            nodes.append(Recurrent(layer.recurrent.astype(np.int64),
                                   name=f"{layer.name}.recurrent" if layer.name else ""))
        nodes.append(_neuron(layer))
    nodes.append(Output(network.readout))
    return Graph(tuple(nodes), network.name, dict(network.metadata))


def graph_to_network(graph: Graph) -> Network:
    """The :class:`~spikeforge.model.Network` of a fused and quantized ``graph``."""
    if not graph.fused:
        names = [ly.name for ly in graph.layers if len(ly.affines) > 1]
        raise ValueError(f"layer(s) {names} have consecutive Affine nodes: run the fuse pass")
    layers = []
    for index, nodes in enumerate(graph.layers):
        affine, label = nodes.affines[0], nodes.name or f"layer {index}"
        if not (affine.quantized and nodes.neuron.quantized):
            raise ValueError(f"{label} is not quantized (float weights or threshold, or open "
                             "formats): run the quantize pass")
        if nodes.recurrent is not None and not nodes.recurrent.integral:
            raise ValueError(f"{label}: recurrent weights are not integers: run the quantize pass")
        params = nodes.neuron.layer_params(
            affine.n_in, weight_format=affine.weight_format,
            recurrent=nodes.recurrent is not None, bias=affine.bias is not None)
        layers.append(Layer(
            params, affine.weight.astype(np.int64),
            recurrent=None if nodes.recurrent is None else nodes.recurrent.weight.astype(np.int64),
            bias=None if affine.bias is None else affine.bias.astype(np.int64),
            name=nodes.neuron.name, connectivity=affine.connectivity, shortcut=affine.shortcut,
            shortcut_weight=None if affine.shortcut is None
            else affine.shortcut_weight.astype(np.int64)))
    return Network(tuple(layers), graph.input.encoding, graph.output.readout, graph.name,
                   dict(graph.metadata))
