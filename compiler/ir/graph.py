"""The compiler's IR: a validated chain of nodes from one :class:`~.input.Input` to one
:class:`~.output.Output`.

::

    Input → [ Affine+ → Recurrent? → neuron ]+ → Output        neuron ∈ LIF, IF, ALIF, LI

A *layer* is one or more :class:`~.affine.Affine` nodes (one after the fuse pass), an optional
:class:`~.recurrent.Recurrent` node and a neuron node; only the last layer may be a non-spiking
:class:`~.li.LI`. Sizes chain (each ``Affine`` takes as many inputs as the node before it has
outputs), ``Recurrent`` is ``n × n`` of its neuron, and the readout matches the last neuron
(``spike_count`` needs a spiking one, ``membrane_*`` an ``LI``), and an ``Affine`` with a
connectivity reads the ``(C, H, W)`` map the convolution before it produced. Every violation is a
``ValueError`` or ``TypeError`` naming the node by position and name.

A fused, quantized graph is exactly a :class:`~spikeforge.model.Network` (the network file's
content; :mod:`.network_map`): one layer per ``Affine → Recurrent? → neuron`` group.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

from .affine import Affine
from .base import node_from_dict
from .input import Input
from .neuron import Neuron
from .output import Output
from .recurrent import Recurrent

__all__ = ["FORMAT", "Graph", "LayerNodes"]

FORMAT = "spikeforge-ir"


class LayerNodes(NamedTuple):
    """The nodes of one layer."""

    affines: tuple  #: one or more :class:`~.affine.Affine`, applied in order
    recurrent: Recurrent | None
    neuron: Neuron

    @property
    def name(self) -> str:
        return self.neuron.name

    @property
    def n_in(self) -> int:
        return self.affines[0].n_in

    @property
    def nodes(self) -> tuple:
        return (*self.affines, *([self.recurrent] if self.recurrent else []), self.neuron)


def _label(index, node):
    name = getattr(node, "name", "")
    return f"node {index} ({type(node).__name__}{f' {name!r}' if name else ''})"


def _check_map(index, affine, produced):
    """An Affine that reads its input as a map must read the map the convolution before it
    produced (the same rule as :class:`~spikeforge.model.Network`'s)."""
    conn = affine.connectivity
    if conn is None or produced is None or tuple(conn.input_shape) == tuple(produced):
        return
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    raise ValueError(f"{_label(index, affine)} reads a {shape(conn.input_shape)} input map but "
                     f"the convolution before it produces {shape(produced)} (channels×height×"
                     "width): make the input shape the previous output shape")


def _layers(nodes):
    """Group ``nodes`` into layers, validating order and sizes."""
    if len(nodes) < 2 or not isinstance(nodes[0], Input) or not isinstance(nodes[-1], Output):
        kinds = " → ".join(type(n).__name__ for n in nodes) or "nothing"
        raise ValueError(f"an IR graph runs from an Input to an Output node, not {kinds}")
    for index, node in enumerate(nodes):
        if not isinstance(node, Input | Output | Affine | Recurrent | Neuron):
            raise TypeError(f"node {index} must be an IR node (Input, Affine, Recurrent, LIF, IF, "
                            f"ALIF, LI, Output), not {node!r}")
        if isinstance(node, Input | Output) and 0 < index < len(nodes) - 1:
            raise ValueError(f"{_label(index, node)}: Input and Output only at the ends")
    layers, size, index, last = [], nodes[0].n, 1, len(nodes) - 1
    produced = None  # the (C, H, W) map the last convolution produced
    while index < last:
        affines = []
        while index < last and isinstance(nodes[index], Affine):
            affine = nodes[index]
            if affine.n_in != size:
                raise ValueError(f"{_label(index, affine)} takes {affine.n_in} inputs but the node "
                                 f"before it has {size} outputs")
            _check_map(index, affine, produced)
            affines.append(affine)
            size, index, produced = affine.n, index + 1, affine.output_shape
        if not affines:
            raise ValueError(f"{_label(index, nodes[index])} must follow an Affine node: a layer "
                             "is Affine → (Recurrent) → neuron")
        recurrent = None
        if index < last and isinstance(nodes[index], Recurrent):
            recurrent, index = nodes[index], index + 1
            if recurrent.n != size:
                raise ValueError(f"{_label(index - 1, recurrent)} is {recurrent.n} × "
                                 f"{recurrent.n} but its layer has {size} neurons")
        neuron = nodes[index] if index < last else nodes[last]
        if not isinstance(neuron, Neuron):
            raise ValueError(f"{_label(index, neuron)} cannot follow "
                             f"{_label(index - 1, nodes[index - 1])}: synapses must be followed "
                             "by a neuron node (LIF, IF, ALIF, LI)")
        if neuron.n != size:
            raise ValueError(f"{_label(index, neuron)} has {neuron.n} neurons but its synapses "
                             f"have {size} outputs")
        if recurrent is not None and not neuron.spiking:
            raise ValueError(f"{_label(index, neuron)} is a non-spiking LI readout: it cannot "
                             "have recurrent weights")
        if not neuron.spiking and index != last - 1:
            raise ValueError(f"{_label(index, neuron)} is a non-spiking LI readout: only the "
                             "last layer can be one")
        layers.append(LayerNodes(tuple(affines), recurrent, neuron))
        index += 1
    if not layers:
        raise ValueError("the IR graph has no layer (Affine → neuron) between Input and Output")
    readout, spiking = nodes[-1].readout, layers[-1].neuron.spiking
    if (readout.value == "spike_count") != spiking:
        need = "a spiking last layer" if not spiking else "an LI last layer"
        raise ValueError(f"readout {readout.value!r} needs {need}; the last layer is "
                         f"{type(layers[-1].neuron).__name__}")
    return tuple(layers)


@dataclass(frozen=True, eq=False)
class Graph:
    """Nodes from ``Input`` to ``Output`` (see the module for the rules), a name and free-form
    metadata (provenance, accuracy, the front end's report)."""

    nodes: tuple
    name: str = "network"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "_layers", _layers(self.nodes))
        if not isinstance(self.metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(self.metadata).__name__}")

    @property
    def input(self) -> Input:
        return self.nodes[0]

    @property
    def output(self) -> Output:
        return self.nodes[-1]

    @property
    def layers(self) -> tuple:
        """One :class:`LayerNodes` per layer, in order."""
        return self._layers

    @property
    def fused(self) -> bool:
        """One ``Affine`` per layer."""
        return all(len(layer.affines) == 1 for layer in self.layers)

    @property
    def quantized(self) -> bool:
        """Integer weights, thresholds and concrete formats everywhere."""
        return all(layer.affines[-1].quantized and layer.neuron.quantized
                   and (layer.recurrent is None or layer.recurrent.integral)
                   for layer in self.layers)

    def with_layers(self, layers, **changes) -> "Graph":
        """The same graph with its layers replaced (``changes`` may set name, metadata)."""
        nodes = (self.input, *(n for layer in layers for n in LayerNodes(*layer).nodes),
                 self.output)
        return Graph(nodes, changes.get("name", self.name),
                     changes.get("metadata", dict(self.metadata)))

    def to_dict(self):
        return {"format": FORMAT, "version": 1, "name": self.name,
                "nodes": [node.to_dict() for node in self.nodes], "metadata": self.metadata}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a spikeforge IR graph (format {FORMAT!r} expected)")
        if data.get("version") != 1:
            raise ValueError(f"IR graph version {data.get('version')!r} is not supported (1)")
        return cls(tuple(node_from_dict(n) for n in data["nodes"]), data.get("name", "network"),
                   dict(data.get("metadata") or {}))
