"""NIR fidelity: imported networks against the float64 NIR simulation and against the peers.

The harness is ``benchmarks/nir_fidelity.py`` (the benchmark prints the full tables); these tests
check the harness itself (its float reference reproduces snnTorch's own float simulation, its
alignment reproduces a near-exact import) and run a fast subset of the measurements. A target is
asserted where the importer claims the case: the peer networks of issue 15 once the importer has
the multi-term options (``max_decay_terms``) and imports them without a warning. Otherwise the
figure is recorded in an expected-failure reason (the random-graph goals are not a claim of the
importer); a case the importer refuses must be refused with a message that says why.
"""

import sys
from pathlib import Path

import nir
import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import nir_fidelity as fid  # noqa: E402

from .test_nir_import import snntorch_spikes  # noqa: E402

MULTI_TERM = fid.importer_options()["multi_term"]


def test_match_counts_pairs_spikes_one_to_one():
    ref = np.zeros((1, 12, 2), np.uint8)
    ours = np.zeros_like(ref)
    ref[0, [1, 5, 9], 0] = 1
    ours[0, [2, 5, 11], 0] = 1  # 5 equal, 1→2 within one, 9 vs 11 not
    ref[0, [3], 1] = 1
    ours[0, [3, 4], 1] = 1  # one extra spike: counts differ by one
    assert fid.match_counts(ref, ours, 0) == (2, 5, 2, 2)  # max(3, 3) + max(1, 2)
    assert fid.match_counts(ref, ours, 1) == (3, 5, 2, 2)
    with pytest.raises(ValueError, match="differ in shape"):
        fid.match_counts(ref, ours[:, :5], 0)


def test_latency_is_read_from_the_report_or_the_documented_two_steps():
    assert fid.latencies({}, 2) == [2, 4]
    assert fid.latencies({"latency": [2, 1]}, 2) == [2, 3]
    assert fid.latencies({"latency": 1}, 3) == [1, 2, 3]


@pytest.mark.peers
@pytest.mark.parametrize("cell", ["Leaky", "Synaptic", "RLeaky", "RSynaptic"])
def test_float_reference_reproduces_snntorch(cell):
    """The NIR simulation written from the specification, run on snnTorch's export (float
    weights, β = 0.9, α = 0.8, subtract reset), fires as snnTorch's own float32 simulation
    does: the reference and its timing convention are the peers'."""
    rng = np.random.default_rng(3)
    sizes, n = [10, 8, 5], None
    mods = []
    for i in range(2):
        n = sizes[i + 1]
        lin = torch.nn.Linear(sizes[i], n, bias=False)
        lin.weight.data = torch.tensor(rng.normal(0.4, 0.6, (n, sizes[i])), dtype=torch.float32)
        vec = lambda v, n=n: torch.full((n,), v)  # noqa: E731
        kw = dict(beta=vec(0.9), threshold=vec(1.0), init_hidden=True)
        if "Synaptic" in cell:
            kw["alpha"] = vec(0.8)
        if cell.startswith("R"):
            neuron = getattr(snn, cell)(linear_features=n, all_to_all=True, **kw)
            neuron.recurrent.weight.data = torch.tensor(rng.normal(-0.1, 0.3, (n, n)),
                                                        dtype=torch.float32)
        else:
            neuron = getattr(snn, cell)(**kw)
        mods += [lin, neuron]
    net = torch.nn.Sequential(*mods)
    graph = export_nir(net, torch.zeros(sizes[0]))
    x = (rng.random((2, 400, sizes[0])) < 0.3).astype(np.uint8)
    peer = snntorch_spikes(net, x)
    ours = fid.simulate_nir(graph, x, dt=1e-4, reset="subtract")
    total = sum(int(p.sum()) for p in peer)
    same = sum(fid.match_counts(p, o, 0)[0] for p, o in zip(peer, ours, strict=True))
    assert total > 300
    assert same >= 0.998 * total, f"{same} of {total} spikes equal"


def _single_layer_graph(rng, kind, n_in=20, n=10, dt=1e-3):
    full = lambda v: np.full(n, float(v))  # noqa: E731
    if kind == "LIF":
        node = nir.LIF(tau=full(8 * dt), r=full(1.0), v_leak=full(0), v_threshold=full(1.3),
                       v_reset=full(0))
    else:
        node = nir.CubaLIF(tau_syn=full(4 * dt), tau_mem=full(16 * dt), r=full(1.0),
                           v_leak=full(0), v_threshold=full(1.3), v_reset=full(0),
                           w_in=full(1.0))
    weight = fid._weights(rng, node, n, n_in, 0.1)
    nodes = {"input": nir.Input({"input": np.array([n_in])}),
             "fc": nir.Affine(weight=weight, bias=np.zeros(n)), "lif": node,
             "output": nir.Output({"output": np.array([n])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
                        type_check=False)


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_alignment_against_a_near_exact_import(kind, reset):
    """τ of 2^k steps and 16-bit weights: the import is nearly the NIR network itself, so with
    the documented latency almost every spike is at the same step (a wrong alignment by one
    step would give a few per cent)."""
    rng = np.random.default_rng(7)
    graph = _single_layer_graph(rng, kind)
    x = (rng.random((2, 1000, 20)) < 0.1).astype(np.uint8)
    ref = fid.simulate_nir(graph, x, fid.DT, reset)[-1]
    network, report = fid.import_graph(graph, steps=1000, multi_term=False, reset=reset,
                                       weight_bits=16)
    same, denominator, _, _ = fid.match_counts(ref, fid.run_aligned(network, report, x)[-1], 0)
    assert denominator > 500
    assert same >= 0.98 * denominator, f"{same} of {denominator} at the same step"


@pytest.mark.slow
def test_random_graphs_multi_term_goals():
    """Issue 15's fidelity goals on a few short random graphs (the benchmark: 60 of 1,000 steps):
    multi-term
    decays must beat one-term decays; the goals themselves (95 % of spikes within ±1 step,
    counts within ±1 on 95 % of neurons) are not a claim of the importer (its report lists
    every approximation), so a miss is recorded with its figures."""
    result = fid.fidelity_random(graphs=3, steps=500, seed=11,
                                 variants=("1-term", "multi-term"))
    one = result["variants"]["1-term"]
    assert one["output_spikes"] > 0 and one["import_errors"] == 0, one["errors"]
    figure = (f"1-term: {one['within_one']:.1%} within ±1, {one['counts_within_one']:.1%} of "
              "neurons with counts within ±1")
    if not MULTI_TERM:
        pytest.xfail(f"the importer has no multi-term decays (max_decay_terms); {figure}")
    multi = result["variants"]["multi-term"]
    assert multi["import_errors"] == 0, multi["errors"]
    figure += (f"; multi-term: {multi['within_one']:.1%} within ±1, "
               f"{multi['counts_within_one']:.1%} counts within ±1")
    assert multi["within_one"] > one["within_one"], figure
    assert multi["counts_within_one"] >= one["counts_within_one"], figure
    if (multi["within_one"] < fid.GOAL_WITHIN_ONE
            or multi["counts_within_one"] < fid.GOAL_COUNTS):
        pytest.xfail(f"below issue 15's goals (95 %, 95 %): {figure}")


def _check_peer(model, reset, layers, seed):
    case = fid.peer_case(model, reset, layers, seed, steps=1000)
    if case["refused"]:
        assert len(case["refused"]) > 30, case["refused"]  # a refusal says why
        return
    assert case["peer_spikes"] > 200  # the comparison is not about silence
    fraction = fid.share(case["same"], case["denominator"])
    figure = (f"{model} reset={reset} layers={layers}: {fraction:.2%} of spikes at the same "
              f"step ({case['peer_spikes']} peer spikes, {case['ours_spikes']} imported)")
    if not MULTI_TERM:
        pytest.xfail(f"importer before issue 15 (no max_decay_terms): {figure}")
    if case["warnings"]:  # not claimed: the import says what differs
        pytest.xfail(f"the import warns ({case['warnings'][0]}): {figure}")
    assert fraction >= fid.GOAL_PEER, figure


FAST = [("snntorch.Leaky", "subtract", 1), ("snntorch.Synaptic", "subtract", 2),
        ("snntorch.RSynaptic", "subtract", 1), ("snntorch.Synaptic", "zero", 1),
        ("norse.LIFCell", "zero", 1), ("norse.LIFBoxCell", "subtract", 1)]
ALL = [(m, r, n) for m in fid.PEER_MODELS for r in fid.PEER_RESETS[m] for n in (1, 2)]


@pytest.mark.peers
@pytest.mark.parametrize(("model", "reset", "layers"), FAST)
def test_peer_fidelity_fast(model, reset, layers):
    if model.startswith("norse"):
        pytest.importorskip("norse.torch", reason="Norse is a test peer: pip install --no-deps "
                                                  "norse==1.1.0 (make test does)")
    _check_peer(model, reset, layers, seed=5)


@pytest.mark.slow
@pytest.mark.peers
@pytest.mark.parametrize(("model", "reset", "layers"), [c for c in ALL if c not in FAST])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_peer_fidelity_full(model, reset, layers, seed):
    if model.startswith("norse"):
        pytest.importorskip("norse.torch", reason="Norse is a test peer")
    _check_peer(model, reset, layers, seed)


@pytest.mark.slow
@pytest.mark.peers
def test_recurrent_randman_benchmark_smoke():
    """One epoch of the trained-RSynaptic benchmark on a few samples: it trains, exports,
    imports and compares, or reports a refusal with its reason."""
    import nir_recurrent_randman as randman

    _, results = randman.measure(epochs=1, hidden=8, seed=0, samples_per_class=10)
    assert set(results) == {"subtract", "zero"}
    for row in results.values():
        result = row["default"]
        if "refused" in result:
            assert len(result["refused"]) > 30
        else:
            assert 0 <= result["same_class"] <= 1 and 0 <= result["spikes_within_one"] <= 1
    summary = randman.summary(results)
    assert [r["limit"] for r in summary] == [100 * randman.GOAL] * 2
