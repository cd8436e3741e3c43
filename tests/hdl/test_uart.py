"""The UART in Amaranth's simulator: transmitter into receiver, every byte value, and a framing
error for a stop bit held low (the link's CRC: ``tests/link/test_crc.py``)."""

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator
from spikeforge.hdl.uart import UARTReceiver, UARTTransmitter

DIVISOR = 4


def test_loopback_every_byte():
    m = Module()
    tx = m.submodules.tx = UARTTransmitter(divisor=DIVISOR)
    rx = m.submodules.rx = UARTReceiver(divisor=DIVISOR)
    m.d.comb += rx.rx.eq(tx.tx)
    sent, got = list(range(256)), []

    async def driver(ctx):
        for byte in sent:
            ctx.set(tx.i.payload, byte)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
            await ctx.tick()
        ctx.set(tx.i.valid, 0)

    async def monitor(ctx):
        while len(got) < len(sent):
            await ctx.tick()
            if ctx.get(rx.valid):
                got.append(ctx.get(rx.data))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(driver)
    sim.add_testbench(monitor)
    sim.run_until(len(sent) * 12 * DIVISOR * 1e-6 + 1e-4)
    assert got == sent


def test_low_stop_bit_is_a_framing_error():
    rx = UARTReceiver(divisor=DIVISOR)
    errors, bytes_ = [], []

    async def bench(ctx):
        for bit in [0] + [1, 0, 1, 0, 1, 0, 1, 0] + [0] + [1] * 4:  # stop bit low
            ctx.set(rx.rx, bit)
            for _ in range(DIVISOR):
                await ctx.tick()
                errors.append(ctx.get(rx.framing_error))
                bytes_.append(ctx.get(rx.valid))

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert sum(errors) == 1 and sum(bytes_) == 0




@pytest.mark.parametrize("divisor", [4, 5, 7])
def test_transmitter_line_cycle_by_cycle(divisor):
    """Bytes offered back to back: each is taken in a cycle with ``ready`` high, then the line
    holds the start bit, the eight data bits (LSB first) and the stop bit for ``divisor``
    cycles each, and ``ready`` is low until the stop bit's last cycle has passed."""
    tx = UARTTransmitter(divisor=divisor)
    sent, line, ready = [0xA5, 0x00, 0xFF, 0x3C], [], []

    async def sample(ctx):
        """Record the line and ``ready`` of this cycle, then let it pass."""
        line.append(ctx.get(tx.tx))
        ready.append(ctx.get(tx.i.ready))
        await ctx.tick()

    async def bench(ctx):
        ctx.set(tx.i.valid, 1)
        for byte in sent:
            ctx.set(tx.i.payload, byte)
            await sample(ctx)
            while not ready[-1]:
                await sample(ctx)
        ctx.set(tx.i.valid, 0)
        for _ in range(10 * divisor + 2):
            await sample(ctx)

    sim = Simulator(tx)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    frame = lambda byte: [0] + [(byte >> k) & 1 for k in range(8)] + [1]  # noqa: E731
    # a cycle idle (the byte is taken), then its frame, per byte; idle after the last
    want_line = [1] + [bit for byte in sent
                       for bit in [*(b for b in frame(byte) for _ in range(divisor)), 1]] + [1]
    want_ready = [1] + [flag for _ in sent for flag in [0] * (10 * divisor) + [1]] + [1]
    assert line == want_line
    assert ready == want_ready
