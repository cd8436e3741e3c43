"""The pipelined neuron update against layer_step, on states chosen to saturate, with stalls."""

import numpy as np
import pytest
from amaranth.sim import Simulator
from spikeforge.hdl.neuron_update import NeuronUpdate
from spikeforge.model import (
    IntFormat,
    Layer,
    LayerParams,
    LayerState,
    NeuronKind,
    ResetMode,
    layer_step,
)


def params_of(kind, reset, k_syn):
    extra = {"k_adapt": 3, "adapt_jump": 90, "trace_format": IntFormat(8, signed=False)}
    return LayerParams(
        n_in=1, n=1, kind=kind, reset=reset, k_syn=k_syn,
        k_mem=0 if kind is NeuronKind.IF else 2,
        theta=1 if kind is NeuronKind.LI else 50,
        weight_format=IntFormat(8), current_format=IntFormat(8), potential_format=IntFormat(7),
        **(extra if kind is NeuronKind.ALIF else {}),
    )


@pytest.mark.parametrize("kind", list(NeuronKind))
@pytest.mark.parametrize("reset", list(ResetMode))
@pytest.mark.parametrize("k_syn", [0, 3])
def test_update_matches_layer_step(kind, reset, k_syn):
    params = params_of(kind, reset, k_syn)
    cf, pf, tf = params.current_format, params.potential_format, params.trace_format
    rng = np.random.default_rng(int(kind) * 4 + int(reset) * 2 + k_syn)
    cases = []
    for _ in range(150):
        weight = int(rng.integers(-128, 128))
        i = int(rng.choice([cf.min, cf.max, rng.integers(cf.min, cf.max + 1)]))
        u = int(rng.choice([pf.min, pf.max, rng.integers(pf.min, pf.max + 1)]))
        b = int(rng.integers(0, tf.max + 1)) if kind is NeuronKind.ALIF else 0
        s = int(rng.integers(0, 2)) if params.spiking else 0
        cases.append((weight, i, u, b, s))
    wants = []
    for weight, i, u, b, s in cases:
        layer = Layer(params, np.array([[weight]]))
        state = LayerState(*(np.array([[v]]) for v in (i, u, s, b)))
        s_next, nxt, sat = layer_step(layer, np.array([[1]]), state)
        wants.append((int(nxt.i[0, 0]), int(nxt.u[0, 0]), int(nxt.b[0, 0]), int(s_next[0, 0]),
                      int(sat[0])))
    # operands stream in one a cycle while the pipeline advances; en drops at random (a stalled
    # consumer), and a result counts once: in a cycle where it is valid and en is high
    enables = rng.random(4 * len(cases)) < 0.7
    dut = NeuronUpdate(params, tag_width=8)
    got = {}

    async def bench(ctx):
        fed = 0
        for en in enables:
            ctx.set(dut.en, int(en))
            if fed < len(cases):
                weight, i, u, b, s = cases[fed]
                for port, value in ((dut.i, i), (dut.u, u), (dut.b, b), (dut.s, s),
                                    (dut.acc, weight), (dut.valid, 1), (dut.tag, fed)):
                    ctx.set(port, value)
            else:
                ctx.set(dut.valid, 0)
            if en and ctx.get(dut.valid_out):
                tag = ctx.get(dut.tag_out)
                assert tag not in got, f"result of case {tag} delivered twice"
                got[tag] = tuple(int(ctx.get(port)) for port in (
                    dut.i_next, dut.u_next, dut.b_next, dut.s_next, dut.saturations))
            await ctx.tick()
            if en and fed < len(cases):
                fed += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert sorted(got) == list(range(len(cases))), "every case leaves the pipeline once"
    mismatches = [(case, got[k], want)
                  for k, (case, want) in enumerate(zip(cases, wants, strict=True))
                  if got[k] != want]
    assert mismatches == []


def test_latency_is_the_schedule_constant():
    """The result of operands entered at cycle t is valid at t + LATENCY (with en held)."""
    params = params_of(NeuronKind.LIF, ResetMode.SUBTRACT, 1)
    dut = NeuronUpdate(params, tag_width=4)
    seen = []

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for cycle in range(NeuronUpdate.LATENCY + 3):
            ctx.set(dut.valid, cycle == 0)
            ctx.set(dut.tag, 5)
            seen.append(ctx.get(dut.valid_out))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen.index(1) == NeuronUpdate.LATENCY and sum(seen) == 1
