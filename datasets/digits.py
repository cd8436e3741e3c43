"""scikit-learn's handwritten digits (8×8, intensities 0..16), the split every benchmark uses."""

import numpy as np
from spikeforge.model.encoding import RateEncoding

from .base import Dataset

__all__ = ["load_digits"]


def load_digits(steps: int = 32, test_size: int = 360, seed: int = 42) -> Dataset:
    """Digits split 1,437 / 360 (stratified, ``random_state=42``), rate-coded over ``steps``."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    data = sk_load_digits()
    x = data.data.astype(np.int64)  # already integers 0..16
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return Dataset("digits", x_train, y_train, x_test, y_test, RateEncoding(steps, 16), 10,
                   input_shape=(1, 8, 8))
