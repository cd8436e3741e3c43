"""Residual joins in hardware: a ConvLIFLayer with a shortcut reads its source's spikes from a
second FIFO after its own input's, through the join's 1×1 kernel held after its own kernel.
Every spike, state, counter and step's cycle count equals spikeforge.model.run and the schedule
model, by exact equality."""

import numpy as np
import pytest
from spikeforge.hdl.conv_layer import rom_shapes
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.hdl.schedule import CONV_FILL, JOIN_MARKER, max_layer_cycles, schedule
from spikeforge.link.memory_layout import (
    kernel_rows,
    lane_depth,
    lane_weights,
    weight_address,
    weight_rows,
)
from spikeforge.model import (
    Connectivity,
    Conv2d,
    Layer,
    LayerParams,
    Network,
    Shortcut,
    SpikeEncoding,
    run,
)
from spikeforge.sim.amaranth_sim import simulate_network
from spikeforge.sim.random_networks import random_residual_network, random_spikes

from .test_network_core import check_equal


def tiny_block(source):
    """1×3×3 input; ``a``: one 1×1 channel (9 neurons); ``b``: one 1×1 channel over ``a``'s
    map, joined from ``source`` (0: ``a``, -1: the input) by a 1×1 kernel (9 neurons)."""
    conn = Connectivity((1, 3, 3), 1, Conv2d(1, 1, 1, 0))
    a = Layer(LayerParams(9, 9, theta=3), np.full((1, 1, 1, 1), 4), name="a", connectivity=conn)
    join = Shortcut(source, Connectivity((1, 3, 3), 1, Conv2d(1, 1, 1, 0)))
    b = Layer(LayerParams(9, 9, theta=5), np.full((1, 1, 1, 1), 3), name="b", connectivity=conn,
              shortcut=join, shortcut_weight=np.full((1, 1, 1, 1), 2))
    return Network((a, b), SpikeEncoding(4))


@pytest.mark.parametrize("source", [0, -1])
def test_golden_cycles_of_a_tiny_join(source):
    """``b`` (N = 9, L = 3) takes its input's group, one cycle for that marker, then the join's
    group: N + 6 + L + 1 + [E > 0](3 + E) + [E' > 0](3 + E') cycles (one pair, G = 1, per
    event); ``a`` takes 9 + 6 + 3 + [E > 0](3 + E) and the step the larger of the two."""
    network = tiny_block(source)
    x = np.zeros((4, 9), np.int64)
    x[0, [0, 4]] = 1
    x[1, :] = 1
    x[2, 8] = 1
    _, result, trace = check_equal(network, x, 1)
    a_spikes = trace.spikes[0][0].sum(axis=1)
    assert a_spikes.tolist() == [0, 2, 9, 9]  # a's current reaches its potential a step late
    main = np.concatenate([[0], a_spikes[:-1]])  # b reads a's spikes of the step before
    join = x.sum(axis=1) if source < 0 else main

    def busy(events):
        return np.where(events > 0, CONV_FILL + events, 0)

    want = np.maximum(18 + busy(x.sum(axis=1)), 18 + JOIN_MARKER + busy(main) + busy(join))
    np.testing.assert_array_equal(result.step_cycles, want)
    np.testing.assert_array_equal(schedule(network, x, 1, trace).cycles, want)
    assert result.counters["events"] == int(x.sum() + main.sum() + join.sum())
    assert max_layer_cycles(network.layers[1], 1) == 18 + JOIN_MARKER + 2 * (CONV_FILL + 9)


@pytest.mark.parametrize("seed", range(12))
def test_random_residual_networks_match_reference_and_schedule(seed):
    """Random residual blocks (a join from a layer or from the input, pooled and strided
    projections, every neuron kind and reset, a dense layer after half of them), lanes 1 and 2:
    every spike, state, count and cycle."""
    rng = np.random.default_rng(2000 + seed)
    lanes = 1 + seed % 2
    network = random_residual_network(rng, lanes, source=(0, -1)[seed % 2],
                                      saturating=seed % 3 == 2)
    spikes = random_spikes(rng, int(rng.integers(4, 9)), network.n_in, 0.7)
    _, result, trace = check_equal(network, spikes, lanes)
    predicted = schedule(network, spikes, lanes, trace)
    np.testing.assert_array_equal(result.step_cycles, predicted.cycles)
    assert result.counters["synops"] == int(predicted.synops.sum())
    assert result.counters["events"] == int(predicted.events.sum())


def test_the_random_blocks_exercise_the_join():
    """The drawn blocks above are not silent: the join's source spikes in most, and the joined
    layer in many."""
    joined = active = 0
    for seed in range(12):
        rng = np.random.default_rng(2000 + seed)
        network = random_residual_network(rng, 1 + seed % 2, source=(0, -1)[seed % 2],
                                          saturating=seed % 3 == 2)
        spikes = random_spikes(rng, int(rng.integers(4, 9)), network.n_in, 0.7)
        trace = run(network, spikes[None])
        source = network.layers[1].shortcut.source
        joined += int((spikes if source < 0 else trace.spikes[source]).sum() > 0)
        active += int(trace.spikes[1].sum() > 0)
    assert joined >= 10 and active >= 5, (joined, active)


@pytest.mark.parametrize("source", [0, -1])
def test_residual_samples_cleared_between_with_a_slow_consumer(source):
    """``clear`` between samples drops a join's pending group when its source is a layer (which
    emits a new empty group) and keeps the input's; a slow consumer stalls nothing away."""
    rng = np.random.default_rng(50 + source)
    network = random_residual_network(rng, 2, source=source, dense_out=True)
    samples = np.stack([random_spikes(rng, 6, network.n_in, 0.8) for _ in range(3)])
    result = simulate_network(network, samples, lanes=2, consumer_gap=3, output_depth=2)
    trace = run(network, samples)
    for index in range(len(network.layers)):
        for got, want in ((result.i, trace.i), (result.u, trace.u), (result.spikes, trace.spikes)):
            np.testing.assert_array_equal(got[index], want[index])
    np.testing.assert_array_equal(result.output, trace.spikes[-1])


@pytest.mark.parametrize("lanes", [1, 2])
def test_join_kernel_follows_the_kernel_in_every_lane(lanes):
    network = random_residual_network(np.random.default_rng(7), lanes, source=0)
    layer = network.layers[1]
    c_out, c_in, k, _ = layer.weight.shape
    c_src = layer.shortcut.connectivity.input_shape[0]
    assert kernel_rows(layer) == c_in * k * k
    assert weight_rows(layer) == c_in * k * k + c_src
    memories = lane_weights(layer, lanes)
    assert all(len(words) == lane_depth(layer, lanes) for words in memories)
    assert sum(map(len, memories)) == c_out * (c_in * k * k + c_src)
    _, ho, wo = layer.output_shape
    for o in range(c_out):
        for c in range(c_src):
            lane, addr = weight_address(layer, lanes, o * ho * wo, kernel_rows(layer) + c)
            assert memories[lane][addr] == layer.shortcut_weight[o, c, 0, 0]
    # the input map lists the layer's inputs, then the source's; the pair list both kernels'
    (_, map_depth, _), (_, pairs, _) = rom_shapes(layer, lanes)
    assert map_depth == layer.params.n_in + layer.shortcut.connectivity.n_in
    assert pairs > 0


def test_join_kernels_written_and_read_through_the_host_port():
    """New join weights written at weight_address (rows after the kernel) take effect, and
    read back in the lane_weights layout."""
    rng = np.random.default_rng(31)
    lanes = 2
    built = random_residual_network(rng, lanes, source=0, dense_out=False)
    layer = built.layers[1]
    fmt = layer.params.weight_format
    new = rng.integers(fmt.min, fmt.max + 1, layer.shortcut_weight.shape)
    wanted = Network((built.layers[0], layer.with_weights(shortcut=new)), built.encoding,
                     built.readout)
    _, ho, wo = layer.output_shape
    writes = [(1, *weight_address(layer, lanes, o * ho * wo, kernel_rows(layer) + c),
               new[o, c, 0, 0]) for o in range(new.shape[0]) for c in range(new.shape[1])]
    spikes = random_spikes(rng, 6, built.n_in, 0.8)
    result = simulate_network(built, spikes, lanes=lanes, weight_writes=writes, read_back=True)
    trace = run(wanted, spikes[None])
    for index in range(2):
        np.testing.assert_array_equal(result.u[index], trace.u[index][0])
    assert result.readback[1]["weights"] == lane_weights(wanted.layers[1], lanes)


def test_the_network_core_has_one_fifo_per_join():
    from amaranth.hdl import Fragment
    network = tiny_block(0)
    core = NetworkCore(network)
    names = [name for _, name, _ in Fragment.get(core, None).subfragments]
    assert "fifo_join_1" in names and "fifo_1" in names
