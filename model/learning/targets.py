"""Target spike trains: validation, and the class-coded targets of a classification task."""

import numpy as np

from ..numerics import check_int

__all__ = ["check_targets", "class_targets"]


def check_targets(network, targets, steps) -> np.ndarray:
    """``targets`` as an int64 array (steps, n_out) of 0/1, or ``ValueError`` saying what is wrong.

    ``targets[t]`` are the wanted spikes of the output layer after step ``t`` (the same index as
    ``spikeforge.model.run(...).spikes[-1][:, t]``).
    """
    arr = np.asarray(targets)
    want = (steps, network.n_out)
    if arr.shape != want:
        raise ValueError(
            f"targets must have shape (T, n_out) = {want} (one 0/1 spike per output neuron and "
            f"step), not {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer) and arr.dtype != bool:
        raise TypeError(f"targets must hold integers 0/1, not {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("targets must hold only 0 and 1")
    return arr.astype(np.int64)


def class_targets(labels, n_out, steps, period=4, start=0):
    """Targets (batch, steps, n_out): the labelled neuron spikes every ``period`` steps from
    ``start``, every other neuron stays silent."""
    check_int("period", period, 1, steps)
    check_int("start", start, 0, steps - 1)
    labels = np.asarray(labels, np.int64)
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= n_out)):
        raise ValueError(f"labels must be a 1-d array of classes 0..{n_out - 1}")
    out = np.zeros((len(labels), steps, n_out), np.int64)
    times = np.arange(start, steps, period)
    out[np.arange(len(labels))[:, None], times[None, :], labels[:, None]] = 1
    return out
