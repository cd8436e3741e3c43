"""Tonic datasets (event cameras, cochleas) to spikeforge's ``.npz`` spike format.

A Tonic dataset (https://tonic.readthedocs.io) yields ``(events, target)`` pairs, ``events`` a
structured array with fields ``t``, ``x``, ``p`` and, for 2-D sensors, ``y``, and has a
``sensor_size`` ``(W, H, P)``. :func:`from_tonic` writes the ``events`` layout of
:mod:`.spike_file`, so the binning is the one the loader documents
(``step = ⌊(t − t₀) / time_bin⌋``, ``t₀`` the first event of the sample, a channel fires once per
step) and no event is dropped at a window edge. Each event goes to channel
``(p·H + y)·W + x``, the order of Tonic's ``ToFrame`` flattened (``[P, H, W]``), so a sample's
step ``n`` equals ``ToFrame(time_window=time_bin)`` frame ``n`` with counts made 0/1.

Nothing here imports Tonic: any object with ``sensor_size``, ``len`` and ``[i] → (events,
label)`` converts, including Tonic's cached and transformed datasets.
"""

import numpy as np

__all__ = ["from_tonic", "tonic_events"]


def tonic_events(dataset, sensor_size=None, progress=None):
    """The event lists of every sample: ``(events_sample, events_time, events_channel, y)``."""
    size = tuple(int(v) for v in (sensor_size or getattr(dataset, "sensor_size", None) or ()))
    if len(size) != 3 or min(size) < 1:
        raise ValueError(f"sensor_size must be (W, H, P), each ≥ 1, not {size or None}: pass "
                         "sensor_size= for a dataset that does not carry one")
    width, height, _ = size
    samples, times, channels, labels = [], [], [], []
    for index in range(len(dataset)):
        events, label = dataset[index]
        events = np.asarray(events)
        names = events.dtype.names or ()
        missing = {"t", "x", "p"} - set(names)
        if missing:
            raise ValueError(f"sample {index}: events have fields {names}; Tonic events need "
                             f"t, x, p (and y for 2-D sensors), missing {sorted(missing)}")
        y = events["y"] if "y" in names else np.zeros(len(events), np.int64)
        channel = (events["p"].astype(np.int64) * height + y) * width + events["x"]
        if channel.size and (channel.min() < 0 or channel.max() >= np.prod(size)):
            raise ValueError(f"sample {index}: an event lies outside the sensor {size}")
        t = events["t"].astype(np.float64)
        samples.append(np.full(len(events), index, np.int64))
        times.append(t - t.min() if t.size else t)
        channels.append(channel.astype(np.int64))
        labels.append(int(label))
        if progress:
            progress(index + 1, len(dataset))
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    return (cat(samples, np.int64), cat(times, np.float64), cat(channels, np.int64),
            np.asarray(labels, np.int64))


def from_tonic(train, test, path, *, time_bin, steps=None, sensor_size=None, progress=None):
    """Write Tonic datasets ``train`` and ``test`` to ``path`` (``.npz``, events layout) with
    ``time_bin`` in the unit of the events' ``t`` (µs for most Tonic datasets) and ``steps``
    steps (default: the longest sample's). Load it with
    :func:`~spikeforge.datasets.load_spike_file` or ``spikeforge train --data path``."""
    size = sensor_size or getattr(train, "sensor_size", None)
    parts = [tonic_events(split, size, progress) for split in (train, test)]
    offset = len(parts[0][3])
    arrays = {
        "events_sample": np.concatenate([parts[0][0], parts[1][0] + offset]),
        "events_time": np.concatenate([parts[0][1], parts[1][1]]),
        "events_channel": np.concatenate([parts[0][2], parts[1][2]]),
        "y": np.concatenate([parts[0][3], parts[1][3]]),
        "test": np.arange(offset + len(parts[1][3])) >= offset,
        "time_bin": np.float64(time_bin),
        "n_channels": np.int64(np.prod([int(v) for v in size])),
    }
    if steps is not None:
        arrays["steps"] = np.int64(steps)
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)
