"""Turn what a simulation of a :class:`~spikeforge.hdl.network_core.NetworkCore` recorded
(probe records, output events, step counters) into per-step arrays shaped like
:class:`spikeforge.model.Trace`, for comparison with the reference by equality."""

from typing import NamedTuple

import numpy as np

from ..link.memory_layout import probe_layers

__all__ = ["HardwareTrace", "assemble", "compare", "layer_records"]


class HardwareTrace(NamedTuple):
    """Per-step hardware results for samples (batch, T, ...)."""

    output: np.ndarray  #: (batch, T, n_out) spikes delivered on ``o_events``
    spikes: list  #: per layer (batch, T, n), from the probes
    i: list
    u: list
    b: list
    step_cycles: np.ndarray  #: (batch, T)
    counters: dict
    probe_order_ok: bool


def layer_records(network, lanes, ports):
    """Per layer, the ``(neuron, i, u, b, s)`` records of its probe ports in neuron order, an
    int64 array (records, 5).

    ``ports[k]`` holds what probe port ``k`` of a core with ``lanes`` lanes reported, in
    arrival order; a layer that updates ``W`` neurons a cycle has ``W`` ports
    (:func:`~spikeforge.link.memory_layout.probe_layers`), port ``k`` reporting neurons
    ``k, k + W, ...``, so the ports' records interleave. A port short of records is padded with
    neuron -1, which the order check then reports."""
    owners = probe_layers(network, lanes)
    if len(ports) != len(owners):
        raise ValueError(f"{len(ports)} probe ports recorded, the core has {len(owners)}")
    merged = []
    for index in range(len(network.layers)):
        mine = [np.asarray(ports[k], np.int64).reshape(-1, 5)
                for k, owner in enumerate(owners) if owner == index]
        rows = max(len(records) for records in mine)
        padded = []
        for records in mine:
            gap = np.full((rows - len(records), 5), -1, np.int64)
            padded.append(np.concatenate([records, gap]))
        merged.append(np.stack(padded, axis=1).reshape(-1, 5))
    return merged


def assemble(network, batch, steps, records, output_events, step_cycles, counters):
    """Build a :class:`HardwareTrace`.

    ``records[l]`` is the list of ``(neuron, i, u, b, s)`` probe records of layer ``l`` in
    arrival order (``n`` per step); ``output_events`` a list of ``(step, addr)``.
    """
    total = batch * steps
    fields = {key: [] for key in "siub"}
    order_ok = True
    for layer, recs in zip(network.layers, records, strict=True):
        n = layer.params.n
        got = np.asarray(recs, np.int64).reshape(-1, 5)
        if got.shape[0] != total * n:
            order_ok = False
            padded = np.zeros((total * n, 5), np.int64)
            padded[: min(len(got), total * n)] = got[: total * n]
            got = padded
        got = got.reshape(total, n, 5)
        if not np.array_equal(got[:, :, 0], np.broadcast_to(np.arange(n), (total, n))):
            order_ok = False
        for k, key in enumerate("iubs", start=1):
            fields[key].append(got[:, :, k].reshape(batch, steps, n))
    output = np.zeros((total, network.n_out), np.int64)
    for step, addr in output_events:
        if step < total:
            output[step, addr] = 1
    cycles = np.zeros(total, np.int64)
    cycles[: len(step_cycles)] = step_cycles[:total]
    return HardwareTrace(output.reshape(batch, steps, -1), fields["s"], fields["i"], fields["u"],
                         fields["b"], cycles.reshape(batch, steps), dict(counters), order_ok)


def compare(expected, hardware: HardwareTrace):
    """Compare a reference :class:`~spikeforge.model.Trace` with a :class:`HardwareTrace`.

    Returns ``(values_compared, mismatches, first)`` where ``first`` describes the first
    mismatch (sample, step, layer, neuron, field, expected, got) or is None.
    """
    compared, mismatches, first = 0, 0, None
    pairs = [("output", -1, expected.spikes[-1], hardware.output)]
    for index in range(len(expected.spikes)):
        for key, ref, hw in (("s", expected.spikes, hardware.spikes), ("i", expected.i, hardware.i),
                             ("u", expected.u, hardware.u), ("b", expected.b, hardware.b)):
            pairs.append((key, index, ref[index], hw[index]))
    for field, layer, ref, hw in pairs:
        diff = ref != hw
        compared += ref.size
        count = int(diff.sum())
        if count:
            mismatches += count
            where = np.argwhere(diff)
            candidate = tuple(int(v) for v in where[0])
            if first is None or candidate[:2] < (first["sample"], first["step"]):
                sample, step, neuron = candidate
                first = {"sample": sample, "step": step, "layer": layer, "neuron": neuron,
                         "field": field, "expected": int(ref[candidate]), "got": int(hw[candidate])}
    return compared, mismatches, first
