"""The ready slice: order kept, nothing lost, ``i.ready`` a register, and behind an event FIFO
the consumer sees the same words in the same cycles as without it (the core's schedule)."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from spikeforge.hdl.event_fifo import EventFIFO
from spikeforge.hdl.ready_slice import ReadySlice

from .test_skid_buffer import run_stream


@pytest.mark.parametrize("valid_prob,ready_prob", [(1.0, 1.0), (1.0, 0.3), (0.4, 1.0),
                                                   (0.7, 0.6)])
def test_every_word_once_in_order(valid_prob, ready_prob):
    sent, received, ready_moved = run_stream(ReadySlice(16), valid_prob, ready_prob)
    assert len(sent) > 100
    assert received == sent
    assert not any(ready_moved)  # i.ready is a register


@pytest.mark.parametrize("write_prob,ready_prob,seed", [(0.9, 1.0, 1), (0.5, 0.6, 2),
                                                        (0.3, 0.9, 3), (0.4, 0.45, 4)])
def test_behind_an_event_fifo_the_consumer_sees_the_same_cycles(write_prob, ready_prob, seed):
    """Two event FIFOs in one simulation, one read through the slice, the same producer's
    ``valid`` and consumer's ``ready`` on both (drawn independently of the words): every
    cycle the same ``w.ready`` and ``valid``, and the same word whenever one is offered."""
    rng = np.random.default_rng(seed)
    m = Module()
    plain = m.submodules.plain = EventFIFO(256, 16)
    sliced = m.submodules.sliced = EventFIFO(256, 16)
    ready = m.submodules.ready = ReadySlice(16)
    wiring.connect(m, sliced.r, ready.i)
    outputs = {plain: plain.r, sliced: ready.o}
    offered = 0

    async def bench(ctx):
        nonlocal offered
        nxt = 0
        for cycle in range(600):
            write, take = bool(rng.random() < write_prob), bool(rng.random() < ready_prob)
            for fifo, out in outputs.items():
                ctx.set(fifo.w.valid, write)
                ctx.set(fifo.w.payload, nxt)
                ctx.set(out.ready, take)
            assert ctx.get(sliced.w.ready) == ctx.get(plain.w.ready), cycle
            assert ctx.get(ready.o.valid) == ctx.get(plain.r.valid), cycle
            if ctx.get(plain.r.valid):
                assert ctx.get(ready.o.payload) == ctx.get(plain.r.payload), cycle
                offered += 1
            nxt += write and bool(ctx.get(plain.w.ready))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert offered > 100
