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

On the ECP5 a FIFO the build keeps in LUT RAM (at most ``lut_ram_words``) is read by address
from a register through the LUT RAM's read multiplexer into the output register: for the
258 words between the digits network's layers the pointer fans out to 85 LUT-RAM slices and
the multiplexer is five levels deep, 6.9-7.3 ns, the ECP5's critical path in five of nine
placements. There the words are interleaved over :data:`BANKS` LUT RAMs (word ``i`` in bank
``i mod 4``), each read continuously into a register of its own, and the output register loads
from the register of the head's bank: a read crosses a quarter of the multiplexer in one cycle
and a 4-way selection in the next, with the same outputs in the same cycles
(``tests/formal/test_event_fifo_formal.py`` proves it bounded for two banks,
``tests/hdl/test_event_fifo.py`` runs the core's depths against the one-memory FIFO).
"""

from amaranth.hdl import Array, Module, Mux, Shape, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .events import EventLayout

__all__ = ["BANKS", "EventFIFO", "lut_ram_banks"]

#: LUT-RAM banks of an interleaved event FIFO (a power of two: its bank counters wrap)
BANKS = 4


def lut_ram_banks(platform, depth):
    """How many banks a ``depth``-word event FIFO interleaves its words over on ``platform``:
    :data:`BANKS` on an ECP5 where the build puts it in LUT RAM (``lut_ram_words``) and its
    read multiplexer would be more than one level deep (over four 16-word LUT-RAM blocks), else
    1 (one memory read through its synchronous read port)."""
    if (getattr(platform, "family", None) == "ecp5"
            and 4 * 16 < depth <= getattr(platform, "lut_ram_words", 0)):
        return BANKS
    return 1


def _step(pointer, last, size):
    """``pointer`` one step on, modulo ``size``; its wrap flag ``last`` (``pointer == size -
    1``) set from the pointer a step before it is reached, so no compare precedes the wrap."""
    return [pointer.eq(Mux(last, 0, pointer + 1)), last.eq(pointer == size - 2)]


class EventFIFO(wiring.Component):
    """A FIFO of ``depth`` events (words of ``shape``) in block RAM plus one in its output
    register; ``banks`` (a power of two, ``None``: :func:`lut_ram_banks` of the platform) LUT
    RAMs interleaved instead.

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

    def __init__(self, depth, shape=EventLayout, *, banks=None):
        if depth < 2:
            raise ValueError(f"an event FIFO holds at least 2 events, not {depth}")
        if banks is not None and (banks < 1 or banks & (banks - 1) or
                                  (banks > 1 and depth < 2 * banks)):
            raise ValueError(f"an event FIFO of {depth} words interleaves over 1 bank or a power "
                             f"of two of at most {depth // 2}, not {banks}")
        self.depth = depth
        self.banks = banks
        self.width = Shape.cast(shape).width
        super().__init__({"w": In(stream.Signature(shape)), "r": Out(stream.Signature(shape))})
        self.level = Signal(range(depth + 2))

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        stored = Signal(range(depth + 1))  # M: words in storage
        stored_nonzero = Signal()          # M != 0
        out_valid = Signal()               # O: the output register holds a word
        room = Signal()                    # M + O < depth a cycle ago

        take = self.w.valid & room
        read = Signal()  # a word moves from storage to the output register
        m.d.comb += read.eq(stored_nonzero & (~out_valid | self.r.ready))
        m.d.comb += [
            self.w.ready.eq(room),
            self.r.valid.eq(out_valid),
            self.level.eq(stored + out_valid),
        ]

        banks = self.banks if self.banks is not None else lut_ram_banks(platform, depth)
        if banks > 1:
            payload = self._interleaved_storage(m, banks, take, read, stored)
        else:
            payload = self._block_ram_storage(m, take, read)
        m.d.comb += self.r.payload.eq(payload)

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

    def _block_ram_storage(self, m, take, read):
        """One memory whose synchronous read port is the output register; its data."""
        depth = self.depth
        # never read and written at one address in one cycle (a read needs M > 0, a write
        # M < depth; the formal tests prove it): ``no_rw_check`` spares the build the collision
        # logic it would build around the block RAM (``boards/rtlil.py``)
        storage = m.submodules.storage = Memory(shape=self.width, depth=depth, init=[],
                                              attrs={"no_rw_check": 1})
        w_port = storage.write_port()
        r_port = storage.read_port(domain="sync")
        produce = Signal(range(depth))
        produce_last = Signal()            # produce == depth - 1
        consume = Signal(range(depth))
        consume_last = Signal()            # consume == depth - 1
        m.d.comb += [
            w_port.addr.eq(produce),
            w_port.data.eq(self.w.payload),
            w_port.en.eq(take),
            r_port.addr.eq(consume),
            r_port.en.eq(read),
        ]
        for pointer, last, moves in ((produce, produce_last, take),
                                     (consume, consume_last, read)):
            with m.If(moves):
                m.d.sync += _step(pointer, last, depth)
        return r_port.data

    def _interleaved_storage(self, m, banks, take, read, stored):
        """``banks`` LUT-RAM memories, word ``i`` in bank ``i mod banks``, each read
        continuously into a register of its own; the output register loads from the head's
        bank register. Returns the output register.

        Each bank register holds its bank's oldest word (``ahead``, below): a bank's read
        pointer moves when its word is taken, its register reloads in the next cycle, and the
        bank is not read again for ``banks - 1`` more reads. A word written while its bank holds
        nothing (the FIFO holds fewer than ``banks`` words) may be read in the next cycle, so it
        goes into the bank register directly as it is written.
        """
        rows = -(-self.depth // banks)
        produce_bank = Signal(range(banks))  # banks is a power of two: the counters wrap
        consume_bank = Signal(range(banks))
        produce_row = Signal(range(rows))
        produce_row_last = Signal()          # produce_row == rows - 1
        few = Signal(init=1)                 # M < banks: the bank written to holds nothing
        ahead = Array(Signal(self.width, name=f"ahead_{b}") for b in range(banks))
        for b in range(banks):
            bank = m.submodules[f"bank_{b}"] = Memory(shape=self.width, depth=rows, init=[])
            w_port = bank.write_port()
            r_port = bank.read_port(domain="comb")
            pointer = Signal(range(rows), name=f"pointer_{b}")
            last = Signal(name=f"pointer_{b}_last")
            written = take & (produce_bank == b)
            m.d.comb += [w_port.addr.eq(produce_row), w_port.data.eq(self.w.payload),
                         w_port.en.eq(written), r_port.addr.eq(pointer)]
            m.d.sync += ahead[b].eq(Mux(written & few, self.w.payload, r_port.data))
            with m.If(read & (consume_bank == b)):
                m.d.sync += _step(pointer, last, rows)
        with m.If(take):
            m.d.sync += produce_bank.eq(produce_bank + 1)
            with m.If(produce_bank == banks - 1):
                m.d.sync += _step(produce_row, produce_row_last, rows)
        with m.If(read):
            m.d.sync += consume_bank.eq(consume_bank + 1)
        with m.If(take & ~read):
            m.d.sync += few.eq(stored < banks - 1)
        with m.Elif(read & ~take):
            m.d.sync += few.eq(stored <= banks)

        output = Signal(self.width)
        with m.If(read):
            m.d.sync += output.eq(ahead[consume_bank])
        return output
