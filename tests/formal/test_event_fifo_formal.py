"""Proofs (SymbiYosys) about the event FIFOs between the core's layers (``_FIFO`` in
:mod:`spikeforge.hdl.network_core`): they never drop, duplicate or reorder an event.

The wrapper answers ``w.ready`` from a register (the level one cycle earlier) so the producer's
stall logic never waits on level arithmetic; its library FIFO is one entry deeper than
``depth`` for that. Two properties, for every producer and consumer behaviour:

* **No drop** (k-induction): whenever the wrapper takes a word (``w.valid & w.ready``) the
  library FIFO has room for it (``fifo.w_rdy``), and the FIFO's level equals the words taken
  minus the words given.
* **Order** (against a model, bounded: every sequence of the first 10 cycles from reset, long
  enough to fill, drain and wrap the 4-entry FIFO): a word chosen by the solver (any index
  ``t``, any value ``v``) is the ``t``-th word taken; the ``t``-th word given is ``v``. This is
  the bound Amaranth's own test suite checks its FIFOs' contract to (2·depth + 1 cycles): an
  induction proof would need invariants over the library FIFO's memory, which is not ours.
"""

import pytest
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal
from spikeforge.hdl.network_core import _FIFO

from .sby import elaborated, prove

pytestmark = pytest.mark.formal

DEPTH = 3


def harness(component=_FIFO, *, order):
    m = Module()
    dut = component(DEPTH)
    m.submodules.dut = elaborated(dut)
    m.d.comb += Assume(~ResetSignal())
    width = len(dut.w.payload.as_value())
    m.d.comb += [dut.w.valid.eq(AnySeq(1)), dut.w.payload.eq(AnySeq(width)),
                 dut.r.ready.eq(AnySeq(1))]
    take = dut.w.valid & dut.w.ready
    give = dut.r.valid & dut.r.ready
    taken, given = Signal(8), Signal(8)
    m.d.sync += [taken.eq(taken + take), given.eq(given + give)]
    held = Signal(8)
    m.d.comb += held.eq(taken - given)
    if order:
        t, v = AnyConst(8), AnyConst(width)
        with m.If(take & (taken == t)):
            m.d.comb += Assume(dut.w.payload.as_value() == v)
        with m.If(give & (given == t)):
            m.d.comb += Assert(dut.r.payload.as_value() == v)
    else:
        m.d.comb += [
            Assert(~take | dut.fifo.w_rdy),          # a word taken is written, never dropped
            Assert(held == dut.fifo.level),          # nothing lost or invented
            Assert(held <= DEPTH + 1),
            Assert(~dut.w.ready | (held <= DEPTH)),  # the register's promise
        ]
    return m


def test_an_event_fifo_never_drops_a_word(tmp_path):
    assert prove(harness(order=False), "event_fifo", tmp_path, depth=4) < 120


def test_an_event_fifo_keeps_the_order(tmp_path):
    assert prove(harness(order=True), "event_fifo_order", tmp_path, depth=10, mode="bmc") < 120


def test_the_proof_fails_on_a_fifo_that_drops_words(tmp_path):
    """Not vacuous: a wrapper whose ``w.ready`` is always high overfills the library FIFO."""

    class Greedy(_FIFO):
        def elaborate(self, platform):
            m = super().elaborate(platform)
            m.d.comb += self.w.ready.eq(1)
            return m

    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(harness(Greedy, order=False), "event_fifo_mutant", tmp_path, depth=4)
