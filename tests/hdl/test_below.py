"""``below``: the carry-free comparison with a constant equals ``value < const`` for every value
and every constant a value of its width can meet, those beyond its range included; and it is
built of logic alone (no ``$lt`` cell for Yosys to map to a carry chain)."""

from amaranth.back import rtlil
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from spikeforge.hdl.arith import below

WIDTH = 6


def test_below_equals_less_than_for_every_value_and_constant():
    value = Signal(WIDTH)
    consts = range(-2, (1 << WIDTH) + 3)
    outs = {const: Signal(name=f"below_{const + 2}") for const in consts}
    m = Module()
    m.d.comb += [out.eq(below(value, const)) for const, out in outs.items()]
    wrong, checked = [], 0

    async def bench(ctx):
        nonlocal checked
        for x in range(1 << WIDTH):
            ctx.set(value, x)
            for const, out in outs.items():
                checked += 1
                if ctx.get(out) != int(x < const):
                    wrong.append((x, const, ctx.get(out)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert checked == (1 << WIDTH) * len(consts)
    assert wrong == []


def test_below_has_no_comparison_cell():
    value, out = Signal(16), Signal()
    m = Module()
    m.d.comb += out.eq(below(value, 1000))
    text = rtlil.convert(m, ports=[value, out])
    assert "$lt" not in text and "$ge" not in text and "$sub" not in text
    assert "$and" in text or "$or" in text
