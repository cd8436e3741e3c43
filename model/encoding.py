"""Input encodings: how a sample becomes input spike trains. Part of the network file.

``RateEncoding`` is deterministic and integer, so the host, the reference and any test produce
the same spikes from the same sample without sharing a random generator.
"""

from dataclasses import dataclass

import numpy as np

from .numerics import check_int

__all__ = ["RateEncoding", "SpikeEncoding", "encoding_from_dict"]


@dataclass(frozen=True)
class RateEncoding:
    r"""Deterministic rate code of integer intensities :math:`x \in 0..L` over :math:`T` steps.

    Input :math:`j` spikes at step :math:`t` iff
    :math:`\lfloor (t+1) x_j / L \rfloor > \lfloor t x_j / L \rfloor`, so it emits exactly
    :math:`\lfloor T x_j / L \rfloor` evenly spaced spikes; :math:`x = L` spikes every step.
    """

    steps: int
    levels: int

    def __post_init__(self):
        check_int("steps", self.steps, 1, 1 << 20)
        check_int("levels", self.levels, 1, 1 << 16)

    def encode(self, samples) -> np.ndarray:
        """``samples`` (batch, n_in) of integers 0..levels → spikes (batch, steps, n_in) uint8."""
        x = np.asarray(samples)
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"rate-coded samples must be integers 0..{self.levels}, not {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"samples must have shape (batch, n_in), not {x.shape}")
        if x.size and (x.min() < 0 or x.max() > self.levels):
            raise ValueError(
                f"sample intensities must be in 0..{self.levels}, not {x.min()}..{x.max()}"
            )
        t = np.arange(self.steps + 1, dtype=np.int64)[None, :, None]
        counts = (t * x.astype(np.int64)[:, None, :]) // self.levels
        return np.diff(counts, axis=1).astype(np.uint8)

    def to_dict(self):
        return {"kind": "rate", "steps": self.steps, "levels": self.levels}


@dataclass(frozen=True)
class SpikeEncoding:
    """Samples are already spike trains of shape (batch, steps, n_in) with values 0/1."""

    steps: int

    def __post_init__(self):
        check_int("steps", self.steps, 1, 1 << 20)

    def encode(self, samples) -> np.ndarray:
        x = np.asarray(samples)
        if x.ndim != 3 or x.shape[1] != self.steps:
            raise ValueError(
                f"spike samples must have shape (batch, {self.steps}, n_in), not {x.shape}"
            )
        if x.size and not np.isin(x, (0, 1)).all():
            raise ValueError("spike samples must hold only 0 and 1")
        return x.astype(np.uint8)

    def to_dict(self):
        return {"kind": "spikes", "steps": self.steps}


def encoding_from_dict(data):
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"encoding must be an object with a 'kind', not {data!r}")
    kinds = {"rate": RateEncoding, "spikes": SpikeEncoding}
    kind = data["kind"]
    if kind not in kinds:
        raise ValueError(f"encoding kind must be one of {sorted(kinds)}, not {kind!r}")
    fields = {k: v for k, v in data.items() if k != "kind"}
    try:
        return kinds[kind](**fields)
    except TypeError as exc:
        raise ValueError(f"bad {kind} encoding {data!r}: {exc}") from None
