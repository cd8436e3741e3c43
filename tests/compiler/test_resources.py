"""The resource model counts what version 2 of the contract adds: the recurrent accumulators of
a layer with same-step recurrence, and one adder per extra decay term."""

import numpy as np
import pytest
from spikeforge.compiler.resources import (
    FitError,
    allocate,
    check_fit,
    estimate_luts,
    largest_dense,
)
from spikeforge.compiler.targets import get_target
from spikeforge.hdl.arith import input_accumulator_width, recurrent_accumulator_width
from spikeforge.model import IntFormat, Layer, LayerParams, Network, RateEncoding


def _network(**params):
    p = LayerParams(16, 8, **params)
    rng = np.random.default_rng(0)
    layer = Layer(p, rng.integers(-8, 8, (8, 16)),
                  rng.integers(-8, 8, (8, 8)) if p.recurrent else None, name="hidden")
    return Network((layer,), RateEncoding(steps=8, levels=4))


def test_same_step_recurrence_has_its_own_accumulators():
    plain = _network(recurrent=True)
    same = _network(recurrent=True, same_step_recurrence=True)

    def kinds(net):
        return [(m["memory"], m["lane"]) for m in allocate(net, 2, get_target("icebreaker"))]

    assert ("recurrent accumulators", 0) not in kinds(plain)
    assert {("recurrent accumulators", 0), ("recurrent accumulators", 1)} <= set(kinds(same))
    memories = {(m["memory"], m["lane"]): m for m in allocate(same, 2, get_target("icebreaker"))}
    p = same.layers[0].params
    assert memories[("accumulators", 0)]["width"] == input_accumulator_width(p)
    assert memories[("recurrent accumulators", 0)]["width"] == recurrent_accumulator_width(p)
    assert memories[("recurrent accumulators", 0)]["depth"] == 4


def test_each_extra_decay_term_costs_an_adder_of_the_state_width():
    one = _network()
    four = _network(k_syn=[1, -4, 6, -9], k_mem=[3, -6, 8, -11])
    p = four.layers[0].params
    expected = 3 * (p.current_format.width + 3) + 3 * (p.potential_format.width + 3)
    assert estimate_luts(four, 1) - estimate_luts(one, 1) == expected


def test_a_network_too_large_for_every_board_is_not_sent_to_a_larger_one():
    """The capacity error suggests the ULX3S for the UP5K, and nothing larger for the ULX3S."""
    rng = np.random.default_rng(0)
    big = Network((Layer(LayerParams(1024, 1024, weight_format=IntFormat(16)),
                         rng.integers(-5, 5, (1024, 1024)), name="huge"),),
                  RateEncoding(steps=8, levels=4))
    with pytest.raises(FitError, match=r"or a larger target \(ulx3s-85f\)"):
        check_fit(big, 1, get_target("icebreaker"))
    with pytest.raises(FitError, match="ulx3s-85f is the largest board") as error:
        check_fit(big, 1, get_target("ulx3s-85f"))
    assert "larger target" not in str(error.value)


def test_a_network_too_large_for_the_largest_board_is_told_what_would_fit():
    """On the ULX3S there is no larger board: the error names a weight width that fits, or,
    where none does, the largest dense network the board holds."""
    def square(h, bits):
        rng = np.random.default_rng(0)
        fmt = IntFormat(bits)
        return Network((Layer(LayerParams(h, h, weight_format=fmt),
                              rng.integers(-5, 5, (h, h)), name="wide"),),
                       RateEncoding(steps=8, levels=4))

    ulx3s = get_target("ulx3s-85f")
    with pytest.raises(FitError, match=r"With 3-bit weights \(--weight-bits 3\) it fits"):
        check_fit(square(1024, 16), 1, ulx3s)
    h, synapses = largest_dense(ulx3s)
    assert h == 624 and synapses == 624 * 634
    with pytest.raises(FitError, match=rf"largest dense H → H → 10 network of 8-bit weights it "
                                       rf"holds has H = 624 \({synapses} synapses\); this one "
                                       rf"has {2048 * 2048}"):
        check_fit(square(2048, 8), 1, ulx3s)
