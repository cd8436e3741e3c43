r"""A residual join: a layer's second input, the spikes of an earlier layer through a 1×1
convolution (after a sum pool, when the block's input was pooled).

A layer with a :class:`Shortcut` adds to its synaptic sum (:mod:`.connectivity`) the spikes
:math:`s^{(k)}` of layer ``source`` (``-1``: the network input) through a 1×1 convolution of
stride ``S`` with kernel :math:`V_{o,c}` (shape ``(C_out, C_src, 1, 1)``):

.. math::

    \Sigma_{o,y,x} \mathrel{+}= \sum_c V_{o,c}\; s^{(k)}_{c,\,S y,\,S x}

The identity shortcut of a ResNet block is the kernel :math:`v\,I` (one weight :math:`v` on the
diagonal); a downsampling shortcut is a 1×1 convolution of stride 2. The sum enters
:math:`A[n]` like the main input (scaled by :math:`2^f`, before the one saturation of the
update), so the order of operations is unchanged.

**Timing.** Every layer reads the spikes its sources emitted in the step before (the state of
step :math:`n`), the shortcut's source as well as the main input. A spike of layer :math:`k` at
step :math:`n` therefore reaches the current of a layer it skips to at :math:`n + 1`, while the
same spike through the block's main path (one more layer) arrives two steps later: the join adds
the two paths as they are at each step, and rate-coded networks (Sengupta et al. 2019, ANN→SNN
with residual blocks) are insensitive to that offset.
"""

from dataclasses import dataclass

import numpy as np

from .connectivity import Connectivity
from .numerics import check_int

__all__ = ["Shortcut"]


@dataclass(frozen=True)
class Shortcut:
    """The spikes of layer ``source`` (-1: the network input) read as the map
    ``connectivity.input_shape``, sum-pooled by ``connectivity.pool``, through its 1×1
    convolution (no padding)."""

    source: int
    connectivity: Connectivity

    def __post_init__(self):
        check_int("shortcut source", self.source, -1, 1 << 16)
        conn = self.connectivity
        if not isinstance(conn, Connectivity):
            raise TypeError(f"shortcut connectivity must be a Connectivity, not {conn!r}")
        if conn.conv is None or conn.conv.kernel != 1 or conn.conv.padding:
            raise ValueError("a shortcut is a 1×1 convolution without padding (the identity, or "
                             f"a strided projection), not {conn.to_dict()}")

    @property
    def weight_shape(self) -> tuple:
        return self.connectivity.weight_shape(None)

    def synaptic_sum(self, weight, spikes) -> np.ndarray:
        """The shortcut's part of :math:`\\Sigma` (batch, n) for the source's spikes."""
        return self.connectivity.synaptic_sum(weight, spikes)

    @staticmethod
    def identity_kernel(channels, value) -> np.ndarray:
        """The kernel of an identity shortcut: ``value`` on the diagonal."""
        return (np.eye(channels, dtype=np.int64) * int(value)).reshape(channels, channels, 1, 1)

    def to_dict(self):
        return {"source": self.source, "connectivity": self.connectivity.to_dict()}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or set(data) != {"source", "connectivity"}:
            raise ValueError("a shortcut must be an object with exactly 'source' and "
                             f"'connectivity', not {data!r}")
        return cls(data["source"], Connectivity.from_dict(data["connectivity"]))
