"""Front end for spikeforge's own networks: a network file (``.sfn``), a
:class:`~spikeforge.model.Network`, or a trained
:class:`~spikeforge.model.training.SpikingNetwork` (through its ``to_network``). The result is
already fused and quantized; the IR is the network file's one-to-one image
(:mod:`spikeforge.compiler.ir.network_map`), a convolutional or pooled layer's connectivity
included."""

from pathlib import Path

from ...model import Network, load_network
from ..ir import graph_from_network
from .registry import register

__all__ = ["load_spikeforge"]


def _accepts(source):
    return isinstance(source, Network) or type(source).__name__ == "SpikingNetwork"


@register("network_file", suffixes=(".sfn",), accepts=_accepts,
          describes=".sfn network files, spikeforge Network and SpikingNetwork")
def load_spikeforge(source):
    """``(graph, report)`` of a network file path, a Network or a SpikingNetwork."""
    if isinstance(source, str | Path):
        network, origin = load_network(source), str(source)
    elif isinstance(source, Network):
        network, origin = source, "Network"
    else:
        network, origin = source.to_network(), type(source).__name__
    return graph_from_network(network), {"source": origin, "layers": len(network.layers),
                                         "convolutional": network.convolutional}
