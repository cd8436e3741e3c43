"""Training-image translations (``model/training/augment.py``): hand-computed shifts with zeros
shifted in, every shift in range drawn, and the inputs it refuses."""

import numpy as np
import pytest
from spikeforge.model.training.augment import translate


class _FixedShifts:
    """An rng whose draws are the given (dy, dx) rows: all dy first, then all dx, as
    :func:`translate` draws them."""

    def __init__(self, shifts):
        self.columns = list(np.asarray(shifts).T)

    def integers(self, low, high, size):
        column = self.columns.pop(0)
        assert column.min() >= low and column.max() < high and len(column) == size
        return column


def test_hand_computed_shifts_of_a_3x3_image():
    image = np.arange(1, 10).reshape(1, 9)  # rows 1 2 3 / 4 5 6 / 7 8 9
    samples = np.repeat(image, 3, axis=0)
    out = translate(samples, (1, 3, 3), 1, _FixedShifts([(1, 0), (0, -1), (-1, 1)]))
    # down one row: the top row is zeros
    assert out[0].tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6]
    # left one column: the right column is zeros
    assert out[1].tolist() == [2, 3, 0, 5, 6, 0, 8, 9, 0]
    # up one row and right one column
    assert out[2].tolist() == [0, 4, 5, 0, 7, 8, 0, 0, 0]
    assert out.dtype == samples.dtype and samples[0].tolist() == list(range(1, 10))


def test_channels_move_together_and_every_shift_is_drawn():
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 17, size=(400, 2 * 4 * 4))
    out = translate(samples, (2, 4, 4), 1, np.random.default_rng(1))
    seen = set()
    for before, after in zip(samples.reshape(-1, 2, 4, 4), out.reshape(-1, 2, 4, 4),
                             strict=True):
        padded = np.pad(before, ((0, 0), (1, 1), (1, 1)))
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if np.array_equal(after, padded[:, 1 - dy:5 - dy, 1 - dx:5 - dx])]
        assert matches, "the output is no translation of its input"
        seen.add(matches[0])
    assert seen == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}


def test_no_shift_is_a_copy():
    samples = np.arange(16).reshape(1, 16)
    out = translate(samples, (1, 4, 4), 0, np.random.default_rng(0))
    assert np.array_equal(out, samples) and out is not samples


@pytest.mark.parametrize(("shape", "shift", "message"), [
    ((1, 4, 4), -1, "non-negative integer of pixels"),
    ((1, 4, 4), 1.5, "non-negative integer of pixels"),
    ((1, 4, 5), 1, "are not images of shape (1, 4, 5)"),
])
def test_bad_arguments_are_named(shape, shift, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        translate(np.zeros((2, 16), dtype=np.int64), shape, shift, np.random.default_rng(0))
