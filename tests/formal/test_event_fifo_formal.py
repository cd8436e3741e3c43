"""Proofs (SymbiYosys) about the event FIFOs between the core's layers
(:class:`~spikeforge.hdl.event_fifo.EventFIFO`): they never drop, duplicate or reorder an event,
and they behave cycle for cycle as the FIFO the core's schedules were measured with.

* **Same as before** (bounded: every input sequence of the first 12 cycles from reset, enough
  to fill, drain and wrap FIFOs of 2, 3 and 5 entries, the last two of them odd sizes whose
  pointers wrap at no power of two): fed the same ``w.valid``, ``w.payload``
  and ``r.ready`` as Amaranth's ``SyncFIFOBuffered`` of ``depth + 1`` behind a registered
  ``w.ready`` (:class:`LibraryFIFO`, the core's FIFO until this one), it gives the same
  ``w.ready`` and ``r.valid`` in every cycle and the same ``r.payload`` whenever it is valid.
  So every cycle count the schedule model predicts stays as measured. The same for the ECP5's
  interleaved FIFO (``banks = 2``, 4 and 5 entries).
* **No drop** (k-induction): a word taken always has room in block RAM, the level equals the
  words taken minus the words given, and the registered flags equal what they stand for (the
  level's ``!= 0``, each pointer's ``== depth - 1``, ``w.ready``'s promise). And the block RAM
  is never read and written at one address in the same cycle, so the builds may leave that case
  undefined (``no_rw_check``, :mod:`spikeforge.boards.rtlil`).
* **Order** (against a model, bounded: the first 10 cycles): a word chosen by the solver (any
  index ``t``, any value ``v``) is the ``t``-th word taken; the ``t``-th word given is ``v``. This
  is the bound Amaranth's own test suite checks its FIFOs' contract to (2·depth + 1 cycles).
"""

import pytest
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from spikeforge.hdl.event_fifo import EventFIFO

from .sby import elaborated, internal, prove

pytestmark = pytest.mark.formal

DEPTH = 3
#: the proofs' words: two bits tell words apart as well as the events' seventeen (nothing in
#: either FIFO looks at a word's value), and keep the solver's memories small
WORD = unsigned(2)


class LibraryFIFO(wiring.Component):
    """The core's event FIFO before :class:`EventFIFO`: the library's buffered FIFO, one entry
    deeper than ``depth``, with ``w.ready`` registered from its level."""

    def __init__(self, depth, shape=WORD):
        self.depth = depth
        super().__init__({"w": In(stream.Signature(shape)), "r": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        fifo = m.submodules.fifo = SyncFIFOBuffered(width=len(self.w.payload),
                                                    depth=self.depth + 1)
        room = Signal()
        m.d.sync += room.eq(fifo.level < self.depth)
        m.d.comb += [
            fifo.w_data.eq(self.w.payload),
            fifo.w_en.eq(self.w.valid & room),
            self.w.ready.eq(room),
            self.r.payload.eq(fifo.r_data),
            self.r.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.r.ready),
        ]
        return m


def _drive(m, fifos):
    """The same arbitrary producer and consumer for every FIFO of ``fifos``."""
    valid, payload, ready = AnySeq(1), AnySeq(WORD), AnySeq(1)
    m.d.comb += Assume(~ResetSignal())
    for fifo in fifos:
        m.d.comb += [fifo.w.valid.eq(valid), fifo.w.payload.eq(payload), fifo.r.ready.eq(ready)]


def equivalence(depth, component=EventFIFO):
    m = Module()
    dut, ref = component(depth, WORD), LibraryFIFO(depth)
    m.submodules.dut, m.submodules.ref = dut, ref
    _drive(m, (dut, ref))
    m.d.comb += [Assert(dut.w.ready == ref.w.ready), Assert(dut.r.valid == ref.r.valid)]
    with m.If(ref.r.valid):
        m.d.comb += Assert(dut.r.payload == ref.r.payload)
    return m


def harness(component=EventFIFO, *, order):
    m = Module()
    dut = component(DEPTH, WORD)
    fragment = elaborated(dut)
    m.submodules.dut = fragment
    _drive(m, (dut,))
    take = dut.w.valid & dut.w.ready
    give = dut.r.valid & dut.r.ready
    taken, given = Signal(8), Signal(8)
    m.d.sync += [taken.eq(taken + take), given.eq(given + give)]
    held = Signal(8)
    m.d.comb += held.eq(taken - given)
    if order:
        t, v = AnyConst(8), AnyConst(WORD)
        with m.If(take & (taken == t)):
            m.d.comb += Assume(dut.w.payload == v)
        with m.If(give & (given == t)):
            m.d.comb += Assert(dut.r.payload == v)
        return m
    stored, out_valid = internal(fragment, "stored"), internal(fragment, "out_valid")
    produce, consume = internal(fragment, "produce"), internal(fragment, "consume")
    spread = Signal(range(DEPTH + 1))  # produce - consume, modulo DEPTH
    m.d.comb += spread.eq((produce + DEPTH - consume) % DEPTH)
    m.d.comb += [
        Assert(~take | (stored < DEPTH)),        # a word taken has room: never dropped
        Assert(held == dut.level),               # nothing lost or invented
        Assert(held == stored + out_valid),
        Assert(~dut.w.ready | (held <= DEPTH)),  # the register's promise
        Assert(out_valid | (stored <= 1)),
        Assert((produce < DEPTH) & (consume < DEPTH)),
        Assert((stored == spread) | ((stored == DEPTH) & (spread == 0))),
        Assert(internal(fragment, "stored_nonzero") == (stored != 0)),
        Assert(internal(fragment, "produce_last") == (produce == DEPTH - 1)),
        Assert(internal(fragment, "consume_last") == (consume == DEPTH - 1)),
        # never a read and a write at one address in one cycle: what lets the builds leave a
        # read-during-write undefined (no_rw_check, spikeforge.boards.rtlil)
        Assert(~(take & internal(fragment, "read")) | (produce != consume)),
    ]
    return m


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_an_event_fifo_behaves_as_the_library_fifo_did(tmp_path, depth):
    assert prove(equivalence(depth), f"event_fifo_same_{depth}", tmp_path,
                 depth=12, mode="bmc") < 120


@pytest.mark.parametrize("depth,banks", [(4, 2), (5, 2)])
def test_an_interleaved_event_fifo_behaves_as_the_library_fifo_did(tmp_path, depth, banks):
    """The ECP5's FIFO (words over ``banks`` LUT RAMs, each read into a register of its own, a
    word written to an empty bank put in that register directly): the same outputs, through
    the wrap of its row pointers (``tests/hdl/test_event_fifo.py`` runs the core's depths)."""
    def interleaved(depth, shape):
        return EventFIFO(depth, shape, banks=banks)

    assert prove(equivalence(depth, interleaved), f"event_fifo_banks_{depth}_{banks}",
                 tmp_path, depth=12, mode="bmc") < 120


def test_an_event_fifo_never_drops_a_word(tmp_path):
    assert prove(harness(order=False), "event_fifo", tmp_path, depth=4) < 120


def test_an_event_fifo_keeps_the_order(tmp_path):
    assert prove(harness(order=True), "event_fifo_order", tmp_path, depth=10, mode="bmc") < 120


class _Greedy(EventFIFO):
    """A mutant whose ``w.ready`` is always high: it overfills its block RAM."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.w.ready.eq(1)
        return m


class _OffByOne(EventFIFO):
    """A mutant whose ``w.ready`` promises one word more (``level < depth + 1`` a cycle ago)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        roomier = Signal()
        m.d.sync += roomier.eq(self.level < self.depth + 1)
        m.d.comb += self.w.ready.eq(roomier)
        return m


def test_the_proofs_fail_on_a_fifo_that_drops_words(tmp_path):
    """Not vacuous: the always-ready mutant breaks the no-drop proof."""
    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(harness(_Greedy, order=False), "event_fifo_mutant", tmp_path, depth=4)


def test_the_equivalence_fails_on_a_fifo_off_by_one(tmp_path):
    """Not vacuous: a FIFO that accepts one word more than the library's is told apart."""
    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(equivalence(DEPTH, _OffByOne), "event_fifo_off_by_one", tmp_path,
              depth=12, mode="bmc")
