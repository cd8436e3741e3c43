"""Weights in the UltraPlus SPRAM: which weight memories go there (only where the block RAMs
cannot hold the design), what they take, and what the hardware makes of the plan."""

from itertools import pairwise

import numpy as np
import pytest
from spikeforge.compiler.resources import FitError, allocate, check_fit, spram_plan
from spikeforge.compiler.targets import get_target
from spikeforge.hdl.weight_spram import WeightSPRAM, spram_blocks
from spikeforge.model import IntFormat, Layer, LayerParams, Network, RateEncoding

ICEBREAKER = get_target("icebreaker")


def dense(*shape, bits=8):
    rng = np.random.default_rng(0)
    fmt = IntFormat(bits)
    layers = tuple(Layer(LayerParams(n_in, n, weight_format=fmt),
                         rng.integers(fmt.min, fmt.max + 1, (n, n_in)), name=f"l{index}")
                   for index, (n_in, n) in enumerate(pairwise(shape)))
    return Network(layers, RateEncoding(steps=8, levels=4))


def test_spram_words_hold_two_8_bit_four_4_bit_or_one_16_bit_weight():
    assert spram_blocks(16384 * 2, 8) == 1 and spram_blocks(16384 * 2 + 1, 8) == 2
    assert spram_blocks(16384 * 4, 4) == 1 and spram_blocks(16384 * 4 + 1, 3) == 2
    assert spram_blocks(16384, 12) == 1 and spram_blocks(16385, 16) == 2
    assert spram_blocks(10, 17) is None
    with pytest.raises(ValueError, match="at most 16 bits"):
        WeightSPRAM(width=17, depth=8, init=[])


def test_a_network_the_block_rams_hold_keeps_them():
    digits = dense(64, 128, 10)
    assert spram_plan(digits, 1, ICEBREAKER) == frozenset()
    fit = check_fit(digits, 1, ICEBREAKER)
    assert fit["bram_blocks"] == 30 and fit["spram_blocks"] == 0
    assert spram_plan(dense(256, 256, 10), 1, get_target("ulx3s-85f")) == frozenset()


def test_256_256_10_keeps_its_first_layers_weights_in_two_sprams():
    network = dense(256, 256, 10)
    assert spram_plan(network, 1, ICEBREAKER) == {(0, 0)}
    fit = check_fit(network, 1, ICEBREAKER)
    assert fit["spram_blocks"] == 2 and fit["bram_blocks"] <= 30
    (weights,) = [m for m in fit["memories"] if m["memory"] == "weights" and m["layer"] == "l0"]
    assert weights["blocks"] == 0 and weights["spram_blocks"] == 2
    assert weights["depth"] == 256 * 256 and weights["width"] == 8
    # without SPRAM the same design needs 128 more block RAMs than the device has
    no_spram = ICEBREAKER._replace(spram_blocks=0)
    assert sum(m["blocks"] for m in allocate(network, 1, no_spram)) > 128


def test_only_the_weights_of_layers_that_do_not_learn_go_to_spram():
    """A learning unit reads and writes its layer's weights in one cycle (the update's read,
    modify, write), which single-port SPRAM cannot do: SuperSpike readout learning of a
    64-64-10 network keeps the readout's weights in block RAM and moves the first layer's,
    which makes room for the units' memories (30 of 30 block RAMs, what nextpnr places);
    e-prop on every layer leaves nothing to move, and the error says why."""
    from spikeforge.model.learning import LearningConfig

    network = dense(64, 64, 10)
    readout = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -6)
    assert spram_plan(network, 1, ICEBREAKER) == frozenset()  # it fits without the units
    assert spram_plan(network, 1, ICEBREAKER, learning=readout) == {(0, 0)}
    fit = check_fit(network, 1, ICEBREAKER, learning=readout)
    assert fit["spram_blocks"] == 1 and fit["bram_blocks"] == 30
    units = {m["memory"]: m for m in fit["memories"] if m["memory"].startswith("learning")}
    assert sorted(units) == sorted(f"learning {kind}" for kind in (
        "traces", "eligibilities", "gradients", "captured state", "neuron factors", "errors",
        "spikes"))
    assert (units["learning gradients"]["depth"], units["learning spikes"]["depth"]) == (640, 128)
    everywhere = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -6)
    with pytest.raises(FitError, match="a learning layer's stay in block RAM"):
        check_fit(network, 1, ICEBREAKER, learning=everywhere)


def test_a_network_too_large_for_the_sprams_too_is_refused_with_what_was_tried():
    with pytest.raises(FitError, match=r"SPRAMs beside the host link's .* cannot take enough"):
        check_fit(dense(512, 256, 10), 1, ICEBREAKER)


def test_spram_weights_need_the_host_and_a_layer_that_does_not_learn():
    from spikeforge.hdl.lif_layer import LIFLayer
    from spikeforge.hdl.link_top import LinkTop
    from spikeforge.model.learning import LearningConfig

    network = dense(8, 6, 4)
    with pytest.raises(ValueError, match="needs host_access"):
        LIFLayer(network.layers[0], spram_lanes={0})
    with pytest.raises(ValueError, match=r"spram_lanes must be lanes of 0\.\.0"):
        LIFLayer(network.layers[0], spram_lanes={1}, host_access=True)
    readout = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -6)
    with pytest.raises(ValueError, match=r"layer\(s\) \[1\] learn.*cannot be in single-port SPRAM"):
        LinkTop(network, divisor=4, spram_weights={(1, 0)}, learning=readout)
    top = LinkTop(network, divisor=4, spram_weights={(0, 0)}, learning=readout)
    assert top.core.spram_weights == frozenset({(0, 0)})


def test_the_up5k_design_instantiates_one_spram_per_16384_words_and_no_other_does():
    """Elaborated for an UltraPlus, a weight memory in the plan becomes SPRAM instances (beside
    the link's two buffers); the same design for any other platform has none."""
    from spikeforge.sim.cosim_device import cosim_verilog

    network = dense(64, 48, 10)  # 3,072 words: one SPRAM at two weights a word
    up5k, _ = cosim_verilog(network, spram_weights={(0, 0)})
    assert up5k.count("SB_SPRAM256KA ") == 2 + 1
    plain, _ = cosim_verilog(network)
    assert "SB_SPRAM256KA" not in plain
