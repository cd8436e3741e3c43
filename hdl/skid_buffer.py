r"""A two-entry register slice for streams: every output of it is a register.

Placed between two components, it cuts the combinational path from the producer's ``valid`` and
payload to the consumer and from the consumer's ``ready`` back to the producer, at full rate: a
transfer can happen in every cycle. The second entry (the *skid*) catches the word the producer
sent in the cycle in which the consumer stopped, because ``i.ready`` is a register and cannot
fall in that same cycle.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """Stream register slice of ``shape`` payloads.

    Ports
    -----
    i : In(stream.Signature(shape))
        ``ready`` is a register.
    o : Out(stream.Signature(shape))
        ``valid`` and ``payload`` are registers. Words leave in the order they came.
    """

    def __init__(self, shape):
        self.shape = shape
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        main_valid = Signal()
        main = Signal(self.shape)
        skid_valid = Signal()
        skid = Signal(self.shape)
        m.d.comb += [
            self.i.ready.eq(~skid_valid),
            self.o.valid.eq(main_valid),
            self.o.payload.eq(main),
        ]
        take_in = self.i.valid & self.i.ready
        with m.If(~main_valid | self.o.ready):  # the main entry is free in the next cycle
            with m.If(skid_valid):
                m.d.sync += [main.eq(skid), main_valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [main.eq(self.i.payload), main_valid.eq(take_in)]
        with m.Elif(take_in):  # the consumer holds the main entry: the word goes to the skid
            m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1)]
        return m
