"""A network: ordered layers, an input encoding and a readout, run over T steps in integers.

All layers advance concurrently from the previous step's spikes (eq. (4)–(5) of the
surrogate-gradient paper): layer ``l`` at step ``n → n+1`` reads layer ``l-1``'s spikes of step
``n``. An input spike at step ``n`` therefore reaches the membrane of the first layer at
``n+2`` and every further layer adds two steps of latency.
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

import numpy as np

from .encoding import RateEncoding, SpikeEncoding
from .layer import Layer
from .reference import LayerState, initial_state, layer_step

__all__ = ["Network", "Readout", "Trace", "final_states", "run"]


class Readout(Enum):
    """How the class of a sample is read from the last layer."""

    SPIKE_COUNT = "spike_count"  #: argmax of output spike counts (ties: lowest index)
    MEMBRANE_MAX = "membrane_max"  #: argmax over neurons of max over time of U (LI readout)
    MEMBRANE_SUM = "membrane_sum"  #: argmax over neurons of the sum over time of U


@dataclass(frozen=True, eq=False)
class Network:
    """Layers in order, the encoding of their input, and the readout of the last layer."""

    layers: tuple
    encoding: RateEncoding | SpikeEncoding
    readout: Readout = Readout.SPIKE_COUNT
    name: str = "network"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise ValueError("a network needs at least one layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{index}] must be a Layer, not {layer!r}")
            if index and layer.params.n_in != layers[index - 1].params.n:
                raise ValueError(
                    f"layer {index} ({layer.name}) takes {layer.params.n_in} inputs but layer "
                    f"{index - 1} ({layers[index - 1].name}) has "
                    f"{layers[index - 1].params.n} neurons"
                )
            _check_input_map(index, layer, layers[index - 1] if index else None)
            _check_shortcut_source(index, layer, layers)
            if index < len(layers) - 1 and not layer.params.spiking:
                raise ValueError(
                    f"layer {index} ({layer.name}) is a non-spiking LI readout: it can only be last"
                )
        object.__setattr__(self, "readout", Readout(self.readout))
        if self.readout is Readout.SPIKE_COUNT and not layers[-1].params.spiking:
            raise ValueError("readout 'spike_count' needs a spiking last layer; use membrane_max")
        if self.readout is not Readout.SPIKE_COUNT and layers[-1].params.spiking:
            raise ValueError(f"readout '{self.readout.value}' needs an LI last layer")

    @property
    def n_in(self) -> int:
        return self.layers[0].params.n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].params.n

    @property
    def steps(self) -> int:
        return self.encoding.steps

    @property
    def convolutional(self) -> bool:
        """Whether any layer has a connectivity (a convolution or pooling)."""
        return any(layer.connectivity is not None or layer.shortcut is not None
                   for layer in self.layers)

    def dense(self) -> "Network":
        """The same network with every layer dense (:meth:`.Layer.dense`): what today's
        hardware core runs; spike for spike the same as this network."""
        if not self.convolutional:
            return self
        return Network(tuple(layer.dense() for layer in self.layers), self.encoding,
                       self.readout, self.name, dict(self.metadata))

    def replace_layer(self, index, layer) -> "Network":
        layers = list(self.layers)
        layers[index] = layer
        return Network(tuple(layers), self.encoding, self.readout, self.name, dict(self.metadata))


def _check_input_map(index, layer, previous):
    """A layer that reads its input as a map must read the map the layer before produced."""
    conn = layer.connectivity
    produced = None if previous is None else previous.output_shape
    if conn is None or produced is None or tuple(conn.input_shape) == produced:
        return
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    raise ValueError(f"layer {index} ({layer.name}) reads a {shape(conn.input_shape)} input map, "
                     f"but layer {index - 1} ({previous.name}) produces {shape(produced)} "
                     "(channels×height×width): make the input shape the previous output shape")


def _check_shortcut_source(index, layer, layers):
    """A residual join reads an earlier layer's map (or the input's), exactly as it is."""
    short = layer.shortcut
    if short is None:
        return
    if short.source >= index:
        raise ValueError(f"layer {index} ({layer.name}) has a shortcut from layer "
                         f"{short.source}: a shortcut reads an earlier layer (or -1, the input)")
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    reads = tuple(short.connectivity.input_shape)
    if short.source < 0:
        n_in = layers[0].params.n_in
        if short.connectivity.n_in != n_in:
            raise ValueError(f"layer {index} ({layer.name})'s shortcut reads a {shape(reads)} map "
                             f"of the input, which has {n_in} channels")
        return
    source = layers[short.source]
    produced = source.output_shape
    if produced is None and source.params.n == short.connectivity.n_in:
        return  # a dense layer's vector, read as a map
    if produced != reads:
        raise ValueError(f"layer {index} ({layer.name})'s shortcut reads a {shape(reads)} map, "
                         f"but layer {short.source} ({source.name}) produces "
                         f"{shape(produced) if produced else source.params.n}: make them equal")


class Trace(NamedTuple):
    """Everything a run produced. Per layer, arrays of shape (batch, T, n), int64.

    Index ``t`` holds the state after step ``t`` (that is, at time ``t+1``).
    """

    spikes: list
    i: list
    u: list
    b: list
    saturations: list  #: per layer, (batch, T): clamped updates in each step

    def output(self, readout: Readout) -> np.ndarray:
        """Per-class scores (batch, n_out) for ``readout``, as integers."""
        if readout is Readout.SPIKE_COUNT:
            return self.spikes[-1].sum(axis=1)
        if readout is Readout.MEMBRANE_MAX:
            return self.u[-1].max(axis=1)
        return self.u[-1].sum(axis=1)

    def predict(self, readout: Readout) -> np.ndarray:
        return np.argmax(self.output(readout), axis=1)


def run(network: Network, spikes, state=None) -> Trace:
    """Run ``network`` on input ``spikes`` (batch, T, n_in) of 0/1 from ``state`` (zeros if None).

    Returns a :class:`Trace` with every step's spikes and state of every layer.
    """
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != network.n_in:
        raise ValueError(f"input spikes must have shape (batch, T, {network.n_in}), not {x.shape}")
    _check_binary(x)
    batch, steps, _ = x.shape
    states = (
        list(state) if state is not None else [initial_state(ly, batch) for ly in network.layers]
    )
    shape = lambda ly: (batch, steps, ly.params.n)  # noqa: E731
    rec = {k: [np.zeros(shape(ly), np.int64) for ly in network.layers] for k in "siub"}
    sats = [np.zeros((batch, steps), np.int64) for _ in network.layers]
    for t in range(steps):
        inputs = [x[:, t, :]] + [st.s for st in states[:-1]]
        new_states = []
        for index, (layer, s_in, st) in enumerate(zip(network.layers, inputs, states, strict=True)):
            short = layer.shortcut
            s_short = None if short is None else (
                x[:, t, :] if short.source < 0 else states[short.source].s)
            _, nxt, sat = layer_step(layer, s_in, st, s_short)
            new_states.append(nxt)
            sats[index][:, t] = sat
            for key, value in zip("siub", (nxt.s, nxt.i, nxt.u, nxt.b), strict=True):
                rec[key][index][:, t, :] = value
        states = new_states
    return Trace(rec["s"], rec["i"], rec["u"], rec["b"], sats)


def _check_binary(x):
    """Input spikes are events: 0 or 1. The reference would multiply weights by any other value
    while the hardware counts one event, so anything else is refused."""
    if x.dtype.kind not in "biuf":
        raise TypeError(f"input spikes must be numbers 0/1, not {x.dtype}")
    if x.size and not ((x == 0) | (x == 1)).all():
        bad = x[(x != 0) & (x != 1)]
        raise ValueError(f"input spikes must be 0 or 1 (one event each), not {bad.flat[0]} "
                         f"({bad.size} such values)")


def final_states(trace: Trace) -> list:
    """The layer states after the last step of ``trace`` (to continue a run).

    A trace of T = 0 steps has no last step: its final state is the state the run started from,
    which the trace does not hold, so that is an error."""
    if trace.spikes and trace.spikes[0].shape[1] == 0:
        raise ValueError("the trace has no steps (T = 0), so it holds no final state: continue "
                         "from the state that was passed to run (or initial_state)")
    return [
        LayerState(i[:, -1], u[:, -1], s[:, -1], b[:, -1])
        for s, i, u, b in zip(trace.spikes, trace.i, trace.u, trace.b, strict=True)
    ]
