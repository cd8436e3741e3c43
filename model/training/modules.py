"""``nn.Module`` wrappers over the integer semantics: trainable latent weights, exact forward.

A :class:`SpikingLayer` keeps float latent weights ``w`` and uses the integers
``W = clamp(round(w · scale), W_min, W_max)`` (straight-through round) in an exact forward pass
(:func:`.functional.layer_sequence`). ``scale`` defaults to ``2^(width−1)``, so latent weights
live in about [−1, 1] whatever the width. A layer with a
:class:`~spikeforge.model.Connectivity` sum-pools its input map and convolves it with
``torch.nn.functional.conv2d``: integer operands, exact sums (the dtype is chosen by
:func:`.functional.exact_dtype`). :class:`SpikingNetwork` chains layers with the contract's
one-step delay between layers and converts to and from :class:`spikeforge.model.Network`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layer import Layer
from ..network import Network, Readout
from ..params import LayerParams
from .functional import exact_dtype, layer_sequence
from .fused import fused_layer_sequence
from .quantization import quantize_weight
from .surrogates import spike_function

__all__ = ["SpikingLayer", "SpikingNetwork"]


class SpikingLayer(nn.Module):
    """One layer: :class:`~spikeforge.model.LayerParams` plus trainable latent weights."""

    def __init__(self, params: LayerParams, *, name="", scale=None, generator=None,
                 connectivity=None, shortcut=None):
        super().__init__()
        if not isinstance(params, LayerParams):
            raise TypeError(f"params must be LayerParams, not {params!r}")
        self.params = params
        self.name = name
        self.connectivity = connectivity
        self.shortcut = shortcut
        self.fused = True  # hand-written BPTT (fast); False: plain autograd of the same graph
        self.surrogate = ("fast_sigmoid", 25.0)  # set by SpikingNetwork
        self.scale = float(scale if scale is not None else 1 << (params.weight_format.width - 1))
        shape, bias_shape = (params.n, params.n_in), (params.n,)
        if connectivity is not None:
            # validated as the Layer it becomes (shapes that do not chain, a recurrent conv)
            Layer(params, np.zeros(connectivity.weight_shape(params.n), np.int64),
                  bias=np.zeros(connectivity.bias_shape(params.n), np.int64)
                  if params.bias else None,
                  recurrent=np.zeros((params.n, params.n), np.int64) if params.recurrent
                  else None, name=name, connectivity=connectivity, shortcut=shortcut,
                  shortcut_weight=None if shortcut is None else np.zeros(
                      shortcut.weight_shape, np.int64))
            shape, bias_shape = connectivity.weight_shape(params.n), connectivity.bias_shape(
                params.n)
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))  # 1/sqrt(fan-in of one kernel or row)
        init = lambda *shape: (torch.rand(*shape, generator=generator) * 2 - 1) * bound  # noqa: E731
        self.weight = nn.Parameter(init(*shape))
        self.recurrent = nn.Parameter(init(params.n, params.n) * 0.5) if params.recurrent else None
        self.bias = nn.Parameter(torch.zeros(bias_shape)) if params.bias else None
        self.shortcut_weight = None if shortcut is None else nn.Parameter(
            init(*shortcut.weight_shape))

    def int_weights(self):
        """The integer-valued weights (and recurrent weights, bias) the forward pass uses."""
        wf, cf = self.params.weight_format, self.params.current_format
        w = quantize_weight(self.weight, self.scale, wf.min, wf.max)
        v = (
            None
            if self.recurrent is None
            else quantize_weight(self.recurrent, self.scale, wf.min, wf.max)
        )
        c = None if self.bias is None else quantize_weight(self.bias, self.scale, cf.min, cf.max)
        return w, v, c

    def int_shortcut(self):
        """The integer-valued shortcut kernel (None without a residual join)."""
        if self.shortcut_weight is None:
            return None
        wf = self.params.weight_format
        return quantize_weight(self.shortcut_weight, self.scale, wf.min, wf.max)

    def forward(self, s_in, spike_fn, state=None, s_short=None):
        """``s_in`` (batch, T, n_in) of 0/1 (and a residual join's source spikes ``s_short``)
        → dict of (batch, T, n) tensors s, i, u, b."""
        w, v, c = self.int_weights()
        dtype = s_in.dtype
        drive = self.synaptic_sum(s_in, w.to(dtype))
        if self.shortcut is not None:
            drive = drive + _map_sum(self.shortcut.connectivity, s_short,
                                     self.int_shortcut().to(dtype))
        if self.params.input_shift:
            drive = drive * float(1 << self.params.input_shift)  # A = 2^f W s + c
        if c is not None:
            if self.connectivity is not None and self.connectivity.conv is not None:
                c = c.repeat_interleave(self.params.n // c.numel())  # per channel → per neuron
            drive = drive + c.to(dtype)
        v = None if v is None else v.to(dtype)
        if state is None and self.fused:
            return fused_layer_sequence(self.params, drive, *self.surrogate, recurrent=v)
        return layer_sequence(self.params, drive, spike_fn, v, state)

    def synaptic_sum(self, s_in, w):
        r""":math:`\sum_j W_{ij} s_j` (batch, T, n) of spikes ``s_in`` (batch, T, n_in): a matrix
        product, or sum pooling and a convolution (:mod:`spikeforge.model.connectivity`)."""
        if self.connectivity is None:
            return s_in @ w.t()
        return _map_sum(self.connectivity, s_in, w)

    def to_layer(self) -> Layer:
        w, v, c = (
            None if t is None else t.detach().cpu().numpy().astype(np.int64)
            for t in self.int_weights()
        )
        k = self.int_shortcut()
        return Layer(self.params, w, recurrent=v, bias=c, name=self.name,
                     connectivity=self.connectivity, shortcut=self.shortcut,
                     shortcut_weight=None if k is None else k.detach().cpu().numpy().astype(
                         np.int64))

    @classmethod
    def from_layer(cls, layer: Layer, scale=None):
        module = cls(layer.params, name=layer.name, scale=scale,
                     connectivity=layer.connectivity, shortcut=layer.shortcut)
        with torch.no_grad():
            module.weight.copy_(torch.as_tensor(layer.weight, dtype=torch.float32) / module.scale)
            if layer.recurrent is not None:
                module.recurrent.copy_(
                    torch.as_tensor(layer.recurrent, dtype=torch.float32) / module.scale
                )
            if layer.bias is not None:
                module.bias.copy_(torch.as_tensor(layer.bias, dtype=torch.float32) / module.scale)
            if layer.shortcut_weight is not None:
                module.shortcut_weight.copy_(
                    torch.as_tensor(layer.shortcut_weight, dtype=torch.float32) / module.scale)
        return module


def _map_sum(conn, s_in, w):
    """Sum pooling and a convolution (or dense weights) of spikes ``s_in`` (batch, T, n_in)
    read as ``conn``'s map; (batch, T, n)."""
    batch, steps, _ = s_in.shape
    c, h, wd = conn.input_shape
    _, hp, wp = conn.pooled_shape
    p = conn.pool
    x = s_in.reshape(batch * steps, c, h, wd)
    if p > 1:  # sum pooling: whole windows only, as the contract (and torch) drop the rest
        x = x[:, :, : hp * p, : wp * p].reshape(-1, c, hp, p, wp, p).sum(dim=(3, 5))
    if conn.conv is None:
        return x.reshape(batch, steps, -1) @ w.t()
    out = F.conv2d(x, w, stride=conn.conv.stride, padding=conn.conv.padding)
    return out.reshape(batch, steps, -1)


class SpikingNetwork(nn.Module):
    """Layers in order; layer ``l`` reads layer ``l−1``'s spikes of the previous step.

    Parameters
    ----------
    layers : list of SpikingLayer
    encoding : RateEncoding or SpikeEncoding
    readout : Readout
    surrogate : str
        Name from :data:`.surrogates.SURROGATES`.
    slope : float
        Surrogate sharpness, in units of 1/θ.
    """

    def __init__(
        self,
        layers,
        encoding,
        readout=Readout.SPIKE_COUNT,
        *,
        surrogate="fast_sigmoid",
        slope=25.0,
        name="network",
    ):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.encoding = encoding
        self.readout = Readout(readout)
        self.surrogate = surrogate
        self.slope = slope
        self.spike_fn = spike_function(surrogate, slope)
        for layer in self.layers:
            layer.surrogate = (surrogate, float(slope))
        self.name = name
        self.dtype = exact_dtype([ly.params for ly in self.layers])

    def forward(self, spikes, dtype=None):
        """Input spikes (batch, T, n_in) → list of per-layer dicts of (batch, T, n) tensors."""
        x = torch.as_tensor(spikes).to(dtype or self.dtype)
        traces, delayed = [], {-1: x}
        for index, layer in enumerate(self.layers):
            short = layer.shortcut
            trace = layer(x, self.spike_fn, s_short=None if short is None
                          else delayed[short.source])
            traces.append(trace)
            s = trace["s"]
            # the next layer at step n sees this layer's spikes of step n (state before update)
            x = delayed[index] = torch.cat([torch.zeros_like(s[:, :1]), s[:, :-1]], dim=1)
        return traces

    def scores(self, traces):
        """Differentiable per-class scores (batch, n_out) in float units for the loss."""
        last = traces[-1]
        scale = self.layers[-1].scale * (1 << self.layers[-1].params.input_shift)
        if self.readout is Readout.SPIKE_COUNT:
            return last["s"].sum(dim=1)
        if self.readout is Readout.MEMBRANE_MAX:
            return last["u"].max(dim=1).values / scale
        return last["u"].sum(dim=1) / scale

    def to_network(self, metadata=None) -> Network:
        return Network(
            tuple(layer.to_layer() for layer in self.layers),
            self.encoding,
            self.readout,
            name=self.name,
            metadata=dict(metadata or {}),
        )

    @classmethod
    def from_network(cls, network: Network, **kwargs):
        layers = [SpikingLayer.from_layer(layer) for layer in network.layers]
        return cls(layers, network.encoding, network.readout, name=network.name, **kwargs)
