"""Proof (k-induction, SymbiYosys) that the skid buffer never drops, duplicates or reorders a
word: against a FIFO model, for every producer and consumer behaviour.

The model counts the words taken (``i.valid & i.ready``) and given (``o.valid & o.ready``),
modulo 2**8. A word chosen by the solver (any index ``t``, any value ``v``: ``AnyConst``) is
assumed to be the ``t``-th word taken; the ``t``-th word given must then be ``v``. Since ``t``
and ``v`` are arbitrary, the output sequence is the input sequence: no word is reordered,
duplicated or replaced by another. The words held (taken − given) equal the occupied entries
(main and skid), so none is lost.
"""

import pytest
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal
from spikeforge.hdl.skid_buffer import SkidBuffer

from .sby import elaborated, internal, prove

pytestmark = pytest.mark.formal

WIDTH = 8


def harness():
    m = Module()
    dut = SkidBuffer(WIDTH)
    frag = elaborated(dut)
    m.submodules.dut = frag
    main_valid, main = internal(frag, "main_valid"), internal(frag, "main")
    skid_valid, skid = internal(frag, "skid_valid"), internal(frag, "skid")
    m.d.comb += Assume(~ResetSignal())
    # any producer and any consumer, every cycle
    m.d.comb += [dut.i.valid.eq(AnySeq(1)), dut.i.payload.eq(AnySeq(WIDTH)),
                 dut.o.ready.eq(AnySeq(1))]

    taken, given = Signal(8), Signal(8)
    take = dut.i.valid & dut.i.ready
    give = dut.o.valid & dut.o.ready
    m.d.sync += [taken.eq(taken + take), given.eq(given + give)]
    held = Signal(8)
    m.d.comb += held.eq(taken - given)

    t, v = AnyConst(8), AnyConst(WIDTH)
    with m.If(take & (taken == t)):
        m.d.comb += Assume(dut.i.payload == v)
    # the property: the t-th word out is the t-th word in
    with m.If(give & (given == t)):
        m.d.comb += Assert(dut.o.payload == v)
    # no word lost or invented: the entries hold exactly the words taken and not yet given,
    # the oldest in main, the next in the skid
    m.d.comb += [
        Assert(held == main_valid + skid_valid),
        Assert(~skid_valid | main_valid),
        Assert(dut.o.valid == main_valid),
        Assert(dut.o.payload == main),
        Assert(dut.i.ready == ~skid_valid),
    ]
    with m.If(main_valid & (given == t)):
        m.d.comb += Assert(main == v)
    with m.If(skid_valid & ((given + 1)[:8] == t)):
        m.d.comb += Assert(skid == v)
    return m


def test_skid_buffer_keeps_every_word_in_order(tmp_path):
    seconds = prove(harness(), "skid_buffer", tmp_path, depth=2)
    assert seconds < 120


def test_the_proof_fails_on_a_buffer_that_loses_words(tmp_path, monkeypatch):
    """Not vacuous: the same harness around a mutant whose ``i.ready`` is always high (a word
    taken while both entries are full overwrites the skid) is refuted."""
    import inspect
    import types

    import spikeforge.hdl.skid_buffer as original

    source = inspect.getsource(original)
    mutant_source = source.replace("self.i.ready.eq(~skid_valid)", "self.i.ready.eq(1)")
    assert mutant_source != source
    mutant = types.ModuleType("mutant_skid_buffer")
    exec(compile(mutant_source, "mutant_skid_buffer", "exec"), mutant.__dict__)
    monkeypatch.setitem(harness.__globals__, "SkidBuffer", mutant.SkidBuffer)
    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(harness(), "skid_buffer_mutant", tmp_path, depth=2)
