"""NeuroBench's metrics on the integer network (:mod:`spikeforge.sim.neurobench`): the torch
wrapper is the reference bit for bit; NeuroBench's effective ACs plus the zero-weight operations
are the RTL's ``synops`` counter exactly (on Verilator where it is installed); the CLI reports
both, and says what to install when the neurobench package is missing."""

import builtins
import importlib.util
import json

import numpy as np
import pytest
import torch
from spikeforge.cli.main import main
from spikeforge.hdl.schedule import schedule
from spikeforge.model import (
    Layer,
    LayerParams,
    Network,
    NeuronKind,
    RateEncoding,
    Readout,
    run,
    save_network,
)
from spikeforge.sim.neurobench import (
    MISSING,
    IntegerNetwork,
    NeuroBenchMissing,
    hardware_figures,
    neurobench_metrics,
    synops_breakdown,
)
from spikeforge.sim.random_networks import (
    feature_network,
    random_layer,
    random_network,
    random_spikes,
)
from spikeforge.toolchain import missing_reason

needs_neurobench = pytest.mark.skipif(importlib.util.find_spec("neurobench") is None,
                                      reason=MISSING)
LIF, ALIF, LI = NeuronKind.LIF, NeuronKind.ALIF, NeuronKind.LI


def _spikes(rng, network, samples=4, steps=16, rate=0.5):
    return np.stack([random_spikes(rng, steps, network.n_in, rate) for _ in range(samples)])


def _wrapped(network, x):
    model = IntegerNetwork(network)
    with torch.no_grad():
        predicted = model(torch.from_numpy(x.astype(np.float32))).numpy()
    return model.trace, predicted


def _random_cases():
    for seed in range(12):
        rng = np.random.default_rng(seed)
        network = random_network(rng, int(rng.integers(1, 3)), layers=int(rng.integers(1, 4)))
        yield network, _spikes(rng, network)
    rng = np.random.default_rng(99)
    network = feature_network(rng, 2, saturating=True)
    yield network, _spikes(rng, network, rate=0.7)
    li = random_network(rng, 1, layers=2, kinds=(LIF, LI))
    summed = Network(li.layers, li.encoding, readout=Readout.MEMBRANE_SUM)
    yield summed, _spikes(rng, summed)


@pytest.mark.parametrize("case", range(14))
def test_the_wrapper_is_the_reference_bit_for_bit(case):
    network, x = list(_random_cases())[case]
    trace, predicted = _wrapped(network, x)
    want = run(network, x)
    for got, ref in zip(trace.spikes, want.spikes, strict=True):
        assert np.array_equal(got, ref)
    for got, ref in zip(trace.u, want.u, strict=True):
        assert np.array_equal(got, ref)
    assert np.array_equal(predicted, want.predict(network.readout))


def _network(seed, lanes, *, zero_fraction):
    """LIF (recurrent, bias) → ALIF (recurrent) → LI; ``zero_fraction`` of every weight matrix
    (feed-forward and recurrent) zero, the rest nonzero."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n, kind, bias in ((5, 4 * lanes, LIF, True), (4 * lanes, 2 * lanes, ALIF, False),
                                (2 * lanes, 4, LI, False)):
        layer = random_layer(rng, n_in, n, kind, recurrent=kind is not LI, bias=bias,
                             version=1, theta=8 if kind is not LI else 1)

        def zeroed(w):
            w = np.where(w == 0, 1, w)
            return np.where(rng.random(w.shape) < zero_fraction, 0, w)

        arrays = {"weight": zeroed(layer.weight)}
        if layer.recurrent is not None:
            arrays["recurrent"] = zeroed(layer.recurrent)
        layers.append(layer.with_weights(**arrays))
    network = Network(tuple(layers), RateEncoding(12, 4), readout=Readout.MEMBRANE_MAX)
    x = _spikes(rng, network, samples=3, steps=12, rate=0.6)
    return network, x


def _recurrent_events(network, x):
    trace = run(network, x)
    return [int(trace.spikes[i][:, :-1].sum()) for i, ly in enumerate(network.layers)
            if ly.recurrent is not None]


@needs_neurobench
@pytest.mark.parametrize("zero_fraction", [0.0, 0.3])
def test_neurobench_counts_what_the_reference_says(zero_fraction):
    network, x = _network(3, 2, zero_fraction=zero_fraction)
    labels = np.array([0, 1, 2])
    assert all(_recurrent_events(network, x))  # recurrent weights are exercised
    metrics = neurobench_metrics(network, x, labels)
    split = synops_breakdown(network, x)
    samples, steps = x.shape[0], x.shape[1]
    assert metrics["samples"] == samples
    assert metrics["effective_acs_total"] == split["effective_acs"]
    assert metrics["zero_weight_ops_total"] == split["zero_weight_ops"]
    assert metrics["rtl_synops_total"] == split["rtl_synops"]
    assert metrics["rtl_synops_total"] == (metrics["effective_acs_total"]
                                           + metrics["zero_weight_ops_total"])
    assert metrics["synops_consistent"]
    assert (metrics["zero_weight_ops_total"] == 0) == (zero_fraction == 0)
    assert metrics["effective_macs"] == 0  # every input is 0/1: NeuroBench counts ACs
    dense = sum((ly.params.n_in + (0 if ly.recurrent is None else ly.params.n)) * ly.params.n
                for ly in network.layers)
    assert round(metrics["dense_synops"]) == steps * dense  # every column of every step
    arrays = [a for ly in network.layers for a in (ly.weight, ly.recurrent) if a is not None]
    assert [a.dtype for a in arrays] == [np.dtype(np.int8)] * len(arrays)
    bias = network.layers[0].bias.astype(network.layers[0].params.current_format.storage_dtype)
    assert metrics["footprint_bytes"] == sum(a.nbytes for a in arrays) + bias.nbytes
    zeros = sum(int((a == 0).sum()) for a in arrays)
    assert metrics["connection_sparsity"] == round(zeros / sum(a.size for a in arrays), 4)
    trace = run(network, x)
    spiking = [s for s, ly in zip(trace.spikes, network.layers, strict=True) if ly.params.spiking]
    assert len(spiking) == 2  # the LI readout's membrane is not an activation
    active = sum(int(s.sum()) for s in spiking) / sum(s.size for s in spiking)
    assert metrics["activation_sparsity"] == pytest.approx(1 - active, rel=1e-12)
    accuracy = float((trace.predict(network.readout) == labels).mean())
    assert metrics["classification_accuracy"] == pytest.approx(accuracy, rel=1e-6)


@needs_neurobench
def test_a_network_without_spiking_layers_has_no_activation_sparsity():
    rng = np.random.default_rng(4)
    network = random_network(rng, 1, layers=1, kinds=(LI,))
    metrics = neurobench_metrics(network, _spikes(rng, network), np.zeros(4, np.int64))
    assert metrics["activation_sparsity"] is None  # NeuroBench alone would say 0.0
    assert metrics["synops_consistent"]


def _verilator_cross_check(zero_fraction, lanes):
    from spikeforge.sim.cosim import cosim_report

    network, x = _network(7, lanes, zero_fraction=zero_fraction)
    assert all(_recurrent_events(network, x))
    metrics = neurobench_metrics(network, x, np.zeros(len(x), np.int64))
    report = cosim_report(network, x, "verilator", lanes=lanes)
    assert report["mismatches"] == 0
    return metrics, report["synops_counter"]


@needs_neurobench
def test_effective_acs_are_the_rtl_counter_without_zero_weights():
    if missing_reason("verilator"):
        pytest.skip(missing_reason("verilator"))
    metrics, counter = _verilator_cross_check(0.0, 1)
    assert metrics["zero_weight_ops_total"] == 0
    assert metrics["effective_acs_total"] == counter
    assert metrics["rtl_synops_total"] == counter


@needs_neurobench
def test_zero_weight_ops_are_the_gap_to_the_rtl_counter():
    if missing_reason("verilator"):
        pytest.skip(missing_reason("verilator"))
    metrics, counter = _verilator_cross_check(0.3, 2)
    assert metrics["zero_weight_ops_total"] > 0
    assert metrics["effective_acs_total"] + metrics["zero_weight_ops_total"] == counter
    assert metrics["rtl_synops_total"] == counter


def test_hardware_figures_are_the_cycle_model_at_each_clock():
    network, x = _network(3, 2, zero_fraction=0.3)
    cycles = [int(schedule(network, sample, 2).cycles.sum()) for sample in x]
    figures = hardware_figures(network, x, lanes=2, fmax_mhz={"icebreaker": 40.0})
    assert figures["cycles_per_inference_max"] == max(cycles)
    assert figures["cycles_per_inference_mean"] == pytest.approx(np.mean(cycles), rel=1e-12)
    ice, ecp5 = figures["boards"]["icebreaker"], figures["boards"]["ulx3s-85f"]
    assert ice["clock_mhz"] == 12 and ecp5["clock_mhz"] == 25
    assert ice["latency_us_max"] == pytest.approx(max(cycles) / 12)
    assert ice["latency_us_max_at_fmax"] == pytest.approx(max(cycles) / 40)
    assert "fmax_mhz" not in ecp5
    assert ice["fits"] and ice["luts_estimate"] > 0 and ice["bram_blocks_estimate"] > 0


def test_a_network_too_large_for_a_board_is_reported_not_refused():
    rng = np.random.default_rng(0)
    big = Network((Layer(LayerParams(256, 512, theta=100), rng.integers(-127, 128, (512, 256))),),
                  RateEncoding(2, 1))
    figures = hardware_figures(big, _spikes(rng, big, samples=1, steps=2))
    ice, ecp5 = figures["boards"]["icebreaker"], figures["boards"]["ulx3s-85f"]
    assert not ice["fits"] and "does not fit icebreaker" in ice["fit_error"]
    assert ecp5["fits"]


@pytest.fixture
def tiny_digits_net(tmp_path):
    """A random 64-8-10 network for digits (8 steps)."""
    rng = np.random.default_rng(1)
    hidden = Layer(LayerParams(64, 8, theta=40), rng.integers(-20, 40, (8, 64)), name="hidden")
    out = Layer(LayerParams(8, 10, theta=20), rng.integers(-30, 60, (10, 8)), name="out")
    network = Network((hidden, out), RateEncoding(8, 16), name="tiny")
    return network, str(save_network(network, tmp_path / "tiny.sfn"))


@needs_neurobench
def test_eval_neurobench_json_reports_the_metrics_and_hardware(tiny_digits_net, capsys):
    from spikeforge.datasets import load_dataset

    network, path = tiny_digits_net
    argv = ["eval", path, "--dataset", "digits", "--limit", "30", "--neurobench"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    nb, hw = report["neurobench"], report["hardware"]
    x = load_dataset("digits", steps=8).spikes("test")[:30]
    split = synops_breakdown(network, x)
    assert nb["samples"] == 30 and hw["samples"] == 30 and hw["steps"] == 8
    assert nb["effective_acs_total"] == split["effective_acs"]
    assert nb["rtl_synops_total"] == split["rtl_synops"] > 0
    assert nb["zero_weight_ops_total"] == split["zero_weight_ops"]
    assert nb["synops_consistent"]
    assert nb["footprint_bytes"] == 64 * 8 + 8 * 10
    cycles = [int(schedule(network, sample).cycles.sum()) for sample in x]
    assert hw["cycles_per_inference_max"] == max(cycles)
    assert set(hw["boards"]) == {"icebreaker", "ulx3s-85f"}
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "RTL synops" in text and "icebreaker" in text and "(exact over all samples" in text
    assert main([*argv, "--lanes", "3"]) == 2
    assert "3 lanes do not divide n = 8" in capsys.readouterr().err


@needs_neurobench
def test_eval_reports_latency_at_the_fmax_a_build_measured(tiny_digits_net, tmp_path, capsys):
    _, path = tiny_digits_net
    (tmp_path / "report.json").write_text(json.dumps({"board": "icebreaker", "fmax_mhz": 40.0}))
    argv = ["eval", path, "--dataset", "digits", "--limit", "4", "--neurobench", "--json"]
    assert main([*argv, "--build-report", str(tmp_path / "report.json")]) == 0
    hardware = json.loads(capsys.readouterr().out)["hardware"]
    boards = hardware["boards"]
    ice = boards["icebreaker"]
    assert ice["fmax_mhz"] == 40.0
    assert ice["latency_us_max_at_fmax"] == hardware["cycles_per_inference_max"] / 40.0
    assert "fmax_mhz" not in boards["ulx3s-85f"]
    (tmp_path / "bad.json").write_text(json.dumps({"board": "icebreaker"}))
    assert main([*argv, "--build-report", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.json is not the report.json of `spikeforge build`" in err
    assert "Traceback" not in err


def test_missing_neurobench_says_what_to_install(tiny_digits_net, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_neurobench(name, *args, **kwargs):
        if name == "neurobench" or name.startswith("neurobench."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_neurobench)
    network, path = tiny_digits_net
    with pytest.raises(NeuroBenchMissing, match=r"pip install 'spikeforge\[neurobench\]'"):
        neurobench_metrics(network, np.zeros((1, 8, 64), np.uint8), [0])
    assert main(["eval", path, "--dataset", "digits", "--neurobench", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "NeuroBench metrics need the neurobench package: pip install " \
           "'spikeforge[neurobench]'" in captured.err
