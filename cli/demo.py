"""``spikeforge demo``: the whole journey on built-in data, one line per stage with its time.

Train a digits network (8-bit, and 4-bit for comparison) → evaluate it (torch ↔ reference) →
co-simulate it on the Amaranth simulator, Verilator and Icarus against the reference, with the
cycle counts predicted by the schedule model → compile and build for the iCEBreaker where those
commands exist → a spiking CNN (``train --arch``): evaluated, co-simulated on Verilator, compiled
and built for the ULX3S, its kernel memory against the same network unrolled → NeuroBench's
metrics beside the cycles, latency at the measured Fmax and resources (``docs/neurobench.md``) →
write a report directory (``report.json``, ``report.md``, PNG plots).

Each stage runs the same CLI command a user would (``spikeforge <cmd> ... --json``) and keeps its
JSON, so the demo exercises exactly what the README documents. The long single-threaded stages
(the gate-level co-simulation, the bitstream builds, on-chip learning) come last and run
``--jobs`` at a time (default 2, one per core); their times are then wall times side by side.
"""

import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import CommandError, emit_json, integer, log

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--out", default="reports/demo", help="report directory")
    parser.add_argument("--epochs", type=integer(1), default=30, help="training epochs")
    parser.add_argument("--samples", type=integer(1), default=4,
                        help="test samples to co-simulate on Icarus (Verilator runs all)")
    parser.add_argument("--lanes", type=integer(1), default=1,
                        help="parallel lanes P of the hardware")
    parser.add_argument("--no-build", action="store_true", help="skip the bitstream builds")
    parser.add_argument("--cnn-arch", default=CNN_ARCH,
                        help=f"the CNN stage's --arch (default {CNN_ARCH}; 'none' skips it)")
    parser.add_argument("--cnn-epochs", type=integer(1), default=20,
                        help="training epochs of the CNN")
    parser.add_argument("--jobs", type=integer(1), default=2,
                        help="long single-threaded stages (builds, gate-level co-simulation, "
                             "on-chip learning) run this many at a time")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


class _Stages:
    """Runs CLI stages, prints one line each with its time, keeps their JSON."""

    def __init__(self, out):
        self.out = out
        self.results = {}
        self.deferred = []  # (name, argv, optional, script) of the stages run side by side
        (out / "logs").mkdir(parents=True, exist_ok=True)

    def later(self, name, argv, optional=False, script=None):
        """Queue a long stage for :meth:`run_later` (it must not feed a stage run before)."""
        self.deferred.append((name, argv, optional, script))

    def run_later(self, jobs):
        """Run the queued stages ``jobs`` at a time (each is a process of its own); their
        results keep the queued order."""
        queued, self.deferred = self.deferred, []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(self, *stage) for stage in queued]
        for future in futures:
            future.result()  # a required stage's failure is raised here
        for name, *_ in queued:  # the report lists stages in the order they were queued
            self.results[name] = self.results.pop(name)

    def __call__(self, name, argv, optional=False, script=None):
        start = time.monotonic()
        entry = [str(script)] if script else ["-m", "spikeforge.cli.main"]
        cmd = [sys.executable, *entry, *argv, "--json"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.monotonic() - start
        (self.out / "logs" / f"{name}.log").write_text(proc.stderr)
        data = None
        if proc.stdout.strip():
            try:
                data = json.loads(proc.stdout)
            except json.JSONDecodeError:
                data = None
        if data is None or (proc.returncode != 0 and not optional):
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            if optional:
                log(None, f"  {name:<20} skipped {elapsed:6.1f} s  ({last})")
                self.results[name] = {"skipped": last}
                return None
            raise CommandError(f"stage {name!r} failed ({' '.join(argv)}):\n{proc.stderr[-3000:]}")
        data["seconds"] = round(elapsed, 1)
        self.results[name] = data
        log(None, f"  {name:<20} done    {elapsed:6.1f} s")
        return data


def run(args):
    out = Path(args.out)
    stages = _Stages(out)
    net8, net4 = out / "digits.sfn", out / "digits4.sfn"
    log(args, f"spikeforge demo → {out}/")
    stages(
        "train", ["train", "--dataset", "digits", "--epochs", str(args.epochs), "--out", str(net8)]
    )
    stages("eval", ["eval", str(net8)])
    stages(
        "train-4bit",
        [
            "train",
            "--dataset",
            "digits",
            "--epochs",
            str(args.epochs),
            "--weight-bits",
            "4",
            "--out",
            str(net4),
        ],
    )
    stages("eval-4bit", ["eval", str(net4)])
    cosim = {}
    for sim in ("amaranth", "verilator", "icarus"):
        cosim[sim] = stages(
            f"cosim-{sim}",
            [
                "cosim",
                str(net8),
                "--sim",
                sim,
                "--samples",
                # the C++ harness runs the whole test set in well under a minute
                "all" if sim == "verilator" else str(args.samples if sim != "amaranth" else 1),
                "--lanes",
                str(args.lanes),
            ],
            optional=True,
        )
    # queued longest first, so that two at a time finish together
    learning = Path(__file__).resolve().parent.parent / "benchmarks" / "learning.py"
    if learning.exists():  # a source checkout: the on-chip learning demo
        stages.later("learn-on-device", ["--train", "400", "--every", "200", "--eval", "60",
                                         "--plot", str(out / "learning.png")],
                     optional=True, script=learning)
    stages.later(
        "cosim-ice40-netlist",
        ["cosim", str(net8), "--sim", "icarus", "--netlist", "ice40", "--samples", "1",
         "--lanes", str(args.lanes)],
        optional=True,
    )
    shutil.rmtree(out / "compiled", ignore_errors=True)  # compile refuses to overwrite
    stages("compile", ["compile", str(net8), "--target", "icebreaker", "--lanes",
                       str(args.lanes), "--samples", str(args.samples), "--out",
                       str(out / "compiled")], optional=True)
    if not args.no_build:
        for board in BOARDS:
            stages.later(f"build-{board}", ["build", str(net8), "--board", board, "--out",
                                            str(out / f"build-{board}")], optional=True)
    if args.cnn_arch != "none":
        _cnn_stages(stages, out, args)
    stages.run_later(args.jobs)
    start = time.monotonic()
    plots = _plots(out, net8, stages.results, args.lanes)
    log(None, f"  {'plots':<20} done    {time.monotonic() - start:6.1f} s")
    if (out / "learning.png").exists():
        plots["learning"] = "learning.png"
    start = time.monotonic()
    neurobench = _neurobench(net8, stages.results, args.lanes)
    log(None, f"  {'neurobench':<20} {'skipped' if 'skipped' in neurobench else 'done   '} "
              f"{time.monotonic() - start:6.1f} s")
    report = {"stages": stages.results, "plots": plots, "exactness": _exactness(stages.results),
              "neurobench": neurobench}
    (out / "report.json").write_text(
        json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False)
    )
    (out / "report.md").write_text(_markdown(report))
    if args.json:
        emit_json(report)
    else:
        print((out / "report.md").read_text())
    failed = [row for row in report["exactness"] if row["mismatches"]]
    return 1 if failed else 0


#: boards the demo builds bitstreams for
BOARDS = ("icebreaker", "ulx3s-85f")
#: the CNN stage's network and the board it is built for
CNN_ARCH, CNN_BOARD = "c8k3-p2-c16k3-p2-d10", "ulx3s-85f"
#: test samples the CNN is co-simulated on (all 360 take about a minute more)
CNN_COSIM_SAMPLES = 90


def _cnn_stages(stages, out, args):
    """Train, evaluate, co-simulate (Verilator), compile and build the CNN."""
    net = out / "digits-cnn.sfn"
    stages("train-cnn", ["train", "--dataset", "digits", "--arch", args.cnn_arch, "--theta", "3",
                         "--input-shift", "4", "--lr", "5e-3", "--epochs", str(args.cnn_epochs),
                         "--out", str(net)])
    stages("eval-cnn", ["eval", str(net)])
    stages("cosim-cnn-verilator", ["cosim", str(net), "--sim", "verilator", "--samples",
                                   str(CNN_COSIM_SAMPLES), "--lanes", str(args.lanes)],
           optional=True)
    shutil.rmtree(out / "compiled-cnn", ignore_errors=True)
    stages("compile-cnn", ["compile", str(net), "--target", CNN_BOARD, "--lanes",
                           str(args.lanes), "--samples", str(args.samples), "--out",
                           str(out / "compiled-cnn")], optional=True)
    if not args.no_build:
        stages.later(f"build-cnn-{CNN_BOARD}", ["build", str(net), "--board", CNN_BOARD,
                                               "--out", str(out / f"build-cnn-{CNN_BOARD}")],
                     optional=True)

#: co-simulation stages, in the order of the exactness table
COSIM_STAGES = ("amaranth", "verilator", "icarus", "ice40-netlist")


def _exactness(results):
    rows = []
    ev = results.get("eval")
    if ev:
        rows.append(
            {
                "link": "reference ↔ torch",
                "compared": f"{ev['samples']} samples × all steps, spikes and states",
                "mismatches": ev["samples"] - ev["agreeing_samples"],
            }
        )
    ev = results.get("eval-cnn")
    if ev:
        rows.append({"link": "reference ↔ torch, CNN",
                     "compared": f"{ev['samples']} samples × all steps, spikes and states",
                     "mismatches": ev["samples"] - ev["agreeing_samples"]})
    for name in (*COSIM_STAGES, "cnn-verilator"):
        r = results.get(f"cosim-{name}")
        if r and "mismatches" in r:
            rows.append(
                {
                    "link": f"reference ↔ {name.replace('-', ' ')}",
                    "compared": f"{r['samples']} samples, {r['neuron_steps_compared']} "
                    f"neuron-steps ({r['values_compared']} values)",
                    "mismatches": r["mismatches"] + r["cycle_mismatches"],
                }
            )
    learn = results.get("learn-on-device")
    if learn and "mismatches" in learn:
        rows.append({"link": "reference ↔ verilator, on-chip learning (output counts, weights)",
                     "compared": f"{learn['values_compared']} values",
                     "mismatches": learn["mismatches"] + (not learn["final_weights_equal"])})
    return rows


def _plots(out, netfile, results, lanes):
    import numpy as np
    from spikeforge.datasets import load_dataset
    from spikeforge.model import load_network
    from spikeforge.model import run as run_reference
    from spikeforge.sim.amaranth_sim import simulate_network
    from spikeforge.viz import (
        accuracy_vs_bits,
        membrane_traces,
        resource_bars,
        spike_raster,
        training_curve,
    )

    network = load_network(netfile)
    data = load_dataset("digits", steps=network.steps)
    x = data.spikes("test", np.arange(1))
    ref = run_reference(network, x)
    hw = simulate_network(network, x, lanes=lanes)
    paths = {
        "raster": spike_raster(
            x[0],
            [s[0] for s in ref.spikes],
            [s[0] for s in hw.spikes],
            out / "raster.png",
            f"digit {data.labels('test')[0]}: reference (dots) and hardware (circles)",
        ),
        "membrane": membrane_traces(
            ref.u[0][0],
            network.layers[0].params.theta,
            range(4),
            out / "membrane.png",
            "hidden layer, first 4 neurons: reference (lines) and hardware (dots)",
            hw.u[0][0],
        ),
        "training": training_curve(
            network.metadata["history"], out / "training.png", "digits, 8-bit weights"
        ),
    }
    rows = [
        {"weight_bits": bits, "int_accuracy": results[name]["int_accuracy"]}
        for bits, name in ((4, "eval-4bit"), (8, "eval"))
        if name in results
    ]
    paths["accuracy_bits"] = accuracy_vs_bits(rows, 0.967, out / "accuracy_bits.png")
    boards = {b: _resources(results[f"build-{b}"]) for b in BOARDS
              if "utilization" in results.get(f"build-{b}", {})}
    if boards:
        paths["resources"] = resource_bars(boards, out / "resources.png")
    return {k: str(Path(v).name) for k, v in paths.items()}


def _markdown(report):
    stages = report["stages"]
    lines = ["# spikeforge demo report", ""]
    ev, ev4 = stages.get("eval", {}), stages.get("eval-4bit", {})
    train = stages.get("train", {})
    lines += [
        "## Accuracy (scikit-learn digits, 360 test samples)",
        "",
        "| weights | integer (reference) | torch | agreement |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in (("8-bit", ev), ("4-bit", ev4)):
        if row:
            lines.append(
                f"| {name} | {row['int_accuracy']:.2%} | {row['torch_accuracy']:.2%} | "
                f"{row['agreement']:.0%} |"
            )
    if train:
        lines += [
            "",
            f"Training: {train['epochs']} epochs in {train['train_seconds']} s "
            f"({train['samples_per_second']} samples/s).",
        ]
    lines += ["", "## Exactness", "", "| link | compared | mismatches |", "| --- | --- | --- |"]
    for row in report["exactness"]:
        lines.append(f"| {row['link']} | {row['compared']} | {row['mismatches']} |")
    lines += [
        "",
        "## Hardware timing",
        "",
        "| simulator | cycles predicted | cycles measured | SOP/lane/cycle | sim cycles/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in COSIM_STAGES:
        r = stages.get(f"cosim-{name}", {})
        if "cycles_predicted" in r:
            lines.append(
                f"| {name.replace('-', ' ')} | {r['cycles_predicted']} | {r['cycles_measured']} | "
                f"{r['sop_per_lane_per_cycle']:.3f} | {r['cycles_per_second']:.0f} |"
            )
    lines += ["", "SOP/lane/cycle counts the synaptic operations of all layers; the layers run "
              "side by side, so it can exceed 1 (the limit is 1 per lane per layer)."]
    comp = stages.get("compile", {})
    if comp.get("schedule"):
        sched, alloc = comp["schedule"], comp["allocation"]
        lines += [
            "",
            "## Compiled design (iCEBreaker target)",
            "",
            f"Cycles per inference ({sched['samples']} test samples × {sched['steps']} steps, "
            f"{comp['lanes']} lanes): mean {sched['cycles_per_inference_mean']:.0f}, max "
            f"{sched['cycles_per_inference_max']}; block RAM estimate {alloc['bram_blocks']} "
            f"blocks, 0 DSP.",
        ]
    builds = [(b, stages[f"build-{b}"]) for b in BOARDS
              if "fmax_mhz" in stages.get(f"build-{b}", {})]
    if builds:
        lines += ["", "## Bitstreams", "",
                  "| board | Fmax (MHz) | clock (MHz) | logic | block RAM | DSP | build s |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for board, r in builds:
            lines.append(f"| {board} | {r['fmax_mhz']:.1f} | {r['clock_mhz']:g} | "
                         f"{_cells(r, ('ICESTORM_LC', 'TRELLIS_COMB'))} | "
                         f"{_cells(r, ('ICESTORM_RAM', 'DP16KD'))} | {r['dsp']} | "
                         f"{r['seconds']} |")
    lines += _cnn_markdown(stages)
    lines += _neurobench_markdown(report.get("neurobench", {}))
    learn = stages.get("learn-on-device", {})
    if learn.get("curve"):
        points = ", ".join(f"{c['trained_trials']}: {c['accuracy']:.0%}" for c in learn["curve"])
        lines += ["", "## On-chip learning (SuperSpike readout, Verilator)", "",
                  f"Test accuracy after N learning trials on the device: {points} (chance 10 %); "
                  f"device weights equal the reference's: {learn['final_weights_equal']}."]
    skipped = {k: v["skipped"] for k, v in stages.items() if "skipped" in v}
    if skipped:
        lines += ["", "## Not run", ""] + [f"- {k}: {v}" for k, v in skipped.items()]
    lines += ["", "## Plots", ""] + [f"![{k}]({v})" for k, v in report["plots"].items()]
    return "\n".join(lines) + "\n"


def _cnn_markdown(stages):
    """The CNN section: accuracy, kernel words against unrolled, cycles and the bitstream."""
    train, ev = stages.get("train-cnn", {}), stages.get("eval-cnn", {})
    if not ev:
        return []
    lines = ["", "## Convolutional network (digits, 8-bit)", "",
             f"{' → '.join(train['layers'])}", "",
             f"Integer test accuracy {ev['int_accuracy']:.2%} (torch {ev['torch_accuracy']:.2%}, "
             f"agreement {ev['agreement']:.0%}). Weight memory: {train['weight_words']} words of "
             f"kernels and dense weights, against {train['weight_words_unrolled']} words for the "
             f"same network unrolled to dense layers "
             f"({train['weight_words_unrolled'] / train['weight_words']:.0f}× more)."]
    cosim = stages.get("cosim-cnn-verilator", {})
    if "mismatches" in cosim:
        lines += ["", f"Verilator: {cosim['samples']} samples, {cosim['neuron_steps_compared']} "
                      f"neuron-steps, {cosim['mismatches']} mismatches; cycles predicted "
                      f"{cosim['cycles']} = measured {cosim['cycles_measured']}."]
    comp = stages.get("compile-cnn", {})
    if comp.get("schedule"):
        sched, alloc = comp["schedule"], comp["allocation"]
        lines += ["", f"Cycles per inference ({comp['lanes']} lanes): mean "
                      f"{sched['cycles_per_inference_mean']:.0f}, max "
                      f"{sched['cycles_per_inference_max']}; block RAM estimate "
                      f"{alloc['bram_blocks']} blocks."]
    build = stages.get(f"build-cnn-{CNN_BOARD}", {})
    if "fmax_mhz" in build:
        lines += ["", f"Bitstream for the {CNN_BOARD}: Fmax {build['fmax_mhz']:.1f} MHz, logic "
                      f"{_cells(build, ('ICESTORM_LC', 'TRELLIS_COMB'))}, block RAM "
                      f"{_cells(build, ('ICESTORM_RAM', 'DP16KD'))}, {build['dsp']} DSP, built in "
                      f"{build['seconds']} s."]
    return lines


def _neurobench(netfile, results, lanes):
    """NeuroBench's metrics (the neurobench package) and the hardware's cycles, latency and
    resource estimates for the demo network on the digits test set, with latency at the Fmax
    the demo's builds measured; ``{"skipped": why}`` without the package."""
    from spikeforge.datasets import load_dataset
    from spikeforge.model import load_network
    from spikeforge.sim.neurobench import (
        NeuroBenchMissing,
        hardware_figures,
        neurobench_metrics,
    )

    network = load_network(netfile)
    data = load_dataset("digits", steps=network.steps)
    x, labels = data.spikes("test"), data.labels("test")
    fmax = {b: results[f"build-{b}"]["fmax_mhz"] for b in BOARDS
            if results.get(f"build-{b}", {}).get("fmax_mhz")}
    try:
        return {"neurobench": neurobench_metrics(network, x, labels),
                "hardware": hardware_figures(network, x, lanes, fmax)}
    except (NeuroBenchMissing, ValueError) as error:  # no package; lanes that do not divide
        return {"skipped": str(error)}


def _neurobench_markdown(section):
    """The NeuroBench section of the report."""
    if not section:
        return []
    if "skipped" in section:
        return ["", "## NeuroBench metrics", "", f"Not run: {section['skipped']}"]
    nb, hw = section["neurobench"], section["hardware"]
    lines = [
        "", f"## NeuroBench metrics (neurobench package, {nb['samples']} digits test samples)", "",
        "| metric | value |", "| --- | --- |",
        f"| footprint | {nb['footprint_bytes']} bytes |",
        f"| connection sparsity | {nb['connection_sparsity']:.4f} |",
        f"| activation sparsity (spiking layers) | {nb['activation_sparsity']:.4f} |",
        f"| classification accuracy | {nb['classification_accuracy']:.2%} |",
        f"| synaptic operations: effective ACs / MACs / dense, per sample | "
        f"{nb['effective_acs']:.1f} / {nb['effective_macs']:g} / {nb['dense_synops']:g} |",
        f"| RTL synops counter, per sample | {nb['rtl_synops']:.1f} |",
        f"| of which zero-weight ops (the hardware does not skip zero weights) | "
        f"{nb['zero_weight_ops']:.1f} |",
        "",
        f"RTL synops = effective ACs + zero-weight ops over all samples: "
        f"{nb['rtl_synops_total']} = {nb['effective_acs_total']} + {nb['zero_weight_ops_total']}"
        f" ({'exact' if nb['synops_consistent'] else 'MISMATCH'}).",
        "",
        f"Cycles per inference ({hw['lanes']} lane(s)): mean "
        f"{hw['cycles_per_inference_mean']:.0f}, max {hw['cycles_per_inference_max']}.",
        "",
        "| board | clock (MHz) | latency µs, mean / max | Fmax (MHz) | at Fmax, mean / max | "
        "LUT4 (estimate) | block RAM (estimate) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for board, b in hw["boards"].items():
        at_fmax = (f"{b['fmax_mhz']:.1f} | {b['latency_us_mean_at_fmax']:.0f} / "
                   f"{b['latency_us_max_at_fmax']:.0f}" if "fmax_mhz" in b else "— | —")
        fit = (f"{b['luts_estimate']} / {b['luts_available']} | {b['bram_blocks_estimate']} / "
               f"{b['bram_blocks_available']}" if b["fits"] else "does not fit | —")
        lines.append(f"| {board} | {b['clock_mhz']:g} | {b['latency_us_mean']:.0f} / "
                     f"{b['latency_us_max']:.0f} | {at_fmax} | {fit} |")
    return lines


def _cells(build, names):
    """``used / total`` of the first of ``names`` in a build's utilization."""
    for name in names:
        cell = build.get("utilization", {}).get(name)
        if cell:
            return f"{cell['used']} / {cell['total']}"
    return "—"


def _resources(build):
    """(used, total) of logic, block RAM and DSP from a build report, whichever family."""
    util = build["utilization"]

    def first(*names):
        for name in names:
            if name in util:
                return util[name]["used"], util[name]["total"]
        return 0, 0

    return {"logic": first("ICESTORM_LC", "TRELLIS_COMB"),
            "bram": first("ICESTORM_RAM", "DP16KD"),
            "dsp": first("ICESTORM_DSP", "MULT18X18D"), "fmax_mhz": build["fmax_mhz"]}
