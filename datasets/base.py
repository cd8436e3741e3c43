"""The dataset interface every part of spikeforge uses: integer samples plus their encoding."""

from dataclasses import dataclass

import numpy as np
from spikeforge.model.encoding import RateEncoding, SpikeEncoding

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled train/test split whose samples ``encoding`` turns into input spikes.

    ``x_train``/``x_test`` are integer arrays (rate-coded intensities, or spike trains for a
    :class:`~spikeforge.model.SpikeEncoding`); ``y_*`` are class indices 0..n_classes−1.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    encoding: RateEncoding | SpikeEncoding
    n_classes: int
    #: (C, H, W) when the channels are a map (torch Flatten order), for convolutional networks
    input_shape: tuple | None = None

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise ValueError(
                    f"x_{split} has {len(x)} samples but y_{split} has {len(y)} labels"
                )

    @property
    def n_in(self) -> int:
        return int(self.x_train.shape[-1])

    def spikes(self, split="test", indices=None) -> np.ndarray:
        """Input spikes (batch, T, n_in) of a split (or some of its samples)."""
        x = getattr(self, f"x_{split}")
        return self.encoding.encode(x if indices is None else x[indices])

    def labels(self, split="test") -> np.ndarray:
        return getattr(self, f"y_{split}")
