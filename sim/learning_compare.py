"""What a learning co-simulation is compared with: the commands of a trial, the reference's
expected traces and weights, and the comparison itself (exact equality, counted mismatches).

Shared by the Amaranth-simulator driver (:mod:`spikeforge.sim.learning_amaranth`) and the cocotb
one (:mod:`spikeforge.sim.learning_cocotb`).
"""

import numpy as np

from ..hdl.learning_events import LearningCommand, pack_command
from ..link.memory_layout import check_lanes
from ..model.learning import check_targets, run_trial

__all__ = [
    "compare_learning",
    "expected_run",
    "lane_words_to_rows",
    "layer_rows",
    "records_to_traces",
    "trial_commands",
]


def trial_commands(spikes, targets, learn=True):
    """Command words of one trial: per step its inputs, targets and ``STEP``; then ``END``."""
    words = []
    for x_t, tgt_t in zip(np.asarray(spikes), np.asarray(targets), strict=True):
        words += [pack_command(LearningCommand.INPUT, int(a)) for a in np.flatnonzero(x_t)]
        words += [pack_command(LearningCommand.TARGET, int(a)) for a in np.flatnonzero(tgt_t)]
        words.append(pack_command(LearningCommand.STEP))
    words.append(pack_command(LearningCommand.END, int(bool(learn))))
    return words


def lane_words_to_rows(layer, lanes, words):
    """Invert :func:`~spikeforge.link.memory_layout.lane_weights`: (n, rows) from lane words."""
    q_per_lane = check_lanes(layer, lanes)
    per_lane = np.asarray(words, np.int64).reshape(lanes, -1, q_per_lane)  # [p, r, q]
    rows = per_lane.shape[1]
    return per_lane.transpose(1, 2, 0).reshape(rows, layer.params.n).T


def layer_rows(layer):
    """(n, rows) of a layer's weights as the hardware stores them: W, then V."""
    rows = layer.weight.astype(np.int64)
    if layer.recurrent is not None:
        rows = np.concatenate([rows, layer.recurrent.astype(np.int64)], axis=1)
    return rows


def expected_run(network, config, spikes, targets, learn):
    """Reference of a sequence of trials: per trial its per-step learning states, the weights of
    every learning layer after it (n, rows incl. recurrent), its output spikes and counts."""
    x = np.asarray(spikes)
    lfsr = config.lfsr_seed
    trials = []
    for b in range(x.shape[0]):
        tgt = check_targets(network, targets[b], x.shape[1])
        result = run_trial(network, config, x[b], tgt, learn=bool(learn[b]), record=True,
                           lfsr=lfsr)
        network, lfsr = result.network, result.lfsr
        weights = {i: layer_rows(network.layers[i]) for i in config.layers}
        trials.append({"history": result.history, "weights": weights,
                       "output": result.output, "counts": result.output.sum(axis=0)})
    return network, trials


def compare_learning(config, expected, got):
    """Compare per-trial results: weights (where read back), output counts, output spikes of
    every step (where the device reports them) and, where recorded,
    every step's traces (``got[t]["traces"] = {layer: array (steps, n, rows, 5)}``).

    Returns a dict: values compared, mismatches, the first mismatch.
    """
    compared, mismatches, first = 0, 0, None

    def check(what, ref, hw, where):
        nonlocal compared, mismatches, first
        ref, hw = np.asarray(ref), np.asarray(hw)
        if ref.shape != hw.shape:
            mismatches += ref.size
            compared += ref.size
            if first is None:
                first = {"where": where, "what": what, "shape": [ref.shape, hw.shape]}
            return
        diff = ref != hw
        compared += ref.size
        if diff.any():
            mismatches += int(diff.sum())
            if first is None:
                idx = tuple(int(v) for v in np.argwhere(diff)[0])
                first = {"where": where, "what": what, "index": idx,
                         "expected": int(ref[idx]), "got": int(hw[idx])}

    for t, (ref, hw) in enumerate(zip(expected, got, strict=True)):
        if hw.get("weights") is not None:
            for index in config.layers:
                check("weights", ref["weights"][index], hw["weights"][index], f"trial {t}")
        check("counts", ref["counts"], hw["counts"], f"trial {t}")
        if hw.get("output") is not None:
            check("output", ref["output"], hw["output"], f"trial {t}")
        if hw.get("traces") is None:
            continue
        for index in config.layers:
            records = hw["traces"][index]
            steps = len(ref["history"])
            if records.shape[0] != steps:
                check("steps", np.array([steps]), np.array([records.shape[0]]),
                      f"trial {t} layer {index}")
                continue
            for step, state in enumerate(ref["history"]):
                tr = state.layers[index]
                n, rows = tr.g.shape
                rec = records[step]
                where = f"trial {t} step {step} layer {index}"
                check("p", np.broadcast_to(tr.p, (n, rows)), rec[:, :, 0], where)
                check("q", np.broadcast_to(tr.q, (n, rows)), rec[:, :, 1], where)
                check("ebar", tr.ebar, rec[:, :, 2], where)
                check("a", tr.a, rec[:, :, 3], where)
                check("g", tr.g, rec[:, :, 4], where)
    return {"values_compared": compared, "mismatches": mismatches, "first_mismatch": first}


def records_to_traces(records, n, rows):
    """Learning-probe records ``(row, neuron, p, q, ebar, a, g)`` of one layer and trial (in
    arrival order, ``rows * n`` per step) → array (steps, n, rows, 5)."""
    arr = np.asarray(records, np.int64).reshape(-1, 7)
    steps = arr.shape[0] // (rows * n)
    out = np.zeros((steps, n, rows, 5), np.int64)
    arr = arr[: steps * rows * n].reshape(steps, rows * n, 7)
    for s in range(steps):
        out[s, arr[s, :, 1], arr[s, :, 0]] = arr[s, :, 2:]
    return out
