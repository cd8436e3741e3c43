r"""CRC-16/CCITT-FALSE of one byte, as combinational logic.

:math:`\mathrm{crc}' = f(\mathrm{crc}, \mathrm{byte})`: XOR the byte into the top of the register,
then eight steps of "shift left, XOR the polynomial if the bit shifted out was 1". Unrolled, each
output bit is an XOR of input bits: no state, no multiplier. The polynomial and initial value are
those of :mod:`spikeforge.link.protocol`, whose :func:`~spikeforge.link.protocol.crc16_update` is
the same function in Python.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import CRC_INIT, CRC_POLY

__all__ = ["CRC_INIT", "CRC16Byte"]


class CRC16Byte(wiring.Component):
    """``crc_out`` is ``crc_in`` updated by ``data``.

    Ports
    -----
    crc_in : In(16)
    data : In(8)
    crc_out : Out(16)
    """

    crc_in: In(16)
    data: In(8)
    crc_out: Out(16)

    def elaborate(self, platform):
        m = Module()
        crc = Signal(16)
        m.d.comb += crc.eq(self.crc_in ^ (self.data << 8))
        for step in range(8):  # one named signal per step keeps the expression tree linear
            nxt = Signal(16, name=f"step{step}")
            m.d.comb += nxt.eq((crc << 1)[:16] ^ Mux(crc[15], CRC_POLY, 0))
            crc = nxt
        m.d.comb += self.crc_out.eq(crc)
        return m
