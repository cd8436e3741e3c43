r"""The event FIFO between the core's layers: a block-RAM queue whose flags are registers.

It behaves cycle for cycle as the FIFO the core was built and measured with, Amaranth's
``SyncFIFOBuffered`` of ``depth + 1`` entries (``depth`` in block RAM, one in its output
register) behind a registered ``w.ready``, so every schedule the model predicts is unchanged
(``tests/formal/test_event_fifo_formal.py`` checks the two equal, output for output, for every
producer and consumer behaviour of the first 12 cycles from reset, at 2, 3 and 5 entries: a
bounded proof). What differs is how deep its logic is. The library FIFO derives
its flags from its level in the cycle they are used, ``level != 0`` and ``level != depth``
comparisons, and wraps its pointers with ``pointer == depth - 1`` comparisons, so a layer's
``ready`` passed through those compares, the read enable and a pointer mux before it reached a
register: six LUT levels on the iCE40, among the deepest cones of the UP5K build. Here each of those
comparisons is a register, set a cycle ahead from the register it compares (``level == 1`` when
the level moves down, ``pointer == depth - 2`` when a pointer moves), so ``ready`` and ``valid``
meet only a LUT or two before a register.

With ``M`` the words in block RAM and ``O`` the output register's valid bit:

* a word is read from block RAM into the output register when ``M > 0`` and the output register
  is empty or being read (``read = (M ≠ 0) ∧ (¬O ∨ r.ready)``);
* ``w.ready`` in cycle ``t + 1`` is ``M + O < depth`` in cycle ``t``, so a word accepted always
  has room (the level grows by at most one a cycle).
"""

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .events import EventLayout

__all__ = ["EventFIFO"]


class EventFIFO(wiring.Component):
    """A FIFO of ``depth`` events (words of ``shape``) in block RAM plus one in its output
    register.

    Ports
    -----
    w : In(stream.Signature(shape))
        ``ready`` is a register (see the module docstring).
    r : Out(stream.Signature(shape))
        ``valid`` and ``payload`` are registers (the block RAM's read register).

    Attributes
    ----------
    level : Signal
        Events held, block RAM and output register together (for proofs and tests).
    """

    def __init__(self, depth, shape=EventLayout):
        if depth < 2:
            raise ValueError(f"an event FIFO holds at least 2 events, not {depth}")
        self.depth = depth
        self.width = Shape.cast(shape).width
        super().__init__({"w": In(stream.Signature(shape)), "r": Out(stream.Signature(shape))})
        self.level = Signal(range(depth + 2))

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        # never read and written at one address in one cycle (a read needs M > 0, a write
        # M < depth; the formal tests prove it): ``no_rw_check`` spares the build the collision
        # logic it would build around the block RAM (``boards/rtlil.py``)
        storage = m.submodules.storage = Memory(shape=self.width, depth=depth, init=[],
                                              attrs={"no_rw_check": 1})
        w_port = storage.write_port()
        r_port = storage.read_port(domain="sync")

        stored = Signal(range(depth + 1))  # M: words in block RAM
        stored_nonzero = Signal()          # M != 0
        out_valid = Signal()               # O: the output register holds a word
        room = Signal()                    # M + O < depth a cycle ago
        produce = Signal(range(depth))
        produce_last = Signal()            # produce == depth - 1
        consume = Signal(range(depth))
        consume_last = Signal()            # consume == depth - 1

        take = self.w.valid & room
        read = Signal()  # a word moves from block RAM to the output register
        m.d.comb += read.eq(stored_nonzero & (~out_valid | self.r.ready))
        m.d.comb += [
            self.w.ready.eq(room),
            self.r.valid.eq(out_valid),
            self.r.payload.eq(r_port.data),
            w_port.addr.eq(produce),
            w_port.data.eq(self.w.payload),
            w_port.en.eq(take),
            r_port.addr.eq(consume),
            r_port.en.eq(read),
            self.level.eq(stored + out_valid),
        ]

        # each pointer's wrap flag is set from the pointer a step before it is reached
        for pointer, last, moves in ((produce, produce_last, take),
                                     (consume, consume_last, read)):
            with m.If(moves):
                m.d.sync += [pointer.eq(Mux(last, 0, pointer + 1)),
                             last.eq(pointer == depth - 2)]

        with m.If(take & ~read):
            m.d.sync += [stored.eq(stored + 1), stored_nonzero.eq(1)]
        with m.Elif(read & ~take):
            m.d.sync += [stored.eq(stored - 1), stored_nonzero.eq(stored != 1)]

        with m.If(read):
            m.d.sync += out_valid.eq(1)
        with m.Elif(self.r.ready):
            m.d.sync += out_valid.eq(0)

        # M + O < depth, without the adder: M < depth - O
        m.d.sync += room.eq((stored < depth) & (~out_valid | (stored < depth - 1)))
        return m
