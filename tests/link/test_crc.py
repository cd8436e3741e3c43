"""The frames' CRC is one function in three places: the host's :func:`crc16`, Amaranth's
software model of the catalogue's CRC-16/CCITT-FALSE, and the :class:`amaranth.lib.crc.Processor`
that the gateware (frame receiver, response serializer) instantiates, simulated byte by byte."""

import numpy as np
from amaranth.lib import crc
from amaranth.sim import Simulator
from spikeforge.link.protocol import CRC_ALGORITHM, CRC_INIT, CRC_POLY, crc16, crc16_update


def test_the_algorithm_is_ccitt_false_as_the_protocol_writes_it():
    assert (CRC_ALGORITHM.crc_width, CRC_ALGORITHM.polynomial, CRC_ALGORITHM.initial_crc,
            CRC_ALGORITHM.reflect_input, CRC_ALGORITHM.reflect_output,
            CRC_ALGORITHM.xor_output) == (16, 0x1021, 0xFFFF, False, False, 0)
    assert (CRC_POLY, CRC_INIT) == (0x1021, 0xFFFF)
    assert crc16(b"123456789") == 0x29B1 == CRC_ALGORITHM(data_width=8).compute(b"123456789")
    assert crc16(b"") == 0xFFFF


def test_host_crc_equals_amaranth_software_model():
    rng = np.random.default_rng(0)
    model = CRC_ALGORITHM(data_width=8)
    for size in (1, 2, 7, 64, 515):
        data = rng.integers(0, 256, size).astype(np.uint8).tobytes()
        assert crc16(data) == model.compute(data)


def test_the_gateware_processor_equals_the_host_crc_byte_by_byte():
    """Random frames, restarted with ``start`` (alone, or with the first byte), bytes with gaps:
    after every byte the register equals :func:`crc16_update` of the host."""
    dut = crc.Processor(CRC_ALGORITHM(data_width=8))
    rng = np.random.default_rng(1)
    checked = []

    async def bench(ctx):
        expected = CRC_INIT
        for _ in range(400):
            start = rng.random() < 0.05
            valid = rng.random() < 0.7
            byte = int(rng.integers(0, 256))
            ctx.set(dut.start, start)
            ctx.set(dut.valid, valid)
            ctx.set(dut.data, byte)
            await ctx.tick()
            base = CRC_INIT if start else expected
            expected = crc16_update(base, byte) if valid else base
            assert ctx.get(dut.crc) == expected
            checked.append(valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert sum(checked) > 200
