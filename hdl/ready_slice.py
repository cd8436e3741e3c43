r"""A one-entry stream slice that cuts only the consumer's ``ready`` path back to the producer.

Between an event FIFO and a layer it takes the layer's handshake (its phase, its synaptic
engine's last-operation flag) out of the FIFO's read and pointer logic: ``i.ready`` is a
register. ``valid`` and ``payload`` pass through while the slice is empty, so a word reaches
the consumer in the cycle it would have without the slice, and the consumer sees the same
words in the same cycles: a word offered while the consumer is not ready is kept in the slice
(the *skid*) and offered from there in the next cycle, while the producer waits a cycle for
``i.ready`` to return, as it would have waited for the consumer. The schedule of the core is
unchanged as long as the producer's next word is not ready earlier than a cycle after the skid
empties, which holds for :class:`~spikeforge.hdl.event_fifo.EventFIFO` and
:class:`~spikeforge.hdl.skid_buffer.SkidBuffer` (their next word is in their output register a
cycle after a read).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ReadySlice"]


class ReadySlice(wiring.Component):
    """Stream slice of ``shape`` payloads with a registered ``i.ready``.

    Ports
    -----
    i : In(stream.Signature(shape))
        ``ready`` is a register: the slice is empty.
    o : Out(stream.Signature(shape))
        The skid's word while it holds one, else ``i`` passed through.
    """

    def __init__(self, shape):
        self.shape = shape
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid = Signal(self.shape, reset_less=True)  # used only while skid_valid
        m.d.comb += [
            self.i.ready.eq(~skid_valid),
            self.o.valid.eq(skid_valid | self.i.valid),
            self.o.payload.eq(Mux(skid_valid, skid, self.i.payload)),
        ]
        with m.If(skid_valid):  # noqa: SIM117 (an If, then an Elif of the outer If)
            with m.If(self.o.ready):  # offered from the skid until taken
                m.d.sync += skid_valid.eq(0)
        with m.Elif(self.i.valid & ~self.o.ready):
            m.d.sync += skid_valid.eq(1)
        # the skid follows the producer's word while empty, and holds the one it kept: its
        # enable is a register, not the consumer's ready (the latest signal of the handshake)
        with m.If(~skid_valid):
            m.d.sync += skid.eq(self.i.payload)
        return m
