"""The ``.npz`` spike dataset format: every layout loads to exactly the arrays written, event
lists bin as documented (hand-made golden values), Tonic datasets convert as Tonic frames them,
and every malformed file is refused with a message naming what is wrong."""

import re

import numpy as np
import pytest
from spikeforge.datasets import SpikeFileError, from_tonic, load_spike_file, save_spike_file


def _spikes(rng, n, t=5, c=4):
    return (rng.random((n, t, c)) < 0.3).astype(np.uint8)


def test_split_layout_loads_exactly_what_was_saved(tmp_path):
    rng = np.random.default_rng(0)
    x_train, x_test = _spikes(rng, 6), _spikes(rng, 3)
    y_train, y_test = np.array([0, 1, 2, 0, 1, 2]), np.array([2, 1, 0])
    save_spike_file(tmp_path / "d.npz", x_train, y_train, x_test, y_test)
    data = load_spike_file(tmp_path / "d.npz")
    assert data.name == "d.npz" and data.n_in == 4 and data.n_classes == 3
    assert np.array_equal(data.spikes("train"), x_train)
    assert np.array_equal(data.spikes("test"), x_test)
    assert np.array_equal(data.labels("train"), y_train)
    assert np.array_equal(data.labels("test"), y_test)
    assert data.encoding.steps == 5


def test_single_layout_splits_by_a_seeded_permutation(tmp_path):
    rng = np.random.default_rng(1)
    x, y = (rng.random((10, 3, 2)) < 0.5), np.arange(10) % 2  # bool spikes are accepted
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = load_spike_file(tmp_path / "d.npz", test_fraction=0.3, seed=7)
    test = np.zeros(10, bool)
    test[np.random.default_rng(7).permutation(10)[:3]] = True
    assert np.array_equal(data.spikes("test"), x[test])
    assert np.array_equal(data.labels("test"), y[test])
    assert np.array_equal(data.spikes("train"), x[~test])
    assert np.array_equal(data.labels("train"), y[~test])


def test_event_lists_bin_into_steps_golden(tmp_path):
    # sample 0: channel 1 at t = 0 and 4 (one bin of 5: one spike), channel 0 at t = 12;
    # sample 1: channel 2 at t = 9.9, channel 2 at t = 10
    np.savez(tmp_path / "e.npz", events_sample=[0, 0, 0, 1, 1],
             events_time=[0.0, 4.0, 12.0, 9.9, 10.0], events_channel=[1, 1, 0, 2, 2],
             y=[1, 0], test=[False, True], n_channels=4)
    data = load_spike_file(tmp_path / "e.npz", time_bin=5)
    expected = np.zeros((2, 3, 4), np.uint8)  # T = last step (⌊12/5⌋ = 2) + 1
    expected[0, 0, 1] = expected[0, 2, 0] = 1
    expected[1, 1, 2] = expected[1, 2, 2] = 1
    assert np.array_equal(data.spikes("train")[0], expected[0])
    assert np.array_equal(data.spikes("test")[0], expected[1])
    assert data.labels("train").tolist() == [1] and data.labels("test").tolist() == [0]
    # steps given: the window ends there; time_bin stored in the file is used when not passed
    np.savez(tmp_path / "f.npz", events_sample=[0, 1], events_time=[3, 40], events_channel=[0, 1],
             y=[0, 1], test=[0, 1], time_bin=10.0, steps=2)
    data = load_spike_file(tmp_path / "f.npz")
    assert data.spikes("train").shape == (1, 2, 2) and data.spikes("test").sum() == 0


def _tonic_sample(rng, n, sensor, duration):
    dtype = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    events = np.zeros(n, dtype)
    for field, high in (("x", sensor[0]), ("y", sensor[1]), ("p", sensor[2])):
        events[field] = rng.integers(0, high, n)
    events["t"] = np.sort(rng.integers(100, 100 + duration, n))
    return events


class _EventDataset(list):
    """What Tonic's datasets are to a consumer: ``[i] → (events, label)`` and ``sensor_size``."""

    sensor_size = (4, 3, 2)


def test_tonic_events_match_tonic_frames(tmp_path):
    tonic = pytest.importorskip("tonic", reason="tonic is not installed (pip install "
                                "'spikeforge[data]')")
    rng = np.random.default_rng(2)
    train = _EventDataset((_tonic_sample(rng, 40, (4, 3, 2), 1000), k % 3) for k in range(5))
    test = _EventDataset((_tonic_sample(rng, 40, (4, 3, 2), 1000), k % 3) for k in range(2))
    from_tonic(train, test, tmp_path / "t.npz", time_bin=100)
    data = load_spike_file(tmp_path / "t.npz")
    assert data.n_in == 24 and data.n_classes == 3
    to_frame = tonic.transforms.ToFrame(sensor_size=(4, 3, 2), time_window=100)
    for split, source in (("train", train), ("test", test)):
        x = data.spikes(split)
        assert len(x) == len(source)
        for sample, (events, _) in zip(x, source, strict=True):
            frames = (to_frame(events) > 0).reshape(-1, 24)  # Tonic drops the last partial window
            assert len(frames) >= 1 and np.array_equal(sample[:len(frames)], frames)
            assert sample[len(frames):].sum() <= len(events)
        assert data.labels(split).tolist() == [label for _, label in source]
    bins = lambda e: np.stack([(e["t"] - e["t"].min()) // 100, (e["p"] * 3 + e["y"]) * 4 + e["x"]])  # noqa: E731
    total = sum(np.unique(bins(events), axis=1).shape[1] for events, _ in train)
    assert data.spikes("train").sum() == total  # every event is a spike, merged only within a bin


def _refused(path, message, **options):
    with pytest.raises(SpikeFileError, match=re.escape(message)):
        load_spike_file(path, **options)


X = np.zeros((4, 3, 2), np.uint8)
Y = np.array([0, 1, 0, 1])
BAD_FILES = {
    "no known layout": ({"a": X}, "holds arrays ['a']; expected one of the layouts"),
    "unknown array": ({"x": X, "y": Y, "z": Y}, "unexpected arrays ['z'] in the single layout"),
    "2-D spikes": ({"x": X[:, 0], "y": Y}, "x has shape (4, 2); expected [samples, time steps"),
    "non-binary": ({"x": X + 2, "y": Y}, "x holds values other than 0 and 1 (e.g. 2"),
    "NaN": ({"x": np.where(X == 0, np.nan, 1.0), "y": Y}, "x contains NaN"),
    "string spikes": ({"x": X.astype(str), "y": Y}, "x has dtype <U3; spikes are bool"),
    "label count": ({"x": X, "y": Y[:3]}, "y has shape (3,); expected one label per sample, "
                    "shape (4,)"),
    "negative label": ({"x": X, "y": Y - 1}, "y holds the negative label -1"),
    "fractional label": ({"x": X, "y": Y + 0.5}, "y holds non-integer labels"),
    "label beyond n_classes": ({"x": X, "y": Y * 3, "n_classes": 2},
                               "label 3 is outside n_classes = 2"),
    "one class": ({"x": X, "y": Y * 0}, "every label is 0"),
    "splits differ": ({"x_train": X, "y_train": Y, "x_test": X[:, :2], "y_test": Y},
                      "x_train has steps × channels (3, 2) but x_test (2, 2)"),
    "empty test split": ({"x_train": X, "y_train": Y, "x_test": X[:0], "y_test": Y[:0]},
                         "the test split is empty"),
    "events without a bin": ({"events_sample": [0], "events_time": [1], "events_channel": [0],
                              "y": [0, 1]}, "holds event lists but no time_bin"),
    "event arrays differ": ({"events_sample": [0, 1], "events_time": [1], "events_channel": [0, 0],
                             "y": [0, 1], "time_bin": 1}, "events_time has shape (1,); the event"),
    "event of no sample": ({"events_sample": [5], "events_time": [1], "events_channel": [0],
                            "y": [0, 1], "time_bin": 1}, "events_sample refers to sample 5 but y "
                           "has 2 labels"),
    "channel beyond n_channels": ({"events_sample": [0], "events_time": [1],
                                   "events_channel": [5], "y": [0, 1], "time_bin": 1,
                                   "n_channels": 3},
                                  "events_channel holds channel 5 but n_channels is 3"),
    "negative time": ({"events_sample": [0], "events_time": [-1], "events_channel": [0],
                       "y": [0, 1], "time_bin": 1}, "events_time holds the negative value -1"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_file_is_refused_with_its_reason(tmp_path, case):
    arrays, message = BAD_FILES[case]
    np.savez(tmp_path / "bad.npz", **arrays)
    _refused(tmp_path / "bad.npz", message)


@pytest.mark.hostile
def test_unreadable_files_are_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    _refused(tmp_path / "junk.npz", "cannot read junk.npz as an .npz archive")
    np.save(tmp_path / "one.npy", X)
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    _refused(tmp_path / "one.npz", "one.npz is a single .npy array, not an .npz archive")
    np.savez(tmp_path / "objects.npz", x=np.array([X, None], dtype=object), y=Y)
    _refused(tmp_path / "objects.npz", "objects.npz holds Python objects (pickled arrays)")
    np.savez(tmp_path / "d.npz", x=X, y=Y)
    _refused(tmp_path / "d.npz", "d.npz holds 3 time steps, not the 5 asked for", steps=5)
    _refused(tmp_path / "d.npz", "test fraction must be between 0 and 1", test_fraction=1.5)
