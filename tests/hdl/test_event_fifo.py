# amaranth: UnusedElaboratable=no
"""The interleaved event FIFO (the ECP5's, :class:`~spikeforge.hdl.event_fifo.EventFIFO` with
``banks > 1``) against the one-memory FIFO that ``tests/formal`` proves equal to the FIFO the
schedules were measured with: both fed the same producer and consumer in one simulation, every
cycle's ``w.ready``, ``r.valid`` and ``level`` equal, and ``r.payload`` whenever it is valid.

The formal proofs cover every behaviour of the first cycles of small FIFOs; these runs cover the
core's real depths for thousands of cycles, filling, draining and wrapping them many times.
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator
from spikeforge.hdl.event_fifo import BANKS, EventFIFO, lut_ram_banks
from spikeforge.hdl.events import EventLayout


def _lockstep(depth, banks, cycles, seed):
    rng = np.random.default_rng(seed)
    m = Module()
    dut = m.submodules.dut = EventFIFO(depth, banks=banks)
    ref = m.submodules.ref = EventFIFO(depth, banks=1)
    seen = {"given": 0, "full": 0}

    async def bench(ctx):
        word = 0
        for cycle in range(cycles):
            # phases of a few dozen cycles: bursts that fill the FIFO, stalls that drain it
            phase = (cycle // (3 * depth // 2 + 7)) % 4
            valid = rng.random() < (0.9, 0.2, 0.6, 1.0)[phase]
            ready = rng.random() < (0.2, 0.9, 0.6, 1.0)[phase]
            for fifo in (dut, ref):
                ctx.set(fifo.w.valid, valid)
                ctx.set(fifo.w.payload.as_value(), word)
                ctx.set(fifo.r.ready, ready)
            assert ctx.get(dut.w.ready) == ctx.get(ref.w.ready), cycle
            assert ctx.get(dut.r.valid) == ctx.get(ref.r.valid), cycle
            assert ctx.get(dut.level) == ctx.get(ref.level), cycle
            if ctx.get(ref.r.valid):
                assert (ctx.get(dut.r.payload.as_value())
                        == ctx.get(ref.r.payload.as_value())), cycle
                seen["given"] += ready
            seen["full"] += ctx.get(ref.level) == depth + 1
            if valid and ctx.get(ref.w.ready):
                word = (word + 1 + int(rng.integers(0, 7))) % (1 << EventLayout.size)
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return seen


@pytest.mark.parametrize("depth,banks", [(4, 2), (5, 2), (8, 4), (9, 4), (13, 4), (22, 8),
                                         (258, 4)])
def test_an_interleaved_fifo_behaves_as_the_one_memory_fifo(depth, banks):
    seen = _lockstep(depth, banks, cycles=max(3000, 24 * depth), seed=depth)
    # the runs filled the FIFO and moved many times its depth through it
    assert seen["full"] > 0 and seen["given"] > 4 * depth


class _ECP5:
    family = "ecp5"
    lut_ram_words = 384


def test_the_ecp5_interleaves_the_fifos_it_keeps_in_lut_ram():
    assert lut_ram_banks(_ECP5, 258) == BANKS
    assert lut_ram_banks(_ECP5, 385) == 1        # a block RAM: read through its register
    assert lut_ram_banks(_ECP5, 64) == 1         # a read multiplexer one level deep
    assert lut_ram_banks(None, 258) == 1         # simulation: one memory


@pytest.mark.parametrize("banks", [0, 3, 8])
def test_a_bank_count_the_fifo_cannot_interleave_over_is_refused(banks):
    with pytest.raises(ValueError, match="interleaves over 1 bank or a power of two"):
        EventFIFO(10, banks=banks)
