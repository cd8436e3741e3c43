"""cocotb testbench of a :class:`~spikeforge.hdl.network_core.NetworkCore` in Verilog.

Run by :func:`spikeforge.sim.cocotb_runner.cosimulate` under Verilator or Icarus. It reads the
stimulus from ``$SPIKEFORGE_COSIM_DIR/stimulus.npz``, drives every sample's input events at full
rate (one event per cycle when the core is ready), drains the output (optionally with a gap to
exercise backpressure), samples every probe record and step counter at every clock edge, and
writes what it saw to ``raw.npz`` beside the stimulus. The comparison with the reference model
happens in the pytest process (:mod:`spikeforge.sim.probe_records`).

One coroutine handles driver, consumer and monitor cycle by cycle, away from the rising edge so
that no simulator can race it: on each falling edge it reads the registered outputs (probes,
counters) and drives the inputs for the next rising edge, then waits a nanosecond for the
combinational paths to settle and reads the handshakes that edge will complete.
"""

import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, Timer

from ..hdl.events import MARKER, ProbeLayout
from ..link.protocol import CORE_COUNTER_NAMES as COUNTERS
from .cocotb_clock import SETTLE_NS, start


def _u(handle):
    return handle.value.to_unsigned()


def _u_named(dut, name):
    """A counter's value, or -1 if the simulator holds X/Z bits in it (reported, never hidden)."""
    value = getattr(dut, name).value
    return value.to_unsigned() if value.is_resolvable else -1


def _record(payload):
    """``(neuron, i, u, b, s)`` of a raw :data:`~spikeforge.hdl.events.ProbeLayout` payload."""
    r = ProbeLayout.from_bits(payload)
    return r.neuron, r.i, r.u, r.b, r.s


class NetworkTB:
    """Owns the clock, reset and the per-cycle loop of one simulation."""

    def __init__(self, dut, n_ports):
        self.dut = dut
        self.probes = [(getattr(dut, f"probe__{k}__valid"), getattr(dut, f"probe__{k}__payload"))
                       for k in range(n_ports)]

    async def reset(self):
        await start(self.dut, {"clear": 0, "i_events__valid": 0, "i_events__payload": 0,
                               "o_events__ready": 0})

    async def run(self, x, consumer_gap=0, max_cycles=10_000_000):
        """Drive ``x`` (batch, T, n_in); return records, outputs, step cycles and counters."""
        dut = self.dut
        batch, steps, _ = x.shape
        total = batch * steps
        records = [[] for _ in self.probes]
        outputs, step_cycles = [], []
        samples = [[int(a) for t in range(steps) for a in (*np.flatnonzero(x[b, t]), MARKER)]
                   for b in range(batch)]
        sample, position = 0, 0
        out_step, markers, last_steps, gap = 0, 0, 0, 0
        done = 0
        cycle = 0
        while markers < total or done < total:
            cycle += 1
            if cycle > max_cycles:
                raise RuntimeError(
                    f"no progress after {max_cycles} cycles: {done} of {total} steps done, "
                    f"{markers} step markers out, input sample {sample} event {position}")
            # half a period after a rising edge: registers hold what that edge stored
            await FallingEdge(dut.clk)
            for (pv, pp), recs in zip(self.probes, records, strict=True):
                if pv.value:
                    recs.append(_record(_u(pp)))
            done = _u(dut.steps)
            if done != last_steps:
                step_cycles.append(_u(dut.step_cycles))
                last_steps = done
            # inputs for the next rising edge
            clear = 0
            sample_sent = position == len(samples[sample]) and sample + 1 < batch
            if sample_sent and done == (sample + 1) * steps and dut.idle.value:
                clear = 1  # zero the state for the next sample
                sample, position = sample + 1, 0
            valid = not clear and position < len(samples[sample])
            dut.clear.value = clear
            dut.i_events__valid.value = int(valid)
            dut.i_events__payload.value = samples[sample][position] if valid else 0
            ready_out = gap == 0
            dut.o_events__ready.value = int(ready_out)
            gap = max(0, gap - 1)
            # let combinational paths settle, then see which transfers the next edge makes
            await Timer(SETTLE_NS, unit="ns")
            if valid and dut.i_events__ready.value:
                position += 1
            if ready_out and dut.o_events__valid.value:
                payload = _u(dut.o_events__payload)
                if payload & MARKER:
                    markers += 1
                    out_step += 1
                else:
                    outputs.append((out_step, payload & 0xFFFF))
                gap = consumer_gap
        await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)
        counters = {name: _u_named(dut, name) for name in COUNTERS}
        return records, outputs, step_cycles, counters


@cocotb.test()
async def network_matches_stimulus(dut):
    """Drive the stimulus and record everything; the pytest side compares with the reference."""
    folder = Path(os.environ["SPIKEFORGE_COSIM_DIR"])
    stimulus = np.load(folder / "stimulus.npz")
    x = stimulus["x"]
    tb = NetworkTB(dut, int(stimulus["n_ports"]))
    await tb.reset()
    records, outputs, step_cycles, counters = await tb.run(
        x, int(stimulus["consumer_gap"]), int(stimulus["max_cycles"]))
    arrays = {f"records{k}": np.asarray(r, np.int64).reshape(-1, 5) for k, r in enumerate(records)}
    np.savez(folder / "raw.npz", outputs=np.asarray(outputs, np.int64).reshape(-1, 2),
             step_cycles=np.asarray(step_cycles, np.int64),
             counter_names=np.array(COUNTERS), counter_values=np.array(
                 [counters[n] for n in COUNTERS], np.int64), **arrays)
