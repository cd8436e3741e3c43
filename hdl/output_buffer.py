r"""The host link's output buffer: the core's output events, queued for ``READ_OUTPUT``.

A FIFO of 16-bit words (a neuron index, or ``EVENT_MARKER`` at the end of each step) in one
single-port RAM (:class:`~spikeforge.hdl.link_ram.BufferRAM`) with its pointers in
:class:`~spikeforge.hdl.fifo_pointers.FifoPointers`. The port belongs to the core's events
(written at ``tail``) except while the executor reads (``owned``: read at ``head``).

* ``events.ready`` = ¬``owned`` ∧ (¬``full`` ∨ ``flush``): a full buffer backpressures the
  core, nothing is dropped, except under ``flush`` (``CLEAR`` waiting for the core to finish),
  when events are taken and dropped;
* a word is pushed when an event is taken and not flushed, so never into a full buffer
  (``tests/formal/test_output_fifo_formal.py`` proves it for every input sequence);
* ``pop`` takes the word at ``head``; ``data`` is a register that ``load`` loads with the
  word at the address of the cycle before (on the ECP5 the block RAM's output register:
  :class:`~spikeforge.hdl.link_ram.BufferRAM`).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import EVENT_MARKER
from .events import event_signature
from .fifo_pointers import FifoPointers
from .link_ram import BufferRAM

__all__ = ["OutputBuffer"]


class OutputBuffer(wiring.Component):
    """``depth`` words of core output, first in first out.

    Ports
    -----
    events : In(stream of EventLayout)
        The core's output events.
    owned : In(1)
        The executor reads the buffer (its port reads at ``head``; no event is taken).
    flush : In(1)
        Take the core's events and drop them.
    pop, clear : In(1)
        Take the word at ``head``; empty the buffer.
    load : In(1)
        Load ``data`` with the word read (one cycle after ``owned`` addresses ``head``).
    data : Out(16)
        The word loaded, held until the next ``load``.
    level : Out(range(depth + 1)); full : Out(1)
    """

    def __init__(self, depth):
        self.depth = depth
        super().__init__({"events": In(event_signature()), "owned": In(1), "flush": In(1),
                          "pop": In(1), "clear": In(1), "load": In(1), "data": Out(16),
                          "level": Out(range(depth + 1)), "full": Out(1)})

    def elaborate(self, platform):
        m = Module()
        ram = m.submodules.output_buffer = BufferRAM(width=16, depth=self.depth, registered=True)
        fifo = m.submodules.output_fifo = FifoPointers(self.depth)
        push = Signal(name="obuf_push")
        events = self.events
        m.d.comb += [
            events.ready.eq(~self.owned & (~fifo.full | self.flush)),
            push.eq(events.valid & events.ready & ~self.flush),
            fifo.push.eq(push), fifo.pop.eq(self.pop), fifo.clear.eq(self.clear),
            ram.addr.eq(Mux(self.owned, fifo.head, fifo.tail)),
            ram.w_en.eq(push),
            ram.w_data.eq(Mux(events.payload.marker, EVENT_MARKER, events.payload.addr)),
            ram.r_load.eq(self.load), self.data.eq(ram.r_data),
            self.level.eq(fifo.level), self.full.eq(fifo.full),
        ]
        return m
