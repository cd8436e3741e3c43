"""``spikeforge explore``: requantization, points on a process pool and on a Ray cluster, the
cache, failing points, the engine's errors, and the sweep sharded over workers.

A 64 → 10 → 10 network with seeded weights and the digits dataset in its metadata keeps the
Verilator models small (they are cached between runs); one ``slow`` test builds a bitstream.
"""

import contextlib
import io
import json
import operator
import socket
import time

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler.requantize import RequantizeError, network_weight_bits, requantize
from spikeforge.model import (
    IntFormat,
    Layer,
    LayerParams,
    Network,
    RateEncoding,
    load_network,
    run,
    save_network,
)
from spikeforge.model.reference import synaptic_inputs
from spikeforge.sim import engine as engine_module
from spikeforge.sim.engine import JobFailed, run_jobs
from spikeforge.sim.random_networks import random_network
from spikeforge.sim.sweep import cosim_sweep

from .conftest import require

#: what must be the same for a point on any engine (all integers, or means of integers)
FIGURES = ("status", "stage", "accuracy", "test_samples", "cycles_per_inference", "cosim",
           "estimate")


def tiny_digits(seed=1, weight_bits=8):
    rng = np.random.default_rng(seed)
    top = 1 << (weight_bits - 1)
    hidden = Layer(LayerParams(64, 10, theta=96, weight_format=IntFormat(weight_bits)),
                   rng.integers(-top // 2, top, (10, 64)), name="hidden")
    out = Layer(LayerParams(10, 10, theta=64, weight_format=IntFormat(weight_bits)),
                rng.integers(-top // 2, top, (10, 10)), name="out")
    return Network((hidden, out), RateEncoding(steps=16, levels=16), name="tiny-digits",
                   metadata={"dataset": "digits"})


def explore(*argv):
    """``spikeforge explore ... --json``: (exit status, the JSON object or None)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["explore", *map(str, argv), "--json"])
    text = out.getvalue()
    return status, json.loads(text) if text.strip() else None


@pytest.fixture(scope="module")
def netfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "tiny.sfn"
    save_network(tiny_digits(), path)
    return path


@pytest.fixture(scope="module")
def pool_run(netfile, tmp_path_factory):
    require("verilator")
    out = tmp_path_factory.mktemp("pool")
    status, result = explore(netfile, "--out", out, "--lanes", "2", "--weight-bits", "4,8",
                             "--no-build", "--engine", "pool", "--workers", "2")
    return status, result, out


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of one node with 2 CPUs, started and stopped by this module."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 2, "include_dashboard": False})
    yield cluster
    cluster.shutdown()


# --- requantization ------------------------------------------------------------------------------

def test_requantize_to_the_own_bits_is_the_identity():
    network = tiny_digits()
    assert network_weight_bits(network) == 8
    assert requantize(network, 8) is network


def test_requantized_currents_keep_their_scale():
    """2^f' W' = 2^f W up to the rounding (half a step, 2^(f'-1)) except where the clamp cut a
    weight at the top; so A = 2^f' W' s matches 2^f W s within that per input spike."""
    rng = np.random.default_rng(3)
    for lanes in (1, 2, 4):
        network = random_network(rng, lanes, layers=3)
        narrow = requantize(network, 3)
        for old, new in zip(network.layers, narrow.layers, strict=True):
            p, q = old.params, new.params
            k = max(0, p.weight_format.width - 3)
            assert q.weight_format.width == 3
            assert q.input_shift == p.input_shift + k
            assert (q.theta, q.k_syn, q.k_mem, q.current_format) == (
                p.theta, p.k_syn, p.k_mem, p.current_format)
            half = (1 << q.input_shift) // 2
            clamped_any = False
            for a, b in ((old.weight, new.weight), (old.recurrent, new.recurrent)):
                if a is None:
                    continue
                error = (b.astype(np.int64) << q.input_shift) - (a.astype(np.int64)
                                                                  << p.input_shift)
                clamped = np.abs(error) > half
                assert (b[clamped] == q.weight_format.max).all() and (error[clamped] < 0).all()
                clamped_any |= bool(clamped.any())
            if clamped_any:
                continue
            s = rng.integers(0, 2, (5, p.n_in))
            own = rng.integers(0, 2, (5, p.n))
            a_old, r_old = synaptic_inputs(old, s, own)
            a_new, r_new = synaptic_inputs(new, s, own)
            spikes = s.sum(axis=1, keepdims=True) + (own.sum(axis=1, keepdims=True)
                                                     if p.recurrent else 0)
            assert (np.abs((a_new + r_new) - (a_old + r_old)) <= spikes * half).all()


def test_weights_on_the_coarse_grid_requantize_exactly():
    """Weights that are multiples of 2^(B0-B) lose nothing: the same integer run."""
    network = tiny_digits()
    coarse = Network(tuple(layer.with_weights(weight=(layer.weight.astype(np.int64) // 16) * 16)
                           for layer in network.layers), network.encoding,
                     metadata=network.metadata)
    narrow = requantize(coarse, 4)
    assert [ly.params.input_shift for ly in narrow.layers] == [4, 4]
    x = (np.random.default_rng(0).random((3, 16, 64)) < 0.3).astype(np.uint8)
    a, b = run(coarse, x), run(narrow, x)
    for key in ("spikes", "i", "u"):
        for ours, theirs in zip(getattr(a, key), getattr(b, key), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_wider_weights_keep_the_weights():
    network = tiny_digits(weight_bits=4)
    wide = requantize(network, 8)
    for old, new in zip(network.layers, wide.layers, strict=True):
        assert new.params.weight_format == IntFormat(8)
        assert new.params.input_shift == old.params.input_shift
        np.testing.assert_array_equal(new.weight, old.weight)


def test_too_few_bits_for_the_current_is_refused():
    rng = np.random.default_rng(0)
    layer = Layer(LayerParams(4, 2, theta=8, current_format=IntFormat(8),
                              potential_format=IntFormat(8), input_shift=2),
                  rng.integers(-8, 8, (2, 4)), name="narrow")
    network = Network((layer,), RateEncoding(steps=4, levels=4))
    with pytest.raises(RequantizeError, match=r"layer 0 \(narrow\).*at least 3 weight bits"):
        requantize(network, 2)


# --- the engine ----------------------------------------------------------------------------------

def test_serial_engine_keeps_order_and_reports_a_failed_job():
    ran = run_jobs(operator.add, [1, 2, "x", 4], engine="serial", common=10)
    assert ran.engine == "serial" and ran.workers == 1
    assert ran.results[:2] == [11, 12] and ran.results[3] == 14
    assert isinstance(ran.results[2], JobFailed) and "TypeError" in ran.results[2].error


def test_without_ray_the_pool_runs_and_says_so(monkeypatch):
    monkeypatch.setattr(engine_module, "ray_available", lambda: False)
    said = []
    ran = run_jobs(operator.add, [1, 2, 3], workers=2, common=1, log=said.append)
    assert ran.engine == "pool" and ran.workers == 2 and ran.results == [2, 3, 4]
    assert said == ["ray is not installed: running on a local process pool of 2 workers; "
                    "pip install 'spikeforge[ray]'"]


# --- explore ----------------------------------------------------------------------------------

def test_explore_on_a_process_pool(pool_run):
    status, result, out = pool_run
    assert status == 0
    assert result["engine"] == "pool" and result["workers"] == 2
    assert result["cached"] == 0 and result["failed"] == 0 and result["computed"] == 2
    points = result["points"]
    assert [(p["lanes"], p["weight_bits"], p["board"], p["seed"]) for p in points] == [
        (2, 4, "icebreaker", None), (2, 8, "icebreaker", None)]
    for point in points:
        assert point["status"] == "ok", point["reason"]
        assert point["cosim"]["mismatches"] == 0 and point["cosim"]["cycle_mismatches"] == 0
        assert 0 <= point["accuracy"] <= 1 and point["test_samples"] == 360
        assert point["cycles_per_inference"] > 0 and point["cycles_over"] == "test set"
        assert point["estimate"]["luts"] > 0 and point["build"] is None
        assert point["pareto"] in (True, False)
    assert any(p["pareto"] for p in points)
    saved = json.loads((out / "explore.json").read_text())
    assert saved["points"] == points and saved["engine"] == "pool"
    assert "| 2 | 4 | icebreaker |" in (out / "explore.md").read_text()
    assert (out / "pareto.png").stat().st_size > 1000
    assert len(list((out / "points").glob("*.json"))) == 2
    # the 4-bit network is kept for `spikeforge build`; the 8-bit one is the file itself
    assert saved["networks"]["8"].endswith("tiny.sfn")
    narrow = load_network(saved["networks"]["4"])
    for ours, theirs in zip(narrow.layers, requantize(tiny_digits(), 4).layers, strict=True):
        assert ours.params == theirs.params
        np.testing.assert_array_equal(ours.weight, theirs.weight)


def test_explore_on_a_ray_cluster_matches_the_pool(pool_run, ray_cluster, netfile, tmp_path):
    _, pooled, _ = pool_run
    status, result = explore(netfile, "--out", tmp_path, "--lanes", "2", "--weight-bits", "4,8",
                             "--no-build", "--address", ray_cluster.address)
    assert status == 0
    assert result["engine"] == "ray" and result["workers"] == 2 and result["cached"] == 0
    for ours, theirs in zip(result["points"], pooled["points"], strict=True):
        assert {k: ours[k] for k in FIGURES} == {k: theirs[k] for k in FIGURES}
        assert ours["key"] == theirs["key"]


def test_a_rerun_resumes_from_the_cache(pool_run, netfile):
    _, first, out = pool_run
    status, again = explore(netfile, "--out", out, "--lanes", "2", "--weight-bits", "4,8",
                            "--no-build", "--engine", "pool", "--workers", "2")
    assert status == 0
    assert again["cached"] == 2 and again["computed"] == 0 and again["engine"] is None
    for ours, theirs in zip(again["points"], first["points"], strict=True):
        assert ours["cached"] is True
        assert {k: v for k, v in ours.items() if k != "cached"} == {
            k: v for k, v in theirs.items() if k != "cached"}


def test_a_failing_point_is_marked_and_the_others_finish(netfile, tmp_path, capsys, pool_run):
    status, result = explore(netfile, "--out", tmp_path, "--lanes", "2,3", "--weight-bits", "8",
                             "--no-build", "--engine", "pool", "--workers", "2")
    assert status == 0 and result["failed"] == 1
    good, bad = result["points"]
    assert good["status"] == "ok" and good["pareto"] is True
    assert bad["status"] == "failed" and bad["stage"] == "lanes" and bad["pareto"] is None
    assert "3 lanes do not divide n = 10" in bad["reason"]
    assert "failed (lanes)" in capsys.readouterr().err
    table = (tmp_path / "explore.md").read_text()
    assert "failed (lanes)" in table and "3 lanes do not divide" in table


def test_every_point_failing_is_an_error(netfile, tmp_path):
    status, result = explore(netfile, "--out", tmp_path, "--lanes", "3,4", "--no-build",
                             "--engine", "pool", "--workers", "1")
    assert status == 1
    assert result["failed"] == 2 and all(p["stage"] == "lanes" for p in result["points"])


def test_a_board_it_does_not_fit_fails_that_point(tmp_path):
    """A 64 → 160 → 10 network at 10 lanes needs more block RAM than the UP5K has."""
    rng = np.random.default_rng(0)
    big = Network((Layer(LayerParams(64, 160), rng.integers(-8, 8, (160, 64)), name="wide"),
                   Layer(LayerParams(160, 10), rng.integers(-8, 8, (10, 160)), name="out")),
                  RateEncoding(steps=4, levels=16), name="wide")
    save_network(big, tmp_path / "wide.sfn")
    status, result = explore(tmp_path / "wide.sfn", "--out", tmp_path / "out", "--lanes", "10",
                             "--no-build", "--engine", "pool", "--workers", "1")
    assert status == 1
    (point,) = result["points"]
    assert point["stage"] == "fit" and "does not fit icebreaker" in point["reason"]


def test_an_unreachable_address_is_a_clear_error(netfile, tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    status, result = explore(netfile, "--out", tmp_path, "--no-build", "--address",
                             f"127.0.0.1:{port}")
    assert status == 2 and result is None
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert f"cannot reach a Ray cluster at 127.0.0.1:{port}" in err
    assert "ray start --head" in err and "Traceback" not in err


# --- the sweep --------------------------------------------------------------------------------

def test_the_sweep_on_two_workers_gives_the_same_totals():
    require("icarus")
    one = cosim_sweep(4, 240, sim="icarus", seed=5)
    two = cosim_sweep(4, 240, sim="icarus", seed=5, workers=2, engine="pool")
    assert one["engine"] == "serial" and two["engine"] == "pool" and two["workers"] == 2
    assert one["first_failure"] is None and one["networks"] == 4
    ignore = ("engine", "workers", "seconds")
    assert {k: v for k, v in one.items() if k not in ignore} == {
        k: v for k, v in two.items() if k not in ignore}


# --- a real build -----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.synth
def test_a_point_with_an_icebreaker_build(netfile, tmp_path):
    require("verilator")
    status, result = explore(netfile, "--out", tmp_path, "--lanes", "2", "--engine", "pool",
                             "--workers", "1")
    assert status == 0, result["points"][0]["reason"]
    (point,) = result["points"]
    assert point["seed"] == 1 and point["status"] == "ok"
    build = point["build"]
    assert build["fmax_mhz"] >= 12 and build["dsp"] == 0
    assert build["logic_cell"] == "ICESTORM_LC" and 0 < build["logic_cells"] <= 5280
    assert build["bram_cell"] == "ICESTORM_RAM" and 0 < build["bram"] <= 30
    assert point["latency_us"] == pytest.approx(point["cycles_per_inference"]
                                                / build["fmax_mhz"])
    assert "Fmax (MHz)" in (tmp_path / "explore.md").read_text()
