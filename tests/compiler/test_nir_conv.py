"""NIR import of convolutional networks: ``Conv2d``, ``SumPool2d``, ``AvgPool2d`` and ``Flatten``
become layers with a :class:`~spikeforge.model.Connectivity`, every spike equal to snnTorch's own
simulation; every field spikeforge cannot map is refused with the node and the field named.

The snnTorch network has integer weights and biases, integer thresholds and β = 0.75 = 1 − 2^-2,
so the import keeps every parameter exactly (an average pool's 1/4 is a power-of-two scale of
the next weights). The only difference left is the floor of the decay, 2^-18 of a unit, which
moves no spike here. Timing: the contract delays each layer by two steps against snnTorch's
update order (docs/nir.md), so snnTorch's layer ``l`` at step ``t`` is index ``t + 2l + 1`` of
``run(...).spikes[l]`` (the same comparison as ``test_nir_import.py``).
"""

import copy
import itertools

import nir
import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler import Options, compile_source
from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
from spikeforge.model import Connectivity, Conv2d, load_network, run

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir

T, BATCH, SIDE = 60, 4, 8


def _full(shape, value):
    return torch.full(shape, float(value))


def _ints(rng, low, high, shape):
    return torch.tensor(rng.integers(low, high, shape), dtype=torch.float32)


def snntorch_conv_net(rng):
    """``Conv2d (bias) → Leaky → AvgPool2d → Conv2d → Leaky → AvgPool2d → Flatten → Linear →
    Leaky`` on a 1×8×8 input: 4×8×8, 4×4×4 and 10 neurons. Only the first layer has a bias: a
    later layer's bias acts during the contract's two steps of latency per layer too, before
    its inputs arrive (docs/nir.md), so it would not compare spike for spike."""
    c1 = torch.nn.Conv2d(1, 4, 3, padding=1)
    c1.weight.data = _ints(rng, -1, 3, (4, 1, 3, 3))
    c1.bias.data = torch.tensor([1.0, 0.0, -1.0, 2.0])
    c2 = torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)
    c2.weight.data = _ints(rng, -2, 4, (4, 4, 3, 3))
    lin = torch.nn.Linear(16, 10, bias=False)
    lin.weight.data = _ints(rng, -2, 4, (10, 16))

    def leaky(shape, theta):  # full-shape parameters: NIR's types then chain
        return snn.Leaky(beta=_full(shape, 0.75), threshold=_full(shape, theta),
                         init_hidden=True)

    return torch.nn.Sequential(c1, leaky((4, 8, 8), 2), torch.nn.AvgPool2d(2), c2,
                               leaky((4, 4, 4), 5), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                               lin, leaky((10,), 4))


def export(net):
    return export_nir(net, torch.zeros(1, 1, SIDE, SIDE), ignore_dims=[0])


def snntorch_spikes(net, x):
    """Every Leaky's spikes (batch, T, n) from snnTorch's own simulation of ``x`` (batch, T,
    64), flattened in torch's order (the contract's map order)."""
    for module in net:
        if hasattr(module, "reset_hidden"):
            module.reset_hidden()
    cells = [i for i, m in enumerate(net) if isinstance(m, snn.Leaky)]
    out = [[] for _ in cells]
    with torch.no_grad():
        for t in range(x.shape[1]):
            h = torch.tensor(x[:, t], dtype=torch.float32).reshape(len(x), 1, SIDE, SIDE)
            for index, module in enumerate(net):
                h = module(h)
                if index in cells:
                    out[cells.index(index)].append(h.reshape(len(x), -1).numpy().copy())
    return [np.stack(o, 1).astype(np.uint8) for o in out]


def assert_same_spikes(network, peer, x):
    pad = np.zeros((len(x), 2 * len(peer), x.shape[2]), np.uint8)
    ours = run(network, np.concatenate([x, pad], 1)).spikes
    for layer, (mine, theirs) in enumerate(zip(ours, peer, strict=True)):
        delay = 2 * layer + 1  # trace index n holds s[n + 1]; two steps per layer
        np.testing.assert_array_equal(mine[:, delay:delay + x.shape[1]], theirs)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    net = snntorch_conv_net(rng)
    x = (rng.random((BATCH, T, SIDE * SIDE)) < 0.3).astype(np.uint8)
    return net, x, snntorch_spikes(net, x)


@pytest.mark.peers
def test_snntorch_conv_network_keeps_every_spike(case):
    net, x, peer = case
    network, report = import_nir(export(net), quirks="snntorch", reset="subtract", steps=T + 6)
    assert report["parameters_exact"] and report["warnings"] == []
    conns = [layer.connectivity for layer in network.layers]
    assert conns == [Connectivity((1, 8, 8), 1, Conv2d(4, 3, 1, 1)),
                     Connectivity((4, 8, 8), 2, Conv2d(4, 3, 1, 1)),
                     Connectivity((4, 4, 4), 2, None)]
    assert [ly.weight.shape for ly in network.layers] == [(4, 1, 3, 3), (4, 4, 3, 3), (10, 16)]
    # the average's 1/4 folds into the next weights, and a scale of 4 makes them the torch
    # integers again: exact
    assert [row["scale"] for row in report["layers"]] == [1.0, 4.0, 4.0]
    np.testing.assert_array_equal(network.layers[1].weight, net[3].weight.detach().numpy())
    np.testing.assert_array_equal(network.layers[2].weight, net[7].weight.detach().numpy())
    f = network.layers[0].params.input_shift  # per channel, c = round(S·b), S = 2^f
    np.testing.assert_array_equal(network.layers[0].bias, np.array([1, 0, -1, 2]) * 2**f)
    pools = [row["pool"] for row in report["layers"]]
    assert pools[0] is None
    assert pools[1] == {"nodes": ["2"], "kinds": ["AvgPool2d"], "window": 2, "gain": 0.25,
                        "exact": True}
    assert report["layers"][0]["connectivity"]["output_shape"] == [4, 8, 8]
    assert all(0.05 < p.mean() < 0.95 for p in peer)  # the comparison is not about silence
    assert_same_spikes(network, peer, x)


def as_sum_pools(graph):
    """``graph`` with each AvgPool2d a SumPool2d and its 1/window² moved into the next weights:
    the same network."""
    graph = copy.deepcopy(graph)
    nodes, succ = graph.nodes, dict(graph.edges)
    for name in [n for n, node in nodes.items() if isinstance(node, nir.AvgPool2d)]:
        node = nodes[name]
        nodes[name] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                    padding=np.array([0, 0]))
        nxt = succ[name]
        while not hasattr(nodes[nxt], "weight"):
            nxt = succ[nxt]
        assert int(node.kernel_size) == 2
        nodes[nxt].weight = np.asarray(nodes[nxt].weight) / 4
    return graph


@pytest.mark.peers
def test_sum_pools_are_the_same_network(case):
    """NIR's SumPool2d (snnTorch exports none) with the weights divided by the window's area is
    the same integer network as the AvgPool2d graph, so the same spikes."""
    net, x, peer = case
    avg, _ = import_nir(export(net), quirks="snntorch", reset="subtract", steps=T + 6)
    summed, report = import_nir(as_sum_pools(export(net)), quirks="snntorch", reset="subtract",
                                steps=T + 6)
    assert [row["pool"]["kinds"] for row in report["layers"][1:]] == [["SumPool2d"]] * 2
    for a, b in zip(avg.layers, summed.layers, strict=True):
        assert a.connectivity == b.connectivity and a.params == b.params
        for key, value in a.arrays.items():
            np.testing.assert_array_equal(value, b.arrays[key])
    assert_same_spikes(summed, peer, x)


@pytest.mark.peers
def test_conv_nir_file_imports_and_compiles_from_the_cli(case, tmp_path, capsys):
    net, x, peer = case
    path = tmp_path / "conv.nir"
    nir.write(str(path), export(net))
    out = tmp_path / "conv.sfn"
    assert main(["import", str(path), "--out", str(out), "--quirks", "snntorch", "--reset",
                 "subtract", "--steps", str(T + 6)]) == 0
    network = load_network(out)
    assert network.convolutional
    assert_same_spikes(network, peer, x)
    capsys.readouterr()
    assert main(["compile", str(out), "--out", str(tmp_path / "design"), "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    words = [(r["weight_words_stored"], r["weight_words_unrolled"]) for r in report["formats"]]
    assert words == [(36, 256 * 64), (144, 64 * 256), (160, 10 * 64)]


# -- hand-built graphs: the whole chain, and every refusal ------------------------------------

def _flat(*shape):
    """A whole-map Flatten (NIR's default start_dim is 1: a batch dimension)."""
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)


def _lif(shape, theta=2.5):
    return nir.LIF(tau=np.full(shape, 2e-4), r=np.full(shape, 2.0), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, theta))


def _conv(weight, input_shape=None, **fields):
    args = dict(stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(weight.shape[0]))
    args.update(fields)
    return nir.Conv2d(input_shape=input_shape, weight=weight, **args)


def _pool(kind=nir.SumPool2d, kernel=2, stride=None, padding=0):
    stride = kernel if stride is None else stride
    return kind(kernel_size=np.array(kernel if np.ndim(kernel) else [kernel, kernel]),
                stride=np.array(stride if np.ndim(stride) else [stride, stride]),
                padding=np.array(padding if np.ndim(padding) else [padding, padding]))


CHAIN = ["input", "conv1", "lif1", "pool1", "conv2", "lif2", "pool2", "flat", "fc", "lif3",
         "output"]


def conv_graph(edges=None, **changes):
    """``Input → Conv2d → LIF → SumPool2d → Conv2d → LIF → SumPool2d → Flatten → Affine → LIF →
    Output`` on a 1×8×8 input; ``changes`` replace nodes (None removes one)."""
    rng = np.random.default_rng(0)
    nodes = {
        "input": nir.Input({"input": np.array([1, 8, 8])}),
        "conv1": _conv(rng.integers(-1, 3, (4, 1, 3, 3)).astype(float)),
        "lif1": _lif((4, 8, 8)),
        "pool1": _pool(),
        "conv2": _conv(rng.integers(-2, 3, (4, 4, 3, 3)).astype(float), input_shape=(4, 4)),
        "lif2": _lif((4, 4, 4)),
        "pool2": _pool(),
        "flat": _flat(4, 2, 2),
        "fc": nir.Affine(weight=rng.integers(-3, 4, (10, 16)).astype(float), bias=np.zeros(10)),
        "lif3": _lif((10,)),
        "output": nir.Output({"output": np.array([10])}),
    }
    nodes.update(changes)
    nodes = {k: v for k, v in nodes.items() if v is not None}
    chain = [n for n in CHAIN if n in nodes]
    edges = _edges(*chain) if edges is None else edges
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_whole_chain_becomes_three_layers_with_connectivity():
    graph = conv_graph()
    network, report = import_nir(graph, steps=16)
    assert [ly.connectivity for ly in network.layers] == [
        Connectivity((1, 8, 8), 1, Conv2d(4, 3, 1, 1)),
        Connectivity((4, 8, 8), 2, Conv2d(4, 3, 1, 1)),
        Connectivity((4, 4, 4), 2, None)]
    assert [ly.params.n for ly in network.layers] == [256, 64, 10]
    assert report["parameters_exact"]  # integer weights, gain d·r = 1: kept exactly
    for layer, name in zip(network.layers, ("conv1", "conv2", "fc"), strict=True):
        np.testing.assert_array_equal(layer.weight, graph.nodes[name].weight)
    assert [row["pool"] and row["pool"]["window"] for row in report["layers"]] == [None, 2, 2]
    # and compiles through the NIR front end, the kernels counted unrolled
    _, compiled = compile_source(graph, Options(), steps=16)
    rows = compiled["formats"]
    assert [r["connectivity"]["conv"] for r in rows] == [
        {"out_channels": 4, "kernel": 3, "stride": 1, "padding": 1}] * 2 + [None]
    assert [r["weight_words_unrolled"] for r in rows] == [256 * 64, 64 * 256, 10 * 64]


def test_conv_without_input_shape_takes_the_input_map():
    """snnTorch writes ``input_shape=None``; the Input's 3-d shape defines the map, and a
    ``'same'`` padding of an odd kernel at stride 1 is (K − 1)/2."""
    rng = np.random.default_rng(1)
    graph = conv_graph(conv1=_conv(rng.integers(-1, 3, (4, 1, 3, 3)).astype(float),
                                   padding="same"))
    network, _ = import_nir(graph, steps=8)
    assert network.layers[0].connectivity == Connectivity((1, 8, 8), 1, Conv2d(4, 3, 1, 1))


def test_two_pools_in_a_row_are_one():
    graph = conv_graph(pool1=None, pool2=None, pool3=_pool(), pool4=_pool(), conv2=None,
                       lif2=None, flat=_flat(4, 2, 2),
                       edges=[("input", "conv1"), ("conv1", "lif1"), ("lif1", "pool3"),
                              ("pool3", "pool4"), ("pool4", "flat"), ("flat", "fc"),
                              ("fc", "lif3"), ("lif3", "output")])
    network, report = import_nir(graph, steps=8)
    assert network.layers[1].connectivity == Connectivity((4, 8, 8), 4, None)
    assert report["layers"][1]["pool"]["nodes"] == ["pool3", "pool4"]


W = np.ones((4, 4, 3, 3))


def _edges(*names):
    return list(itertools.pairwise(names))


BAD = {
    "dilation": (dict(conv2=_conv(W, dilation=2)), "node 'conv2' (Conv2d): dilation 2"),
    "groups": (dict(conv2=_conv(W, groups=2)), "node 'conv2' (Conv2d): groups 2"),
    "pool stride": (dict(pool1=_pool(stride=1)),
                    "node 'pool1' (SumPool2d): stride 1 differs from kernel_size 2"),
    "pool padding": (dict(pool1=_pool(padding=1)), "node 'pool1' (SumPool2d): padding 1"),
    "non-square kernel": (dict(conv2=_conv(np.ones((4, 4, 3, 2)))),
                          "node 'conv2' (Conv2d): weight has a 3×2 kernel"),
    "non-square stride": (dict(conv2=_conv(W, stride=(1, 2))),
                          "node 'conv2' (Conv2d): stride (1, 2) is not square"),
    "non-square padding": (dict(conv2=_conv(W, padding=(1, 0))),
                           "node 'conv2' (Conv2d): padding (1, 0) is not square"),
    "non-square pool": (dict(pool1=_pool(kernel=[2, 1], stride=[2, 1])),
                        "node 'pool1' (SumPool2d): kernel_size (2, 1) is not square"),
    "same padding of an even kernel": (dict(conv2=_conv(np.ones((4, 4, 2, 2)), padding="same")),
                                       "node 'conv2' (Conv2d): padding 'same' with a 2×2"),
    "average over 9": (dict(pool1=_pool(nir.AvgPool2d, kernel=3)),
                       "node 'pool1' (AvgPool2d): kernel_size 3 averages 9 cells, not a power"),
    "conv input_shape": (dict(conv2=_conv(W, input_shape=(8, 8))),
                         "node 'conv2' (Conv2d): input_shape (8, 8) but its input map is 4×4×4"),
    "conv channels": (dict(conv2=_conv(np.ones((4, 3, 3, 3)))),
                      "node 'conv2' (Conv2d): weight reads 3 input channels but its input map "
                      "4×4×4 has 4: the shapes do not chain"),
    "dense after pool": (dict(fc=nir.Affine(weight=np.ones((10, 64)), bias=np.zeros(10))),
                         "node 'fc' takes 64 inputs but the 4×4×4 map of 'lif2' pooled by 2"),
    "kernel too large": (dict(conv2=_conv(np.ones((4, 4, 7, 7)), padding=0)),
                         "node 'conv2' (Conv2d) on the 4×8×8 map of 'lif1': a 7×7 kernel"),
    "partial flatten": (dict(flat=nir.Flatten(input_type={"input": np.array([4, 2, 2])},
                                              start_dim=1, end_dim=-1)),
                        "node 'flat' (Flatten): start_dim 1"),
    "missing flatten": (dict(flat=None), "the pooled 4×2×2 map of 'lif2' reaches the weight "
                                         "node 'fc' without a Flatten"),
    "pool after flatten": (dict(edges=_edges("input", "conv1", "lif1", "pool1", "conv2", "lif2",
                                             "flat0", "pool2", "fc", "lif3", "output"),
                                flat0=_flat(4, 4, 4),
                                flat=None),
                           "node 'pool2' (SumPool2d) comes after a Flatten"),
    "conv after flatten": (dict(edges=_edges("input", "conv1", "lif1", "flat0", "conv2", "lif2",
                                             "pool2", "flat", "fc", "lif3", "output"),
                                flat0=_flat(4, 8, 8),
                                pool1=None),
                           "node 'conv2' (Conv2d) comes after a Flatten"),
    "pool before a neuron": (dict(edges=_edges("input", "conv1", "pool1", "lif1", "conv2", "lif2",
                                               "pool2", "flat", "fc", "lif3", "output")),
                             "node 'pool1' (SumPool2d) follows the weight node 'conv1' without "
                             "a neuron"),
    "conv after conv": (dict(edges=_edges("input", "conv1", "conv2", "lif2", "pool2", "flat",
                                          "fc", "lif3", "output"), lif1=None, pool1=None),
                        "node 'conv2' (Conv2d) follows the weight node 'conv1'"),
    "affine after conv": (dict(edges=_edges("input", "conv1", "fc0", "lif1", "pool1", "conv2",
                                            "lif2", "pool2", "flat", "fc", "lif3", "output"),
                               fc0=nir.Linear(weight=np.ones((256, 256)))),
                          "node 'fc0' follows the weight node 'conv1'"),
    "pool at the end": (dict(edges=_edges("input", "conv1", "lif1", "pool1", "output"),
                             conv2=None, lif2=None, pool2=None, flat=None, fc=None, lif3=None,
                             output=nir.Output({"output": np.array([64])})),
                        "pooling 'pool1' must be followed by a weight node"),
    "residual join of other shapes": (dict(edges=[*_edges(*CHAIN), ("lif1", "lif2")]),
                                      "the skip path from 'lif1' gives a 4×8×8 map but the "
                                      "convolution of 'lif2' gives 4×4×4: the shapes do not "
                                      "join"),
    "a branch": (dict(edges=[*_edges(*CHAIN), ("lif1", "fc")]),
                 "node 'lif1' feeds 2 nodes (pool1, fc); only chains and residual blocks are "
                 "supported"),
    "recurrent conv layer": (dict(edges=[*_edges(*CHAIN), ("lif1", "rec"), ("rec", "lif1")],
                                  rec=nir.Linear(weight=np.zeros((256, 256)))),
                             "node 'lif1' has recurrent weights 'rec' but its input is the "
                             "convolution 'conv1'"),
    "flat input": (dict(input=nir.Input({"input": np.array([64])}), conv1=_conv(
        np.ones((4, 1, 3, 3)))), "node 'conv1' (Conv2d) reads a (channels, height, width) map "
                                 "but 'input' gives a flat vector and the Conv2d has no "
                                 "input_shape"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_conv_graph_is_refused_naming_node_and_field(name):
    changes, message = BAD[name]
    with pytest.raises(NIRImportError) as info:
        import_nir(conv_graph(**changes), steps=8)
    assert message in str(info.value)


def test_flat_input_with_conv_input_shape_is_a_map():
    """An Input declaring 64 values, read by a Conv2d with ``input_shape`` (8, 8) and one input
    channel: the map is 1×8×8."""
    rng = np.random.default_rng(0)
    graph = conv_graph(input=nir.Input({"input": np.array([64])}),
                       conv1=_conv(rng.integers(-1, 3, (4, 1, 3, 3)).astype(float),
                                   input_shape=(8, 8)))
    network, _ = import_nir(graph, steps=8)
    assert network.layers[0].connectivity.input_shape == (1, 8, 8)
