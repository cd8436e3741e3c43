"""The ready slice: order kept, nothing lost, ``i.ready`` a register, and behind an event FIFO
the consumer sees the same words in the same cycles as without it (the core's schedule)."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from spikeforge.hdl.event_fifo import EventFIFO
from spikeforge.hdl.ready_slice import ReadySlice


def _run_alone(valid_prob, ready_prob, words=300, seed=0):
    rng = np.random.default_rng(seed)
    dut = ReadySlice(16)
    sent, received, ready_moved = [], [], []

    async def bench(ctx):
        nxt = 0
        for _ in range(4 * words + 50):
            offer = nxt < words and rng.random() < valid_prob
            ctx.set(dut.i.valid, offer)
            ctx.set(dut.i.payload, nxt)
            take = rng.random() < ready_prob
            # i.ready is a register: the consumer's ready does not reach it in the same cycle
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
    sent, received, ready_moved = _run_alone(valid_prob, ready_prob)
    assert len(sent) > 100
    assert received == sent
    assert not any(ready_moved)


def _consumer_view(sliced, write_prob, ready_prob, cycles=600, seed=0):
    """Per cycle, whether the producer's word went in and what a consumer behind an event FIFO
    (and the slice) sees: ``(accepted, valid, payload)``, the producer's ``valid`` and the
    consumer's ``ready`` drawn independently of the words."""
    rng = np.random.default_rng(seed)
    writes, readies = rng.random(cycles) < write_prob, rng.random(cycles) < ready_prob
    m = Module()
    fifo = m.submodules.fifo = EventFIFO(256, 16)
    out = fifo.r
    if sliced:
        ready = m.submodules.ready = ReadySlice(16)
        wiring.connect(m, fifo.r, ready.i)
        out = ready.o
    view = []

    async def bench(ctx):
        nxt = 0
        for cycle in range(cycles):
            ctx.set(fifo.w.valid, bool(writes[cycle]))
            ctx.set(fifo.w.payload, nxt)
            ctx.set(out.ready, bool(readies[cycle]))
            accepted = bool(writes[cycle]) and bool(ctx.get(fifo.w.ready))
            nxt += accepted
            valid = ctx.get(out.valid)
            view.append((accepted, valid, ctx.get(out.payload) if valid else None))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return view


@pytest.mark.parametrize("write_prob,ready_prob,seed", [(0.9, 1.0, 1), (0.5, 0.6, 2),
                                                        (0.3, 0.9, 3), (0.4, 0.45, 4)])
def test_behind_an_event_fifo_the_consumer_sees_the_same_cycles(write_prob, ready_prob, seed):
    plain = _consumer_view(False, write_prob, ready_prob, seed=seed)
    sliced = _consumer_view(True, write_prob, ready_prob, seed=seed)
    assert sum(valid for _, valid, _ in plain) > 100
    assert sliced == plain
