r"""The host link's payload reader: the words of a request's payload, from the frame buffer.

The frame buffer is a single-port RAM with one cycle of read latency, so a byte takes two
cycles: ``want`` addresses byte ``addr``, and in the next cycle its data is shifted into the top
of ``word`` and ``addr`` moves on. The top byte of ``word`` is the frame buffer's own output
register (``r_load`` loads it; on the ECP5 the block RAM's:
:class:`~spikeforge.hdl.link_ram.BufferRAM`), the three below it shift down from it. After
:math:`b` bytes the little-endian word is ``word[32 − 8b:]``, so a word of any size 1, 2 or 4
ends at the top of ``word``; ``count`` says how many bytes arrived since the last ``take`` (the
executor compares it with its word size).

``restart`` (with ``start``) points the reader at a payload byte and forgets the bytes read;
``take`` consumes the word (``count`` ← 0). Both win over a byte arriving in the same cycle.

``full`` is ``count == size`` from a register (the compare of the next count), so the
executor's word-ready test starts at a flip-flop: on the iCE40 the compare feeding its FSM and
word counter was the longest path of the board. It follows a change of ``size`` one cycle
late, which the executor never sees: it sets the size in its ``VERDICT`` state and reads words
two states later at the earliest. The compare is made for each next count from registers
(``count``, ``count + 1``, 0) and picked by ``take``/``restart`` last, so the executor's
decision to take a word is not followed by a compare.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PayloadReader"]


class PayloadReader(wiring.Component):
    """Bytes of the frame buffer into little-endian words.

    Ports
    -----
    want : In(1)
        Read the next byte (ignored while one is on its way).
    r_data : In(8)
        The frame buffer's output register; ``r_load`` : Out(1) loads it with the byte at
        ``addr`` of the cycle before; ``addr`` : Out(16).
    restart : In(1); start : In(16)
        Read from payload byte ``start`` on, with no bytes kept.
    take : In(1)
        The word was used: count again from 0.
    word : Out(32); count : Out(3)
        The last four bytes read, the newest at the top, and how many since ``take``.
    size : In(3); full : Out(1)
        The word size in bytes; ``count == size``, registered.
    """

    def __init__(self):
        super().__init__({"want": In(1), "r_data": In(8), "r_load": Out(1), "addr": Out(16),
                          "restart": In(1), "start": In(16), "take": In(1),
                          "word": Out(32), "count": Out(3), "size": In(3), "full": Out(1)})

    def elaborate(self, platform):
        m = Module()
        fetch_wait = Signal()  # the byte at ``addr`` arrives this cycle
        below = Signal(24)     # the three bytes below the top one, the oldest lowest
        m.d.comb += [self.r_load.eq(fetch_wait), self.word.eq(Cat(below, self.r_data))]
        with m.If(fetch_wait):
            m.d.sync += [fetch_wait.eq(0), below.eq(self.word[8:])]
        with m.Elif(self.want):
            m.d.sync += fetch_wait.eq(1)
        # the address as a sum, like the count below: the executor's restart reaches its data
        # inputs, not a clock enable
        m.d.sync += self.addr.eq(Mux(self.restart, self.start, self.addr + fetch_wait))
        one_more = (self.count + 1)[:len(self.count)]
        restarted = self.take | self.restart  # both win over a byte

        def next_count(of):
            """``of`` the next count: 0 after ``take``/``restart``, else one more with a byte,
            else the count."""
            return Mux(restarted, of(Const(0, len(self.count))),
                       Mux(fetch_wait, of(one_more), of(self.count)))

        # the count itself as a sum, not a choice that holds it: no clock enable, whose pin
        # would sit behind the executor's take (on the UP5K's critical paths)
        m.d.sync += [self.count.eq(Mux(restarted, 0, self.count + fetch_wait)),
                     self.full.eq(next_count(lambda count: count == self.size))]
        return m
