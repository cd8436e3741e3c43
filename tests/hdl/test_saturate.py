"""``saturate``: the comparator-free saturation equals ``clamp`` to the full signed range, for
every input value; ``clamp`` (which takes that form for a full two's complement range) equals
``min(max(x, lo), hi)`` and flags exactly the values it changes, for every input value."""

import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator
from spikeforge.hdl.arith import clamp, saturate


@pytest.mark.parametrize("in_width,width", [(7, 4), (5, 1), (6, 5), (4, 4), (3, 6)])
def test_saturate_equals_clamp_for_every_value(in_width, width):
    value = Signal(signed(in_width))
    out = Signal(signed(max(in_width, width)))
    m = Module()
    m.d.comb += out.eq(saturate(value, width))
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    seen = []

    async def bench(ctx):
        for x in range(-(1 << (in_width - 1)), 1 << (in_width - 1)):
            ctx.set(value, x)
            seen.append((x, ctx.get(out)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(seen) == 1 << in_width
    assert [y for _, y in seen] == [min(max(x, lo), hi) for x, _ in seen]


def test_saturate_refuses_an_unsigned_value():
    with pytest.raises(TypeError, match="signed"):
        saturate(Signal(8), 4)


@pytest.mark.parametrize("shape,lo,hi", [
    (signed(7), -8, 7),      # a full 4-bit range: the reduction form
    (signed(5), -1, 0),      # a full 1-bit range
    (signed(4), -8, 7),      # already within the range: no logic
    (signed(7), -8, 5),      # not a two's complement range: comparators
    (signed(7), -5, 7),
    (signed(6), 0, 20),
    (unsigned(6), 0, 20),
    (unsigned(6), 3, 40),
])
def test_clamp_clamps_and_flags_every_value(shape, lo, hi):
    value = Signal(shape)
    result, flag = clamp(value, lo, hi)
    out, saturated = Signal(signed(len(result) + 1)), Signal()
    m = Module()
    m.d.comb += [out.eq(result), saturated.eq(flag)]
    seen = []

    async def bench(ctx):
        low = -(1 << (shape.width - 1)) if shape.signed else 0
        for x in range(low, low + (1 << shape.width)):
            ctx.set(value, x)
            seen.append((x, ctx.get(out), ctx.get(saturated)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(seen) == 1 << shape.width
    assert [(y, f) for _, y, f in seen] == [(min(max(x, lo), hi), int(not lo <= x <= hi))
                                             for x, _, _ in seen]
