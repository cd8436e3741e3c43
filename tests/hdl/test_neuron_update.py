"""The combinational neuron update against layer_step, on states chosen to saturate."""

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
    dut = NeuronUpdate(params)
    mismatches = []

    async def bench(ctx):
        for weight, i, u, b, s in cases:
            layer = Layer(params, np.array([[weight]]))
            state = LayerState(*(np.array([[v]]) for v in (i, u, s, b)))
            s_next, nxt, sat = layer_step(layer, np.array([[1]]), state)
            for port, value in ((dut.i, i), (dut.u, u), (dut.b, b), (dut.s, s), (dut.acc, weight)):
                ctx.set(port, value)
            got = (ctx.get(dut.i_next), ctx.get(dut.u_next), ctx.get(dut.b_next),
                   ctx.get(dut.s_next), ctx.get(dut.saturations))
            want = (nxt.i[0, 0], nxt.u[0, 0], nxt.b[0, 0], s_next[0, 0], sat[0])
            if tuple(map(int, got)) != tuple(map(int, want)):
                mismatches.append(((weight, i, u, b, s), got, want))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches == []
