r"""The host link's response serializer: a frame's pieces out as bytes, with their CRC.

The executor starts a piece of up to :data:`~spikeforge.link.protocol.STATE_RECORD_BYTES` bytes
(the header, then each item of the response) when the serializer is ``empty``. The serializer
does not hold the piece: it *pulls* its bytes one at a time, showing on ``index`` how many it
has taken and reading byte ``index`` of the piece from ``data`` (the executor selects it from
the registers that hold the item). Only the byte on its way to ``tx`` is stored here, so a
13-byte state record is not copied into a 104-bit shift register. ``data`` is read a cycle
after ``index`` last moved, so the executor may select it through a register (its byte
selection is wide: a state record's 13 bytes, a word's 4, the header's).

Bytes go out on ``tx`` least significant first, and every byte after the frame's ``SYNC``
enters the CRC (CRC-16/CCITT-FALSE, Amaranth's :class:`~amaranth.lib.crc.Processor`) as it
leaves. ``finish`` sends the CRC itself, two bytes, which end the frame.

* ``load`` with ``begin``: a new frame, whose first byte (``SYNC``) is not in the CRC;
* ``load``: the next piece of the same frame;
* ``finish``: the CRC of every byte sent since ``begin`` after ``SYNC``.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import crc, stream, wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import CRC_ALGORITHM, STATE_RECORD_BYTES

__all__ = ["ResponseSerializer"]


class ResponseSerializer(wiring.Component):
    """Pieces of a response frame into a byte stream.

    Ports
    -----
    load : In(1); size : In(range(STATE_RECORD_BYTES + 1))
        Start a piece of ``size`` bytes (only while ``empty``).
    begin : In(1)
        With ``load``: the piece starts a frame with ``SYNC``.
    data : In(8)
        Byte ``index`` of the piece (``index`` of the cycle before is enough).
    index : Out(range(STATE_RECORD_BYTES + 1))
        Bytes of the piece taken so far (a register; 0 again a cycle after its last byte).
    finish : In(1)
        Send the CRC (only while ``empty``).
    empty : Out(1)
        Every byte of the pieces was sent.
    tx : Out(stream of 8 bits)
    """

    def __init__(self):
        super().__init__({"load": In(1), "size": In(range(STATE_RECORD_BYTES + 1)),
                          "begin": In(1), "data": In(8),
                          "index": Out(range(STATE_RECORD_BYTES + 1)), "finish": In(1),
                          "empty": Out(1), "tx": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        # bytes of the piece still to take, and ``index``: rewritten whenever none is left
        # (below), so neither needs a reset, which on the iCE40 would join their enable's logic
        left = Signal(range(STATE_RECORD_BYTES + 1), reset_less=True)
        index = Signal.like(self.index, reset_less=True)
        m.d.comb += self.index.eq(index)
        trailer = Signal()  # the piece is the CRC
        first = Signal()  # the next byte taken is the frame's SYNC
        # the byte on its way to tx, and whether it enters the CRC
        out = Signal(8)
        out_valid = Signal()
        out_in_crc = Signal()
        crc_unit = m.submodules.crc = crc.Processor(CRC_ALGORITHM(data_width=8))
        sent = self.tx.valid & self.tx.ready
        moved = Signal()  # index moved in the cycle before: data may not follow it yet
        some_left = Signal()  # left != 0, a register kept beside left
        take = some_left & (~out_valid | self.tx.ready) & ~moved
        m.d.sync += moved.eq(take | self.load | self.finish)
        m.d.comb += [
            self.empty.eq(~some_left & ~out_valid),
            self.tx.valid.eq(out_valid), self.tx.payload.eq(out),
            crc_unit.data.eq(out), crc_unit.valid.eq(sent & out_in_crc),
            crc_unit.start.eq(self.load & self.begin),
        ]
        with m.If(take):
            # the CRC's bytes, low first, from the CRC unit, which no byte enters meanwhile
            m.d.sync += [out.eq(Mux(trailer, crc_unit.crc.word_select(index[0], 8),
                                    self.data)),
                         out_valid.eq(1), out_in_crc.eq(~trailer & ~first), first.eq(0),
                         left.eq(left - 1), some_left.eq(left != 1),
                         index.eq(index + 1)]
        with m.Elif(sent):
            m.d.sync += out_valid.eq(0)
        # a piece starts only while none is left (``load`` and ``finish`` come while ``empty``),
        # so ``left`` and ``index`` are rewritten in every cycle with none left, not only on the
        # executor's orders: their enables are two flip-flops and the handshake, no FSM decoding
        with m.If(~some_left):
            m.d.sync += [left.eq(Mux(self.load, self.size, Mux(self.finish, 2, 0))),
                         some_left.eq(self.load & (self.size != 0) | self.finish),
                         index.eq(0)]
        with m.If(self.load):
            m.d.sync += [first.eq(self.begin), trailer.eq(0)]
        with m.Elif(self.finish):
            m.d.sync += trailer.eq(1)
        return m
