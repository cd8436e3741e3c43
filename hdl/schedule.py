r"""Exact clock cycles of each time step of a :class:`~spikeforge.hdl.network_core.NetworkCore`.

A layer of :math:`N` neurons with :math:`P` lanes (:math:`Q = N/P`) that takes :math:`E` input
events and :math:`R` recurrent events in a step is busy for

.. math::

    C = \underbrace{1}_{go} + \underbrace{(E + R)\,Q}_{\text{synaptic ops}}
        + \underbrace{2}_{\text{marker, phase change}}
        + \underbrace{U + 2 + L}_{\text{update}} + \underbrace{1}_{\text{end marker}}
      = U + 6 + L + (E + R)\,Q

cycles, where the update begins with one cycle for the last synaptic operation's accumulator
read and :math:`L` is the latency of the layer's pipelined neuron update
(:meth:`~spikeforge.hdl.neuron_update.NeuronUpdate.latency`): 3 with one-term decays and none of
the version-2 structural features (ALIF 4), up to 6 with multi-term decays, a reset before the
leak or same-step recurrence. The update handles :math:`W` neurons a cycle
(:func:`~spikeforge.link.memory_layout.update_lanes`: :math:`W = P` for a dense layer whose
lane count is a power of two, else 1) and emits one spike a cycle, so a state word whose
:math:`W` neurons spike :math:`c_g` times in the step holds it :math:`\max(1, c_g)` cycles:

.. math::

    U = \sum_{g=0}^{N/W - 1} \max(1, c_g) \qquad (U = N \text{ with } W = 1,
    \text{ and at most } N)

(:func:`update_cycles`); with one-term decays :math:`C = U + 9 + (E + R)\,Q` (ALIF
:math:`U + 10 + (E + R)\,Q`). The recurrent
events of a layer with same-step recurrence go to accumulators of their own in the same
cycles, so they cost what they cost elsewhere. All layers start a step together,
so the step takes :math:`\max_l C_l` cycles (the ``step_cycles`` counter) as long as
``o_events`` is drained. :math:`E` of layer :math:`l > 0` is
the spike count of layer :math:`l-1` at the previous step; :math:`R` is the layer's own spike
count at the previous step if it is recurrent. Every issue cycle performs :math:`P` synaptic
operations, so the synaptic engine runs at one operation per lane per cycle.

A convolutional layer (:class:`~spikeforge.hdl.conv_layer.ConvLIFLayer`; ``C_out`` output
channels, :math:`G = C_{out}/P` channel groups per lane) looks each event up in its input map
and walks the *pairs* (kernel offset, output position) of the event's pooled cell: an event
whose cell has :math:`m_e` pairs costs :math:`m_e G` issue cycles, and one empty cycle when
:math:`m_e = 0` (an input that pooling drops, or a cell that no kernel offset reaches with a
stride above the kernel). With :math:`E > 0` input events the map read, the event queue and the
walker add 3 cycles of fill:

.. math::

    C_{conv} = N + 6 + L + [E > 0]\,\Big(3 + \sum_{e} \max(m_e G, 1)\Big)

and :math:`\sum_e m_e G` issue cycles of :math:`P` operations each
(:func:`conv_event_cycles` gives :math:`m_j G` and :math:`\max(m_j G, 1)` of every input
:math:`j`). A layer with a residual join then takes the join's group the same way, after one
cycle for the input's marker (:data:`JOIN_MARKER`): with :math:`E'` join events of pair counts
:math:`m'_e` it adds :math:`1 + [E' > 0]\,(3 + \sum_e \max(m'_e G, 1))` cycles. A pooled
dense layer over a square map runs as a convolution (one pair per kept input, :math:`G = N/P`);
over a map that is not square it runs unrolled, as a dense layer of ``n_in`` inputs
(:func:`~spikeforge.link.memory_layout.core_layer`).
"""

from typing import NamedTuple

import numpy as np

from ..link.memory_layout import (
    check_lanes,
    conv_groups,
    core_layer,
    is_convolutional,
    update_lanes,
)
from ..model import Network, Trace, run
from .conv_layer import conv_tables
from .neuron_update import NeuronUpdate

__all__ = ["CONV_FILL", "JOIN_MARKER", "STEP_OVERHEAD", "Schedule", "conv_event_cycles",
           "layer_cycles", "max_layer_cycles", "min_layer_cycles", "schedule", "schedules",
           "step_overhead", "update_cycles"]

#: cycles a convolutional layer's synaptic engine adds to a step with at least one input event:
#: the input map read, the event queue and the walker before the first issue
CONV_FILL = 3

#: the cycle a layer with a residual join spends on its input's marker before the join's group
JOIN_MARKER = 1

#: cycles of a step beyond one per neuron and one per synaptic issue: go, marker, phase change,
#: the last accumulator read, the update pipeline's fill and drain, end marker; for a layer
#: whose update has :attr:`NeuronUpdate.LATENCY` (see :func:`step_overhead`)
STEP_OVERHEAD = 6 + NeuronUpdate.LATENCY


def step_overhead(params):
    """:data:`STEP_OVERHEAD` of a layer of ``params``: 6 + its update's latency."""
    return 6 + NeuronUpdate.latency(params)


def layer_cycles(n, lanes, events, recurrent_events=0, *, latency=NeuronUpdate.LATENCY,
                 update=None):
    """Cycles a layer of ``n`` neurons is busy in one step (arrays broadcast); ``latency`` is
    its update's (:meth:`~spikeforge.hdl.neuron_update.NeuronUpdate.latency`), ``update`` its
    update phase's :math:`U` (:func:`update_cycles`; ``n``, one neuron a cycle, by default)."""
    q = n // lanes
    update = n if update is None else np.asarray(update)
    return update + 6 + latency + (np.asarray(events) + np.asarray(recurrent_events)) * q


def update_cycles(spikes, width):
    """:math:`U = \\sum_g \\max(1, c_g)` of each step: ``spikes`` (T, n) the layer's spikes
    of each step, ``width`` its :math:`W`; an int64 array (T,)."""
    s = np.asarray(spikes, np.int64)
    per_word = s.reshape(s.shape[0], -1, width).sum(axis=2)
    return np.maximum(per_word, 1).sum(axis=1)


def conv_event_cycles(layer, lanes, connectivity=None):
    """``(issue, busy)`` of a convolutional ``layer``, int64 arrays (n_in,): the issue cycles
    :math:`m_j G` an event of input :math:`j` causes, and the cycles it keeps the walker,
    :math:`\\max(m_j G, 1)`; of its residual join's events with ``connectivity =
    layer.shortcut.connectivity`` (arrays over the source's spikes)."""
    layer = core_layer(layer)
    conn = layer.connectivity if connectivity is None else connectivity
    issue = conv_tables(conn).input_pairs * conv_groups(layer, lanes)
    return issue, np.maximum(issue, 1)


def min_layer_cycles(layer, lanes):
    """Cycles ``layer`` is busy in a step without any spike, in or out: a lower bound on its
    step cycles, :math:`N / W + 6 + L` (every state word one cycle)."""
    p = layer.params
    return int(layer_cycles(p.n, lanes, 0, latency=NeuronUpdate.latency(p),
                            update=p.n // update_lanes(layer, lanes)))


def max_layer_cycles(layer, lanes):
    """Cycles ``layer`` is busy in a step in which every input (and every own neuron, if
    recurrent) spikes: an upper bound on its step cycles."""
    p = layer.params
    latency = NeuronUpdate.latency(p)
    layer = core_layer(layer)
    if is_convolutional(layer):
        _, busy = conv_event_cycles(layer, lanes)
        cycles = p.n + 6 + latency + CONV_FILL + int(busy.sum())
        if layer.shortcut is not None:
            _, busy = conv_event_cycles(layer, lanes, layer.shortcut.connectivity)
            cycles += JOIN_MARKER + CONV_FILL + int(busy.sum())
        return cycles
    return int(layer_cycles(p.n, lanes, p.n_in, p.n if p.recurrent else 0, latency=latency))


class Schedule(NamedTuple):
    """Per step (arrays of shape (T,)): predicted cycles and synaptic work."""

    cycles: np.ndarray  #: the ``step_cycles`` counter of each step
    synops: np.ndarray  #: synaptic operations of each step, all layers
    events: np.ndarray  #: spike events processed by all layers
    issue_cycles: np.ndarray  #: per layer (L, T): cycles its synaptic engine issued

    def sop_per_lane_cycle(self, lanes):
        """Synaptic operations per lane per issue cycle, over the run (1.0 is the limit)."""
        issue = self.issue_cycles.sum()
        return float(self.synops.sum() / (lanes * issue)) if issue else 0.0

    def sop_per_lane_step_cycle(self, lanes):
        """Synaptic operations per lane per cycle of whole steps (update phases included),
        for the busiest layer: ``synops of that layer / (lanes * step cycles)``."""
        total = self.cycles.sum()
        busiest = self.issue_cycles.sum(axis=1).max() if self.issue_cycles.size else 0
        return float(busiest / total) if total else 0.0


def schedule(network: Network, spikes, lanes=1, trace=None) -> Schedule:
    """Predict the cycles of every step of ``network`` on one input ``spikes`` (T, n_in)."""
    x = np.asarray(spikes)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] != 1:
        raise ValueError(f"spikes must have shape (T, n_in) or (1, T, n_in), not {x.shape}")
    if trace is None:
        trace = run(network, x)
    steps = x.shape[1]
    cycles = np.zeros(steps, np.int64)
    synops = np.zeros(steps, np.int64)
    events = np.zeros(steps, np.int64)
    issue = np.zeros((len(network.layers), steps), np.int64)
    previous = [x[0].sum(axis=1).astype(np.int64)]  # events into layer 0 at step t
    for index, layer in enumerate(network.layers):
        p = layer.params
        q = check_lanes(layer, lanes)
        if index:
            prev = trace.spikes[index - 1][0].sum(axis=1)
            ev_in = np.concatenate([[0], prev[:-1]])
        else:
            ev_in = previous[0]
        own = trace.spikes[index][0].sum(axis=1)
        ev_rec = np.concatenate([[0], own[:-1]]) if p.recurrent else np.zeros(steps, np.int64)
        latency = NeuronUpdate.latency(p)
        layer = core_layer(layer)  # a pooled dense layer over a square map: a convolution
        if is_convolutional(layer):  # per event: the pairs of its cell, times G
            if index:
                spikes_in = trace.spikes[index - 1][0].astype(np.int64)
                spikes_in = np.concatenate([np.zeros((1, p.n_in), np.int64), spikes_in[:-1]])
            else:
                spikes_in = x[0].astype(np.int64)
            per_issue, per_busy = conv_event_cycles(layer, lanes)
            busy = np.where(ev_in > 0, CONV_FILL + spikes_in @ per_busy, 0)
            issue[index] = spikes_in @ per_issue
            if layer.shortcut is not None:  # then the join's group, after a marker cycle
                joined = _join_spikes(layer.shortcut.source, x, trace)
                per_issue, per_busy = conv_event_cycles(layer, lanes,
                                                        layer.shortcut.connectivity)
                ev_join = joined.sum(axis=1)
                busy += JOIN_MARKER + np.where(ev_join > 0, CONV_FILL + joined @ per_busy, 0)
                issue[index] += joined @ per_issue
                ev_in = ev_in + ev_join
            cycles = np.maximum(cycles, layer_cycles(p.n, 1, 0, latency=latency) + busy)
        else:
            update = update_cycles(trace.spikes[index][0], update_lanes(layer, lanes))
            cycles = np.maximum(cycles, layer_cycles(p.n, lanes, ev_in, ev_rec,
                                                     latency=latency, update=update))
            issue[index] = (ev_in + ev_rec) * q
        synops += issue[index] * lanes
        events += ev_in + ev_rec
    return Schedule(cycles, synops, events, issue)


def _join_spikes(source, x, trace):
    """(T, n_src) int64: the spikes a residual join from ``source`` reads in each step, those
    of the source's previous step (the network input's of the same step, as layer 0 reads)."""
    if source < 0:
        return x[0].astype(np.int64)
    spikes = trace.spikes[source][0].astype(np.int64)
    return np.concatenate([np.zeros((1, spikes.shape[1]), np.int64), spikes[:-1]])


def schedules(network: Network, spikes, lanes=1, trace=None) -> list:
    """:func:`schedule` of every sample of ``spikes`` (batch, T, n_in), from one reference run
    of the batch (``trace``, when the caller has it already)."""
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != network.n_in:
        raise ValueError(f"spikes must have shape (batch, T, {network.n_in}), not {x.shape}")
    if trace is None:
        trace = run(network, x)
    alone = lambda b: Trace([s[b:b + 1] for s in trace.spikes], [], [], [], [])  # noqa: E731
    return [schedule(network, x[b], lanes, trace=alone(b)) for b in range(len(x))]
