"""The residual block a ResNet-style ReLU CNN is made of, as the ANN→SNN conversion reads it.

A :class:`ResidualBlock` is the basic block of He et al. (2016) without batch normalization
(Sengupta et al. 2019 train their converted ResNets without it, bias-free):

.. math::  y = \\mathrm{ReLU}\\big(W_2 * \\mathrm{ReLU}(W_1 * x) + S(x)\\big)

with two 3×3 convolutions (zero padding 1; the first with the block's stride) and a shortcut
:math:`S`: the identity when the block keeps its shape, else a 1×1 convolution of the block's
stride (a projection). The conversion (:func:`.ann.sequential_layers`) turns it into two spiking
layers, the second with a residual join (:class:`spikeforge.model.Shortcut`) from the layer that
produced :math:`x`.
"""

import torch
from torch import nn

__all__ = ["ResidualBlock"]


class ResidualBlock(nn.Module):
    """``ReLU(conv2(ReLU(conv1(x))) + shortcut(x))``, bias-free; ``shortcut`` is None for the
    identity, else a 1×1 ``Conv2d`` of the block's stride."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.shortcut = (None if stride == 1 and in_channels == out_channels
                         else nn.Conv2d(in_channels, out_channels, 1, stride, bias=False))

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + skip)
