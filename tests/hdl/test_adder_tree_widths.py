"""The registers of multi-term adder trees are sized by the ranges of their sums: the ranges are
sound (exhaustively, for small widths), the pipeline is exact at every state of a small format,
and one-term layers keep the version-1 registers."""

from itertools import combinations, product

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.hdl import signed, unsigned
from spikeforge.hdl.neuron_update import NeuronUpdate, _bounds, _shape_range
from spikeforge.model import IntFormat, Layer, LayerParams, LayerState, NeuronKind, layer_step

from .test_neuron_update import run_update, v2_params


@pytest.mark.parametrize("shape", [signed(1), signed(5), signed(8), unsigned(3), unsigned(7)])
def test_bounds_hold_every_value(shape):
    """``_bounds`` of every signed sum of up to five distinct shifts of one value holds the sum
    at every value of ``shape`` (and is exact when there is no shift but 0)."""
    lo_v, hi_v = _shape_range(shape)
    v = np.arange(lo_v, hi_v + 1, dtype=np.int64)
    shifts = range(shape.width + 1)
    for count in range(1, 6):
        for chosen in combinations(shifts, count):
            for signs in product((1, -1), repeat=count):
                terms = list(zip(signs, chosen, strict=True))
                form = tuple((0, s, k, (lo_v, hi_v), None) for s, k in terms)
                total = sum(s * (v >> k) for s, k in terms)
                lo, hi = _bounds(form)
                assert lo <= total.min() and total.max() <= hi, (shape, signs, chosen)
                if chosen == (0,):
                    assert (lo, hi) == (total.min(), total.max())


def test_bounds_of_a_one_term_leak_are_tight():
    """``x - (x >> 1)`` of a 16-bit ``x``: 16 bits, where adding ranges gives 17."""
    full = (-(1 << 15), (1 << 15) - 1)
    assert _bounds(((0, 1, 0, full, None), (0, -1, 1, full, None))) == (-16384, 16384)


S8, S7, U8 = IntFormat(8), IntFormat(7), IntFormat(8, signed=False)
EXHAUSTIVE = {
    "four terms, bias": dict(k_syn=[1, -4, 6, -7], k_mem=[1, -3, 4, -6], bias=True),
    "four-term ALIF, reset amount": dict(kind=NeuronKind.ALIF, k_syn=[1, 2, -4, 6],
                                         k_mem=[2, -4, 5, 6], k_adapt=[1, -3, 5, -7],
                                         theta_reset=61),
    "first shift 0, LI": dict(kind=NeuronKind.LI, k_syn=[0, -1, 3], k_mem=[0, -2, -5]),
}


@pytest.mark.parametrize("name", list(EXHAUSTIVE))
def test_multi_term_update_is_exact_at_every_state(name):
    """Every I (with the synaptic sum and bias at their extremes), every U and every b of an
    8/7-bit layer through the narrowed pipeline, against ``layer_step``."""
    params = v2_params(**EXHAUSTIVE[name])
    cf, pf, tf, wf = (params.current_format, params.potential_format, params.trace_format,
                      params.weight_format)
    alif = params.kind is NeuronKind.ALIF
    cases, wants = [], []
    extremes = [(wf.min, cf.min), (wf.max, cf.max), (0, 0), (wf.min, cf.max)]
    for k, i in enumerate(range(cf.min, cf.max + 1)):
        for j, (w, c) in enumerate(extremes):
            u = (pf.min, pf.max, pf.min + (k * 7 + j) % (pf.max - pf.min + 1))[(k + j) % 3]
            b = (k * 5 + j) % (tf.max + 1) if alif else 0
            s = (k + j) % 2 if params.spiking else 0
            layer = Layer(params, np.array([[w]]), bias=np.array([c]) if params.bias else None)
            state = LayerState(*(np.array([[value]]) for value in (i, u, s, b)))
            s_next, nxt, sat = layer_step(layer, np.array([[1]]), state)
            wants.append((int(nxt.i[0, 0]), int(nxt.u[0, 0]), int(nxt.b[0, 0]),
                          int(s_next[0, 0]), int(sat[0])))
            ports = {"i": i, "u": u, "b": b, "s": s, "acc": w}
            if params.bias:
                ports["bias"] = c
            cases.append(ports)
    got = run_update(params, cases, np.ones(len(cases) + 8, dtype=bool))
    mismatches = [(k, cases[k], got[k], want) for k, want in enumerate(wants) if got[k] != want]
    assert mismatches == []


def registers(params):
    """{name: width} of the named registers of a NeuronUpdate for ``params``."""
    text = rtlil.convert(NeuronUpdate(params, tag_width=4), name="top")
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["wire", "width"] and parts[-1].startswith("\\"):
            out[parts[-1][1:]] = int(parts[2])
    return out


def test_one_term_layers_keep_the_version_1_registers():
    """No narrowing without a multi-term decay: the version-1 first level and sums."""
    regs = registers(LayerParams(64, 128))
    assert {k: regs[k] for k in ("leak_i", "syn_in", "leak_u", "drive", "i_wide", "u_wide")} == {
        "leak_i": 17, "syn_in": 17, "leak_u": 17, "drive": 18, "i_wide": 18, "u_wide": 19}


def test_four_term_sums_are_no_wider_than_one_term_sums():
    """The digits-sized layer with four-term decays: its sums no wider than with one term."""
    regs = registers(LayerParams(64, 128, k_syn=[1, -4, 6, -9], k_mem=[3, -6, 8, -11]))
    assert regs["i_wide"] <= 18 and regs["u_wide"] <= 19
