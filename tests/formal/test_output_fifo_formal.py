"""Proof (k-induction, SymbiYosys) that the host link's output buffer level equals the words
written minus the words read, for every sequence of writes, reads and CLEARs.

The unit is :class:`~spikeforge.hdl.fifo_pointers.FifoPointers`, the output buffer's
bookkeeping inside :class:`~spikeforge.hdl.host_link.HostLink`. The harness counts the pushes
and pops since the last ``clear`` (modulo 2**w with 2**w > depth, so their difference is exact)
and asserts at every cycle: ``level`` = pushes − pops, ``level`` ≤ depth, ``full`` ⇔
``level`` = depth, both pointers < depth, and ``tail`` = (``head`` + ``level``) mod depth (the
words held are the ones between the pointers). The solver drives ``push``, ``pop`` and
``clear`` freely, under the two rules the host link keeps: it pushes only while ``~full``
(``outputs.ready`` needs it) and pops only words it counted in ``level`` (a READ_OUTPUT pops
``min(most, level)``). Depths 4 (a power of two) and 5 (the pointers wrap before their range
ends) are proved.

The first rule is proved of the :class:`~spikeforge.hdl.output_buffer.OutputBuffer` that
holds the pointers in the host link, every input free (``obuf_push`` is gated by
``events.ready``, which needs ``~full`` unless the events are flushed, not pushed). The second
rests on READ_OUTPUT popping ``min(most, level)`` words while nothing else pops; an induction
proof of it over the whole link needs invariants of the executor's counters and is not done.
"""

import pytest
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib.wiring import Flow
from spikeforge.hdl.fifo_pointers import FifoPointers
from spikeforge.hdl.output_buffer import OutputBuffer

from .sby import elaborated, internal, prove

pytestmark = pytest.mark.formal


def harness(depth, component=FifoPointers):
    m = Module()
    dut = component(depth)
    m.submodules.dut = elaborated(dut)
    m.d.comb += Assume(~ResetSignal())
    push, pop, clear = AnySeq(1), AnySeq(1), AnySeq(1)
    m.d.comb += [dut.push.eq(push), dut.pop.eq(pop), dut.clear.eq(clear)]
    # the host link's rules: no push into a full buffer, no pop from an empty one
    m.d.comb += [Assume(~(push & dut.full)), Assume(~(pop & (dut.level == 0)))]

    width = (depth + 1).bit_length() + 1
    writes, reads = Signal(width), Signal(width)  # since the last clear, modulo 2**width
    m.d.sync += [writes.eq(Mux(clear, 0, writes + push)), reads.eq(Mux(clear, 0, reads + pop))]
    wrapped = Signal(range(2 * depth))
    m.d.comb += wrapped.eq(dut.head + dut.level)
    m.d.comb += [
        Assert(dut.level == (writes - reads)[:width]),
        Assert(dut.level <= depth),
        Assert(dut.head < depth),
        Assert(dut.tail < depth),
        Assert(dut.full == (dut.level == depth)),
        Assert(dut.tail == Mux(wrapped >= depth, wrapped - depth, wrapped)),
    ]
    return m


@pytest.mark.parametrize("depth", [4, 5])
def test_output_buffer_level_is_writes_minus_reads(tmp_path, depth):
    seconds = prove(harness(depth), f"output_fifo_{depth}", tmp_path, depth=2)
    assert seconds < 120


def test_the_proof_fails_on_a_fifo_whose_full_flag_lags(tmp_path, monkeypatch):
    """Not vacuous: a mutant that never sets ``full`` (it compares the old level with depth
    instead of depth − 1) lets a push into a full buffer through, and is refuted."""
    import inspect
    import types

    import spikeforge.hdl.fifo_pointers as original

    source = inspect.getsource(original)
    mutant_source = source.replace("full.eq(level == depth - 1)", "full.eq(level == depth)")
    assert mutant_source != source
    mutant = types.ModuleType("mutant_fifo_pointers")
    exec(compile(mutant_source, "mutant_fifo_pointers", "exec"), mutant.__dict__)
    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(harness(4, mutant.FifoPointers), "output_fifo_mutant", tmp_path, depth=2)


def buffer_harness(component=OutputBuffer):
    """The output buffer with every input free: it never pushes into a full FIFO (the first
    rule the proof above assumes)."""
    m = Module()
    dut = component(5)
    frag = elaborated(dut)
    m.submodules.dut = frag
    m.d.comb += Assume(~ResetSignal())
    for _, member, value in dut.signature.flatten(dut):
        if member.flow is Flow.In:
            value = Value.cast(value)
            m.d.comb += value.eq(AnySeq(len(value)))
    push = internal(frag, "obuf_push")
    origins = next(sub for sub, name, *_ in frag.subfragments if name == "output_fifo").origins
    fifo = next(o for o in origins if isinstance(o, FifoPointers))
    m.d.comb += Assert(~(push & fifo.full))
    return m


def test_the_output_buffer_never_pushes_into_a_full_fifo(tmp_path):
    assert prove(buffer_harness(), "output_buffer_push", tmp_path, depth=1) < 120


def test_the_buffer_proof_fails_on_a_buffer_that_ignores_full(tmp_path):
    """Not vacuous: a buffer whose event stream is always ready is refuted."""

    class Careless(OutputBuffer):
        def elaborate(self, platform):
            m = super().elaborate(platform)
            m.d.comb += self.events.ready.eq(~self.owned)
            return m

    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(buffer_harness(Careless), "output_buffer_push_mutant", tmp_path, depth=1)
