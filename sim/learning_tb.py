"""cocotb testbench of a :class:`~spikeforge.hdl.learning_core.LearningCore` in Verilog.

Run by :func:`spikeforge.sim.learning_cocotb.cosimulate_learning`. It reads
``$SPIKEFORGE_COSIM_DIR/stimulus.npz`` (the command words of every trial, the number of weight
words to read back per learning layer and lane, after which trials to read them, whether to
record the learning probes), streams
the commands, and after every trial reads the output counts and the learning layers' weights
through the host port. Inputs are driven and outputs read on the falling clock edge, as in
:mod:`spikeforge.sim.cocotb_network_tb`. Without probes the testbench sleeps on ``i_cmd.ready``
instead of stepping every cycle, which makes long learning runs fast.
"""

import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from ..hdl.learning_events import LearnProbeLayout
from .cocotb_clock import SETTLE_NS, start


def _record(payload):
    """``(row, neuron, p, q, ebar, a, g)`` of a raw
    :data:`~spikeforge.hdl.learning_events.LearnProbeLayout` payload."""
    r = LearnProbeLayout.from_bits(payload)
    return r.row, r.neuron, r.p, r.q, r.ebar, r.a, r.g


class LearningTB:
    def __init__(self, dut, units, traces):
        self.dut = dut
        self.traces = traces
        self.probes = [(getattr(dut, f"lprobe__{k}__valid"), getattr(dut, f"lprobe__{k}__payload"))
                       for k in range(units)] if traces else []
        self.records = [[] for _ in range(units)]

    async def reset(self):
        await start(self.dut, {"i_cmd__valid": 0, "i_cmd__payload": 0, "r_layer": 0, "r_lane": 0,
                               "r_addr": 0})

    def sample(self):
        for (valid, payload), recs in zip(self.probes, self.records, strict=False):
            if valid.value:
                recs.append(_record(payload.value.to_unsigned()))

    async def cycle(self):
        await FallingEdge(self.dut.clk)
        self.sample()

    async def send(self, word):
        """Transfer one command word (we are just after a falling edge)."""
        dut = self.dut
        dut.i_cmd__payload.value = word
        dut.i_cmd__valid.value = 1
        while True:
            await Timer(SETTLE_NS, unit="ns")
            if dut.i_cmd__ready.value:
                break
            if self.traces:
                await self.cycle()
            else:
                await RisingEdge(dut.i_cmd__ready)
                await FallingEdge(dut.clk)
        await self.cycle()  # the rising edge in between took the word
        dut.i_cmd__valid.value = 0

    async def wait_trials(self, count):
        dut = self.dut
        while not (dut.idle.value and dut.trials.value.to_unsigned() == count):
            await self.cycle()

    async def read_weights(self, layer, lanes, words):
        dut = self.dut
        dut.r_layer.value = layer
        values = []
        for lane in range(lanes):
            dut.r_lane.value = lane
            for addr in range(words):
                dut.r_addr.value = addr
                for _ in range(2):  # a weight comes two cycles after its address
                    await FallingEdge(dut.clk)
                values.append(dut.r_weight.value.to_signed())
        return values


@cocotb.test()
async def learning_matches_stimulus(dut):
    folder = Path(os.environ["SPIKEFORGE_COSIM_DIR"])
    stim = np.load(folder / "stimulus.npz")
    words, bounds = stim["words"], stim["bounds"]
    layers, lanes, depth = stim["layers"], int(stim["lanes"]), stim["depth"]
    n_out, traces = int(stim["n_out"]), bool(stim["traces"])
    readback = stim["readback"]
    tb = LearningTB(dut, len(layers), traces)
    await tb.reset()
    counts, weights, records = [], [], []
    for trial in range(len(bounds) - 1):
        for word in words[bounds[trial]:bounds[trial + 1]]:
            await tb.send(int(word))
        await tb.wait_trials(trial + 1)
        flat = dut.counts.value.to_unsigned()
        counts.append([(flat >> (16 * k)) & 0xFFFF for k in range(n_out)])
        for layer, words_per_lane in zip(layers, depth, strict=True):
            if readback[trial]:
                weights.append(await tb.read_weights(int(layer), lanes, int(words_per_lane)))
            else:
                weights.append([])
        if traces:
            for recs in tb.records:
                records.append(np.asarray(recs, np.int64).reshape(-1, 7))
                recs.clear()
    arrays = {f"records{k}": r for k, r in enumerate(records)}
    arrays.update({f"weights{k}": np.asarray(w, np.int64) for k, w in enumerate(weights)})
    np.savez(folder / "raw.npz", counts=np.asarray(counts, np.int64), **arrays)
