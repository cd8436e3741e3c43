r"""The schedule pass: cycle-exact latency per step and per inference, from the HDL's schedule model
(:mod:`spikeforge.hdl.schedule`: a layer of :math:`N` neurons, :math:`Q = N/P` per lane, busy
:math:`U + 10 + (E + R)\,Q` cycles for :math:`E` input and :math:`R` recurrent events, its
update taking :math:`N/W \le U \le N` cycles with :math:`W` neurons a cycle; a step takes the
slowest layer's cycles).

Always reported: the bounds over all inputs, :math:`T \max_l (N_l / W_l + 10)` (no spike
anywhere) and :math:`T \max_l (N_l + 10 + R_l Q_l)` (every input and neuron spiking every
step; for a convolutional layer, every input's pairs,
:func:`~spikeforge.hdl.schedule.max_layer_cycles`). With ``options.inputs`` (batch, T, n_in):
the exact cycles of every step and inference of each sample, which the co-simulated RTL
reproduces (``tests/compiler/test_compile.py``).
"""

import numpy as np

from ...hdl.schedule import max_layer_cycles, min_layer_cycles, schedules
from ..ir import graph_to_network
from .base import Pass

__all__ = ["SchedulePass"]


class SchedulePass(Pass):
    """Latency bounds, and per-sample cycles for ``options.inputs``."""

    name = "schedule"

    def run(self, graph, options, report):
        network, lanes = graph_to_network(graph), options.lanes
        steps = network.steps
        best = max(min_layer_cycles(ly, lanes) for ly in network.layers)
        worst = max(max_layer_cycles(ly, lanes) for ly in network.layers)
        section = {"lanes": lanes, "steps": steps,
                   "cycles_per_step_min": best, "cycles_per_step_max": worst,
                   "cycles_per_inference_min": best * steps,
                   "cycles_per_inference_max_bound": worst * steps}
        if options.inputs is not None:
            x = np.asarray(options.inputs)
            if x.ndim != 3 or x.shape[2] != network.n_in:
                raise ValueError(f"inputs must have shape (batch, T, {network.n_in}), not "
                                 f"{x.shape}")
            per_sample = schedules(network, x.astype(np.uint8), lanes)
            cycles = [int(s.cycles.sum()) for s in per_sample]
            section.update(
                samples=len(cycles), steps=int(x.shape[1]), cycles_per_inference=cycles,
                cycles_per_step=[s.cycles.astype(int).tolist() for s in per_sample],
                synaptic_operations=[int(s.synops.sum()) for s in per_sample],
                cycles_per_inference_mean=float(np.mean(cycles)),
                cycles_per_inference_max=int(max(cycles)))
        report[self.name] = section
        return graph
