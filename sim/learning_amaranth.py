"""Run a :class:`~spikeforge.hdl.learning_core.LearningCore` in Amaranth's simulator.

``simulate_learning`` streams the commands of every trial, records the learning probe of every
unit (``traces=True``), and after each trial reads the learning layers' weights back through the
host port and the trial's output counts, in the shape
:func:`~spikeforge.sim.learning_compare.compare_learning` expects.
"""

import numpy as np
from amaranth.sim import Simulator

from ..hdl.learning_core import LearningCore
from ..link.memory_layout import lane_depth
from ..model.learning import rows_of
from .learning_compare import lane_words_to_rows, records_to_traces, trial_commands

__all__ = ["simulate_learning"]


def simulate_learning(network, config, spikes, targets, learn, *, lanes=1, traces=True):
    """Run the trials ``spikes`` (batch, T, n_in) with ``targets`` (batch, T, n_out) and per-trial
    ``learn`` flags on the simulated device; return one dict per trial."""
    x = np.asarray(spikes)
    dut = LearningCore(network, config, lanes=lanes, probe=traces)
    units = dut.units
    results = []
    records = [[] for _ in units]

    async def drive(ctx):
        for b in range(x.shape[0]):
            for word in trial_commands(x[b], targets[b], learn[b]):
                ctx.set(dut.i_cmd.payload.as_value(), word)
                ctx.set(dut.i_cmd.valid, 1)
                await ctx.tick().until(dut.i_cmd.ready)
            ctx.set(dut.i_cmd.valid, 0)
            await ctx.tick().until(dut.idle & (dut.trials == b + 1))
            result = {"counts": np.asarray([ctx.get(dut.counts[k])
                                            for k in range(network.n_out)], np.int64),
                      "weights": {}}
            for index in config.layers:
                layer = network.layers[index]
                words = []
                ctx.set(dut.r_layer, index)
                for lane in range(lanes):
                    ctx.set(dut.r_lane, lane)
                    for addr in range(lane_depth(layer, lanes)):
                        ctx.set(dut.r_addr, addr)
                        await ctx.tick().repeat(2)  # two cycles after the address
                        words.append(ctx.get(dut.r_weight))
                rows = lane_words_to_rows(layer, lanes, words)
                result["weights"][index] = rows[:, :rows_of(layer, config)]
            if traces:
                result["traces"] = {}
                for k, unit in enumerate(units):
                    layer = network.layers[unit.index]
                    result["traces"][unit.index] = records_to_traces(
                        records[k], layer.params.n, unit.rows)
                    records[k].clear()
            results.append(result)

    async def monitor(ctx):
        signals = []
        for k in range(len(units)):
            signals += [dut.lprobe[k].valid, dut.lprobe[k].payload]
        async for _, _, *values in ctx.tick().sample(*signals):
            for k in range(len(units)):
                if values[2 * k]:
                    r = values[2 * k + 1]
                    records[k].append((r.row, r.neuron, r.p, r.q, r.ebar, r.a, r.g))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    if traces:
        sim.add_testbench(monitor, background=True)
    sim.run()
    return results
