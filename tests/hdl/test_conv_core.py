"""The convolutional layer core (ConvLIFLayer) against spikeforge.model.run, by exact equality:
every spike, state and step's cycle count, its address tables, its kernel memory layout and its
errors."""

import re

import numpy as np
import pytest
from amaranth.hdl import Fragment
from spikeforge.hdl.conv_layer import ConvLIFLayer, conv_tables
from spikeforge.hdl.lif_layer import LIFLayer
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.hdl.schedule import CONV_FILL, conv_event_cycles, max_layer_cycles, schedule
from spikeforge.link.memory_layout import lane_depth, lane_weights, weight_address, weight_rows
from spikeforge.model import (
    Connectivity,
    Conv2d,
    Layer,
    LayerParams,
    Network,
    NeuronKind,
    SpikeEncoding,
    run,
)
from spikeforge.sim.amaranth_sim import simulate_network
from spikeforge.sim.random_networks import random_conv_network, random_spikes

from .test_network_core import check_equal


def conv_layer(shape, conv, pool=1, *, seed=0, bias=False, name="conv", **params):
    """A convolutional LIF layer with random kernel weights."""
    rng = np.random.default_rng(seed)
    conn = Connectivity(shape, pool, conv)
    p = LayerParams(n_in=conn.n_in, n=conn.neurons(), bias=bias, **params)
    fmt = p.weight_format
    weight = rng.integers(fmt.min, fmt.max + 1, conn.weight_shape(p.n))
    c = rng.integers(-50, 50, conn.bias_shape(p.n)) if bias else None
    return Layer(p, weight, bias=c, name=name, connectivity=conn)


def random_conv(seed):
    rng = np.random.default_rng(seed)
    c, h, w = (int(v) for v in (rng.integers(1, 4), rng.integers(2, 9), rng.integers(2, 9)))
    pool = int(rng.integers(1, min(h, w) + 1)) if rng.integers(0, 2) else 1
    hp, wp = h // pool, w // pool
    padding_max = 2
    kernel = int(rng.integers(1, min(hp, wp) + padding_max + 1))
    padding = int(rng.integers(0, kernel))
    while kernel > min(hp, wp) + 2 * padding:
        padding += 1
    if padding >= kernel:
        kernel, padding = 1, 0
    conv = Conv2d(int(rng.integers(1, 5)), kernel, int(rng.integers(1, 4)), padding)
    return Connectivity((c, h, w), pool, conv)


@pytest.mark.parametrize("seed", range(40))
def test_tables_give_exactly_the_unrolled_connections(seed):
    """Every (input, kernel offset, output position) the ROMs list, over every output channel,
    rebuilds Connectivity.unrolled exactly (pooling, dropped inputs, stride, padding)."""
    conn = random_conv(seed)
    rng = np.random.default_rng(seed)
    kernel = rng.integers(1, 100, conn.weight_shape(None))  # nonzero: every connection shows
    t = conv_tables(conn)
    c_out, ho, wo = conn.output_shape
    k = conn.conv.kernel
    dense = np.zeros((c_out * ho * wo, conn.n_in), np.int64)
    for j in range(conn.n_in):
        if t.cell[j] < 0:
            assert t.input_pairs[j] == 0
            continue
        first, count = t.start[t.cell[j]], t.count[t.cell[j]]
        assert t.input_pairs[j] == count
        for koff, pos in t.pairs[first:first + count]:
            for o in range(c_out):
                assert dense[o * ho * wo + pos, j] == 0  # each connection once
                dense[o * ho * wo + pos, j] = kernel[o, t.channel[j], koff // k, koff % k]
    np.testing.assert_array_equal(dense, conn.unrolled(kernel))
    # the pair list holds every (kernel offset, output position) reaching the map at most once
    assert len({tuple(pair) for pair in t.pairs}) == len(t.pairs) <= ho * wo * k * k


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_kernel_layout_places_every_weight_once(lanes):
    layer = conv_layer((3, 5, 5), Conv2d(4, 3, 1, 1), seed=lanes)
    c_out, c_in, k, _ = layer.weight.shape
    memories = lane_weights(layer, lanes)
    assert len(memories) == lanes
    assert all(len(words) == lane_depth(layer, lanes) for words in memories)
    assert sum(len(words) for words in memories) == c_out * c_in * k * k == 108
    assert weight_rows(layer) == c_in * k * k
    _, ho, wo = layer.output_shape
    seen = set()
    for o in range(c_out):
        for row in range(c_in * k * k):
            for position in (0, ho * wo - 1):  # any neuron of channel o has o's kernel
                lane, addr = weight_address(layer, lanes, o * ho * wo + position, row)
                c, i, j = row // (k * k), (row // k) % k, row % k
                assert memories[lane][addr] == layer.weight[o, c, i, j]
                seen.add((lane, addr))
    assert len(seen) == c_out * c_in * k * k


def test_weight_memories_hold_the_kernel_not_the_unrolled_matrix():
    layer = conv_layer((2, 8, 8), Conv2d(4, 3, 1, 1))
    for lanes in (1, 2, 4):
        core = ConvLIFLayer(layer, lanes=lanes, host_access=True)
        fragment = Fragment.get(core, None)
        weights = [sub for sub, name, _ in fragment.subfragments if name.startswith("weights_")]
        depths = [mem._data.depth for sub in weights for mem, name, _ in sub.subfragments
                  if name == "mem"]
        assert len(depths) == lanes
        assert sum(depths) == 4 * 2 * 3 * 3 == 72  # C_out·C_in·K², not n·n_in = 256·128
        assert core.w_addr.shape().width == (72 // lanes - 1).bit_length()


def test_lanes_must_divide_the_output_channels():
    layer = conv_layer((1, 4, 4), Conv2d(4, 3, 1, 1), name="c1")  # n = 64: 8 divides n, not C_out
    message = ("lanes must divide a convolutional layer's output channel count, since the lanes "
               "split the channels: 8 lanes do not divide C_out = 4 (layer c1); choose a lane "
               "count that divides 4")
    with pytest.raises(ValueError, match=re.escape(message)):
        ConvLIFLayer(layer, lanes=8)
    network = Network((layer,), SpikeEncoding(4))
    with pytest.raises(ValueError, match=re.escape(message)):
        NetworkCore(network, lanes=8)
    with pytest.raises(ValueError, match=re.escape("3 lanes do not divide C_out = 4")):
        schedule(network, np.zeros((2, 16), np.int64), lanes=3)


def test_each_core_refuses_the_other_kind_of_layer():
    layer = conv_layer((1, 4, 4), Conv2d(2, 3, 1, 1), name="c1")
    with pytest.raises(ValueError, match=re.escape("layer c1 has a connectivity")):
        LIFLayer(layer)
    dense = Layer(LayerParams(n_in=4, n=2), np.ones((2, 4), np.int64), name="d")
    with pytest.raises(ValueError, match=re.escape("layer d has no convolution")):
        ConvLIFLayer(dense)


def test_learning_core_refuses_a_convolutional_layer():
    from spikeforge.hdl.learning_core import LearningCore
    from spikeforge.model.learning import LearningConfig

    conv = conv_layer((1, 3, 3), Conv2d(2, 2, 1, 0), name="c1")  # 8 neurons
    out = Layer(LayerParams(n_in=8, n=2), np.ones((2, 8), np.int64), name="out")
    network = Network((conv, out), SpikeEncoding(4))
    config = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -6)
    with pytest.raises(ValueError, match="does not support convolutional layers"):
        LearningCore(network, config)


def tiny_network(conv, shape=(1, 3, 3), pool=1):
    layer = conv_layer(shape, conv, pool, seed=5, k_syn=2, k_mem=3, theta=40)
    return Network((layer,), SpikeEncoding(4))


def test_golden_cycles_of_a_tiny_convolution():
    """1×3×3 map, two 2×2 kernels, stride 1: a corner input reaches 1 output position, an
    edge input 2, the centre 4; with G = C_out/P groups each pair costs G cycles. N = 8,
    L = 3 (one-term decays): an empty step is N + 6 + L = 17 cycles, a step with events
    17 + 3 + Σ m G."""
    network = tiny_network(Conv2d(2, 2, 1, 0))
    x = np.zeros((5, 9), np.int64)
    x[1, 4] = 1  # centre: 4 pairs
    x[2, 0] = 1  # corner: 1 pair
    x[3, [0, 1, 4]] = 1  # 1 + 2 + 4 pairs
    x[4, :] = 1  # 4 corners, 4 edges, the centre: 4 + 8 + 4 = 16 pairs
    golden = {1: [17, 17 + 3 + 8, 17 + 3 + 2, 17 + 3 + 14, 17 + 3 + 32],
              2: [17, 17 + 3 + 4, 17 + 3 + 1, 17 + 3 + 7, 17 + 3 + 16]}
    for lanes, cycles in golden.items():
        _, result, trace = check_equal(network, x, lanes)
        np.testing.assert_array_equal(result.step_cycles, cycles)
        np.testing.assert_array_equal(schedule(network, x, lanes, trace).cycles, cycles)
        assert result.counters["synops"] == 2 * (4 + 1 + 7 + 16)  # pairs × C_out


def test_golden_cycles_of_empty_cells_and_dropped_inputs():
    """Stride 2 with a 1×1 kernel on 3×3 reaches only the four corner cells: every other input
    is a 0-pair event, one empty walker cycle each. Pooling a 3×3 map by 2 drops the last row
    and column: those events cost one cycle too."""
    network = tiny_network(Conv2d(2, 1, 2, 0))  # 2 × 2 × 2 = 8 neurons
    x = np.zeros((3, 9), np.int64)
    x[1, [0, 1, 2]] = 1  # corner (1 pair), edge (0), corner (1)
    x[2, :] = 1  # 4 corners, 5 empty
    _, result, trace = check_equal(network, x, 1)
    want = [17, 17 + 3 + 2 + 1 + 2, 17 + 3 + 4 * 2 + 5]
    np.testing.assert_array_equal(result.step_cycles, want)
    np.testing.assert_array_equal(schedule(network, x, 1, trace).cycles, want)
    pooled = tiny_network(Conv2d(2, 1, 1, 0), shape=(1, 3, 3), pool=2)  # 1 cell, 2 neurons
    layer = pooled.layers[0]
    issue, busy = conv_event_cycles(layer, 1)
    np.testing.assert_array_equal(issue, [2, 2, 0, 2, 2, 0, 0, 0, 0])
    np.testing.assert_array_equal(busy, [2, 2, 1, 2, 2, 1, 1, 1, 1])
    x = np.ones((3, 9), np.int64)
    _, result, trace = check_equal(pooled, x, 1)
    base = 2 + 6 + 3
    np.testing.assert_array_equal(result.step_cycles, [base + CONV_FILL + 13] * 3)
    assert max_layer_cycles(layer, 1) == base + CONV_FILL + 13


@pytest.mark.parametrize("seed", range(10))
def test_random_conv_networks_match_reference_and_schedule(seed):
    """Random convolutional networks (pooling, kernels, strides, padding, a dense layer after,
    every neuron kind and reset), lanes 1 and 2: every spike, state, count and cycle."""
    rng = np.random.default_rng(1000 + seed)
    lanes = 1 + seed % 2
    network = random_conv_network(rng, lanes, saturating=seed % 3 == 2)
    spikes = random_spikes(rng, int(rng.integers(3, 8)), network.n_in,
                           float(rng.choice([0.3, 0.7, 1.0])))
    _, result, trace = check_equal(network, spikes, lanes)
    predicted = schedule(network, spikes, lanes, trace)
    np.testing.assert_array_equal(result.step_cycles, predicted.cycles)
    assert result.counters["synops"] == int(predicted.synops.sum())
    assert result.counters["events"] == int(predicted.events.sum())
    assert result.counters["stall_cycles"] == 0


def test_conv_network_with_a_slow_consumer_and_samples_cleared_between():
    rng = np.random.default_rng(77)
    network = random_conv_network(rng, 2, convs=2, dense_out=True)
    samples = np.stack([random_spikes(rng, 5, network.n_in, 0.8) for _ in range(2)])
    result = simulate_network(network, samples, lanes=2, consumer_gap=3, output_depth=2)
    trace = run(network, samples)
    for index in range(len(network.layers)):
        for got, want in ((result.i, trace.i), (result.u, trace.u), (result.spikes, trace.spikes)):
            np.testing.assert_array_equal(got[index], want[index])
    np.testing.assert_array_equal(result.output, trace.spikes[-1])


def test_kernels_written_and_read_through_the_host_port():
    """The host driver's view: new kernels written word by word at weight_address take effect,
    and every kernel word reads back in the lane_weights layout."""
    rng = np.random.default_rng(23)
    lanes = 2
    built = random_conv_network(rng, lanes, convs=2, dense_out=False)
    layers = []
    for layer in built.layers:
        fmt = layer.params.weight_format
        layers.append(layer.with_weights(
            weight=rng.integers(fmt.min, fmt.max + 1, layer.weight.shape)))
    wanted = Network(tuple(layers), built.encoding, built.readout)
    writes = []
    for index, layer in enumerate(wanted.layers):
        c_out, c_in, k, _ = layer.weight.shape
        _, ho, wo = layer.output_shape
        for o in range(c_out):
            for row in range(c_in * k * k):
                lane, addr = weight_address(layer, lanes, o * ho * wo, row)
                writes.append((index, lane, addr,
                               layer.weight[o, row // (k * k), (row // k) % k, row % k]))
    spikes = random_spikes(rng, 6, built.n_in, 0.8)
    result = simulate_network(built, spikes, lanes=lanes, weight_writes=writes, read_back=True)
    trace = run(wanted, spikes[None])
    for index, layer in enumerate(wanted.layers):
        np.testing.assert_array_equal(result.u[index], trace.u[index][0])
        np.testing.assert_array_equal(result.i[index], trace.i[index][0])
        assert result.readback[index]["weights"] == lane_weights(layer, lanes)
        state = result.readback[index]["state"]
        for column, field in enumerate((trace.i, trace.u, trace.b, trace.spikes)):
            np.testing.assert_array_equal(state[:, column], field[index][0, -1])
    np.testing.assert_array_equal(result.output, trace.spikes[-1][0])


def test_bias_per_channel_and_every_kind():
    rng = np.random.default_rng(4)
    for kind in NeuronKind:
        if kind is NeuronKind.LI:
            params = dict(kind=kind, k_mem=2, theta=1)
        elif kind is NeuronKind.IF:
            params = dict(kind=kind, k_mem=0, theta=30)
        elif kind is NeuronKind.ALIF:
            params = dict(kind=kind, k_mem=2, k_adapt=2, adapt_jump=5, theta=30)
        else:
            params = dict(kind=kind, k_mem=2, theta=30)
        layer = conv_layer((2, 4, 4), Conv2d(2, 3, 1, 1), seed=int(rng.integers(99)), bias=True,
                           **params)
        from spikeforge.model import Readout
        readout = Readout.MEMBRANE_MAX if kind is NeuronKind.LI else Readout.SPIKE_COUNT
        network = Network((layer,), SpikeEncoding(4), readout=readout)
        x = random_spikes(rng, 4, network.n_in, 0.5)
        _, result, trace = check_equal(network, x, 2)
        np.testing.assert_array_equal(result.step_cycles, schedule(network, x, 2, trace).cycles)


@pytest.mark.parametrize(("shape", "held_as_kernel"), [((2, 7, 7), True), ((2, 7, 4), False)])
def test_a_pooled_dense_layer_over_a_square_map_keeps_its_pooled_weights(shape, held_as_kernel):
    """Pooling 2×7×7 by 2 gives a square 2×3×3 map (the last row and column dropped): the
    dense layer over it runs on the convolution core as a 3×3 kernel of one channel per neuron
    (4·18 words, not 4·98 unrolled); over 2×7×4 (pooled 2×3×2) it runs unrolled on the dense
    core. Both exactly."""
    from spikeforge.link.memory_layout import core_layer, is_convolutional

    rng = np.random.default_rng(9)
    conn = Connectivity(shape, 2)
    layer = Layer(LayerParams(int(np.prod(shape)), 4, theta=30, bias=True),
                  rng.integers(-20, 40, conn.weight_shape(4)), bias=np.array([1, -2, 0, 3]),
                  name="pooled", connectivity=conn)
    network = Network((layer,), SpikeEncoding(4))
    core = core_layer(layer)
    assert is_convolutional(core) is held_as_kernel
    words = 4 * conn.pooled_shape[0] * conn.pooled_shape[1] * conn.pooled_shape[2]
    assert sum(map(len, lane_weights(layer, 2))) == (words if held_as_kernel else 4 * conn.n_in)
    kinds = {type(c).__name__ for c in NetworkCore(network, lanes=2).cores}
    assert kinds == {"ConvLIFLayer" if held_as_kernel else "LIFLayer"}
    x = random_spikes(rng, 6, layer.params.n_in, 0.6)
    _, result, trace = check_equal(network, x, 2)
    np.testing.assert_array_equal(result.step_cycles, schedule(network, x, 2, trace).cycles)
    if held_as_kernel:  # one pair per kept input (G = 2), one empty cycle per dropped one
        issue, busy = conv_event_cycles(layer, 2)
        kept = conn.pooled_shape[1] * 2  # rows and columns the whole windows cover
        assert issue.tolist() == [2 if (j // shape[2]) % shape[1] < kept and j % shape[2] < kept
                                  else 0 for j in range(conn.n_in)]
        assert busy.tolist() == np.maximum(issue, 1).tolist() and (issue == 0).sum() == 2 * 13
