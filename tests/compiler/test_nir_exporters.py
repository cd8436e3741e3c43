"""NIR import against the exporters' own simulations: snnTorch and Norse networks keep their
spikes, and what cannot be kept is refused or warned about.

The networks have integer weights, integer thresholds and decays that are sums of powers of two
(β = 0.75 = 1 − 2^-2, 0.8125 = 1 − 2^-3 − 2^-4, α = 0.5), and are driven by 1,000 steps of
random spikes. The import keeps every parameter exactly (``parameters_exact``); the only
difference left is the floor of each decay term, 2^-f of a unit with f fractional bits (about
2^-18 here), so a spike can move only when the peer's membrane passes within that of its
threshold. Each layer must agree at ≥ 99.5 % of steps (every neuron's spike equal); every case
measured 100 % over 5 seeds. Timing: the contract delays each layer by two steps against the peers'
update order (docs/nir.md), so the peer's layer ``l`` at step ``t`` is index ``t + 2l + 1`` of
``run(...).spikes[l]``.
"""

import json

import nir
import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
from spikeforge.model import ResetMode, run

from .test_nir_import import norse_spikes, snntorch_spikes

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir

STEPS, BATCH, AGREEMENT = 1000, 3, 0.995


def snntorch_net(rng, sizes, kind, reset="subtract", beta=0.75, alpha=0.5, thresholds=(4, 3),
                 reset_delay=True, weights=(-2, 4)):
    """``Linear → cell`` per layer, integer weights in ``weights`` (half-open)."""
    net = torch.nn.Sequential()
    for i in range(len(sizes) - 1):
        n = sizes[i + 1]
        lin = torch.nn.Linear(sizes[i], n, bias=False)
        lin.weight.data = torch.tensor(rng.integers(*weights, (n, sizes[i])), dtype=torch.float32)
        def vec(value, n=n):
            return torch.full((n,), float(value))

        common = dict(threshold=vec(thresholds[i]), init_hidden=True, reset_mechanism=reset,
                      reset_delay=reset_delay)
        if kind == "leaky":
            cell = snn.Leaky(beta=vec(beta), **common)
        elif kind == "synaptic":
            cell = snn.Synaptic(alpha=vec(alpha), beta=vec(beta), **common)
        elif kind == "rleaky":
            cell = snn.RLeaky(beta=vec(beta), linear_features=n, all_to_all=True, **common)
        else:
            cell = snn.RSynaptic(alpha=vec(alpha), beta=vec(beta), linear_features=n,
                                 all_to_all=True, **common)
        if kind.startswith("r"):
            cell.recurrent.weight.data = torch.tensor(rng.integers(-2, 3, (n, n)),
                                                      dtype=torch.float32)
            cell.recurrent.bias.data.zero_()
        net.append(lin)
        net.append(cell)
    return net


def agreement(network, peer, x):
    """Per layer: the fraction of (sample, step) whose spikes all equal the peer's."""
    layers = len(peer)
    pad = np.zeros((x.shape[0], 2 * layers, x.shape[2]), np.uint8)
    ours = run(network, np.concatenate([x, pad], 1)).spikes
    out = []
    for index, (mine, theirs) in enumerate(zip(ours, peer, strict=True)):
        mine = mine[:, 2 * index + 1:2 * index + 1 + x.shape[1]]
        out.append(float((mine == theirs).all(-1).mean()))
    return out


SNNTORCH_CASES = {
    "Leaky subtract, one layer": dict(kind="leaky", sizes=[12, 10]),
    "Leaky subtract": dict(kind="leaky", sizes=[12, 10, 6]),
    "Leaky zero": dict(kind="leaky", sizes=[12, 10, 6], reset="zero"),
    "Leaky two-term beta": dict(kind="leaky", sizes=[12, 10, 6], beta=0.8125),
    "Synaptic subtract": dict(kind="synaptic", sizes=[12, 10, 6]),
    "Synaptic two-term beta": dict(kind="synaptic", sizes=[12, 10, 6], beta=0.8125),
    "RLeaky subtract": dict(kind="rleaky", sizes=[12, 10, 6]),
    "RSynaptic subtract": dict(kind="rsynaptic", sizes=[12, 10, 6]),
    "Synaptic zero": dict(kind="synaptic", sizes=[12, 10, 6], reset="zero"),
    "RLeaky zero": dict(kind="rleaky", sizes=[12, 10, 6], reset="zero"),
    "RSynaptic zero": dict(kind="rsynaptic", sizes=[12, 10, 6], reset="zero"),
    "Leaky reset_delay=False": dict(kind="leaky", sizes=[8, 10], reset_delay=False,
                                    thresholds=(13,), weights=(0, 3),
                                    import_reset="subtract-same-step"),
}


@pytest.mark.peers
@pytest.mark.parametrize("case", sorted(SNNTORCH_CASES))
def test_snntorch_networks_keep_their_spikes(case):
    spec = dict(SNNTORCH_CASES[case])
    sizes, import_reset = spec.pop("sizes"), spec.pop("import_reset", None)
    rng = np.random.default_rng(sorted(SNNTORCH_CASES).index(case))
    net = snntorch_net(rng, sizes, **spec)
    network, report = import_nir(export_nir(net, torch.zeros(sizes[0])), quirks="snntorch",
                                 reset=import_reset or spec.get("reset", "subtract"),
                                 steps=STEPS + 4)
    assert report["parameters_exact"] and report["warnings"] == []
    assert not report["exact"]  # the floors of the decays are reported, not hidden
    if spec["kind"].startswith("r"):
        assert all(ly.params.same_step_recurrence for ly in network.layers)
    x = (rng.random((BATCH, STEPS, sizes[0])) < 0.3).astype(np.uint8)
    peer = snntorch_spikes(net, x)
    assert all(p.mean() > 0.05 for p in peer)  # the comparison is not about silence
    assert min(agreement(network, peer, x)) >= AGREEMENT


def norse_net(rng, sizes, cell, reset):
    norse = pytest.importorskip("norse.torch", reason="Norse is a test peer: pip install "
                                                      "--no-deps norse==1.1.0 (make test does)")
    from norse.torch.functional.reset import reset_subtract, reset_value

    mods = []
    for i, theta in enumerate((6.0, 4.0)[:len(sizes) - 1]):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1], bias=False)
        lin.weight.data = torch.tensor(rng.integers(-2, 5, (sizes[i + 1], sizes[i])) * 4.0,
                                       dtype=torch.float32)  # gain d_mem = 1/4
        zero = torch.tensor(0.0)
        if cell == "LIFCell":
            p = norse.LIFParameters(tau_syn_inv=torch.tensor(500.0),
                                    tau_mem_inv=torch.tensor(250.0), v_th=torch.tensor(theta),
                                    v_reset=zero, v_leak=zero)
            mods += [lin, norse.LIFCell(p)]
        else:
            method = reset_subtract if reset == "subtract" else reset_value
            p = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(250.0), v_th=torch.tensor(theta),
                                       v_reset=zero, v_leak=zero, reset_method=method)
            mods += [lin, norse.LIFBoxCell(p)]
    return norse, mods


@pytest.mark.peers
@pytest.mark.parametrize("cell,reset,layers", [("LIFCell", "zero", 2), ("LIFBoxCell", "zero", 1),
                                               ("LIFBoxCell", "subtract", 2)])
def test_norse_networks_keep_their_spikes(cell, reset, layers):
    """Norse's LIFBoxCell ``reset_subtract`` subtracts within the step, so the threshold decays
    with the membrane: ``--quirks norse --reset subtract`` is the contract's subtract-before-
    leak."""
    rng = np.random.default_rng(layers)
    sizes = [10, 8, 6][:layers + 1]
    norse, mods = norse_net(rng, sizes, cell, reset)
    graph = norse.to_nir(norse.SequentialState(*mods), torch.zeros(1, sizes[0]), dt=1e-3)
    network, report = import_nir(graph, dt=1e-3, reset=reset, quirks="norse", steps=STEPS + 4)
    assert report["parameters_exact"] and report["warnings"] == []
    expected = ResetMode.SUBTRACT_BEFORE_LEAK if reset == "subtract" else ResetMode.ZERO
    assert all(ly.params.reset is expected for ly in network.layers)
    x = (rng.random((BATCH, STEPS, sizes[0])) < 0.3).astype(np.uint8)
    peer = norse_spikes(mods, x)
    assert all(p.mean() > 0.05 for p in peer)
    assert min(agreement(network, peer, x)) >= AGREEMENT


def one_neuron(beta, weight, threshold, reset, steps=10):
    lin = torch.nn.Linear(1, 1, bias=False)
    lin.weight.data[:] = weight
    cell = snn.Leaky(beta=torch.tensor([beta]), threshold=torch.tensor([threshold]),
                     init_hidden=True, reset_mechanism=reset)
    net = torch.nn.Sequential(lin, cell)
    x = np.ones((1, steps, 1), np.uint8)
    network, report = import_nir(export_nir(net, torch.zeros(1)), reset=reset,
                                 quirks="snntorch", steps=steps + 2)
    mine = run(network, np.concatenate([x, np.zeros((1, 2, 1), np.uint8)], 1)).spikes[0]
    theirs = snntorch_spikes(net, x)[0]
    return "".join(map(str, mine[0, 1:steps + 1, 0])), "".join(map(str, theirs[0, :, 0])), \
        network.layers[0].params, report


@pytest.mark.peers
def test_fractional_bits_keep_small_states():
    """β = 0.75, W = 1, v_th = 3, reset to zero, input every step: snnTorch fires at step 4
    (0-based); at scale 1 the floors made it 3 and 7. The state now keeps f fractional bits."""
    mine, theirs, params, report = one_neuron(0.75, 1.0, 3.0, "zero")
    assert theirs == "0000100001" and mine == theirs
    assert params.input_shift >= 8 and params.theta == 3 * 2**params.input_shift + 1
    assert report["floor_warnings"] and not report["exact"]


@pytest.mark.peers
def test_subtract_reset_removes_v_th_not_theta():
    """β = 0, W = 5, v_th = 2, subtract: snnTorch 11111111 (5 − 2 > 2 every step); firing at
    θ = v_th + 1 and removing θ gave 10101010. Nothing floors (β = 0), so the import is exact."""
    mine, theirs, params, report = one_neuron(0.0, 5.0, 2.0, "subtract", steps=8)
    assert theirs == "11111111" and mine == theirs
    assert (params.theta, params.reset_amount, params.input_shift) == (3, 2, 0)
    assert report["exact"] and report["warnings"] == report["floor_warnings"] == []


@pytest.mark.peers
@pytest.mark.parametrize("kind,wanted", [("leaky", ResetMode.ZERO), ("synaptic", ResetMode.CLEAR),
                                         ("rleaky", ResetMode.CLEAR),
                                         ("rsynaptic", ResetMode.CLEAR)])
def test_snntorch_zero_reset_is_what_each_cell_does(kind, wanted):
    """Leaky's zero reset keeps the step's input (U ← I), Synaptic's, RLeaky's and
    RSynaptic's drop it (U ← 0: the clearing reset); without the quirk, NIR's own reset."""
    net = snntorch_net(np.random.default_rng(0), [4, 3], kind, reset="zero")
    graph = export_nir(net, torch.zeros(4))
    network, report = import_nir(graph, reset="zero", quirks="snntorch")
    assert network.layers[0].params.reset is wanted
    assert report["layers"][0]["reset"] == wanted.name.lower()
    network, _ = import_nir(graph, reset="zero")  # NIR's own reset, without the quirk
    assert network.layers[0].params.reset is ResetMode.ZERO


@pytest.mark.peers
def test_per_neuron_beta_is_refused_by_its_count():
    lin = torch.nn.Linear(2, 3, bias=False)
    cell = snn.Leaky(beta=torch.tensor([0.5, 0.75, 0.75]), threshold=torch.ones(3),
                     init_hidden=True)
    graph = export_nir(torch.nn.Sequential(lin, cell), torch.zeros(2))
    with pytest.raises(NIRImportError, match="layer '1' has 2 distinct values of tau "):
        import_nir(graph, weight_bits=8)


@pytest.mark.peers
def test_reset_delay_false_beyond_its_bound_is_a_warning():
    """snnTorch with reset_delay=False subtracts twice after a large input: imported once, with
    a warning that says when it differs."""
    net = snntorch_net(np.random.default_rng(1), [12, 10], "leaky", reset_delay=False)
    _, report = import_nir(export_nir(net, torch.zeros(12)), reset="subtract-same-step",
                           quirks="snntorch")
    assert not report["parameters_exact"]
    assert any("subtracts the threshold twice" in line for line in report["warnings"])


def lif(n=2, **fields):
    values = dict(tau=np.full(n, 4e-4), r=np.full(n, 4.0), v_leak=np.zeros(n),
                  v_threshold=np.full(n, 3.0), v_reset=np.zeros(n))
    values.update(fields)
    return nir.LIF(**values)


def graph_of(neuron, weight):
    n, n_in = weight.shape
    return nir.NIRGraph(nodes={"input": nir.Input({"input": np.array([n_in])}),
                               "fc": nir.Linear(weight=weight), "lif": neuron,
                               "output": nir.Output({"output": np.array([n])})},
                        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
                        type_check=False)


def test_v_leak_of_a_lif_is_a_constant_drive():
    """τ·v̇ = (v_leak − v) + r·I in Euler form: v += d·(v_leak − v) + d·r·I, so v_leak is a
    bias d·v_leak; with no input the neuron charges to v_leak and fires as the float update."""
    v_leak, d, threshold = 5.0, 0.25, 3.0
    graph = graph_of(lif(1, v_leak=np.full(1, v_leak)), np.ones((1, 1)))
    network, report = import_nir(graph, steps=40)
    assert report["parameters_exact"]
    v, expected = 0.0, []
    for _ in range(38):
        v += d * (v_leak - v)
        expected.append(int(v > threshold))
        v = 0.0 if v > threshold else v
    mine = run(network, np.zeros((1, 40, 1), np.uint8)).spikes[0][0, 1:39, 0]
    assert mine.tolist() == expected and sum(expected) > 5


def test_exactness_is_claimed_only_without_approximations():
    """Every approximation is a warning line and clears ``exact``."""
    weight = np.ones((2, 3))
    graph = graph_of(lif(tau=np.full(2, 10e-4), r=np.full(2, 10.0)), weight)  # τ/dt = 10
    _, report = import_nir(graph, max_decay_terms=1, decay_tolerance=0.5)
    assert any("is realized as d = 3" in line and "-20.00%" in line
               for line in report["warnings"])  # d = 0.1 → 2^-3: τ 8 steps, 20 % short
    _, report = import_nir(graph)  # d = 0.1 = 2^-3 - 2^-5 ... within 1 %: reported too
    assert report["layers"][0]["decays"]["mem"]["n_terms"] > 1
    big = graph_of(lif(tau=np.full(2, 4e-4), r=np.full(2, 4.0)), np.full((2, 3), 2.0**24))
    _, report = import_nir(big)
    assert any(">= 2^24" in line for line in report["warnings"]) and not report["exact"]
    _, report = import_nir(graph_of(lif(), np.full((2, 3), 100.0)), state_bits=8)
    assert any("may saturate" in line for line in report["warnings"])
    _, report = import_nir(graph_of(lif(), np.full((2, 3), 0.3)), weight_bits=8)
    assert report["layers"][0]["weight_rounding_max_error"] >= 0 and not report["exact"]
    gain = 1 + 5e-8  # a float32 gain of 1 + 5e-8 is the exporter's rounding of 1: snapped
    _, report = import_nir(graph_of(lif(r=np.full(2, 4.0 * gain)), np.full((2, 3), 3.0)))
    assert report["layers"][0]["gain"] == 1.0 and report["parameters_exact"]
    with pytest.raises(NIRImportError, match=r"not integers.*gains g folded"):
        import_nir(graph_of(lif(r=np.full(2, 4.4)), np.full((2, 3), 3.0)))


def test_norse_quirk_warns_about_dt():
    graph = graph_of(lif(tau=np.full(2, 4e-6), r=np.ones(2)), np.full((2, 3), 4.0))  # dt·τ
    _, report = import_nir(graph, quirks="norse")
    assert any("assuming 0.001 s" in line for line in report["warnings"])
    _, report = import_nir(graph, quirks="norse", weight_bits=8, dt=1e-4)
    assert any("square of a wrong dt" in line for line in report["warnings"])
    _, report = import_nir(graph, quirks="norse", dt=1e-3)
    assert report["parameters_exact"]


def test_import_cli_prints_every_approximation(tmp_path, capsys):
    path, out = tmp_path / "model.nir", tmp_path / "net.sfn"
    nir.write(str(path), graph_of(lif(tau=np.full(2, 25e-4), r=np.full(2, 25.0)),
                                  np.linspace(-1, 1, 6).reshape(2, 3)))
    assert main(["import", str(path), "--out", str(out), "--weight-bits", "8",
                 "--max-decay-terms", "1", "--decay-tolerance", "0.5", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    decay = report["layers"][0]["decays"]["tau"] if "tau" in report["layers"][0]["decays"] \
        else report["layers"][0]["decays"]["mem"]
    assert decay["n_terms"] == 1 and decay["terms"] == 5 and not report["exact"]
    assert "warning:" in captured.err and "is realized as d = 5" in captured.err
    assert main(["import", str(path), "--out", str(out), "--weight-bits", "8"]) == 0
    captured = capsys.readouterr()
    assert "tau 25 steps → d = [5, 7, 10]" in captured.out  # 4 terms allowed: within 1 %
    assert "warning:" in captured.err and "approximate" in captured.out
