"""The compiler on convolutional networks: the IR carries each layer's connectivity (a kernel
and a per-channel bias), the passes quantize the kernel and bound the unrolled layer, the fuse
pass refuses what it cannot compose exactly, and the report and the fit check count the weight
words a kernel takes stored and unrolled (what today's dense core holds)."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler import FitError, Options, compile_source
from spikeforge.compiler.ir import (
    LIF,
    Affine,
    Graph,
    Input,
    Output,
    graph_from_network,
    graph_to_network,
)
from spikeforge.compiler.passes import Fuse, FuseError, Quantize, run_passes
from spikeforge.compiler.passes.ranges import state_bounds
from spikeforge.model import (
    Connectivity,
    Conv2d,
    Layer,
    LayerParams,
    Network,
    Readout,
    SpikeEncoding,
    load_network,
    run,
    save_network,
)

CONV = Connectivity((1, 8, 8), 1, Conv2d(4, 3, 1, 1))
POOLED = Connectivity((4, 8, 8), 2, None)


def conv_network(steps=16, seed=0, bias=True):
    """1×8×8 → conv 4 × 3×3 (padding 1, per-channel bias) LIF → sum pool 2 → dense LIF 10."""
    rng = np.random.default_rng(seed)
    l1 = Layer(LayerParams(n_in=64, n=256, bias=bias, theta=40),
               rng.integers(-20, 21, (4, 1, 3, 3)),
               bias=rng.integers(-5, 6, 4) if bias else None, name="conv1", connectivity=CONV)
    l2 = Layer(LayerParams(n_in=256, n=10, theta=40), rng.integers(-20, 21, (10, 64)),
               name="fc", connectivity=POOLED)
    return Network((l1, l2), SpikeEncoding(steps), name="convnet")


def same_network(a, b):
    assert a.name == b.name and a.encoding == b.encoding and a.readout == b.readout
    for x, y in zip(a.layers, b.layers, strict=True):
        assert x.name == y.name and x.params == y.params and x.connectivity == y.connectivity
        assert x.arrays.keys() == y.arrays.keys()
        for key, value in x.arrays.items():
            np.testing.assert_array_equal(value, y.arrays[key])


def test_ir_round_trips_the_connectivity():
    net = conv_network()
    graph = graph_from_network(net)
    affine = graph.layers[0].affines[0]
    assert affine.connectivity == CONV and affine.weight.shape == (4, 1, 3, 3)
    assert (affine.n, affine.n_in, affine.bias.shape) == (256, 64, (4,))
    assert graph.layers[1].affines[0].connectivity == POOLED
    same_network(graph_to_network(graph), net)
    again = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert again.layers[0].affines[0].connectivity == CONV
    same_network(graph_to_network(again), net)


def test_dense_form_is_the_unrolled_layer():
    net = conv_network()
    affine = graph_from_network(net).layers[0].affines[0]
    dense = net.layers[0].dense()
    np.testing.assert_array_equal(affine.dense_weight, dense.weight)
    np.testing.assert_array_equal(affine.dense_bias, dense.bias)


def test_affine_shapes_are_checked_against_the_connectivity():
    with pytest.raises(ValueError, match=r"weight has shape \(4, 1, 3, 2\) but its connectivity "
                                         r"\(1×8×8 map, conv 4 × 3×3 stride 1 padding 1\) needs "
                                         r"\(4, 1, 3, 3\)"):
        Affine(np.zeros((4, 1, 3, 2)), connectivity=CONV)
    with pytest.raises(ValueError, match="bias has 256 values for 4 output channels"):
        Affine(np.zeros((4, 1, 3, 3)), np.zeros(256), connectivity=CONV)
    with pytest.raises(ValueError, match="weight must have 4 dimension"):
        Affine(np.zeros((256, 64)), connectivity=CONV)


def _lif(n, name):
    return LIF(n, k_syn=0, k_mem=1, theta=2.5, compare=">", name=name)


def test_graph_refuses_maps_that_do_not_chain():
    wrong = Connectivity((2, 8, 8), 2, None)  # reads 2×8×8 = 128, the conv makes 4×8×8 = 256
    wrong_shape = Connectivity((4, 16, 4), 2, None)  # 256 inputs, but not the 4×8×8 map
    nodes = [Input(64, SpikeEncoding(4)), Affine(np.ones((4, 1, 3, 3)), connectivity=CONV,
                                                name="c"), _lif(256, "l1")]
    with pytest.raises(ValueError, match="takes 128 inputs"):
        Graph((*nodes, Affine(np.ones((10, 32)), connectivity=wrong), _lif(10, "l2"),
               Output(Readout.SPIKE_COUNT)))
    with pytest.raises(ValueError, match=r"reads a 4×16×4 input map but the convolution before "
                                         r"it produces 4×8×8"):
        Graph((*nodes, Affine(np.ones((10, 64)), connectivity=wrong_shape, name="d"),
               _lif(10, "l2"), Output(Readout.SPIKE_COUNT)))


def test_fuse_refuses_to_compose_a_convolution():
    graph = Graph((Input(64, SpikeEncoding(4)),
                   Affine(np.ones((4, 1, 3, 3)), connectivity=CONV, name="conv"),
                   Affine(np.ones((10, 256)), name="fc"), _lif(10, "lif"),
                   Output(Readout.SPIKE_COUNT)))
    with pytest.raises(FuseError, match=r"layer 'lif' has consecutive Affine nodes \('conv', "
                                        r"'fc'\) and 'conv' has a connectivity"):
        Fuse().run(graph, Options(), {})


def test_quantize_scales_the_kernel_as_a_tensor():
    """Float kernel (halves) with a float threshold: one power-of-two scale makes it integral
    (exact); with weight bits the largest kernel entry becomes the format's largest."""
    rng = np.random.default_rng(1)
    kernel = rng.integers(-6, 7, (4, 1, 3, 3)) / 2
    kernel[0, 0, 0, 0] = 3.0  # the largest magnitude
    graph = Graph((Input(64, SpikeEncoding(8)),
                   Affine(kernel, np.array([0.5, 0, -0.5, 1]), connectivity=CONV, name="conv"),
                   _lif(256, "lif"), Output(Readout.SPIKE_COUNT)))
    exact, report = run_passes(graph, Options(), (Fuse, Quantize))
    affine, row = exact.layers[0].affines[0], report["quantize"]["layers"][0]
    assert affine.connectivity == CONV and row["scale"] == 2.0 and row["exact"]
    f = row["input_shift"]
    np.testing.assert_array_equal(affine.weight, kernel * 2)
    np.testing.assert_array_equal(affine.bias, np.array([0.5, 0, -0.5, 1]) * 2 * 2**f)
    network = graph_to_network(exact)
    assert network.layers[0].connectivity == CONV and network.layers[0].bias.shape == (4,)
    four, _ = run_passes(graph, Options(weight_bits=4), (Fuse, Quantize))
    weight = four.layers[0].affines[0].weight
    assert weight.shape == (4, 1, 3, 3) and weight[0, 0, 0, 0] == 7 == np.abs(weight).max()


def test_state_bounds_are_those_of_the_unrolled_layer():
    net = conv_network()
    for layer in net.layers:
        assert state_bounds(layer, 16) == state_bounds(layer.dense(), 16)
        assert state_bounds(layer, 16, until_stable=True) == \
            state_bounds(layer.dense(), 16, until_stable=True)


def test_compile_report_counts_kernel_and_unrolled_words():
    net = conv_network()
    x = (np.random.default_rng(2).random((3, 16, 64)) < 0.3).astype(np.uint8)
    network, report = compile_source(net, Options(target="ulx3s-85f", inputs=x))
    same_network(network, net)
    rows = report["formats"]
    assert rows[0]["connectivity"] == {
        "input_shape": [1, 8, 8], "pool": 1, "pooled_shape": [1, 8, 8],
        "conv": {"out_channels": 4, "kernel": 3, "stride": 1, "padding": 1},
        "output_shape": [4, 8, 8]}
    assert rows[1]["connectivity"] == {"input_shape": [4, 8, 8], "pool": 2,
                                       "pooled_shape": [4, 4, 4], "conv": None,
                                       "output_shape": None}
    assert [(r["weight_words_stored"], r["weight_words_held"], r["weight_words_unrolled"])
            for r in rows] == [(4 * 1 * 3 * 3, 36, 256 * 64), (10 * 64, 10 * 64, 10 * 256)]
    assert report["resources"]["weight_words_stored"] == 36 + 640
    assert report["resources"]["weight_words_held"] == 36 + 640
    assert report["resources"]["weight_words_unrolled"] == 256 * 64 + 10 * 256
    # the convolution's core holds its kernel and two ROMs, and so does the pooled dense layer
    # over the square 4×4×4 map (a 4×4 kernel of one channel per neuron)
    memories = {(m["layer"], m["memory"]): m for m in report["allocation"]["memories"]}
    assert memories[("conv1", "weights")]["depth"] == 36
    assert memories[("fc", "weights")]["depth"] == 10 * 64
    assert memories[("fc", "input map")]["depth"] == 256
    assert memories[("fc", "pair list")]["depth"] == 16
    assert memories[("conv1", "input map")]["depth"] == 64
    assert memories[("conv1", "pair list")]["depth"] == 22 * 22  # (8·3 − 2)² valid pairs
    # the range proof is the dense equivalent's; the cycles are the conv core's schedule
    _, dense = compile_source(net.dense(), Options(target="ulx3s-85f", inputs=x))
    assert report["ranges"]["layers"] == dense["ranges"]["layers"]
    from spikeforge.hdl.schedule import schedules
    assert report["schedule"]["cycles_per_inference"] == [
        int(s.cycles.sum()) for s in schedules(net, x)]
    assert report["schedule"]["cycles_per_inference_mean"] < dense["schedule"][
        "cycles_per_inference_mean"]


def test_recurrent_pooled_layer_counts_its_recurrent_words():
    rng = np.random.default_rng(3)
    layer = Layer(LayerParams(n_in=64, n=8, recurrent=True), rng.integers(-3, 4, (8, 16)),
                  recurrent=rng.integers(-3, 4, (8, 8)), name="rec",
                  connectivity=Connectivity((1, 8, 8), 2, None))
    _, report = compile_source(Network((layer,), SpikeEncoding(8)), Options())
    row = report["formats"][0]
    assert (row["weight_words_stored"], row["weight_words_unrolled"]) == (8 * 16 + 64,
                                                                           8 * 64 + 64)


def test_too_large_convolution_gets_the_fit_error():
    """64 channels on a 16×16 map are 16,384 neurons: their state alone outgrows the iCE40."""
    conn = Connectivity((1, 16, 16), conv=Conv2d(64, 3, 1, 1))
    layer = Layer(LayerParams(256, 64 * 256), np.ones((64, 1, 3, 3), np.int64), name="wide",
                  connectivity=conn)
    with pytest.raises(FitError, match=r"does not fit icebreaker .* of layer 'wide'"):
        compile_source(Network((layer,), SpikeEncoding(4)), Options(target="icebreaker"))


def test_a_pooled_dense_layer_is_named_as_unrolled_in_the_fit_error():
    # pooled to 16×16×8, not square: held unrolled, which the fit error says
    conn = Connectivity((16, 32, 16), 2, None)
    layer = Layer(LayerParams(16 * 32 * 16, 64), np.ones((64, 16 * 16 * 8), np.int64),
                  name="pooled", connectivity=conn)
    with pytest.raises(FitError, match=r"Pooled dense layers over maps that are not square are "
                                       r"held unrolled.*'pooled' 131072 stored as 524288 "
                                       r"unrolled"):
        compile_source(Network((layer,), SpikeEncoding(4)), Options(target="icebreaker"))
    # pooled to a square map it is held as its 262144 pooled weights, not 1048576 unrolled
    square = Layer(LayerParams(16 * 32 * 32, 64), np.ones((64, 16 * 16 * 16), np.int64),
                   name="square", connectivity=Connectivity((16, 32, 32), 2, None))
    with pytest.raises(FitError) as info:
        compile_source(Network((square,), SpikeEncoding(4)), Options(target="icebreaker"))
    assert "262144 × 8 bits" in str(info.value) and "unrolled" not in str(info.value)


def test_cli_compiles_a_conv_network_file(tmp_path, capsys):
    path = tmp_path / "conv.sfn"
    net = conv_network(bias=False)
    save_network(net, path)
    design = tmp_path / "design"
    assert main(["compile", str(path), "--target", "ulx3s-85f", "--out", str(design),
                 "--samples", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["weight_words_unrolled"] for r in report["formats"]] == [256 * 64, 10 * 256]
    assert report["formats"][0]["connectivity"]["conv"]["kernel"] == 3
    assert len(report["cycles_per_inference"]) == 2
    written = load_network(design / "network.sfn")  # the file keeps the kernel
    same_network(written, net)
    assert json.loads((design / "report.json").read_text())["formats"] == report["formats"]
    # the weight image holds the kernel, in the conv core's layout
    weights = (design / "mem" / "conv1_lane0_weights.hex").read_text().split()
    assert len(weights) == 36
    spikes = (np.random.default_rng(0).random((2, 16, 64)) < 0.3).astype(np.uint8)
    np.testing.assert_array_equal(run(written, spikes).spikes[-1],
                                  run(net.dense(), spikes).spikes[-1])
    # held as a kernel, the convolution fits the iCE40 too (unrolled, its 36 kernel words
    # would be 16,384, more block RAM than the device has)
    capsys.readouterr()
    assert main(["compile", str(path), "--target", "icebreaker", "--out",
                 str(tmp_path / "small"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["resources"]["bram_blocks"] <= report["resources"]["bram_blocks_available"]


def test_bias_image_has_one_word_per_neuron(tmp_path):
    # the core's bias memory holds one word per neuron: a channel's bias repeated
    from spikeforge.compiler.emit import memory_images

    images = memory_images(conv_network(), 1)
    text, info = images["mem/conv1_bias.hex"]
    assert info["depth"] == 256 and len(text.split()) == 256
