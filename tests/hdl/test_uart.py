"""The UART in Amaranth's simulator: transmitter into receiver, every byte value, and a framing
error for a stop bit held low (the link's CRC: ``tests/link/test_crc.py``)."""

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

