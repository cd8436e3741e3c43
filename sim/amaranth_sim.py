"""Run a :class:`~spikeforge.hdl.network_core.NetworkCore` in Amaranth's simulator.

``simulate_network(network, spikes, lanes=P)`` drives the input events of every step at full
rate, drains the output (optionally slowly, to exercise backpressure), samples every probe record
and the step counters, and returns everything per step, shaped like
:class:`spikeforge.model.Trace` for one sample, so a caller compares it with
``spikeforge.model.run`` by equality.
"""

from typing import NamedTuple

import numpy as np
from amaranth.sim import Simulator

from ..hdl.network_core import COUNTERS, NetworkCore
from ..hdl.schedule import max_layer_cycles
from ..link.memory_layout import lane_depth
from .probe_records import layer_records

__all__ = ["SimResult", "simulate_network"]


class SimResult(NamedTuple):
    """What the hardware produced, per step; per-layer arrays are ([batch,] T, n)."""

    output: np.ndarray  #: ([batch,] T, n_out) spikes delivered on ``o_events``
    spikes: list  #: per layer ([batch,] T, n): s of every neuron after each step (probes)
    i: list
    u: list
    b: list
    step_cycles: np.ndarray  #: ([batch,] T) the ``step_cycles`` counter after each step
    counters: dict  #: final value of every counter in :data:`~spikeforge.hdl.network_core.COUNTERS`
    probe_order_ok: bool  #: every layer reported neurons 0..n-1 in order, once per step
    #: with ``read_back``: per layer ``{"weights": [lane words], "state": (n, 4) i, u, b, s}``
    #: read through the host port after the last step
    readback: list | None = None
    #: ``(step, addr)`` of every output spike, in the order ``o_events`` delivered them
    events: list | None = None


def simulate_network(network, spikes, lanes=1, *, consumer_gap=0, input_gap=0, output_depth=None,
                     weight_writes=(), read_back=False, vcd=None):
    """Simulate ``network`` on input ``spikes`` (T, n_in) or samples (batch, T, n_in) of 0/1.

    Samples run back to back in one simulation; the network's ``clear`` input zeroes the state
    between them. Per-step arrays of the result have shape (T, ...) for a 2-D input and
    (batch, T, ...) for a 3-D one, like :class:`spikeforge.model.Trace`.

    Parameters
    ----------
    consumer_gap : int
        Cycles the output consumer waits after each accepted event (0: always ready).
    input_gap : int
        Idle cycles the input driver inserts after each event.
    output_depth : int or None
        Output FIFO entries (see :class:`~spikeforge.hdl.network_core.NetworkCore`).
    weight_writes : iterable of (layer, lane, addr, value)
        Written through the weight port before the first step (builds with ``host_access``).
    read_back : bool
        Read every weight and neuron state back through the host port after the last step.
    vcd : str or None
        Write a waveform file.
    """
    x, shape = _flatten_samples(network, spikes)
    writes = list(weight_writes)
    dut = NetworkCore(network, lanes=lanes, probe=True, output_depth=output_depth,
                      host_access=bool(writes) or read_back)
    bench = _Bench(network, dut, x, shape[-1], lanes=lanes, writes=writes, read_back=read_back,
                   consumer_gap=consumer_gap, input_gap=input_gap)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench.drive)
    sim.add_testbench(bench.consume, background=True)
    sim.add_testbench(bench.monitor, background=True)
    sim.add_testbench(bench.watchdog, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return bench.result(shape)


def _flatten_samples(network, spikes):
    """``(x, shape)``: the input as one (steps, n_in) run of all samples back to back, and the
    leading shape of the per-step results, ``(T,)`` or ``(batch, T)``."""
    x = np.asarray(spikes)
    batched = x.ndim == 3
    if x.ndim not in (2, 3) or x.shape[-1] != network.n_in:
        raise ValueError(
            f"spikes must have shape (T, {network.n_in}) or (batch, T, {network.n_in}), "
            f"not {x.shape}"
        )
    batch, per_sample = (x.shape[0], x.shape[1]) if batched else (1, x.shape[0])
    shape = (batch, per_sample) if batched else (per_sample,)
    return x.reshape(batch * per_sample, network.n_in), shape


class _Bench:
    """The testbenches of one simulation (input driver, output consumer, monitor, watchdog) and
    what they record."""

    def __init__(self, network, dut, x, per_sample, *, lanes, writes, read_back, consumer_gap,
                 input_gap):
        self.network, self.dut, self.x, self.per_sample = network, dut, x, per_sample
        self.lanes, self.writes, self.read_back = lanes, writes, read_back
        self.consumer_gap, self.input_gap = consumer_gap, input_gap
        self.steps = x.shape[0]
        self.readback = [] if read_back else None
        self.records = [[] for _ in dut.probe_layers]  # per probe port
        self.output = np.zeros((self.steps, network.n_out), np.int64)
        self.events = []
        self.cycles = []
        self.counters = {}
        self.last_step_cycles = 0
        self.markers = []
        # a core that stops (a deadlock) must fail, not hang: a generous bound on the cycles
        per_step = sum(max(ly.params.n + 16 + lane_depth(ly, lanes), max_layer_cycles(ly, lanes))
                       for ly in network.layers)
        self.limit = 10_000 + len(writes) + self.steps * per_step * (2 + consumer_gap + input_gap)

    async def drive(self, ctx):
        dut, steps = self.dut, self.steps
        await self._write_weights(ctx)
        for t in range(steps):
            if t and t % self.per_sample == 0:  # next sample: wait for the last step, then clear
                ctx.set(dut.i_events.valid, 0)
                await ctx.tick().until((dut.steps == t) & dut.idle)
                ctx.set(dut.clear, 1)
                await ctx.tick()
                ctx.set(dut.clear, 0)
            await self._send_step(ctx, self.x[t])
        ctx.set(dut.i_events.valid, 0)
        await ctx.tick().until(dut.steps == steps)
        received = 0
        while received < steps:  # let the consumer drain the output
            await ctx.tick()
            received = len(self.markers)
        for name in COUNTERS:
            self.counters[name] = ctx.get(getattr(dut, name))
        self.last_step_cycles = ctx.get(dut.step_cycles)
        if self.read_back:
            await ctx.tick().until(dut.idle)
            for index, layer in enumerate(self.network.layers):
                self.readback.append(await _read_layer(ctx, dut, index, layer, self.lanes))

    async def _write_weights(self, ctx):
        dut = self.dut
        for layer, lane, addr, value in self.writes:
            for port, v in ((dut.w_layer, layer), (dut.w_lane, lane), (dut.w_addr, addr),
                            (dut.w_data, value), (dut.w_en, 1)):
                ctx.set(port, int(v))
            await ctx.tick()
        if self.writes:
            ctx.set(dut.w_en, 0)

    async def _send_step(self, ctx, spikes):
        """The events of one step's input ``spikes`` (n_in,), then its marker."""
        dut = self.dut
        for addr in np.flatnonzero(spikes):
            ctx.set(dut.i_events.payload, {"addr": int(addr), "marker": 0})
            ctx.set(dut.i_events.valid, 1)
            await ctx.tick().until(dut.i_events.ready)
            if self.input_gap:
                ctx.set(dut.i_events.valid, 0)
                for _ in range(self.input_gap):
                    await ctx.tick()
        ctx.set(dut.i_events.payload, {"addr": 0, "marker": 1})
        ctx.set(dut.i_events.valid, 1)
        await ctx.tick().until(dut.i_events.ready)

    async def consume(self, ctx):
        dut = self.dut
        step = 0
        ctx.set(dut.o_events.ready, 1)
        while True:
            _, _, valid, payload = await ctx.tick().sample(dut.o_events.valid,
                                                           dut.o_events.payload)
            if not valid:
                continue
            if payload.marker:
                self.markers.append(step)
                step += 1
            elif step < self.steps:
                self.output[step, payload.addr] = 1
                self.events.append((step, int(payload.addr)))
            if self.consumer_gap:
                ctx.set(dut.o_events.ready, 0)
                for _ in range(self.consumer_gap):
                    await ctx.tick()
                ctx.set(dut.o_events.ready, 1)

    async def monitor(self, ctx):
        dut = self.dut
        signals = []
        for index in range(len(self.records)):
            signals += [dut.probe[index].valid, dut.probe[index].payload]
        last_steps = 0
        async for _, _, done, step_cycles, *values in ctx.tick().sample(
                dut.steps, dut.step_cycles, *signals):
            if done != last_steps:
                self.cycles.append(step_cycles)
                last_steps = done
            for index, records in enumerate(self.records):
                if values[2 * index]:
                    rec = values[2 * index + 1]
                    records.append((rec.neuron, rec.i, rec.u, rec.b, rec.s))

    async def watchdog(self, ctx):
        await ctx.delay(self.limit * 1e-8)
        raise RuntimeError(f"the network core made no progress within {self.limit} cycles "
                           f"({len(self.markers)} of {self.steps} steps out)")

    def result(self, shape):
        """The :class:`SimResult`, per-step arrays with leading ``shape``."""
        steps = self.steps
        per_layer = {key: [] for key in "siub"}
        order_ok = True
        merged = layer_records(self.network, self.lanes, self.records)
        for layer, recs in zip(self.network.layers, merged, strict=True):
            n = layer.params.n
            arr = np.zeros((steps, n, 5), np.int64)
            got = np.asarray(recs[: steps * n], np.int64).reshape(-1, 5)
            if got.shape[0] != steps * n:
                order_ok = False
            arr.reshape(-1, 5)[: got.shape[0]] = got
            order_ok &= bool(np.array_equal(arr[:, :, 0],
                                            np.broadcast_to(np.arange(n), (steps, n))))
            for key, column in (("i", 1), ("u", 2), ("b", 3), ("s", 4)):
                per_layer[key].append(arr[:, :, column].reshape(*shape, n))
        # the monitor sees ``step_cycles`` one cycle after it changes: the last value is read
        # at the end
        step_cycles = np.asarray([*self.cycles, self.last_step_cycles], np.int64)[:steps]
        return SimResult(self.output.reshape(*shape, self.network.n_out), per_layer["s"],
                         per_layer["i"], per_layer["u"], per_layer["b"],
                         step_cycles.reshape(shape), self.counters, order_ok, self.readback,
                         self.events)


async def _read_layer(ctx, dut, index, layer, lanes):
    """Every weight word and neuron state of one layer, through the host read port."""
    ctx.set(dut.r_layer, index)
    words = lane_depth(layer, lanes)
    weights = []
    for lane in range(lanes):
        ctx.set(dut.r_lane, lane)
        values = []
        for addr in range(words):
            ctx.set(dut.r_addr, addr)
            await ctx.tick().repeat(2)  # a weight comes two cycles after its address
            values.append(ctx.get(dut.r_weight))
        weights.append(values)
    state = np.zeros((layer.params.n, 4), np.int64)
    for neuron in range(layer.params.n):
        ctx.set(dut.r_addr, neuron)
        await ctx.tick().repeat(2)  # so does a state
        record = ctx.get(dut.r_state)
        state[neuron] = (record.i, record.u, record.b, record.s)
    return {"weights": weights, "state": state}
