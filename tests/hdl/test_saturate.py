"""``saturate``: the comparator-free saturation equals ``clamp`` to the full signed range, for
every input value."""

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator
from spikeforge.hdl.arith import saturate


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
