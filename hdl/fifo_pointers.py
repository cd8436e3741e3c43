r"""The bookkeeping of a FIFO kept in a single-port RAM: read and write pointers, level, full.

The host link's output buffer uses it (the RAM itself, and who drives its port, stay there).
Every output is a register. With ``push`` (a word written at ``tail``) and ``pop`` (the word at
``head`` taken), one cycle later:

* ``tail ← (tail + push) mod depth``, ``head ← (head + pop) mod depth``;
* ``level ← level + push − pop``, so ``level`` = words pushed − words popped since the last
  ``clear``;
* ``full`` = (``level`` = ``depth``), kept as its own register so that no adder precedes it: set
  by a push into the last free word, cleared by a pop;
* ``clear`` empties the FIFO (``head``, ``tail``, ``level``, ``full`` ← 0), whatever ``push`` and
  ``pop`` do in that cycle.

The user must not push into a full FIFO nor pop an empty one (the host link pushes only while
``~full`` and pops at most the ``level`` it read); under these two rules ``tail`` =
(``head`` + ``level``) mod depth at all times. ``tests/formal/test_output_fifo_formal.py``
proves this and the level equation by k-induction.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FifoPointers"]


class FifoPointers(wiring.Component):
    """Pointers and level of a FIFO of ``depth`` words.

    Ports
    -----
    push, pop, clear : In(1)
    head, tail : Out(range(depth))
        Where the next word is read, and written.
    level : Out(range(depth + 1))
    full : Out(1)
    """

    def __init__(self, depth):
        if not isinstance(depth, int) or depth < 2:
            raise ValueError(f"depth must be an integer >= 2, not {depth!r}")
        self.depth = depth
        super().__init__({"push": In(1), "pop": In(1), "clear": In(1),
                          "head": Out(range(depth)), "tail": Out(range(depth)),
                          "level": Out(range(depth + 1)), "full": Out(1)})

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        head, tail, level, full = self.head, self.tail, self.level, self.full
        with m.If(self.push):
            m.d.sync += tail.eq(Mux(tail == depth - 1, 0, tail + 1))
        with m.If(self.pop):
            m.d.sync += head.eq(Mux(head == depth - 1, 0, head + 1))
        # level ± 1 from the level register alone, then picked: the handshake that decides a
        # push (on the UP5K four LUT levels: the core's valid, the owner, full, flush) selects
        # a sum instead of entering the front of a carry chain
        up, down = Signal.like(level), Signal.like(level)
        m.d.comb += [up.eq(level + 1), down.eq(level - 1)]
        m.d.sync += level.eq(Mux(self.push == self.pop, level, Mux(self.push, up, down)))
        # full follows level without waiting for its adder: it is set by a push into the last
        # free word and cleared by a pop (a push needs ~full, so a full FIFO only pops)
        with m.If(self.push & ~self.pop):
            m.d.sync += full.eq(level == depth - 1)
        with m.Elif(self.pop):
            m.d.sync += full.eq(0)
        with m.If(self.clear):  # after the updates above: clear wins
            m.d.sync += [head.eq(0), tail.eq(0), level.eq(0), full.eq(0)]
        return m
