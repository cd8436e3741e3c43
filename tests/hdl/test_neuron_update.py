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
    got = run_update(params, [dict(acc=weight, i=i, u=u, b=b, s=s)
                              for weight, i, u, b, s in cases], enables)
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


# ---- contract version 2: each feature on purpose, against layer_step -------------------------

S8, S7 = IntFormat(8), IntFormat(7)
V2_CASES = {
    "two-term decays": dict(k_syn=[2, -4], k_mem=[1, 3]),
    "three-term decays, bias": dict(k_syn=[1, 3, -5], k_mem=[2, -4, 6], bias=True),
    "four-term decays": dict(k_syn=[1, 2, -4, 6], k_mem=[1, -3, 4, -6]),
    "first shift 0 with a negative term": dict(k_syn=[0, -1], k_mem=[0, -2, -5]),
    "four-term ALIF trace": dict(kind=NeuronKind.ALIF, k_syn=[1, 3], k_mem=[2, -4, 5, 6],
                                 k_adapt=[2, 3, -5, 7]),
    "reset amount": dict(theta_reset=13),
    "reset amount, four-term ALIF": dict(kind=NeuronKind.ALIF, theta_reset=61,
                                         k_adapt=[1, -3, 5, -7]),
    "reset before the leak": dict(reset=ResetMode.SUBTRACT_BEFORE_LEAK),
    "reset before the leak, four terms, reset amount": dict(
        reset=ResetMode.SUBTRACT_BEFORE_LEAK, k_mem=[1, 2, -3, 5], theta_reset=7),
    "reset before the leak, IF": dict(kind=NeuronKind.IF, reset=ResetMode.SUBTRACT_BEFORE_LEAK),
    "input shift, bias": dict(input_shift=3, bias=True),
    "input shift, LI, three terms": dict(kind=NeuronKind.LI, input_shift=2, k_mem=[1, 4, -6]),
    "input shift, recurrent": dict(input_shift=1, recurrent=True, k_syn=[1, -3]),
    "same-step recurrence": dict(recurrent=True, same_step_recurrence=True),
    "same-step recurrence, zero reset, four terms": dict(
        recurrent=True, same_step_recurrence=True, reset=ResetMode.ZERO,
        k_syn=[1, 2, -5, 7], k_mem=[2, 3, -5, 6]),
    "same-step recurrence, clearing reset, four terms, shift": dict(
        recurrent=True, same_step_recurrence=True, reset=ResetMode.CLEAR, input_shift=1,
        k_syn=[1, -3, 5, -7], k_mem=[2, 3, -5, 6]),
    "clearing reset, IF, bias": dict(kind=NeuronKind.IF, reset=ResetMode.CLEAR, bias=True),
    "same-step recurrence, reset before the leak, shift, bias": dict(
        recurrent=True, same_step_recurrence=True, reset=ResetMode.SUBTRACT_BEFORE_LEAK,
        input_shift=2, bias=True, theta_reset=20, k_syn=[0, -2]),
    "same-step recurrence, ALIF, IF-like no synaptic filter": dict(
        kind=NeuronKind.ALIF, recurrent=True, same_step_recurrence=True, k_syn=0,
        k_adapt=[2, -5], theta_reset=40),
    "same-step recurrence, IF": dict(kind=NeuronKind.IF, recurrent=True,
                                     same_step_recurrence=True, k_syn=[1, -4, 6]),
}


def v2_params(**changes):
    kind = changes.get("kind", NeuronKind.LIF)
    base = dict(n_in=1, n=1, k_syn=1, k_mem=0 if kind is NeuronKind.IF else 2,
                theta=1 if kind is NeuronKind.LI else 50,
                weight_format=S8, current_format=S8, potential_format=S7)
    if kind is NeuronKind.ALIF:
        base.update(k_adapt=3, adapt_jump=90, trace_format=IntFormat(8, signed=False))
    base.update(changes)
    return LayerParams(**base)


def run_update(params, cases, enables):
    """Stream ``cases`` (dicts of port values) through a NeuronUpdate whose ``en`` follows
    ``enables``; return {case index: (i, u, b, s, saturations)}."""
    dut = NeuronUpdate(params, tag_width=10)
    got = {}

    async def bench(ctx):
        fed = 0
        for en in enables:
            ctx.set(dut.en, int(en))
            if fed < len(cases):
                for name, value in cases[fed].items():
                    ctx.set(getattr(dut, name), value)
                ctx.set(dut.valid, 1)
                ctx.set(dut.tag, fed)
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
    return got


@pytest.mark.parametrize("name", list(V2_CASES))
def test_version_2_update_matches_layer_step(name):
    """Every version-2 feature, on states at and near the format bounds, with random stalls:
    the pipeline's next state, spike and saturation count equal ``layer_step``'s."""
    params = v2_params(**V2_CASES[name])
    cf, pf, tf, wf = (params.current_format, params.potential_format, params.trace_format,
                      params.weight_format)
    rng = np.random.default_rng(sorted(V2_CASES).index(name))
    cases, wants = [], []
    for _ in range(200):
        w, v = (int(rng.integers(wf.min, wf.max + 1)) for _ in range(2))
        c = int(rng.integers(cf.min, cf.max + 1))
        i = int(rng.choice([cf.min, cf.max, rng.integers(cf.min, cf.max + 1)]))
        u = int(rng.choice([pf.min, pf.max, rng.integers(pf.min, pf.max + 1)]))
        b = int(rng.integers(0, tf.max + 1)) if params.kind is NeuronKind.ALIF else 0
        s = int(rng.integers(0, 2)) if params.spiking else 0
        s_in = int(rng.integers(0, 2))
        layer = Layer(params, np.array([[w]]),
                      recurrent=np.array([[v]]) if params.recurrent else None,
                      bias=np.array([c]) if params.bias else None)
        state = LayerState(*(np.array([[value]]) for value in (i, u, s, b)))
        s_next, nxt, sat = layer_step(layer, np.array([[s_in]]), state)
        wants.append((int(nxt.i[0, 0]), int(nxt.u[0, 0]), int(nxt.b[0, 0]), int(s_next[0, 0]),
                      int(sat[0])))
        ports = {"i": i, "u": u, "b": b, "s": s, "acc": w * s_in}
        rec = v * s if params.recurrent else 0
        if params.same_step_recurrence:
            ports["rec"] = rec
        else:
            ports["acc"] += rec
        if params.bias:
            ports["bias"] = c
        cases.append(ports)
    got = run_update(params, cases, rng.random(5 * len(cases)) < 0.7)
    assert sorted(got) == list(range(len(cases))), "every case leaves the pipeline once"
    mismatches = [(k, cases[k], got[k], want) for k, want in enumerate(wants) if got[k] != want]
    assert mismatches == []
    # the cases reach every branch they name: spikes, resets, saturation
    assert any(want[3] for want in wants) or not params.spiking
    assert any(want[4] for want in wants)


@pytest.mark.parametrize(("changes", "latency"), [
    ({}, 3),
    ({"kind": NeuronKind.ALIF, "bias": True}, 4),  # U ≥ θ + b of the saturated U and b
    ({"kind": NeuronKind.IF, "reset": ResetMode.ZERO}, 3),
    ({"theta_reset": 9, "input_shift": 3}, 3),  # free: a constant and wiring
    ({"kind": NeuronKind.LI, "k_mem": [2, 4]}, 3),  # U: 4 operands (U, 2 terms, I)
    ({"kind": NeuronKind.IF, "reset": ResetMode.ZERO, "k_syn": 0}, 3),  # U: 2 operands
    ({"reset": ResetMode.CLEAR}, 3),  # U: 3 operands, then a select of 0
    ({"k_syn": [1, -3]}, 4),  # I: 5 operands (I, 2 terms, acc, bias)
    ({"k_mem": [1, -3]}, 4),  # U: 5 operands (U, 2 terms, I, reset)
    ({"k_syn": [1, 2, -4, 6], "k_mem": [1, -3, 4, -6], "bias": True}, 4),  # 7 operands
    ({"kind": NeuronKind.ALIF, "k_adapt": [1, -3, 5]}, 5),  # b: 5 operands, then the compare
    ({"reset": ResetMode.SUBTRACT_BEFORE_LEAK}, 4),
    ({"recurrent": True, "same_step_recurrence": True}, 4),
    ({"recurrent": True, "same_step_recurrence": True, "k_syn": [1, 2, -4, 6]}, 5),
])
def test_latency_follows_the_layer(changes, latency):
    """``latency(params)`` is what the pipeline does: one valid result, exactly that many
    cycles after its operands (en held); one-term decays without the version-2 structural
    features take ``LATENCY``, ALIF one cycle more (the version-1 latency)."""
    params = v2_params(**changes)
    assert NeuronUpdate.latency(params) == latency
    dut = NeuronUpdate(params, tag_width=4)
    seen = []

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for cycle in range(latency + 3):
            ctx.set(dut.valid, cycle == 0)
            seen.append(ctx.get(dut.valid_out))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen.index(1) == latency and sum(seen) == 1
