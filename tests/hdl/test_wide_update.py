"""The update phase of a dense layer with P lanes handles P neurons a cycle (a state word) and
emits their spikes one a cycle: hand-computed cycles, and the core against the reference."""

import numpy as np
import pytest
from spikeforge.hdl.schedule import layer_cycles, max_layer_cycles, schedule, update_cycles
from spikeforge.link.memory_layout import probe_layers, update_lanes
from spikeforge.model import Layer, LayerParams, Network, RateEncoding, run
from spikeforge.sim.amaranth_sim import simulate_network
from spikeforge.sim.random_networks import random_network, random_spikes


def _burst_network():
    """One LIF layer of 8 neurons (theta 64, one-term decays, L = 3) over 2 inputs: input 0
    drives neurons 0-4 hard and inhibits 7, input 1 drives neuron 6."""
    weight = np.zeros((8, 2), np.int64)
    weight[:5, 0], weight[7, 0], weight[6, 1] = 120, -120, 120
    return Network((Layer(LayerParams(2, 8), weight),), RateEncoding(steps=4, levels=4))


def _burst_input():
    x = np.zeros((6, 2), np.int64)
    x[:, 0] = 1
    x[3:, 1] = 1
    return x


def test_update_lanes_are_the_lanes_of_a_dense_layer_when_a_power_of_two():
    layer = _burst_network().layers[0]
    assert [update_lanes(layer, p) for p in (1, 2, 4, 8)] == [1, 2, 4, 8]
    six = Layer(LayerParams(2, 6), np.zeros((6, 2), np.int64))
    assert update_lanes(six, 3) == 1 and update_lanes(six, 6) == 1 and update_lanes(six, 2) == 2
    readout = Layer(LayerParams(8, 2), np.zeros((2, 8), np.int64))
    two = Network((_burst_network().layers[0], readout), RateEncoding(steps=4, levels=4))
    assert probe_layers(two, 2) == (0, 0, 1, 1)
    assert probe_layers(two, 1) == (0, 1)


def test_update_cycles_count_each_word_once_and_each_extra_spike():
    spikes = np.array([[0, 0, 0, 0, 0, 0, 0, 0],
                       [1, 1, 1, 1, 1, 0, 0, 0],
                       [1, 0, 0, 0, 0, 0, 1, 0],
                       [1, 1, 1, 1, 1, 1, 1, 1]])
    # W = 4: words (c0, c1) = (0, 0), (4, 1), (1, 1), (4, 4)
    np.testing.assert_array_equal(update_cycles(spikes, 4), [2, 5, 2, 8])
    # W = 2: (0,0,0,0), (2,2,1,0), (1,0,0,1), (2,2,2,2)
    np.testing.assert_array_equal(update_cycles(spikes, 2), [4, 6, 4, 8])
    np.testing.assert_array_equal(update_cycles(spikes, 1), [8, 8, 8, 8])


def test_hand_computed_cycles_of_a_burst():
    """The reference fires neurons 0-4 from step 1 and neuron 6 from step 4. With P = 4 (Q = 2,
    two words) a step is U + 9 + E Q cycles: step 0 (no spikes, E = 1) 2 + 9 + 2 = 13; steps
    1-2 (word 0 four spikes, word 1 one) 5 + 9 + 2 = 16; step 3 (E = 2) 5 + 9 + 4 = 18;
    steps 4-5 (word 1: neurons 4 and 6) 6 + 9 + 4 = 19. With P = 2 (Q = 4, four words of
    2, 2, 1, 0 spikes from step 1, the last word 1 from step 4): U = 4, then 6; 4 + 9 + 4 = 17,
    6 + 9 + 4 = 19, then 6 + 9 + 8 = 23. With P = 1: 8 + 9 + 8E."""
    network, x = _burst_network(), _burst_input()
    trace = run(network, x[None])
    want = np.zeros((6, 8), np.int64)
    want[1:, :5] = 1
    want[4:, 6] = 1
    np.testing.assert_array_equal(trace.spikes[0][0], want)
    np.testing.assert_array_equal(schedule(network, x, 4, trace).cycles, [13, 16, 16, 18, 19, 19])
    np.testing.assert_array_equal(schedule(network, x, 2, trace).cycles, [17, 19, 19, 23, 23, 23])
    np.testing.assert_array_equal(schedule(network, x, 1, trace).cycles, [25, 25, 25, 33, 33, 33])
    assert max_layer_cycles(network.layers[0], 4) == int(layer_cycles(8, 4, 2)) == 8 + 9 + 4


@pytest.mark.parametrize("lanes", [1, 2, 4, 8])
def test_burst_matches_reference_cycles_and_ascending_order(lanes):
    network, x = _burst_network(), _burst_input()
    trace = run(network, x[None])
    result = simulate_network(network, x, lanes=lanes)
    assert result.probe_order_ok
    for got, want in ((result.spikes, trace.spikes), (result.i, trace.i), (result.u, trace.u)):
        np.testing.assert_array_equal(got[0], want[0][0])
    np.testing.assert_array_equal(result.step_cycles, schedule(network, x, lanes, trace).cycles)
    # spikes leave one a cycle in ascending order within a step
    np.testing.assert_array_equal(result.events, sorted(result.events))
    assert len(result.events) == int(trace.spikes[0][0].sum())


def test_slow_consumer_behind_a_word_of_spikes_drops_nothing():
    """A word of four spikes meets an output FIFO of 2 entries drained every 4th cycle: the
    update holds for the word's spikes and stalls for the consumer, and every value is still
    the reference's."""
    network, x = _burst_network(), _burst_input()
    trace = run(network, x[None])
    result = simulate_network(network, x, lanes=4, consumer_gap=3, output_depth=2)
    for got, want in ((result.spikes, trace.spikes), (result.u, trace.u)):
        np.testing.assert_array_equal(got[0], want[0][0])
    np.testing.assert_array_equal(result.events, sorted(result.events))
    assert len(result.events) == int(trace.spikes[0][0].sum())
    assert result.counters["stall_cycles"] > 0
    assert np.all(result.step_cycles >= schedule(network, x, 4, trace).cycles)


def test_random_recurrent_layers_at_four_lanes():
    """Recurrent layers read their spikes back from the spike buffer, which the emitter
    writes one spike a cycle: random networks at P = 4 until three have a recurrent layer that
    fired, every value and cycle."""
    rng = np.random.default_rng(404)
    recurrent = 0
    while recurrent < 3:
        network = random_network(rng, 4, layers=2)
        x = random_spikes(rng, 10, network.n_in, 0.8)
        trace = run(network, x[None])
        result = simulate_network(network, x, lanes=4)
        assert result.probe_order_ok
        for index in range(2):
            np.testing.assert_array_equal(result.spikes[index], trace.spikes[index][0])
            np.testing.assert_array_equal(result.u[index], trace.u[index][0])
        np.testing.assert_array_equal(result.step_cycles, schedule(network, x, 4, trace).cycles)
        recurrent += any(layer.params.recurrent and trace.spikes[k].any()
                         for k, layer in enumerate(network.layers))
