# amaranth: UnusedElaboratable=no
"""The counter bank (``hdl/counter_bank.py``): every read equals the sum of the counter's
increments before its slot began, under increments at their maxima every cycle and reads back
to back (the pending registers' worst case), and every counter at the end."""

import numpy as np
import pytest
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator
from spikeforge.hdl.counter_bank import CounterBank


class _DirtyBank(CounterBank):
    """A bank whose RAM powers up holding garbage, as SPRAM may: its clearing round must
    make every word 0 before a count lands in it."""

    def _storage(self, m, address, write, w_data, r_data):
        rng = np.random.default_rng(9)
        mem = m.submodules.words = Memory(
            shape=32, depth=len(self.maxima),
            init=[int(v) for v in rng.integers(0, 1 << 32, len(self.maxima))])
        wr, rd = mem.write_port(), mem.read_port()
        m.d.comb += [wr.addr.eq(address), wr.data.eq(w_data), wr.en.eq(write),
                     rd.addr.eq(address), r_data.eq(rd.data)]


def _simulate(maxima, cycles, read_every, seed, full=False, bank=CounterBank, storage="memory"):
    dut = bank(maxima, storage=storage)
    rng = np.random.default_rng(seed)
    n = len(maxima)
    checked = []

    async def bench(ctx):
        sums = np.zeros(n, dtype=np.int64)
        prefix = []  # sums before each cycle
        reading = held = None
        for t in range(cycles):
            prefix.append(sums.copy())
            step = (np.array(maxima) if full
                    else rng.integers(0, np.array(maxima) + 1))
            for c, increment in enumerate(dut.increments):
                ctx.set(increment, int(step[c]))
            sums += step
            busy = ctx.get(dut.busy)
            if held is not None:  # the value holds a cycle after busy fell
                assert ctx.get(dut.value) == held, (t, reading)
                held = None
            if reading is not None and not busy:
                # the slot that served the read began four cycles before busy fell
                held = ctx.get(dut.value)
                assert held == prefix[t - 4][reading] % (1 << 32), (t, reading)
                checked.append(reading)
                reading = None
            if reading is None and not busy and t % read_every == 0:
                reading = int(rng.integers(0, n))
                ctx.set(dut.read, 1)
                ctx.set(dut.addr, reading)
            else:
                ctx.set(dut.read, 0)
            await ctx.tick()
        for increment in dut.increments:
            ctx.set(increment, 0)
        ctx.set(dut.read, 0)
        while ctx.get(dut.busy):
            await ctx.tick()
        for c in range(n):  # nothing moves any more: every counter equals its total
            ctx.set(dut.read, 1)
            ctx.set(dut.addr, c)
            await ctx.tick()
            ctx.set(dut.read, 0)
            while ctx.get(dut.busy):
                await ctx.tick()
            assert ctx.get(dut.value) == sums[c] % (1 << 32)
            await ctx.tick()
            assert ctx.get(dut.value) == sums[c] % (1 << 32)
            checked.append(c)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return checked


# "spram": the word read goes into the adder without a register of its own (simulated in
# memories of the same one-cycle read latency as the UP5K's SPRAMs)
@pytest.mark.parametrize("storage", ["memory", "spram"])
@pytest.mark.parametrize(("maxima", "read_every", "full"), [
    ((1,) * 10, 1, True),  # reads back to back, every counter at its maximum every cycle
    ((1, 8, 6, 1, 1, 3, 1, 1, 1, 1), 1, True),
    ((1, 8, 6, 1, 1, 3, 1, 1, 1, 1), 7, False),
    ((3, 1), 1, True),
    ((255, 200), 1, True),  # past 2^16 several times: the carry between the sum's halves
])
def test_reads_equal_the_increments_before_their_slot(maxima, read_every, full, storage):
    checked = _simulate(maxima, 1500, read_every, seed=len(maxima) + read_every, full=full,
                        storage=storage)
    assert len(checked) > 100 // read_every
    assert set(checked) == set(range(len(maxima)))


@pytest.mark.parametrize("storage", ["memory", "spram"])
def test_a_ram_that_powers_up_dirty_is_cleared_first(storage):
    checked = _simulate((1, 2, 1, 1), 600, 1, seed=4, full=True, bank=_DirtyBank, storage=storage)
    assert set(checked) == {0, 1, 2, 3}


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive integers"):
        CounterBank((1, 0))
    with pytest.raises(ValueError, match="'memory' or 'spram'"):
        CounterBank((1,), storage="flops")
