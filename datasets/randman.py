r"""Random manifold spike-timing tasks (Zenke & Vogels 2021, doi:10.1162/neco_a_01367).

Each class is a smooth random ``dim``-dimensional manifold embedded in ``n_in`` dimensions: a
sum of ``alpha``-decaying random Fourier components per embedding dimension. A sample draws a
point on its class's manifold; each coordinate (in [0, 1]) sets the firing time of one input
neuron, ``t = ⌊x · (steps − 1)⌋``, one spike per input. Everything is seeded.
"""

import numpy as np
from spikeforge.model.encoding import SpikeEncoding

from .base import Dataset

__all__ = ["make_randman"]


def _manifold(rng, n_in, dim, alpha, n_components=3):
    """A random smooth map [0, 1)^dim → R^n_in (unnormalised)."""
    freq = rng.uniform(0, 1, (n_in, dim, n_components))
    phase = rng.uniform(0, 1, (n_in, dim, n_components))
    amp = rng.uniform(0, 1, (n_in, dim, n_components)) / (1.0 + np.arange(n_components)) ** alpha

    def embed(points):  # (m, dim) → (m, n_in)
        angle = 2 * np.pi * (freq[None] * points[:, None, :, None] + phase[None])
        return (amp[None] * np.sin(angle)).sum(axis=-1).prod(axis=-1)

    return embed


def make_randman(
    n_classes=10,
    n_in=40,
    steps=50,
    dim=3,
    alpha=2.0,
    samples_per_class=200,
    test_fraction=0.2,
    seed=0,
) -> Dataset:
    """A seeded Randman task with one spike per input and sample; returns a :class:`Dataset`."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(n_classes):
        embed = _manifold(rng, n_in, dim, alpha)
        # each class's coordinates are scaled to [0, 1] over a dense sample of its manifold
        grid = embed(rng.uniform(0, 1, (4096, dim)))
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        coords = embed(rng.uniform(0, 1, (samples_per_class, dim)))
        xs.append(np.clip((coords - lo) / np.where(hi > lo, hi - lo, 1.0), 0, 1))
        ys.append(np.full(samples_per_class, label))
    x, y = np.concatenate(xs), np.concatenate(ys)
    times = np.floor(x * (steps - 1)).astype(np.int64)
    spikes = np.zeros((len(x), steps, n_in), dtype=np.uint8)
    spikes[np.arange(len(x))[:, None], times, np.arange(n_in)[None, :]] = 1
    order = rng.permutation(len(x))
    spikes, y = spikes[order], y[order]
    n_test = round(test_fraction * len(x))
    return Dataset(
        "randman",
        spikes[n_test:],
        y[n_test:],
        spikes[:n_test],
        y[:n_test],
        SpikeEncoding(steps),
        n_classes,
    )
