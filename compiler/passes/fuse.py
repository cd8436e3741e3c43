r"""Fuse: consecutive ``Affine`` nodes of a layer become one.

.. math::  W_2 (W_1 x + c_1) + c_2 = (W_2 W_1)\,x + (W_2 c_1 + c_2)

Exact in float; it runs before quantization, so the composed weights are rounded once. The fused
node is named ``"a+b"`` after its parts; its weight format is open (the product of integer
matrices need not fit theirs).

An ``Affine`` with a connectivity (a convolution or pooling, :mod:`spikeforge.model.connectivity`)
is not composed with another: the product of a convolution with another map is in general not a
convolution, and composing the unrolled matrices would silently turn a kernel into a dense
layer of :math:`n \cdot n_{in}` words. The pass raises :class:`FuseError` naming the nodes.
"""

from ..ir import Affine
from .base import Pass

__all__ = ["Fuse", "FuseError"]


class FuseError(ValueError):
    """Consecutive ``Affine`` nodes that cannot be composed exactly into one."""


class Fuse(Pass):
    """One ``Affine`` per layer; report: the layers fused and from which nodes."""

    name = "fuse"

    def run(self, graph, options, report):
        layers, fused = [], []
        for nodes in graph.layers:
            if len(nodes.affines) == 1:
                layers.append(nodes)
                continue
            shaped = [a for a in nodes.affines if a.connectivity is not None]
            if shaped:
                names = ", ".join(repr(a.name or "?") for a in nodes.affines)
                raise FuseError(
                    f"layer {nodes.name or '?'!r} has consecutive Affine nodes ({names}) and "
                    f"{shaped[0].name or '?'!r} has a connectivity (a convolution or pooling): "
                    "composing it with another weight node is not a convolution, so it is not "
                    "supported; give each convolution or pooled weight node its own neuron "
                    "layer, or fold the other weights into its kernel before compiling")
            weight, bias = nodes.affines[0].weight, nodes.affines[0].bias
            for affine in nodes.affines[1:]:
                bias = affine.bias if bias is None else affine.weight @ bias + (
                    0 if affine.bias is None else affine.bias)
                weight = affine.weight @ weight
            name = "+".join(a.name for a in nodes.affines)
            fused.append({"layer": nodes.name, "nodes": [a.name for a in nodes.affines],
                          "into": name})
            layers.append(nodes._replace(affines=(Affine(weight, bias, name=name),)))
        report[self.name] = {"fused": fused}
        return graph.with_layers(layers) if fused else graph
