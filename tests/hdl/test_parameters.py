# amaranth: UnusedElaboratable=no
# (cores refused in their constructor are never elaborated, by design)
"""Bad parameters are refused when the cores are built, with messages that name the value."""

import dataclasses
import re

import numpy as np
import pytest
from spikeforge.hdl.lif_layer import LIFLayer
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.link.memory_layout import lane_weights, weight_address
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind
from spikeforge.model.decay import Decay
from spikeforge.model.encoding import SpikeEncoding


def layer(**changes):
    params = LayerParams(n_in=3, n=6, **changes)
    return Layer(params, np.arange(18).reshape(6, 3) % 7 - 3)


def network(**changes):
    return Network((layer(**changes),), SpikeEncoding(4))


@pytest.mark.parametrize("lanes", [4, 5, 12])
def test_lanes_must_divide_the_neuron_count(lanes):
    with pytest.raises(ValueError, match=f"{lanes} lanes do not divide n = 6"):
        LIFLayer(layer(), lanes=lanes)


@pytest.mark.parametrize("lanes", [0, -2, 1.5, True])
def test_lanes_must_be_a_positive_integer(lanes):
    with pytest.raises(ValueError, match=re.escape("lanes must be a positive integer")):
        NetworkCore(network(), lanes=lanes)


def test_threshold_that_the_potential_width_cannot_hold():
    with pytest.raises(ValueError, match=re.escape("theta must be an integer in 1..127, not 300")):
        layer(theta=300, potential_format=IntFormat(8))
    # a configuration that bypassed validation is still refused by the core
    bad = layer(potential_format=IntFormat(8))
    object.__setattr__(bad.params, "theta", 300)
    message = "theta = 300 does not fit the potential format s8"
    with pytest.raises(ValueError, match=re.escape(message)):
        LIFLayer(bad)


@pytest.mark.parametrize("k_syn", [8, [1, -3, 9]])
def test_shift_as_wide_as_the_format(k_syn):
    with pytest.raises(ValueError, match=re.escape("k_mem shifts must be in 0..7 for a 8-bit")):
        layer(k_mem=[2, 8], potential_format=IntFormat(8))
    bad = layer(current_format=IntFormat(8))
    decay = Decay.of(k_syn)
    object.__setattr__(bad.params, "k_syn", decay)
    message = f"k_syn shifts must be in 0..7, not {decay.max_shift} (in k_syn = {k_syn})"
    with pytest.raises(ValueError, match=re.escape(message)):
        LIFLayer(bad)


def test_input_fifo_must_hold_a_whole_step():
    message = "input_depth must be an integer of at least 4, not 3"
    with pytest.raises(ValueError, match=re.escape(message)):
        NetworkCore(network(), input_depth=3)


def test_layer_index_range():
    with pytest.raises(ValueError, match=re.escape("index must be an integer in 0..255, not 256")):
        LIFLayer(layer(), index=256)


def test_not_a_layer():
    with pytest.raises(TypeError, match=re.escape("layer must be a spikeforge.model.Layer")):
        LIFLayer(dataclasses.asdict(layer().params))


@pytest.mark.parametrize("lanes", [1, 2, 3, 6])
def test_lane_layout_places_every_weight_once(lanes):
    rng = np.random.default_rng(lanes)
    params = LayerParams(n_in=4, n=6, recurrent=True, kind=NeuronKind.ALIF, k_adapt=2)
    lay = Layer(params, rng.integers(-128, 128, (6, 4)), recurrent=rng.integers(-128, 128, (6, 6)))
    memories = lane_weights(lay, lanes)
    assert sum(len(words) for words in memories) == 6 * 10
    for neuron in range(6):
        for row in range(10):
            lane, addr = weight_address(lay, lanes, neuron, row)
            want = lay.weight[neuron, row] if row < 4 else lay.recurrent[neuron, row - 4]
            assert memories[lane][addr] == want
