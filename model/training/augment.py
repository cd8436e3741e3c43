"""Training-set augmentation of image inputs: random translations, drawn anew every epoch.

A sample of an image dataset (``input_shape = (C, H, W)``) is shifted by ``(dy, dx)``, each
drawn uniformly from ``-s … s``, with zeros shifted in; the integer intensities are then encoded
as usual. Small digits (8 × 8) are written at slightly different places by different writers, so
a convolutional net that sees each training image at a few positions generalizes better (Simard
et al. 2003, *Best practices for convolutional neural networks applied to visual document
analysis*). The test set is never augmented, and nothing here touches the integer contract.
"""

import numpy as np

__all__ = ["translate"]


def translate(samples, input_shape, max_shift, rng):
    """``samples`` (batch, C·H·W) shifted by a random ``(dy, dx)`` in ``-max_shift … max_shift``
    per sample, zeros shifted in; the same shape and dtype."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"the augmentation shift must be a non-negative integer of pixels, "
                         f"not {max_shift!r}")
    channels, height, width = input_shape
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[1] != channels * height * width:
        raise ValueError(f"samples of shape {x.shape} are not images of shape {tuple(input_shape)}")
    if max_shift == 0:
        return x.copy()
    s = max_shift
    images = x.reshape(len(x), channels, height, width)
    padded = np.zeros((len(x), channels, height + 2 * s, width + 2 * s), dtype=x.dtype)
    padded[:, :, s:s + height, s:s + width] = images
    dy = rng.integers(-s, s + 1, size=len(x))
    dx = rng.integers(-s, s + 1, size=len(x))
    # output pixel (y, x) is input pixel (y - dy, x - dx): rows s - dy … of the padded image
    rows = (s - dy)[:, None] + np.arange(height)[None, :]
    cols = (s - dx)[:, None] + np.arange(width)[None, :]
    batch = np.arange(len(x))[:, None, None, None]
    channel = np.arange(channels)[None, :, None, None]
    out = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return out.reshape(len(x), -1)
