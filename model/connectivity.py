r"""How a layer's input spikes reach its neurons: a spike map, sum pooling, and a dense or a
two-dimensional convolutional weight.

A layer without a :class:`Connectivity` is dense over a flat input vector (``W`` is n × n_in).
A :class:`Connectivity` reads the input vector as a spike map of shape ``(C, H, W)`` in the
order of torch's ``Flatten`` (index ``(c·H + y)·W + x``), then:

1. **Sum pooling** with window and stride ``p`` (``pool``; 1 is none): the pooled map
   :math:`P_{c,y,x} = \sum_{0 \le dy, dx < p} s_{c,\,py+dy,\,px+dx}` of shape
   ``(C, ⌊H/p⌋, ⌊W/p⌋)``, rows and columns past the last whole window dropped (as torch's
   pooling does). Pooling is an address map: each spike event counts once at its pooled cell.
2. Either **dense** weights over the pooled map flattened (``W`` is n × C·⌊H/p⌋·⌊W/p⌋), or a
   **convolution** (:class:`Conv2d`) with ``C_out`` kernels of ``K × K``, stride ``S`` and zero
   padding ``Q``, one kernel shared by every output position:

   .. math::

       \Sigma_{o,y,x} = \sum_{c,\,i,\,j} W_{o,c,i,j}\; P_{c,\; S y + i - Q,\; S x + j - Q}
       \qquad (P = 0 \text{ outside the map})

   The layer's neurons are the output positions ``(o, y, x)`` in the same flattened order,
   ``n = C_out·H_out·W_out`` with :math:`H_{out} = \lfloor (H_p + 2Q - K)/S \rfloor + 1`. A bias,
   when the layer has one, is per output channel: ``c[o]`` for every position of channel ``o``.

This :math:`\Sigma` is the :math:`\sum_j W_{ij} s^{in}_j` of the contract: the neuron update
(:mod:`spikeforge.model.reference`) is unchanged. The same sum is a dense matrix product with
the *unrolled* weights (:meth:`Connectivity.unrolled`, every entry a kernel weight or 0), so a
convolutional layer is exactly a dense layer with shared weights; only the memory differs.
"""

from dataclasses import dataclass

import numpy as np

from .numerics import check_int

__all__ = ["Connectivity", "Conv2d"]

#: the largest map side and channel count a connectivity describes
MAX_SIDE = 4096


@dataclass(frozen=True)
class Conv2d:
    """A 2-d convolution: ``out_channels`` kernels of ``kernel × kernel``, ``stride``, zero
    ``padding`` on every side (dilation 1, one group)."""

    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        check_int("conv out_channels", self.out_channels, 1, MAX_SIDE)
        check_int("conv kernel", self.kernel, 1, MAX_SIDE)
        check_int("conv stride", self.stride, 1, MAX_SIDE)
        check_int("conv padding", self.padding, 0, MAX_SIDE)

    def to_dict(self):
        return {"out_channels": self.out_channels, "kernel": self.kernel, "stride": self.stride,
                "padding": self.padding}


@dataclass(frozen=True)
class Connectivity:
    """A layer's input as a ``(C, H, W)`` spike map, sum-pooled by ``pool``, then dense
    (``conv`` None) or convolved (see the module docstring)."""

    input_shape: tuple
    pool: int = 1
    conv: Conv2d | None = None

    def __post_init__(self):
        shape = self.input_shape
        if not isinstance(shape, tuple | list) or len(shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), not {shape!r}")
        for name, value in zip(("channels", "height", "width"), shape, strict=True):
            check_int(f"input_shape {name}", value, 1, MAX_SIDE)
        object.__setattr__(self, "input_shape", tuple(shape))
        check_int("pool", self.pool, 1, MAX_SIDE)
        _, h, w = self.input_shape
        if self.pool > min(h, w):
            raise ValueError(f"a pooling window of {self.pool} does not fit the {h}×{w} input "
                             "map: use a window no larger than the map")
        if self.conv is not None:
            if not isinstance(self.conv, Conv2d):
                raise TypeError(f"conv must be a Conv2d, not {self.conv!r}")
            _, hp, wp = self.pooled_shape
            k, q = self.conv.kernel, self.conv.padding
            if k > min(hp, wp) + 2 * q:
                raise ValueError(
                    f"a {k}×{k} kernel is larger than the {hp + 2 * q}×{wp + 2 * q} padded input "
                    f"map ({hp}×{wp} with padding {q}): use a smaller kernel or more padding")
            if q >= k:
                raise ValueError(f"padding {q} is not smaller than the kernel {k}: an output "
                                 "position would see nothing but padding")

    @property
    def n_in(self) -> int:
        """Inputs the layer reads: the spike map's size ``C·H·W``."""
        return int(np.prod(self.input_shape))

    @property
    def pooled_shape(self) -> tuple:
        c, h, w = self.input_shape
        return c, h // self.pool, w // self.pool

    @property
    def output_shape(self) -> tuple | None:
        """``(C_out, H_out, W_out)`` of a convolution; None for dense weights."""
        if self.conv is None:
            return None
        _, hp, wp = self.pooled_shape
        k, s, q = self.conv.kernel, self.conv.stride, self.conv.padding
        return self.conv.out_channels, (hp + 2 * q - k) // s + 1, (wp + 2 * q - k) // s + 1

    def neurons(self, n=None) -> int:
        """The layer's neuron count: the output map's size, or ``n`` for dense weights."""
        out = self.output_shape
        return int(np.prod(out)) if out is not None else n

    def weight_shape(self, n) -> tuple:
        """Shape of the stored weight: ``(C_out, C_in, K, K)``, or ``(n, C·H_p·W_p)``."""
        if self.conv is None:
            return n, int(np.prod(self.pooled_shape))
        k = self.conv.kernel
        return self.conv.out_channels, self.input_shape[0], k, k

    def bias_shape(self, n) -> tuple:
        return (self.conv.out_channels,) if self.conv is not None else (n,)

    def expand_bias(self, bias) -> np.ndarray:
        """The per-neuron bias (n,) of a stored bias (per channel for a convolution)."""
        bias = np.asarray(bias)
        if self.conv is None:
            return bias
        _, ho, wo = self.output_shape
        return np.repeat(bias, ho * wo)

    def pooled(self, spikes) -> np.ndarray:
        """The pooled map ``(batch, C, H_p, W_p)`` (counts) of input spikes ``(batch, n_in)``."""
        s = np.asarray(spikes, dtype=np.int64)
        c, h, w = self.input_shape
        _, hp, wp = self.pooled_shape
        p = self.pool
        s = s.reshape(len(s), c, h, w)[:, :, : hp * p, : wp * p]
        return s.reshape(len(s), c, hp, p, wp, p).sum(axis=(3, 5))

    def synaptic_sum(self, weight, spikes) -> np.ndarray:
        r""":math:`\Sigma` (batch, n) in int64: the weights selected by ``spikes`` (batch, n_in),
        before the input shift and the bias."""
        pooled = self.pooled(spikes)
        w = np.asarray(weight, dtype=np.int64)
        if self.conv is None:
            return pooled.reshape(len(pooled), -1) @ w.T
        k, s, q = self.conv.kernel, self.conv.stride, self.conv.padding
        c_out, ho, wo = self.output_shape
        padded = np.pad(pooled, ((0, 0), (0, 0), (q, q), (q, q)))
        out = np.zeros((len(pooled), c_out, ho, wo), dtype=np.int64)
        for i in range(k):
            for j in range(k):
                window = padded[:, :, i: i + s * (ho - 1) + 1: s, j: j + s * (wo - 1) + 1: s]
                out += np.einsum("bchw,oc->bohw", window, w[:, :, i, j])
        return out.reshape(len(pooled), -1)

    def unrolled(self, weight, n=None) -> np.ndarray:
        """The dense matrix ``(n, n_in)`` with ``unrolled @ s == synaptic_sum(weight, s)``: each
        entry the kernel (or dense) weight that connects input ``j`` to neuron ``i``, else 0."""
        weight = np.asarray(weight)
        n = self.neurons(n)
        rows, cols, values = self._connections(weight)
        dense = np.zeros((n, self.n_in), dtype=weight.dtype)
        dense[rows, cols] = values
        return dense

    def _connections(self, weight):
        """``(neuron, input, weight)`` index arrays of every connection. A pooled cell is fed
        by ``pool²`` inputs, each connected with the cell's weight (pooling is an address map)."""
        c, h, w = self.input_shape
        _, hp, wp = self.pooled_shape
        p = self.pool
        # the pooled cell of every input (−1: dropped past the last whole window)
        ys, xs = np.arange(h) // p, np.arange(w) // p
        ys[ys >= hp], xs[xs >= wp] = -1, -1
        if self.conv is None:
            cell = (np.arange(c)[:, None, None] * hp + ys[None, :, None]) * wp + xs[None, None, :]
            cell[:, (ys[:, None] < 0) | (xs[None, :] < 0)] = -1
            inputs = np.flatnonzero(cell.ravel() >= 0)
            cells = cell.ravel()[inputs]
            rows = np.repeat(np.arange(weight.shape[0]), len(inputs))
            cols = np.tile(inputs, weight.shape[0])
            return rows, cols, weight[:, cells].ravel()
        k, s, q = self.conv.kernel, self.conv.stride, self.conv.padding
        c_out, ho, wo = self.output_shape
        o, ci, i, j, oy, ox, dy, dx = np.meshgrid(
            np.arange(c_out), np.arange(c), np.arange(k), np.arange(k), np.arange(ho),
            np.arange(wo), np.arange(p), np.arange(p), indexing="ij", sparse=False)
        py, px = s * oy + i - q, s * ox + j - q
        inside = (py >= 0) & (py < hp) & (px >= 0) & (px < wp)
        y, x = py * p + dy, px * p + dx
        rows = ((o * ho + oy) * wo + ox)[inside]
        cols = ((ci * h + y) * w + x)[inside]
        return rows, cols, weight[o[inside], ci[inside], i[inside], j[inside]]

    def to_dict(self):
        data = {"input_shape": list(self.input_shape)}
        if self.pool != 1:
            data["pool"] = self.pool
        if self.conv is not None:
            data["conv"] = self.conv.to_dict()
        return data

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise TypeError(f"connectivity must be an object, not {type(data).__name__}")
        unknown = sorted(set(data) - {"input_shape", "pool", "conv"})
        if unknown:
            raise ValueError(f"unknown connectivity field(s) {unknown}; expected input_shape, "
                             "pool, conv")
        if "input_shape" not in data:
            raise ValueError("connectivity needs an 'input_shape' [channels, height, width]")
        shape = data["input_shape"]
        if not isinstance(shape, list):
            raise TypeError(f"input_shape must be a list [channels, height, width], not {shape!r}")
        conv = data.get("conv")
        if conv is not None:
            if not isinstance(conv, dict):
                raise TypeError(f"conv must be an object, not {type(conv).__name__}")
            fields = set(Conv2d.__dataclass_fields__)
            unknown = sorted(set(conv) - fields)
            if unknown:
                raise ValueError(f"unknown conv field(s) {unknown}; expected some of "
                                 f"{sorted(fields)}")
            conv = Conv2d(**conv)
        return cls(tuple(shape), data.get("pool", 1), conv)
