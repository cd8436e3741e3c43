"""Allocate: every memory of the design on the target, its block RAMs, the LUT estimate, and a
:class:`~spikeforge.compiler.resources.FitError` naming what does not fit (which memory, bits
needed against available) and what to change. The model is in
:mod:`spikeforge.compiler.resources`."""

from ..ir import graph_to_network
from ..resources import check_fit
from .base import Pass

__all__ = ["Allocate"]


class Allocate(Pass):
    """Memories and lanes on ``options.target``; refuses a design that does not fit."""

    name = "allocation"

    def run(self, graph, options, report):
        network = graph_to_network(graph)
        summary = check_fit(network, options.lanes, options.target)
        report[self.name] = {"target": options.target.name, "lanes": options.lanes, **summary}
        return graph
