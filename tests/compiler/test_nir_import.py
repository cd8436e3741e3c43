"""NIR import: snnTorch models round-trip exactly; bad graphs get clear errors.

Exactness needs arithmetic where the peer's float update and the contract's floor shift agree:
weights and thresholds are multiples of 2^T (so every halving over T steps is exact) and the
peer's threshold sits just below the integer one (the peer fires on ``v > v_th``, the contract on
``U ≥ θ``; the importer maps ``v_th`` to ``θ = ⌊v_th⌋ + 1``). Under those conditions every spike
of every layer must be equal, with the contract's documented delay of two steps per layer.
"""

import json

import nir
import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
from spikeforge.model import NeuronKind, ResetMode, load_network, run
from spikeforge.model.discretize import discretize

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir

T, EPS = 8, 1 / 64


def snntorch_net(rng, sizes, thetas, neuron):
    """Linear → neuron chain with integer weights (multiples of 2^T), vector parameters."""
    net = torch.nn.Sequential()
    for i, theta in enumerate(thetas):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1], bias=False)
        w = rng.integers(-3, 4, (sizes[i + 1], sizes[i])) * 2.0**T
        lin.weight.data = torch.tensor(w, dtype=torch.float32)
        n = sizes[i + 1]
        thr = torch.full((n,), theta - EPS)
        cell = (snn.Synaptic(alpha=torch.full((n,), 0.5), beta=torch.full((n,), 0.5),
                             threshold=thr, init_hidden=True) if neuron == "synaptic" else
                snn.Leaky(beta=torch.full((n,), 0.5), threshold=thr, init_hidden=True))
        net.append(lin)
        net.append(cell)
    return net


def snntorch_spikes(net, x):
    """Every layer's spikes (batch, T, n) from snnTorch's own simulation."""
    for module in net:
        if hasattr(module, "reset_hidden"):
            module.reset_hidden()
        for attr in ("mem", "syn", "spk"):  # recurrent modules keep these between calls
            if hasattr(module, attr):
                setattr(module, attr, torch.zeros(0))
    layers = [[] for _ in range(len(net) // 2)]
    with torch.no_grad():
        for t in range(x.shape[1]):
            h = torch.tensor(x[:, t], dtype=torch.float32)
            for i in range(len(layers)):
                h = net[2 * i + 1](net[2 * i](h))
                layers[i].append(h.numpy().copy())
    return [np.stack(layer, 1).astype(np.uint8) for layer in layers]


@pytest.mark.peers
@pytest.mark.parametrize("neuron", ["synaptic", "leaky"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snntorch_round_trip_is_exact(neuron, seed):
    rng = np.random.default_rng(seed)
    sizes, thetas = [12, 10, 6], [3 * 2**T, 2 * 2**T]
    net = snntorch_net(rng, sizes, thetas, neuron)
    graph = export_nir(net, torch.zeros(sizes[0]))
    network, report = import_nir(graph, reset="subtract", steps=T + 4)
    assert report["parameters_exact"] and not report["warnings"]
    for row, theta in zip(report["layers"], thetas, strict=True):  # v > v_th at scale 2^f
        assert row["theta"] == int(np.floor((theta - EPS) * 2 ** row["input_shift"])) + 1
    expected_k_syn = 1 if neuron == "synaptic" else 0
    shifts = [(ly.params.k_syn.to_json(), ly.params.k_mem.to_json()) for ly in network.layers]
    assert shifts == [(expected_k_syn, 1)] * 2
    x = (rng.random((4, T, sizes[0])) < 0.5).astype(np.uint8)
    peer = snntorch_spikes(net, x)
    padded = np.concatenate([x, np.zeros((4, 4, sizes[0]), np.uint8)], axis=1)
    ours = run(network, padded).spikes
    for layer, (mine, theirs) in enumerate(zip(ours, peer, strict=True)):
        delay = 2 * layer + 1  # trace index n holds s[n + 1]; two steps per layer
        np.testing.assert_array_equal(mine[:, delay:delay + T], theirs)
    assert sum(int(p.sum()) for p in peer) > 50  # the comparison is not about silence


def norse_spikes(mods, x):
    """Every layer's spikes (batch, T, n) from Norse's own simulation."""
    states, layers = [None] * len(mods), [[] for _ in range(len(mods) // 2)]
    with torch.no_grad():
        for t in range(x.shape[1]):
            h = torch.tensor(x[:, t], dtype=torch.float32)
            for k, module in enumerate(mods):
                if isinstance(module, torch.nn.Linear):
                    h = module(h)
                else:
                    h, states[k] = module(h, states[k])
                    layers[k // 2].append(h.numpy().copy())
    return [np.stack(layer, 1).astype(np.uint8) for layer in layers]


@pytest.mark.peers
@pytest.mark.parametrize("seed", [0, 1])
def test_norse_round_trip_is_exact(seed):
    """Norse LIFCell (current jump, then Euler decay, reset to zero), dt = 1 ms, with the
    importer undoing Norse 1.1's exporter deviations (``quirks="norse"``, docs/nir.md)."""
    norse = pytest.importorskip("norse.torch", reason="Norse is a test peer: pip install --no-deps "
                                                      "norse==1.1.0 (make test does)")
    rng = np.random.default_rng(seed)
    sizes, thetas = [12, 10, 6], [3 * 2**T, 2 * 2**T]
    mods = []
    for i, theta in enumerate(thetas):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1], bias=False)
        w = rng.integers(-3, 4, (sizes[i + 1], sizes[i])) * 2.0 ** (T + 1)  # gain d_mem = 1/2
        lin.weight.data = torch.tensor(w, dtype=torch.float32)
        params = norse.LIFParameters(tau_syn_inv=torch.tensor(500.0),
                                     tau_mem_inv=torch.tensor(500.0),
                                     v_th=torch.tensor(theta - EPS), v_reset=torch.tensor(0.0),
                                     v_leak=torch.tensor(0.0))
        mods += [lin, norse.LIFCell(params)]
    graph = norse.to_nir(norse.SequentialState(*mods), torch.zeros(1, sizes[0]), dt=1e-3)
    network, report = import_nir(graph, dt=1e-3, reset="zero", steps=T + 4, quirks="norse")
    assert report["quirks"] == "norse" and report["parameters_exact"]
    assert [(ly.params.k_syn.to_json(), ly.params.k_mem.to_json())
            for ly in network.layers] == [(1, 1)] * 2
    x = (rng.random((4, T, sizes[0])) < 0.5).astype(np.uint8)
    peer = norse_spikes(mods, x)
    padded = np.concatenate([x, np.zeros((4, 4, sizes[0]), np.uint8)], axis=1)
    for layer, (mine, theirs) in enumerate(zip(run(network, padded).spikes, peer, strict=True)):
        np.testing.assert_array_equal(mine[:, 2 * layer + 1:2 * layer + 1 + T], theirs)
    assert sum(int(p.sum()) for p in peer) > 50


def _one_term(tau, dt, method="euler"):
    return discretize(tau, dt, method, tolerance=float("inf"), max_terms=1)


def test_one_term_decay_reports_its_error():
    exact = _one_term(8e-4, 1e-4)  # beta = 0.875 = 1 - 2^-3
    assert exact.shift == 3 and exact.factor_error == 0 and exact.tau_relative_error == 0
    rounded = _one_term(10e-4, 1e-4)  # beta = 0.9: nearest shift 3 (0.875)
    assert rounded.shift == 3
    assert rounded.factor_error == pytest.approx(0.875 - 0.9)
    assert rounded.tau_relative_error == pytest.approx(-0.2)
    assert _one_term(1e-3, 1e-3, "exact").shift == 1  # 1 - e^-1 = 0.63 → 2^-1


def test_multi_term_decay_meets_the_tolerance():
    one = _one_term(25, 1)  # d = 0.04 → 2^-5 = 0.03125: 22 % off in d, τ 28 % long
    assert one.decay.to_json() == 5 and one.tau_relative_error == pytest.approx(0.28)
    fitted = discretize(25, 1, tolerance=0.01, max_shift=31)
    assert abs(fitted.d_relative_error) <= 0.01 and len(fitted.decay.terms) > 1
    assert abs(fitted.tau_relative_error) <= 0.0102


def lif_graph(**changes):
    """A valid two-layer NIR graph; ``changes`` replace nodes or edges to break it."""
    rng = np.random.default_rng(0)
    nodes = {
        "input": nir.Input({"input": np.array([4])}),
        "fc1": nir.Linear(weight=rng.integers(-3, 4, (5, 4)).astype(float)),
        "lif1": nir.LIF(tau=np.full(5, 2e-4), r=np.full(5, 2.0), v_leak=np.zeros(5),
                        v_threshold=np.full(5, 3.5)),
        "fc2": nir.Affine(weight=rng.integers(-3, 4, (3, 5)).astype(float), bias=np.zeros(3)),
        "li": nir.LI(tau=np.full(3, 2e-4), r=np.full(3, 2.0), v_leak=np.zeros(3)),
        "output": nir.Output({"output": np.array([3])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "li"), ("li", "output")]
    edges = changes.pop("edges", edges)
    nodes.update(changes)
    nodes = {k: v for k, v in nodes.items() if v is not None}
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_valid_graph_imports_with_li_readout():
    network, report = import_nir(lif_graph())
    assert [ly.params.kind for ly in network.layers] == [NeuronKind.LIF, NeuronKind.LI]
    p = network.layers[0].params
    assert p.theta == int(3.5 * 2**p.input_shift) + 1 and p.k_mem.to_json() == 1
    assert network.layers[0].params.reset is ResetMode.ZERO
    assert report["layers"][0]["gain"] == pytest.approx(1.0)


BAD = {
    "unsupported node": (dict(lif1=nir.Conv2d(input_shape=None, weight=np.zeros((1, 1, 1, 1)),
                                              stride=1, padding=0, dilation=1, groups=1,
                                              bias=np.zeros(1))), "Conv2d"),
    "edge to a missing node": (dict(edges=[("input", "fc1"), ("fc1", "ghost")]), "ghost"),
    "branch": (dict(edges=[("input", "fc1"), ("fc1", "lif1"), ("fc1", "fc2"), ("lif1", "fc2"),
                           ("fc2", "li"), ("li", "output")]), "feeds 2 nodes"),
    "recurrent edge": (dict(edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc1")]),
                       "recurrent"),
    "no output": (dict(edges=[("input", "fc1"), ("fc1", "lif1")]), "not at an Output"),
    "neuron without weights": (dict(edges=[("input", "lif1"), ("lif1", "fc1"), ("fc1", "fc2"),
                                           ("fc2", "li"), ("li", "output")]),
                               "must follow an Affine"),
    "shape mismatch": (dict(fc2=nir.Linear(weight=np.ones((3, 7)))), "takes 7 inputs"),
    "per-neuron tau": (dict(lif1=nir.LIF(tau=np.linspace(1e-4, 5e-4, 5), r=np.ones(5),
                                         v_leak=np.zeros(5), v_threshold=np.ones(5))),
                       "layer 'lif1' has 5 distinct values of tau "),
    "nonzero v_leak on a CubaLIF": (dict(lif1=nir.CubaLIF(
        tau_syn=np.full(5, 2e-4), tau_mem=np.full(5, 2e-4), r=np.full(5, 2.0),
        v_leak=np.full(5, 0.5), v_threshold=np.ones(5))), "node 'lif1': v_leak = 0.5 on a CubaLIF"),
    "readout in the middle": (dict(lif1=nir.LI(tau=np.full(5, 2e-4), r=np.ones(5),
                                               v_leak=np.zeros(5))), "only the last"),
    "non-integer weights": (dict(fc1=nir.Linear(weight=np.full((5, 4), 0.3))),
                            "--weight-bits"),
    "negative tau": (dict(lif1=nir.LIF(tau=np.full(5, -1.0), r=np.ones(5), v_leak=np.zeros(5),
                                       v_threshold=np.ones(5))),
                     "tau must be a positive finite number, not -1"),
    "input shape mismatch": (dict(input=nir.Input({"input": np.array([7])})),
                             "takes 4 inputs but the Input declares 7"),
    "output shape mismatch": (dict(output=nir.Output({"output": np.array([9])})),
                              "declares 9 outputs but the last layer has 3"),
    "two inputs": (dict(input2=nir.Input({"input": np.array([4])}),
                        edges=[("input", "fc1"), ("input2", "fc1"), ("fc1", "lif1"),
                               ("lif1", "fc2"), ("fc2", "li"), ("li", "output")]),
                   "exactly one Input node, it has 2"),
    "NaN weights": (dict(fc1=nir.Linear(weight=np.full((5, 4), np.nan))), "NaN"),
    "weight tensor": (dict(fc1=nir.Linear(weight=np.ones((5, 4, 1)))), "must be a matrix"),
    "weights at the end": (dict(edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"),
                                       ("fc2", "output")],
                                li=None), "must be followed by a neuron node"),
    "no layer": (dict(edges=[("input", "output")], fc1=None, lif1=None, fc2=None, li=None),
                 "no layer"),
    "negative threshold": (dict(lif1=nir.LIF(tau=np.full(5, 2e-4), r=np.ones(5),
                                             v_leak=np.zeros(5), v_threshold=np.full(5, -2.0))),
                           "theta must be positive"),
    "nonzero v_reset": (dict(lif1=nir.LIF(tau=np.full(5, 2e-4), r=np.ones(5), v_leak=np.zeros(5),
                                          v_threshold=np.ones(5), v_reset=np.full(5, 0.5))),
                        "node 'lif1': v_reset = 0.5: the contract resets to 0"),
    "per-neuron tau_syn": (dict(lif1=nir.CubaLIF(tau_syn=np.linspace(1e-4, 3e-4, 5),
                                                 tau_mem=np.full(5, 2e-4), r=np.ones(5),
                                                 v_leak=np.zeros(5), v_threshold=np.ones(5))),
                           "layer 'lif1' has 5 distinct values of tau_syn"),
    "unsupported flatten": (dict(fc1b=nir.Flatten(input_type={"input": np.array([4])}),
                                 edges=[("input", "fc1b"), ("fc1b", "fc1"), ("fc1", "lif1"),
                                        ("lif1", "fc2"), ("fc2", "li"), ("li", "output")]),
                            "Flatten, which spikeforge does not support"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_graph_is_refused_clearly(case, tmp_path, capsys):
    changes, message = BAD[case]
    with pytest.raises(NIRImportError, match=message.replace("(", r"\(")) as info:
        import_nir(lif_graph(**changes))
    assert len(str(info.value)) > 30
    # the CLI says the same and writes nothing
    path = tmp_path / "bad.nir"
    try:
        nir.write(str(path), lif_graph(**changes))
    except Exception:
        return  # graphs NIR itself cannot serialize are covered by the API call above
    out = tmp_path / "net.sfn"
    assert main(["import", str(path), "--out", str(out)]) == 2
    assert "error" in capsys.readouterr().err and not out.exists()
    design = tmp_path / "design"
    assert main(["compile", str(path), "--out", str(design)]) == 2
    assert "error" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nir"]  # nothing partial


def test_unreadable_file_is_refused(tmp_path, capsys):
    path = tmp_path / "garbage.nir"
    path.write_bytes(b"not hdf5 at all")
    assert main(["import", str(path), "--out", str(tmp_path / "n.sfn")]) == 2
    assert "not a readable NIR graph" in capsys.readouterr().err


def test_import_cli_quantizes_and_reports(tmp_path, capsys):
    path = tmp_path / "model.nir"
    nir.write(str(path), lif_graph(fc1=nir.Linear(weight=np.linspace(-1, 1, 20).reshape(5, 4))))
    out = tmp_path / "net.sfn"
    assert main(["import", str(path), "--out", str(out), "--weight-bits", "8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not report["exact"] and report["layers"][0]["scale"] > 1
    network = load_network(out)
    assert network.layers[0].params.weight_format.width == 8
    assert int(np.abs(network.layers[0].weight).max()) == 127
    assert report["layers"][0]["weight_rounding_max_error"] <= 0.5


@pytest.mark.peers
def test_snntorch_recurrent_layer_imports_its_recurrent_weights():
    """RSynaptic exports ``lif → w_rec → lif``: the loop becomes the layer's V, exactly."""
    rng = np.random.default_rng(4)
    n = 6
    vec = lambda v: torch.full((n,), v)  # noqa: E731
    cell = snn.RSynaptic(alpha=vec(0.5), beta=vec(0.5), threshold=vec(100.0), linear_features=n,
                         init_hidden=True, all_to_all=True)
    w = rng.integers(-3, 4, (n, 5)).astype(np.float32)
    v = rng.integers(-3, 4, (n, n)).astype(np.float32)
    lin = torch.nn.Linear(5, n, bias=False)
    lin.weight.data = torch.tensor(w)
    cell.recurrent.weight.data = torch.tensor(v)
    cell.recurrent.bias.data.zero_()
    graph = export_nir(torch.nn.Sequential(lin, cell), torch.zeros(5))
    network, report = import_nir(graph, reset="subtract")
    (layer,) = network.layers
    assert layer.params.recurrent and report["layers"][0]["recurrent"] is not None
    np.testing.assert_array_equal(layer.weight, w.astype(np.int64))
    np.testing.assert_array_equal(layer.recurrent, v.astype(np.int64))


def test_consecutive_weight_nodes_are_fused():
    """Linear → Affine with no neuron between: one layer with W2·W1 and W2·b1 + b2."""
    w1 = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    w2 = np.array([[1.0, -1.0, 2.0]])
    graph = lif_graph(
        input=nir.Input({"input": np.array([2])}), fc1=nir.Linear(weight=w1),
        fc1b=nir.Affine(weight=w2, bias=np.array([0.0])),
        lif1=nir.LIF(tau=np.full(1, 2e-4), r=np.full(1, 2.0), v_leak=np.zeros(1),
                     v_threshold=np.full(1, 3.5)),
        fc2=nir.Linear(weight=np.array([[2.0]])),
        li=nir.LI(tau=np.full(1, 2e-4), r=np.full(1, 2.0), v_leak=np.zeros(1)),
        output=nir.Output({"output": np.array([1])}),
        edges=[("input", "fc1"), ("fc1", "fc1b"), ("fc1b", "lif1"), ("lif1", "fc2"),
               ("fc2", "li"), ("li", "output")])
    network, report = import_nir(graph)
    np.testing.assert_array_equal(network.layers[0].weight, w2 @ w1)
    assert report["layers"][0]["nodes"] == ["fc1+fc1b", "lif1"]
