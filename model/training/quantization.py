"""Straight-through integer operations: exact integer forward, identity-like backward.

Tensors hold integer values in a floating dtype (float32 is exact up to 2^24, float64 up to
2^53; :func:`spikeforge.model.training.functional.exact_dtype` picks the one a network needs).
"""

import torch

__all__ = ["floor_shift_ste", "quantize_weight", "round_ste"]


def round_ste(x):
    """``round(x)`` (half to even, as NumPy's ``rint``) forward; identity backward."""
    return x + (torch.round(x) - x).detach()


def floor_shift_ste(x, k: int):
    """``floor(x / 2**k)`` forward (an arithmetic right shift); gradient ``2**-k`` backward."""
    scaled = x * (2.0**-k)  # a power-of-two scale is exact in floating point
    return scaled + (torch.floor(scaled) - scaled).detach()


def quantize_weight(latent, scale: float, lo: int, hi: int):
    """Integer weights ``clamp(round(latent * scale), lo, hi)`` with a straight-through round.

    The clamp passes no gradient to weights that are pinned at the range limits.
    """
    return torch.clamp(round_ste(latent * scale), lo, hi)
