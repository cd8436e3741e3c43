"""Small networks for the board tests: two with the same design (only weights differ), and
variants that must be refused."""

import numpy as np
from spikeforge.model import IntFormat, Layer, LayerParams, Network, RateEncoding

__all__ = ["small_network"]


def small_network(seed, n_hidden=12, theta=40, w1_width=6):
    """8 → n_hidden → 4, layer 1 with ``w1_width``-bit weights (so out-of-format weights exist)."""
    rng = np.random.default_rng(seed)
    lim = 1 << (w1_width - 1)
    l0 = Layer(LayerParams(8, n_hidden, theta=theta), rng.integers(-60, 100, (n_hidden, 8)),
               name="hidden")
    l1 = Layer(LayerParams(n_hidden, 4, theta=theta, weight_format=IntFormat(w1_width)),
               rng.integers(-lim // 2, lim, (4, n_hidden)), name="out")
    return Network((l0, l1), RateEncoding(steps=8, levels=4), name=f"small-{seed}")
