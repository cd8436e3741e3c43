"""Residual joins: a layer's second input from an earlier layer through a 1×1 convolution.
Hand-computed golden values, the order of operations (one saturation, after the shift), torch
equal to the reference on random residual nets, the network file, and every mismatch refused."""

import numpy as np
import pytest
from spikeforge.model import (
    Connectivity,
    Conv2d,
    IntFormat,
    Layer,
    LayerParams,
    Network,
    NetworkFileError,
    Shortcut,
    SpikeEncoding,
    initial_state,
    layer_step,
    load_network,
    run,
    save_network,
)

from .test_connectivity import assert_torch_equals_reference


def _join(kernel, shortcut_kernel, source_shape=(1, 2, 2), stride=1, **params):
    conn = Connectivity((1, 2, 2), conv=Conv2d(1, 1))
    short = Shortcut(0, Connectivity(source_shape, conv=Conv2d(1, 1, stride)))
    return Layer(LayerParams(4, 4, k_syn=0, **params), np.array(kernel).reshape(1, 1, 1, 1),
                 connectivity=conn, shortcut=short,
                 shortcut_weight=np.array(shortcut_kernel).reshape(1, 1, 1, 1))


def test_golden_join_adds_the_shortcut_before_the_shift():
    # A = 2^f (W s_in + V s_src): W = 3, V = 5, f = 1; I[1] = A[0] (k_syn = 0)
    layer = _join(3, 5, input_shift=1)
    s_in, s_src = np.array([[1, 0, 1, 0]]), np.array([[1, 1, 0, 0]])
    _, state, _ = layer_step(layer, s_in, initial_state(layer, 1), s_src)
    assert state.i.tolist() == [[2 * (3 + 5), 2 * 5, 2 * 3, 0]]


def test_golden_join_saturates_once():
    # 100 + 100 = 200 exceeds s8 current's 127 only as a sum: one clamp, one saturation
    layer = _join(100, 100, current_format=IntFormat(8))
    _, state, sat = layer_step(layer, np.array([[1, 0, 0, 0]]), initial_state(layer, 1),
                               np.array([[1, 0, 0, 0]]))
    assert state.i.tolist() == [[127, 0, 0, 0]] and sat.tolist() == [1]


def test_strided_projection_reads_every_other_position():
    # a 1×1 stride-2 shortcut from a 1×4×4 map onto the 2×2 map: source (2y, 2x)
    conn = Connectivity((1, 2, 2), conv=Conv2d(1, 1))
    short = Shortcut(-1, Connectivity((1, 4, 4), conv=Conv2d(1, 1, 2)))
    layer = Layer(LayerParams(4, 4, k_syn=0), np.zeros((1, 1, 1, 1), np.int64),
                  connectivity=conn, shortcut=short,
                  shortcut_weight=np.full((1, 1, 1, 1), 7))
    src = np.zeros((1, 16), np.int64)
    src[0, [0, 1, 10, 15]] = 1  # (0,0) → out (0,0); (0,1) odd: unread; (2,2) → (1,1); (3,3) no
    assert layer.synaptic_sum(np.zeros((1, 4)), src).tolist() == [[7, 0, 0, 7]]


def _residual_network(rng, source=0):
    c_a = Connectivity((1, 5, 5), conv=Conv2d(2, 3, 1, 1))
    c_b = Connectivity((2, 5, 5), conv=Conv2d(2, 3, 1, 1))
    src_shape = (2, 5, 5) if source == 0 else (1, 5, 5)
    short = Shortcut(source, Connectivity(src_shape, conv=Conv2d(2, 1)))
    la = Layer(LayerParams(25, 50, theta=40, k_mem=[2, -5]), rng.integers(-30, 60, (2, 1, 3, 3)),
               name="a", connectivity=c_a)
    lb = Layer(LayerParams(50, 50, theta=40, bias=True, reset="zero"),
               rng.integers(-30, 60, (2, 2, 3, 3)), bias=rng.integers(-5, 5, 2), name="b",
               connectivity=c_b, shortcut=short,
               shortcut_weight=rng.integers(-40, 60, short.weight_shape))
    lc = Layer(LayerParams(50, 3), rng.integers(-20, 40, (3, 50)), name="c")
    return Network((la, lb, lc), SpikeEncoding(12))


@pytest.mark.parametrize("seed", range(6))
def test_torch_equals_the_reference_on_residual_networks(seed):
    rng = np.random.default_rng(seed)
    network = _residual_network(rng, source=seed % 2 - 1 if seed % 2 else 0)
    x = (rng.random((2, 12, 25)) < 0.5).astype(np.uint8)
    expected = run(network, x)
    assert expected.spikes[1].sum() > 0
    assert_torch_equals_reference(network, x, expected)


def test_the_join_reads_the_source_of_the_same_step():
    # the shortcut's source spikes of step n reach the current at n + 1, like the main input
    rng = np.random.default_rng(1)
    network = _residual_network(rng)
    x = (rng.random((1, 12, 25)) < 0.5).astype(np.uint8)
    trace = run(network, x)
    b = network.layers[1]
    main, source = trace.spikes[0], trace.spikes[0]
    n = 5
    a = b.synaptic_sum(main[:, n - 1], source[:, n - 1]) + b.connectivity.expand_bias(b.bias)
    from spikeforge.model.decay import Decay
    assert np.array_equal(trace.i[1][:, n], np.clip(
        Decay.of(1).apply(trace.i[1][:, n - 1]) + a, -32768, 32767))


def test_network_file_round_trip(tmp_path):
    network = _residual_network(np.random.default_rng(2))
    save_network(network, tmp_path / "res.sfn")
    loaded = load_network(tmp_path / "res.sfn")
    assert loaded.layers[1].shortcut == network.layers[1].shortcut
    assert np.array_equal(loaded.layers[1].shortcut_weight, network.layers[1].shortcut_weight)
    x = (np.random.default_rng(3).random((2, 12, 25)) < 0.5).astype(np.uint8)
    assert np.array_equal(run(loaded, x).u[2], run(network, x).u[2])


def test_a_residual_network_has_no_dense_form_but_maps_to_the_ir_and_back():
    network = _residual_network(np.random.default_rng(4))
    with pytest.raises(ValueError, match=r"b has a residual join .* which a dense layer cannot "
                                         r"hold; the convolution core holds it"):
        network.dense()
    from spikeforge.compiler.ir import graph_from_network, graph_to_network
    graph = graph_from_network(network)
    affine = graph.layers[1].affines[0]
    assert affine.shortcut == network.layers[1].shortcut
    assert np.array_equal(affine.shortcut_weight, network.layers[1].shortcut_weight)
    back = graph_to_network(graph)
    assert back.layers[1].shortcut == network.layers[1].shortcut
    x = (np.random.default_rng(5).random((2, 12, 25)) < 0.5).astype(np.uint8)
    assert np.array_equal(run(back, x).u[1], run(network, x).u[1])


@pytest.mark.parametrize(("make", "message"), [
    (lambda: _join(1, 1, source_shape=(1, 4, 4)),
     "residual join is of mismatched shapes: the shortcut gives 1×4×4 but the layer's map is "
     "1×2×2"),
    (lambda: Shortcut(0, Connectivity((1, 4, 4), conv=Conv2d(1, 3, padding=1))),
     "a shortcut is a 1×1 convolution"),
    (lambda: Shortcut(-2, Connectivity((1, 4, 4), conv=Conv2d(1, 1))), "shortcut source must"),
    (lambda: Layer(LayerParams(4, 4), np.zeros((4, 4), np.int64),
                   shortcut=Shortcut(0, Connectivity((1, 2, 2), conv=Conv2d(1, 1))),
                   shortcut_weight=np.zeros((1, 1, 1, 1), np.int64)), "is not convolutional"),
    (lambda: _join(1, 1).with_weights(shortcut=np.zeros((1, 2, 1, 1), np.int64)),
     "shortcut_weight must have shape \\(1, 1, 1, 1\\)"),
    (lambda: _join(1, 300), "shortcut_weight"),
])
def test_bad_joins_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_a_shortcut_from_a_later_layer_or_another_map_is_refused():
    rng = np.random.default_rng(5)
    network = _residual_network(rng)
    a, b, c = network.layers
    forward = Shortcut(2, b.shortcut.connectivity)
    with pytest.raises(ValueError, match="a shortcut reads an earlier layer"):
        Network((a, Layer(b.params, b.weight, bias=b.bias, name="b", connectivity=b.connectivity,
                          shortcut=forward, shortcut_weight=b.shortcut_weight), c),
                SpikeEncoding(4))
    wrong = Shortcut(-1, Connectivity((2, 5, 5), conv=Conv2d(2, 1)))
    with pytest.raises(ValueError, match="shortcut reads a 2×5×5 map of the input, which has 25"):
        Network((a, Layer(b.params, b.weight, bias=b.bias, name="b", connectivity=b.connectivity,
                          shortcut=wrong, shortcut_weight=np.zeros((2, 2, 1, 1), np.int64)), c),
                SpikeEncoding(4))


def test_a_version_2_file_with_a_shortcut_is_refused(tmp_path):
    import json
    import zipfile

    from .test_connectivity import _rewrite

    save_network(_residual_network(np.random.default_rng(6)), tmp_path / "res.sfn")
    _rewrite(tmp_path / "res.sfn", tmp_path / "bad.sfn", lambda m: m.update(version=2))
    with pytest.raises(NetworkFileError, match="version 2 file cannot hold"):
        load_network(tmp_path / "bad.sfn")
    with zipfile.ZipFile(tmp_path / "res.sfn") as archive:
        manifest = json.loads(np.load(archive.open("manifest.npy")).tobytes())
    assert manifest["layers"][1]["shortcut"]["source"] == 0
