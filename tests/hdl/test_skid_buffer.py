"""The stream register slice: order kept, nothing lost or duplicated, full rate when unblocked."""

import numpy as np
import pytest
from amaranth.sim import Simulator
from spikeforge.hdl.skid_buffer import SkidBuffer


def run_stream(dut, valid_prob, ready_prob, words=300, seed=0):
    """A random producer on ``dut.i`` and a random consumer on ``dut.o``: the words sent, the
    words received, and for each cycle whether ``i.ready`` followed ``o.ready`` within it (it
    must not where ``i.ready`` is a register)."""
    rng = np.random.default_rng(seed)
    sent, received, ready_moved = [], [], []

    async def bench(ctx):
        nxt = 0
        for _ in range(4 * words + 50):
            offer = nxt < words and rng.random() < valid_prob
            ctx.set(dut.i.valid, offer)
            ctx.set(dut.i.payload, nxt)
            take = rng.random() < ready_prob
            ctx.set(dut.o.ready, not take)
            before = ctx.get(dut.i.ready)
            ctx.set(dut.o.ready, take)
            ready_moved.append(before != ctx.get(dut.i.ready))
            if offer and ctx.get(dut.i.ready):
                sent.append(nxt)
                nxt += 1
            if take and ctx.get(dut.o.valid):
                received.append(ctx.get(dut.o.payload))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return sent, received, ready_moved


@pytest.mark.parametrize("valid_prob,ready_prob", [(1.0, 1.0), (1.0, 0.3), (0.4, 1.0),
                                                   (0.7, 0.6)])
def test_every_word_once_in_order(valid_prob, ready_prob):
    sent, received, ready_moved = run_stream(SkidBuffer(16), valid_prob, ready_prob)
    assert len(sent) > 100
    assert received == sent
    assert not any(ready_moved)  # i.ready is a register


def test_full_rate_when_never_blocked():
    """A word enters and leaves in every cycle (after one cycle of latency)."""
    sent, received, _ = run_stream(SkidBuffer(16), 1.0, 1.0, words=300)
    assert len(sent) == 300 and received == sent
