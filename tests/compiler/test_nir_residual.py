"""NIR import of residual blocks: a neuron (or the Input) that also feeds a *skip path* (pools,
then at most one 1×1 Conv2d, or nothing) into a later neuron becomes a layer with a
:class:`~spikeforge.model.Shortcut`; the skip's kernel keeps the layer's scale, the report says
how many steps the skip runs ahead of the main path, and the imported network runs on the
hardware exactly as its reference. Bad skip paths are refused naming the node."""

import itertools

import nir
import numpy as np
import pytest
from spikeforge.compiler import Options, compile_source
from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
from spikeforge.model import Connectivity, Conv2d, Network, Shortcut, run


def _lif(shape):  # dt = 1e-4: d = 1/2, r = 2, so the input gain d·r is 1 (weights stay exact)
    return nir.LIF(tau=np.full(shape, 2e-4), r=np.full(shape, 2.0), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, 2.5))


def _conv(weight, stride=1, padding=1, bias=None):
    return nir.Conv2d(input_shape=None, weight=weight.astype(float), stride=stride,
                      padding=padding, dilation=1, groups=1,
                      bias=np.zeros(weight.shape[0]) if bias is None else bias)


def block_graph(skip_edges, extra=None, stride=1):
    """``Input 1×6×6 → conv1 → lif1 → conv2 → lif2 → conv3 (stride) → lif3 → Flatten → fc →
    lif4 → Output`` and the skip path ``skip_edges`` (with nodes ``extra``)."""
    rng = np.random.default_rng(3)
    side = (6 - 1) // stride + 1
    nodes = {
        "input": nir.Input({"input": np.array([1, 6, 6])}),
        "conv1": _conv(rng.integers(-1, 4, (4, 1, 3, 3))),
        "lif1": _lif((4, 6, 6)),
        "conv2": _conv(rng.integers(-2, 3, (4, 4, 3, 3))),
        "lif2": _lif((4, 6, 6)),
        "conv3": _conv(rng.integers(-2, 3, (4, 4, 3, 3)), stride=stride),
        "lif3": _lif((4, side, side)),
        "flat": nir.Flatten(input_type={"input": np.array([4, side, side])}, start_dim=0,
                            end_dim=-1),
        "fc": nir.Affine(weight=rng.integers(-3, 4, (3, 4 * side * side)).astype(float),
                         bias=np.zeros(3)),
        "lif4": _lif((3,)),
        "output": nir.Output({"output": np.array([3])}),
        **(extra or {}),
    }
    chain = ["input", "conv1", "lif1", "conv2", "lif2", "conv3", "lif3", "flat", "fc", "lif4",
             "output"]
    return nir.NIRGraph(nodes=nodes, edges=[*itertools.pairwise(chain), *skip_edges],
                        type_check=False)


PROJECTION = np.arange(16).reshape(4, 4, 1, 1) % 5 - 2


@pytest.mark.parametrize(("skip_edges", "extra", "stride", "source", "joined", "ahead"), [
    # identity: lif1's map added to lif3's sum, one layer (lif2) skipped
    ([("lif1", "lif3")], None, 1, 0, "lif3", 2),
    # a strided 1×1 projection beside a strided conv3
    ([("lif1", "proj"), ("proj", "lif3")], {"proj": _conv(PROJECTION, 2, 0)}, 2, 0, "lif3",
     2),
    # from the Input through a 1×1 projection to lif2, beside conv1 → lif1 → conv2
    ([("input", "proj"), ("proj", "lif2")],
     {"proj": _conv(np.array([1, -1, 2, 0]).reshape(4, 1, 1, 1), 1, 0)}, 1, -1, "lif2", 2),
    # a pooled skip: sum pool 1 of … (the join of lif2 into lif3 skips no layer)
    ([("lif2", "proj"), ("proj", "lif3")], {"proj": _conv(PROJECTION, 1, 0)}, 1, 1, "lif3", 0),
])
def test_a_skip_path_becomes_the_layers_residual_join(skip_edges, extra, stride, source,
                                                      joined, ahead):
    graph = block_graph(skip_edges, extra, stride)
    network, report = import_nir(graph, steps=12)
    index = {"lif2": 1, "lif3": 2}[joined]
    layer = network.layers[index]
    assert layer.shortcut is not None and layer.shortcut.source == source
    assert [ly.shortcut is None for ly in network.layers].count(False) == 1
    expected = (np.eye(4).reshape(4, 4, 1, 1) if "proj" not in (extra or {})
                else extra["proj"].weight)
    # integer weights at gain 1: every weight kept exactly; a skip that runs ahead of its main
    # path is a timing difference from the graph, which the report counts as inexact
    assert all(row["exact"] for row in report["layers"])
    assert report["parameters_exact"] == (ahead == 0)
    assert not (ahead and report["exact"])
    np.testing.assert_array_equal(layer.shortcut_weight, expected)
    assert layer.shortcut.connectivity.conv.stride == (stride if source == 0 else 1)
    row = report["layers"][index]["join"]
    assert (row["source_layer"], row["steps_ahead"]) == (source, ahead)
    assert any("steps ahead of the main path" in w for w in report["warnings"]) == (ahead > 0)
    # the join changes what the layer computes, and the compiler takes the network
    x = (np.random.default_rng(0).random((2, 12, 36)) < 0.5).astype(np.uint8)
    plain = Network(tuple(ly if ly is not layer else layer.with_weights(
        shortcut=np.zeros_like(layer.shortcut_weight)) for ly in network.layers),
        network.encoding, network.readout)
    assert not np.array_equal(run(network, x).i[index], run(plain, x).i[index])
    _, compiled = compile_source(graph, Options(), steps=12)
    assert compiled["formats"][index]["connectivity"]["join"]["source"] == source


def test_an_imported_residual_block_runs_on_the_hardware_exactly():
    from spikeforge.hdl.schedule import schedule
    from spikeforge.sim.amaranth_sim import simulate_network

    graph = block_graph([("lif1", "proj"), ("proj", "lif3")], {"proj": _conv(PROJECTION, 2, 0)},
                        stride=2)
    network, _ = import_nir(graph, steps=8)
    x = (np.random.default_rng(1).random((8, 36)) < 0.6).astype(np.uint8)
    result = simulate_network(network, x, lanes=1)
    trace = run(network, x[None])
    assert trace.spikes[0].sum() > 0
    for index in range(len(network.layers)):
        for got, want in ((result.i, trace.i), (result.u, trace.u),
                          (result.spikes, trace.spikes)):
            np.testing.assert_array_equal(got[index], want[index][0])
    np.testing.assert_array_equal(result.step_cycles, schedule(network, x, 1, trace).cycles)


BAD = {
    "a 3×3 skip convolution": (
        [("lif1", "proj"), ("proj", "lif3")], {"proj": _conv(np.ones((4, 4, 3, 3)))},
        "node 'lif1' feeds 2 nodes (conv2, proj); only chains and residual blocks are "
        "supported: a neuron (or the Input) may feed the next layer and one skip path (pools "
        "and at most one 1×1 Conv2d)"),
    "a padded skip convolution": (
        [("lif1", "proj"), ("proj", "lif3")], {"proj": _conv(PROJECTION, 1, 1)},
        "node 'proj' (Conv2d) on the skip path to 'lif3' has a 1×1 kernel and padding 1"),
    "two skip convolutions": (
        [("lif1", "p1"), ("p1", "p2"), ("p2", "lif3")],
        {"p1": _conv(PROJECTION, 1, 0), "p2": _conv(PROJECTION, 1, 0)},
        "node 'p2' (Conv2d) follows the skip path's Conv2d 'p1'"),
    "a skip that does not fit": (
        [("lif1", "pool"), ("pool", "lif3")],
        {"pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                               padding=np.array([0, 0]))},
        "the skip path from 'lif1' gives a 4×3×3 map but the convolution of 'lif3' gives "
        "4×6×6: the shapes do not join"),
    "a join into a dense layer": (
        [("lif2", "lif4")], None, "node 'lif4' joins the skip path from 'lif2' but its own "
                                  "weights are not a Conv2d"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_skip_path_is_refused_naming_the_node(name):
    skip_edges, extra, message = BAD[name]
    with pytest.raises(NIRImportError) as info:
        import_nir(block_graph(skip_edges, extra), steps=8)
    assert message in str(info.value)


def test_the_shortcut_matches_a_hand_built_join():
    graph = block_graph([("lif1", "lif3")])
    network, _ = import_nir(graph, steps=8)
    assert network.layers[2].shortcut == Shortcut(0, Connectivity((4, 6, 6), 1,
                                                                  Conv2d(4, 1, 1, 0)))

