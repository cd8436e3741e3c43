"""Users' own spike datasets: one ``.npz`` file format, validated on load, as a :class:`Dataset`.

A spike classification dataset is a NumPy ``.npz`` archive (``np.savez``; no pickles) in one of
three layouts, chosen by the arrays it holds:

``split``
    ``x_train``, ``y_train``, ``x_test``, ``y_test``: spikes ``x`` of shape ``[N, T, C]``
    (samples, time steps, channels) holding only 0 and 1 (bool, any integer type, or floats
    that are exactly 0.0/1.0), integer labels ``y`` of shape ``[N]`` in ``0..n_classes−1``.
``single``
    ``x``, ``y`` as above; a seeded permutation puts ``test_fraction`` of the samples (default
    0.2) in the test split.
``events``
    Event lists, one entry per event: ``events_sample`` (which sample, ``0..N−1``),
    ``events_time`` (any unit, ≥ 0), ``events_channel`` (``0..C−1``), and ``y`` (one label
    per sample). ``time_bin`` (an argument, or a scalar array in the file) turns times into
    steps: ``step = ⌊time / time_bin⌋``; ``steps`` (argument or scalar) is T, default the last
    step + 1 (no event lost); ``n_channels`` (scalar) is C, default the largest channel + 1.
    A channel fires at most once per step (the contract's spikes are 0/1): several events in
    one bin are one spike; with ``steps`` given, events from step T on are outside the window.
    Optional ``test`` (bool per sample) chooses the test samples, otherwise ``test_fraction``
    as for ``single``.

Optional in every layout: ``n_classes`` (scalar; default the largest label + 1). Anything else
is refused with a message that names the array, what it holds, and what is expected.
:func:`save_spike_file` writes the ``split`` layout; :func:`from_tonic
<spikeforge.datasets.tonic_events.from_tonic>` converts a Tonic dataset to it.
"""

import hashlib
import zipfile
from pathlib import Path

import numpy as np
from spikeforge.model.encoding import SpikeEncoding

from .base import Dataset

__all__ = ["SpikeFileError", "file_sha256", "load_spike_file", "save_spike_file"]

LAYOUTS = {
    "split": ("x_train", "y_train", "x_test", "y_test"),
    "single": ("x", "y"),
    "events": ("events_sample", "events_time", "events_channel", "y"),
}
_OPTIONAL = {"n_classes", "time_bin", "steps", "n_channels", "test"}
_MAX_STEPS = 1 << 20


class SpikeFileError(ValueError):
    """A spike dataset file that cannot be used as it is; the message says what to change."""


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_spike_file(path, *, test_fraction=0.2, time_bin=None, steps=None, seed=0) -> Dataset:
    """The dataset in ``path`` (layouts in the module docstring), validated; its name is the
    file's name. Raises :class:`SpikeFileError` with the reason and the fix."""
    path = Path(path)
    arrays = _read(path)
    name = path.name
    keys = set(arrays)
    layout = next((k for k, need in LAYOUTS.items() if set(need) <= keys), None)
    if layout is None:
        raise SpikeFileError(
            f"{name} holds arrays {sorted(keys) or 'none'}; expected one of the layouts "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in LAYOUTS.items())
            + " (see docs/data.md)"
        )
    unknown = keys - set(LAYOUTS[layout]) - _OPTIONAL
    if unknown:
        raise SpikeFileError(f"{name}: unexpected arrays {sorted(unknown)} in the {layout} "
                             f"layout ({', '.join(LAYOUTS[layout])}; optional: "
                             f"{', '.join(sorted(_OPTIONAL))})")
    if layout == "split":
        x_train, x_test = (_spikes(name, k, arrays[k]) for k in ("x_train", "x_test"))
        if x_train.shape[1:] != x_test.shape[1:]:
            raise SpikeFileError(f"{name}: x_train has steps × channels {x_train.shape[1:]} but "
                                 f"x_test {x_test.shape[1:]}; both splits need the same T and C")
        y_train, y_test = (_labels(name, k, arrays[k], len(x))
                           for k, x in (("y_train", x_train), ("y_test", x_test)))
    else:
        if layout == "single":
            x = _spikes(name, "x", arrays["x"])
        else:
            x = _bin_events(name, arrays, time_bin, steps)
        y = _labels(name, "y", arrays["y"], len(x))
        test = _test_mask(name, arrays.get("test"), len(x), test_fraction, seed)
        x_train, y_train, x_test, y_test = x[~test], y[~test], x[test], y[test]
    if layout != "events" and steps is not None and steps != x_train.shape[1]:
        raise SpikeFileError(f"{name} holds {x_train.shape[1]} time steps, not the {steps} "
                             "asked for; leave out --steps (it sets T of event lists only)")
    for split, y in (("train", y_train), ("test", y_test)):
        if len(y) == 0:
            raise SpikeFileError(f"{name}: the {split} split is empty; give it samples "
                                 "(or a test_fraction that leaves some on both sides)")
    n_classes = _declared(name, arrays, "n_classes", int(max(y_train.max(), y_test.max())) + 1,
                          lambda found, declared: f"label {found - 1} is outside n_classes = "
                          f"{declared}; labels must be 0..{declared - 1}")
    if n_classes < 2:
        raise SpikeFileError(f"{name}: every label is 0; a classification dataset needs at "
                             "least two classes")
    return Dataset(name, x_train, y_train, x_test, y_test, SpikeEncoding(x_train.shape[1]),
                   n_classes)


def save_spike_file(path, x_train, y_train, x_test, y_test, n_classes=None) -> None:
    """Write the ``split`` layout (spikes as uint8, labels as int64), checked as it will load."""
    name = Path(path).name
    x_train, x_test = _spikes(name, "x_train", np.asarray(x_train)), _spikes(
        name, "x_test", np.asarray(x_test))
    arrays = {"x_train": x_train, "x_test": x_test,
              "y_train": _labels(name, "y_train", np.asarray(y_train), len(x_train)),
              "y_test": _labels(name, "y_test", np.asarray(y_test), len(x_test))}
    if n_classes is not None:
        arrays["n_classes"] = np.int64(n_classes)
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)


def _read(path):
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
    except OSError as exc:
        raise SpikeFileError(f"cannot read {path.name}: {exc}") from None
    if magic == b"\x93NUMPY":
        raise SpikeFileError(f"{path.name} is a single .npy array, not an .npz archive of named "
                             "arrays (np.savez(path, x_train=..., ...))")
    if not magic.startswith(b"PK"):
        raise SpikeFileError(f"cannot read {path.name} as an .npz archive: it is not a zip "
                             "archive (write it with np.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise SpikeFileError(f"{path.name} holds Python objects (pickled arrays), which "
                                 "spikeforge does not load; save plain numeric arrays") from None
        raise SpikeFileError(f"cannot read {path.name} as an .npz archive: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise SpikeFileError(f"cannot read {path.name} as an .npz archive: {exc}") from None


def _spikes(name, key, x):
    """``x`` as uint8 0/1 of shape [N, T, C], or an error naming what is wrong."""
    if x.ndim != 3:
        raise SpikeFileError(f"{name}: {key} has shape {x.shape}; expected [samples, time steps, "
                             "channels] (3 dimensions)")
    if 0 in x.shape[1:]:
        raise SpikeFileError(f"{name}: {key} has shape {x.shape}; T and C must be ≥ 1")
    if x.shape[1] > _MAX_STEPS:
        raise SpikeFileError(f"{name}: {key} has {x.shape[1]} time steps, more than {_MAX_STEPS}")
    if x.dtype.kind not in "biuf":
        raise SpikeFileError(f"{name}: {key} has dtype {x.dtype}; spikes are bool, integers or "
                             "floats holding 0 and 1")
    if x.dtype.kind == "f" and np.isnan(x).any():
        raise SpikeFileError(f"{name}: {key} contains NaN; spikes are 0 or 1")
    if x.dtype.kind != "b" and x.size and not np.isin(x, (0, 1)).all():
        bad = x[~np.isin(x, (0, 1))]
        raise SpikeFileError(
            f"{name}: {key} holds values other than 0 and 1 (e.g. {bad.flat[0].item()!r}, "
            f"{bad.size} of {x.size}); spikes are binary: at most one event per channel and "
            "step (binarize counts with x > 0, or use a smaller time bin)"
        )
    return x.astype(np.uint8)


def _labels(name, key, y, n):
    if y.ndim != 1 or len(y) != n:
        raise SpikeFileError(f"{name}: {key} has shape {y.shape}; expected one label per "
                             f"sample, shape ({n},)")
    if y.dtype.kind == "f":
        if np.isnan(y).any() or (y != np.round(y)).any():
            raise SpikeFileError(f"{name}: {key} holds non-integer labels; labels are class "
                                 "indices 0..n_classes−1")
    elif y.dtype.kind not in "iub":
        raise SpikeFileError(f"{name}: {key} has dtype {y.dtype}; labels are integers")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise SpikeFileError(f"{name}: {key} holds the negative label {int(y.min())}; labels "
                             "are class indices 0..n_classes−1")
    return y


def _scalar(name, key, value, lo):
    value = np.asarray(value)
    if value.shape != () or value.dtype.kind not in "iuf" or not np.isfinite(value):
        raise SpikeFileError(f"{name}: {key} must be a single number, not {value!r}")
    if value.dtype.kind == "f" and key != "time_bin":
        if value != int(value):
            raise SpikeFileError(f"{name}: {key} must be an integer, not {value.item()}")
        value = value.astype(np.int64)
    if value < lo:
        raise SpikeFileError(f"{name}: {key} must be ≥ {lo}, not {value.item()}")
    return value.item()


def _declared(name, arrays, key, found, message):
    """The count ``key`` the file declares (at least ``found``, what its arrays use), or
    ``found`` when it declares none; ``message(found, declared)`` says what is wrong."""
    if key not in arrays:
        return found
    declared = _scalar(name, key, arrays[key], 1)
    if declared < found:
        raise SpikeFileError(f"{name}: {message(found, declared)}")
    return declared


def _bin_events(name, arrays, time_bin, steps):
    """Event lists → spikes [N, T, C] (module docstring)."""
    sample, time, channel = (arrays[k] for k in ("events_sample", "events_time",
                                                  "events_channel"))
    for key, a in (("events_sample", sample), ("events_time", time),
                   ("events_channel", channel)):
        if a.ndim != 1 or len(a) != len(sample):
            raise SpikeFileError(f"{name}: {key} has shape {a.shape}; the event arrays are 1-D "
                                 f"and of one length ({len(sample)} events in events_sample)")
        if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.isfinite(a).all()):
            raise SpikeFileError(f"{name}: {key} must hold finite numbers, not {a.dtype}")
        if a.size and a.min() < 0:
            raise SpikeFileError(f"{name}: {key} holds the negative value {a.min()}")
    for key, a in (("events_sample", sample), ("events_channel", channel)):
        if a.dtype.kind == "f" and (a != np.round(a)).any():
            raise SpikeFileError(f"{name}: {key} must hold integer indices")
    n = len(arrays["y"])
    if sample.size and sample.max() >= n:
        raise SpikeFileError(f"{name}: events_sample refers to sample {int(sample.max())} but y "
                             f"has {n} labels")
    if time_bin is None:
        if "time_bin" not in arrays:
            raise SpikeFileError(f"{name} holds event lists but no time_bin: pass --time-bin "
                                 "(the time span of one step, in the unit of events_time)")
        time_bin = _scalar(name, "time_bin", arrays["time_bin"], 0)
    if not time_bin > 0:
        raise SpikeFileError(f"{name}: time_bin must be > 0, not {time_bin}")
    step = np.floor(time / time_bin).astype(np.int64)
    if steps is None and "steps" in arrays:
        steps = _scalar(name, "steps", arrays["steps"], 1)
    steps = int(step.max()) + 1 if steps is None and step.size else steps or 1
    if steps > _MAX_STEPS:
        raise SpikeFileError(f"{name}: time_bin {time_bin} makes {steps} steps, more than "
                             f"{_MAX_STEPS}; use a larger time bin or --steps")
    c = _declared(name, arrays, "n_channels", int(channel.max()) + 1 if channel.size else 1,
                  lambda found, declared: f"events_channel holds channel {found - 1} but "
                  f"n_channels is {declared}")
    keep = step < steps  # events after T when steps was given: outside the window
    x = np.zeros((n, steps, c), np.uint8)
    x[sample[keep].astype(np.int64), step[keep], channel[keep].astype(np.int64)] = 1
    return x


def _test_mask(name, test, n, test_fraction, seed):
    if test is not None:
        if test.shape != (n,) or test.dtype.kind not in "bi" or not np.isin(test, (0, 1)).all():
            raise SpikeFileError(f"{name}: test must be one bool per sample, shape ({n},)")
        return test.astype(bool)
    if not 0 < test_fraction < 1:
        raise SpikeFileError(f"test fraction must be between 0 and 1, not {test_fraction}")
    mask = np.zeros(n, bool)
    mask[np.random.default_rng(seed).permutation(n)[:round(test_fraction * n)]] = True
    return mask
