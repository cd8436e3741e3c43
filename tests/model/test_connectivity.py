"""The contract's connectivity: sum pooling and 2-d convolution on a spike map. Hand-computed
golden values, the unrolled dense form equal to the convolution, torch's own conv2d as an
independent peer, the network file's version 3, and every bad shape refused by name."""

import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from spikeforge.model import (
    Connectivity,
    Conv2d,
    Layer,
    LayerParams,
    Network,
    NetworkFileError,
    SpikeEncoding,
    initial_state,
    layer_step,
    load_network,
    run,
    save_network,
)
from spikeforge.model.training import SpikingNetwork
from spikeforge.sim.random_networks import random_conv_network


def _map(shape, *ones):
    s = np.zeros(shape, np.int64)
    for index in ones:
        s[index] = 1
    return s.reshape(1, -1)


def test_golden_convolution():
    # Σ[y, x] = Σ_ij W[i, j]·s[y+i, x+j]: spikes at (0, 0) and (1, 1) of a 3×3 map
    conn = Connectivity((1, 3, 3), conv=Conv2d(1, 2))
    w = np.array([[[[1, 2], [3, 4]]]])
    assert conn.output_shape == (1, 2, 2)
    s = _map((1, 3, 3), (0, 0, 0), (0, 1, 1))
    assert conn.synaptic_sum(w, s).tolist() == [[1 + 4, 3, 2, 1]]


def test_golden_stride_and_padding():
    # 3×3 kernel, stride 2, padding 1 on a 3×3 map: one spike in the centre reaches the four
    # outputs through the kernel's four corners, W[2 − 2y, 2 − 2x]
    conn = Connectivity((1, 3, 3), conv=Conv2d(1, 3, stride=2, padding=1))
    w = (np.arange(9) + 1).reshape(1, 1, 3, 3)
    assert conn.output_shape == (1, 2, 2)
    assert conn.synaptic_sum(w, _map((1, 3, 3), (0, 1, 1))).tolist() == [[9, 7, 3, 1]]


def test_golden_sum_pooling_drops_the_partial_window():
    # pool 2 on 5×5: cells (0,0) gets 3 spikes, (1,1) one; row 4 and column 4 are dropped
    conn = Connectivity((1, 5, 5), pool=2)
    assert conn.pooled_shape == (1, 2, 2)
    w = np.array([[1, 10, 100, 1000]])
    s = _map((1, 5, 5), (0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 3, 3), (0, 4, 0), (0, 2, 4))
    assert conn.synaptic_sum(w, s).tolist() == [[3 + 1000]]


def test_golden_channel_bias_in_a_step():
    # k_syn = 0: I[1] = A[0] = 2^f Σ + c, c per output channel
    conn = Connectivity((1, 2, 2), conv=Conv2d(2, 1))
    params = LayerParams(4, 8, k_syn=0, bias=True, input_shift=1)
    layer = Layer(params, np.array([1, -2]).reshape(2, 1, 1, 1), bias=np.array([5, -3]),
                  connectivity=conn)
    s = np.array([[1, 0, 0, 1]])
    _, state, _ = layer_step(layer, s, initial_state(layer, 1))
    assert state.i.tolist() == [[2 + 5, 5, 5, 2 + 5, -4 - 3, -3, -3, -4 - 3]]


@pytest.mark.parametrize("seed", range(40))
def test_unrolled_and_torch_conv2d_equal_the_contract(seed):
    rng = np.random.default_rng(seed)
    c, h, w = int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(2, 9))
    pool = int(rng.integers(1, min(h, w, 3) + 1))
    hp, wp = h // pool, w // pool
    k = int(rng.integers(1, min(hp, wp) + 1))
    conv = Conv2d(int(rng.integers(1, 4)), k, int(rng.integers(1, 3)), int(rng.integers(0, k)))
    conn = Connectivity((c, h, w), pool, conv)
    weight = rng.integers(-128, 128, conn.weight_shape(None))
    s = (rng.random((3, conn.n_in)) < 0.4).astype(np.int64)
    expected = conn.synaptic_sum(weight, s)
    assert np.array_equal(s @ conn.unrolled(weight).T.astype(np.int64), expected)
    x = torch.tensor(s, dtype=torch.float64).reshape(3, c, h, w)
    pooled = F.avg_pool2d(x, pool) * pool * pool  # window sums of 0/1: exact in float64
    peer = F.conv2d(pooled, torch.tensor(weight, dtype=torch.float64), stride=conv.stride,
                    padding=conv.padding).reshape(3, -1)
    assert np.array_equal(peer.numpy().astype(np.int64), expected)


@pytest.mark.parametrize("seed", range(12))
def test_conv_network_equals_its_dense_form_and_torch(seed):
    rng = np.random.default_rng(seed)
    network = random_conv_network(rng, int(rng.integers(1, 3)))
    x = (rng.random((2, 8, network.n_in)) < 0.5).astype(np.uint8)
    expected, dense = run(network, x), run(network.dense(), x)
    for ref, other in zip(expected[:4], dense[:4], strict=True):
        for index in range(len(network.layers)):
            assert np.array_equal(ref[index], other[index]), index
    assert_torch_equals_reference(network, x, expected)


def assert_torch_equals_reference(network, x, expected):
    """The torch model of ``network``, fused kernel and plain autograd, gives the reference
    trace ``expected`` on ``x``: every spike, current, potential and threshold trace."""
    model = SpikingNetwork.from_network(network)
    for fused in (True, False):
        for layer in model.layers:
            layer.fused = fused
        with torch.no_grad():
            traces = model(x, dtype=torch.float64)
        for index, trace in enumerate(traces):
            for key, ref in (("s", expected.spikes), ("i", expected.i), ("u", expected.u),
                             ("b", expected.b)):
                got = trace[key].numpy().astype(np.int64)
                assert np.array_equal(got, ref[index]), (fused, index, key)


def _cnn():
    c1 = Connectivity((1, 6, 6), conv=Conv2d(2, 3, padding=1))
    c2 = Connectivity((2, 6, 6), pool=2)
    l1 = Layer(LayerParams(36, 72, bias=True), np.arange(18).reshape(2, 1, 3, 3) - 9,
               bias=np.array([3, -4]), name="conv", connectivity=c1)
    l2 = Layer(LayerParams(72, 4), np.ones((4, 18), np.int64), name="out", connectivity=c2)
    return Network((l1, l2), SpikeEncoding(6), name="cnn")


def test_network_file_version_3_round_trip(tmp_path):
    network = _cnn()
    save_network(network, tmp_path / "cnn.sfn")
    loaded = load_network(tmp_path / "cnn.sfn")
    for a, b in zip(network.layers, loaded.layers, strict=True):
        assert a.connectivity == b.connectivity
        assert np.array_equal(a.weight, b.weight) and a.weight.shape == b.weight.shape
    x = (np.random.default_rng(0).random((2, 6, 36)) < 0.5).astype(np.uint8)
    assert np.array_equal(run(network, x).spikes[1], run(loaded, x).spikes[1])
    with zipfile.ZipFile(tmp_path / "cnn.sfn") as archive:
        manifest = json.loads(np.load(archive.open("manifest.npy")).tobytes())
    assert manifest["version"] == 3
    assert manifest["layers"][0]["connectivity"] == {
        "input_shape": [1, 6, 6], "conv": {"out_channels": 2, "kernel": 3, "stride": 1,
                                           "padding": 1}}
    dense = Network((Layer(LayerParams(4, 2), np.ones((2, 4), np.int64)),), SpikeEncoding(4))
    save_network(dense, tmp_path / "dense.sfn")
    with zipfile.ZipFile(tmp_path / "dense.sfn") as archive:
        assert json.loads(np.load(archive.open("manifest.npy")).tobytes())["version"] == 2


def _rewrite(src, dst, edit):
    with zipfile.ZipFile(src) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
        manifest = json.loads(np.load(archive.open("manifest.npy")).tobytes())
    edit(manifest)
    data = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    import io
    buffer = io.BytesIO()
    np.save(buffer, data)
    entries["manifest.npy"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.update(version=2), "version 2 file cannot hold"),
    (lambda m: m["layers"][0]["connectivity"]["conv"].update(stride=0), "conv stride must be"),
    (lambda m: m["layers"][0]["connectivity"]["conv"].update(padding=-1), "conv padding must"),
    (lambda m: m["layers"][0]["connectivity"]["conv"].update(dilation=2), "unknown conv field"),
    (lambda m: m["layers"][0]["connectivity"].update(input_shape=[1, 6]), "input_shape must be"),
    (lambda m: m["layers"][0]["connectivity"]["conv"].update(kernel=9), "larger than the 8×8"),
    (lambda m: m["layers"][1]["connectivity"].update(input_shape=[2, 2, 18]),
     "reads a 2×2×18 input map, but layer 0 \\(conv\\) produces 2×6×6"),
])
def test_bad_connectivity_in_a_file_is_refused(tmp_path, edit, message):
    save_network(_cnn(), tmp_path / "cnn.sfn")
    _rewrite(tmp_path / "cnn.sfn", tmp_path / "bad.sfn", edit)
    with pytest.raises(NetworkFileError, match=message):
        load_network(tmp_path / "bad.sfn")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Conv2d(4, 3, stride=0), "conv stride must be an integer in 1"),
    (lambda: Conv2d(4, 3, padding=-1), "conv padding must be an integer in 0"),
    (lambda: Conv2d(0, 3), "conv out_channels must be"),
    (lambda: Connectivity((1, 4, 4), conv=Conv2d(2, 5)), "5×5 kernel is larger than the 4×4"),
    (lambda: Connectivity((1, 4, 4), conv=Conv2d(2, 2, padding=2)), "padding 2 is not smaller"),
    (lambda: Connectivity((1, 4, 4), pool=5), "window of 5 does not fit the 4×4"),
    (lambda: Connectivity((1, 4)), "input_shape must be"),
    (lambda: Layer(LayerParams(16, 9), np.zeros((2, 1, 3, 3), np.int64),
                   connectivity=Connectivity((1, 4, 4), conv=Conv2d(2, 3))),
     "convolution produces a 2×2×2 map \\(8 neurons\\) but its params say n = 9"),
    (lambda: Layer(LayerParams(9, 8), np.zeros((2, 1, 3, 3), np.int64),
                   connectivity=Connectivity((1, 4, 4), conv=Conv2d(2, 3))),
     "reads a 1×4×4 input map \\(16 inputs\\) but its params say n_in = 9"),
    (lambda: Layer(LayerParams(16, 8, recurrent=True), np.zeros((2, 1, 3, 3), np.int64),
                   recurrent=np.zeros((8, 8), np.int64),
                   connectivity=Connectivity((1, 4, 4), conv=Conv2d(2, 3))),
     "cannot have recurrent weights"),
    (lambda: Layer(LayerParams(16, 8), np.zeros((2, 1, 2, 2), np.int64),
                   connectivity=Connectivity((1, 4, 4), conv=Conv2d(2, 3))),
     "must have shape \\(2, 1, 3, 3\\)"),
])
def test_bad_shapes_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_unchained_maps_are_refused():
    c1 = Connectivity((1, 4, 4), conv=Conv2d(2, 3, padding=1))  # → 2×4×4
    l1 = Layer(LayerParams(16, 32), np.zeros((2, 1, 3, 3), np.int64), name="a", connectivity=c1)
    l2 = Layer(LayerParams(32, 32), np.zeros((2, 2, 1, 1), np.int64), name="b",
               connectivity=Connectivity((2, 2, 8), conv=Conv2d(2, 1)))
    with pytest.raises(ValueError, match="reads a 2×2×8 input map, but layer 0 \\(a\\) produces "
                                         "2×4×4"):
        Network((l1, l2), SpikeEncoding(4))
