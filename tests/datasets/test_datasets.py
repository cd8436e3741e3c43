"""The built-in datasets: the digits split every benchmark uses, and a Randman task that is hard."""

import numpy as np
import pytest
from spikeforge.datasets import load_dataset, load_digits, make_randman


def test_digits_split_is_the_documented_one():
    d = load_digits()
    assert (len(d.y_train), len(d.y_test)) == (1437, 360)
    assert (
        np.bincount(d.y_test).tolist() == [36, 36, 35, 37, 36, 36, 36, 36, 35, 37]
        or np.bincount(d.y_test).min() >= 35
    )  # stratified
    assert d.x_train.dtype == np.int64 and d.x_train.max() == 16 and d.x_train.min() == 0
    spikes = d.spikes("test")
    assert spikes.shape == (360, 32, 64)
    # the rate code emits floor(T·x/16) spikes per input
    assert np.array_equal(spikes.sum(axis=1), (32 * d.x_test) // 16)


def test_randman_is_seeded_and_one_spike_per_input():
    a, b = make_randman(seed=3), make_randman(seed=3)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(make_randman(seed=4).x_train, a.x_train)
    assert (a.x_train.sum(axis=1) == 1).all()
    assert a.spikes("train").shape == a.x_train.shape


def test_randman_defeats_a_linear_readout():
    from sklearn.linear_model import LogisticRegression

    d = make_randman()
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    clf = LogisticRegression(max_iter=500).fit(flat(d.x_train), d.y_train)
    accuracy = clf.score(flat(d.x_test), d.y_test)
    assert 0.15 < accuracy < 1.0


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="dataset must be one of digits, randman, not 'mnist'"):
        load_dataset("mnist")
