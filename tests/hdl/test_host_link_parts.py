"""The host link's parts, each alone in Amaranth's simulator (the whole link runs in the
co-simulated board tests, ``tests/boards`` and ``tests/host``): the payload reader, the response
serializer, the output buffer and the ``LEARN`` decoder, against plain Python models."""

import numpy as np
import pytest
from amaranth.sim import Simulator
from spikeforge.hdl.learn_decoder import LearnWordDecoder
from spikeforge.hdl.learning_events import LearningCommand
from spikeforge.hdl.output_buffer import OutputBuffer
from spikeforge.hdl.payload_reader import PayloadReader
from spikeforge.hdl.response_serializer import ResponseSerializer
from spikeforge.link.protocol import (
    EVENT_MARKER,
    LEARN_TARGET,
    LEARN_TRIAL_FREEZE,
    LEARN_TRIAL_LEARN,
    crc16,
)


def _run(dut, bench, clock=True):
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("size, start", [(1, 0), (2, 0), (4, 4), (2, 3)])
def test_payload_reader_assembles_little_endian_words(size, start):
    """Words of ``size`` bytes from byte ``start`` of a buffer with one cycle of read latency
    and an output register the reader loads, each consumed with ``take``; a ``restart`` reads
    them all again; ``full`` is high exactly when ``count`` equals ``size``."""
    payload = np.random.default_rng(size).integers(0, 256, 40).tolist()
    dut = PayloadReader()
    words = []

    async def bench(ctx):
        async def memory():
            # the frame buffer's output register: loaded with ``r_load`` from the byte at the
            # address of the cycle before (``addr`` only moves after a byte is loaded)
            load, addr = ctx.get(dut.r_load), ctx.get(dut.addr)
            await ctx.tick()
            if load:
                ctx.set(dut.r_data, payload[addr])

        ctx.set(dut.size, size)  # ``full`` follows a new size one cycle late
        for _ in range(2):
            ctx.set(dut.restart, 1)
            ctx.set(dut.start, start)
            await ctx.tick()
            ctx.set(dut.restart, 0)
            for _ in range(3):
                while ctx.get(dut.count) != size:
                    assert not ctx.get(dut.full)
                    ctx.set(dut.want, 1)
                    await memory()
                assert ctx.get(dut.full)  # count == size, from a register
                ctx.set(dut.want, 0)
                words.append(ctx.get(dut.word) >> (32 - 8 * size))
                ctx.set(dut.take, 1)
                await ctx.tick()
                ctx.set(dut.take, 0)
                assert ctx.get(dut.count) == 0

    _run(dut, bench)
    expected = [int.from_bytes(bytes(payload[start + size * k:start + size * (k + 1)]), "little")
                for k in range(3)]
    assert words == expected * 2


def test_response_serializer_sends_pieces_and_their_crc():
    """A frame of a 6-byte header (``SYNC`` first) and items of 13, 4 and 1 bytes, with a
    stalling receiver: the serializer pulls each piece's bytes one at a time (byte ``index`` of
    the piece from ``data``, which here follows ``index`` a cycle late, as the executor's
    registered selection does), the bytes go out in order, then the CRC of all but ``SYNC``,
    little-endian; a second frame starts its CRC afresh."""
    rng = np.random.default_rng(2)
    dut = ResponseSerializer()
    frames = []

    async def bench(ctx):
        for _ in range(2):
            pieces = [bytes([0xA5]) + rng.integers(0, 256, 5).astype(np.uint8).tobytes()]
            pieces += [rng.integers(0, 256, n).astype(np.uint8).tobytes() for n in (13, 4, 1)]
            sent = bytearray()
            for index, piece in enumerate([*pieces, None]):
                assert ctx.get(dut.empty)
                if piece is None:
                    ctx.set(dut.finish, 1)
                else:
                    ctx.set(dut.load, 1)
                    ctx.set(dut.begin, index == 0)
                    ctx.set(dut.size, len(piece))
                await ctx.tick()
                ctx.set(dut.load, 0)
                ctx.set(dut.begin, 0)
                ctx.set(dut.finish, 0)
                shown = None  # the index the data shows: the cycle before's
                while not ctx.get(dut.empty):
                    # the executor shows byte ``index`` of the piece as of the cycle before
                    # (garbage past its end, and just after a new piece was loaded)
                    ctx.set(dut.data, piece[shown] if piece and shown is not None
                            and shown < len(piece) else 0x5A)
                    shown = ctx.get(dut.index)
                    ready = rng.random() < 0.6
                    ctx.set(dut.tx.ready, ready)
                    if ready and ctx.get(dut.tx.valid):
                        sent.append(ctx.get(dut.tx.payload))
                    await ctx.tick()
                ctx.set(dut.tx.ready, 0)
            frames.append((b"".join(pieces), bytes(sent)))

    _run(dut, bench)
    for body, sent in frames:
        assert sent == body + crc16(body[1:]).to_bytes(2, "little")


def test_output_buffer_is_a_fifo_that_backpressures_and_flushes():
    """Events pushed while the buffer is free, refused (``ready`` low) while it is full or
    owned, dropped under ``flush``; pops return them in order (markers as 0xFFFF); ``clear``
    empties it."""
    depth = 5
    dut = OutputBuffer(depth)
    rng = np.random.default_rng(3)

    async def bench(ctx):
        async def offer(addr, marker=False, flush=False):
            ctx.set(dut.events.payload.addr, addr)
            ctx.set(dut.events.payload.marker, marker)
            ctx.set(dut.events.valid, 1)
            ctx.set(dut.flush, flush)
            ready = ctx.get(dut.events.ready)
            await ctx.tick()
            ctx.set(dut.events.valid, 0)
            ctx.set(dut.flush, 0)
            return ready

        async def pop():
            ctx.set(dut.owned, 1)
            await ctx.tick()  # the RAM reads the word at head
            ctx.set(dut.load, 1)
            await ctx.tick()  # into the output register
            ctx.set(dut.load, 0)
            word = ctx.get(dut.data)
            ctx.set(dut.pop, 1)
            await ctx.tick()
            ctx.set(dut.pop, 0)
            ctx.set(dut.owned, 0)
            return word

        model = []
        for _ in range(60):
            if rng.random() < 0.55:
                addr, marker = int(rng.integers(0, 300)), bool(rng.random() < 0.2)
                taken = await offer(addr, marker)
                assert taken == (len(model) < depth)
                if taken:
                    model.append(EVENT_MARKER if marker else addr)
            elif model:
                assert await pop() == model.pop(0)
            assert ctx.get(dut.level) == len(model)
            assert ctx.get(dut.full) == (len(model) == depth)
        ctx.set(dut.owned, 1)  # owned: nothing is taken
        assert not ctx.get(dut.events.ready)
        ctx.set(dut.owned, 0)
        while len(model) < depth:
            assert await offer(7)
            model.append(7)
        assert await offer(9, flush=True)  # full, but flushed: taken and dropped
        assert ctx.get(dut.level) == depth
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        assert ctx.get(dut.level) == 0 and not ctx.get(dut.full)
        assert await offer(11)
        assert await pop() == 11

    _run(dut, bench)


def test_learn_decoder_maps_every_kind_of_word():
    n_in, n_out = 10, 3
    dut = LearnWordDecoder(n_in=n_in, n_out=n_out)
    cases = {
        0: (LearningCommand.INPUT, 0, False, True),
        9: (LearningCommand.INPUT, 9, False, True),
        10: (LearningCommand.INPUT, 10, False, False),  # no such input
        EVENT_MARKER: (LearningCommand.STEP, 0, False, True),
        LEARN_TRIAL_LEARN: (LearningCommand.END, 1, True, True),
        LEARN_TRIAL_FREEZE: (LearningCommand.END, 0, True, True),
        LEARN_TARGET | 2: (LearningCommand.TARGET, 2, False, True),
        LEARN_TARGET | 3: (LearningCommand.TARGET, 3, False, False),  # no such output
        0x7FFF: (LearningCommand.INPUT, 0x7FFF, False, False),
    }

    async def bench(ctx):
        for word, (kind, addr, trial_end, in_range) in cases.items():
            ctx.set(dut.word, word)
            got = (ctx.get(dut.command.kind), ctx.get(dut.command.addr),
                   bool(ctx.get(dut.trial_end)), bool(ctx.get(dut.in_range)))
            assert got == (kind, addr, trial_end, in_range), hex(word)

    _run(dut, bench, clock=False)
