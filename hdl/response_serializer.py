r"""The host link's response serializer: a frame's pieces out as bytes, with their CRC.

The executor loads a piece of up to :data:`~spikeforge.link.protocol.STATE_RECORD_BYTES` bytes
(the header, then each item of the response) when the serializer is ``empty``; its bytes go out
on ``tx`` least significant first, and every byte after the frame's ``SYNC`` enters the CRC
(CRC-16/CCITT-FALSE, Amaranth's :class:`~amaranth.lib.crc.Processor`). ``finish`` loads the CRC
itself, two bytes, which end the frame.

* ``load`` with ``begin``: a new frame, whose first byte (``SYNC``) is not in the CRC;
* ``load``: the next piece of the same frame;
* ``finish``: the CRC of every byte sent since ``begin`` after ``SYNC``.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import crc, stream, wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import CRC_ALGORITHM, STATE_RECORD_BYTES

__all__ = ["ResponseSerializer"]


class ResponseSerializer(wiring.Component):
    """Pieces of a response frame into a byte stream.

    Ports
    -----
    load : In(1); data : In(8 · STATE_RECORD_BYTES); size : In(range(STATE_RECORD_BYTES + 1))
        Send the ``size`` low bytes of ``data`` (only while ``empty``).
    begin : In(1)
        With ``load``: the piece starts a frame with ``SYNC``.
    finish : In(1)
        Send the CRC (only while ``empty``).
    empty : Out(1)
        Every byte loaded was sent.
    tx : Out(stream of 8 bits)
    """

    def __init__(self):
        super().__init__({"load": In(1), "data": In(8 * STATE_RECORD_BYTES),
                          "size": In(range(STATE_RECORD_BYTES + 1)), "begin": In(1),
                          "finish": In(1), "empty": Out(1), "tx": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        shift = Signal(8 * STATE_RECORD_BYTES)
        nbytes = Signal(range(STATE_RECORD_BYTES + 1))
        crc_skip = Signal()  # the next byte is SYNC: not in the CRC
        trailer = Signal()  # the CRC's own bytes are on their way
        crc_unit = m.submodules.crc = crc.Processor(CRC_ALGORITHM(data_width=8))
        m.d.comb += [
            self.empty.eq(nbytes == 0), self.tx.valid.eq(nbytes != 0),
            self.tx.payload.eq(shift[:8]),
            crc_unit.data.eq(shift[:8]),
            crc_unit.valid.eq(self.tx.valid & self.tx.ready & ~crc_skip & ~trailer),
            crc_unit.start.eq(self.load & self.begin),
        ]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += [shift.eq(shift >> 8), nbytes.eq(nbytes - 1), crc_skip.eq(0)]
        with m.If(self.load):
            m.d.sync += [shift.eq(self.data), nbytes.eq(self.size), crc_skip.eq(self.begin),
                         trailer.eq(0)]
        with m.Elif(self.finish):
            m.d.sync += [shift.eq(crc_unit.crc), nbytes.eq(2), trailer.eq(1)]
        return m
