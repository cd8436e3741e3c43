"""``spikeforge eval``: integer accuracy (reference), torch accuracy, and their agreement.

Agreement is the fraction of test samples for which the torch training forward pass and the
NumPy reference produce identical spikes and states (I, U, b) at every step in every layer.

``--neurobench`` adds NeuroBench's metrics, computed by the ``neurobench`` package on the
integer network, and the hardware's cycles, latency and resource estimates
(:mod:`spikeforge.sim.neurobench`, ``docs/neurobench.md``).
"""

from .common import (
    CommandError,
    add_data_arguments,
    dataset_arg,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
)

__all__ = ["add_arguments", "evaluate", "neurobench_report", "neurobench_table",
           "run"]


def add_arguments(parser):
    from spikeforge.datasets import DATASETS

    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="dataset (default: the one the network was trained on)",
    )
    add_data_arguments(parser)
    parser.add_argument("--limit", type=integer(1), default=None,
                        help="evaluate the first N test samples")
    parser.add_argument("--neurobench", action="store_true",
                        help="add NeuroBench's metrics (the neurobench package) and the "
                             "hardware's cycles, latency and resources")
    parser.add_argument("--lanes", type=integer(1), default=1,
                        help="parallel lanes P of the hardware, for --neurobench")
    parser.add_argument("--build-report", type=existing_file("build report (report.json)"),
                        action="append", default=[], metavar="REPORT.json",
                        help="for --neurobench: latency at the Fmax a build measured (the "
                             "report.json in `spikeforge build --out DIR`); repeat per board")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def evaluate(network, dataset, limit=None, batch_size=120):
    """Accuracy of the reference and of the torch model, and how many samples agree exactly."""
    import numpy as np
    import torch
    from spikeforge.model import run
    from spikeforge.model.training import SpikingNetwork

    labels = dataset.labels("test")[:limit]
    spikes = dataset.spikes("test")[:limit]
    model = SpikingNetwork.from_network(network)
    ref_pred, torch_pred, agree = [], [], 0
    for start in range(0, len(labels), batch_size):
        x = spikes[start : start + batch_size]
        trace = run(network, x)
        with torch.no_grad():
            traces = model(x)
        same = np.ones(len(x), dtype=bool)
        for index, layer_trace in enumerate(traces):
            for key, ref in (("s", trace.spikes), ("i", trace.i), ("u", trace.u), ("b", trace.b)):
                got = layer_trace[key].numpy().astype(np.int64)
                same &= (got == ref[index]).reshape(len(x), -1).all(axis=1)
        agree += int(same.sum())
        ref_pred.append(trace.predict(network.readout))
        torch_pred.append(model.scores(traces).argmax(dim=1).numpy())
    ref_pred, torch_pred = np.concatenate(ref_pred), np.concatenate(torch_pred)
    return {
        "samples": len(labels),
        "int_accuracy": float((ref_pred == labels).mean()),
        "torch_accuracy": float((torch_pred == labels).mean()),
        "agreement": agree / len(labels),
        "agreeing_samples": agree,
    }


def run(args):
    from spikeforge.datasets import load_dataset

    network = load_network_arg(args.netfile)
    if args.neurobench:
        _require_neurobench()  # before the evaluation, which takes a while
    if args.dataset and args.data:
        raise CommandError("give either --dataset (built-in) or --data (a file), not both")
    if args.dataset:
        dataset = load_dataset(args.dataset, steps=network.steps)
        if dataset.n_in != network.n_in:
            raise CommandError(f"the network takes {network.n_in} inputs but {args.dataset} has "
                               f"{dataset.n_in}")
    else:
        dataset = dataset_arg(network, args.data)
    if dataset is None:
        raise CommandError("the network file names no dataset it can find; pass --dataset "
                           "digits|randman or --data FILE.npz")
    name = dataset.name
    report = {
        "netfile": str(args.netfile),
        "dataset": name,
        **evaluate(network, dataset, args.limit),
    }
    report["weight_bits"] = [ly.params.weight_format.width for ly in network.layers]
    if args.neurobench:
        report.update(neurobench_report(network, dataset, args.limit, args.lanes,
                                        _measured_fmax(args.build_report)))
    if args.json:
        emit_json(report)
    else:
        print(
            f"{name}: integer accuracy {report['int_accuracy']:.2%}, torch "
            f"{report['torch_accuracy']:.2%}, torch ↔ reference agreement "
            f"{report['agreement']:.2%} of {report['samples']} samples"
        )
        if args.neurobench:
            print(neurobench_table(report))
    return 0


def _require_neurobench():
    from spikeforge.sim.neurobench import NeuroBenchMissing, require_neurobench

    try:
        require_neurobench()
    except NeuroBenchMissing as error:
        raise CommandError(str(error)) from None


def _measured_fmax(paths):
    """board → Fmax (MHz) from build reports, or a CommandError naming the file."""
    import json
    from pathlib import Path

    from spikeforge.boards import BOARDS

    fmax = {}
    for path in paths:
        try:
            report = json.loads(Path(path).read_text(encoding="utf-8"))
            board, mhz = report["board"], float(report["fmax_mhz"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"argument --build-report: {path} is not the report.json of "
                               f"`spikeforge build` (board, fmax_mhz): {exc}") from None
        if board not in BOARDS or not mhz > 0:
            raise CommandError(f"argument --build-report: {path} names board {board!r} with Fmax "
                               f"{mhz}; expected one of {', '.join(BOARDS)} and a positive Fmax")
        fmax[board] = mhz
    return fmax


def neurobench_report(network, dataset, limit=None, lanes=1, fmax_mhz=None):
    """``{"neurobench": ..., "hardware": ...}`` on the first ``limit`` test samples: NeuroBench's
    metrics with the synaptic-operation cross-check, and cycles, latency (at each board's clock,
    and at ``fmax_mhz`` {board: MHz} where a build measured it) and resources."""
    from spikeforge.sim.neurobench import hardware_figures, neurobench_metrics

    _require_neurobench()
    if network.convolutional:
        raise CommandError("--neurobench: NeuroBench figures of convolutional networks are not "
                           "computed yet (its integer modules are dense); evaluate without "
                           "--neurobench, or run it on a dense network")
    spikes, labels = dataset.spikes("test")[:limit], dataset.labels("test")[:limit]
    try:
        hardware = hardware_figures(network, spikes, lanes, fmax_mhz)
    except ValueError as error:  # lanes that do not divide a layer
        raise CommandError(str(error)) from None
    return {"neurobench": neurobench_metrics(network, spikes, labels), "hardware": hardware}


def neurobench_table(report):
    """The ``--neurobench`` part of a report as readable lines."""
    nb, hw = report["neurobench"], report["hardware"]
    lines = [
        f"NeuroBench (neurobench package), {nb['samples']} samples:",
        f"  footprint            {nb['footprint_bytes']} bytes",
        f"  connection sparsity  {nb['connection_sparsity']:.4f}",
        f"  activation sparsity  {_sparsity(nb['activation_sparsity'])}",
        f"  accuracy             {nb['classification_accuracy']:.2%}",
        f"  effective ACs        {nb['effective_acs']:.1f} per sample "
        f"(MACs {nb['effective_macs']:g}, dense {nb['dense_synops']:g})",
        f"  RTL synops           {nb['rtl_synops']:.1f} per sample = effective ACs + "
        f"{nb['zero_weight_ops']:.1f} zero-weight ops "
        f"({'exact' if nb['synops_consistent'] else 'MISMATCH'} over all samples: "
        f"{nb['rtl_synops_total']} = {nb['effective_acs_total']} + "
        f"{nb['zero_weight_ops_total']})",
        f"Hardware ({hw['lanes']} lane(s)): cycles per inference mean "
        f"{hw['cycles_per_inference_mean']:.1f}, max {hw['cycles_per_inference_max']}",
        "  board        clock MHz  latency µs (mean / max)  LUT4 est.     block RAM est.",
    ]
    for board, b in hw["boards"].items():
        fit = (f"{b['luts_estimate']:>5} / {b['luts_available']:<6}  "
               f"{b['bram_blocks_estimate']:>3} / {b['bram_blocks_available']}"
               if b["fits"] else "does not fit")
        lines.append(f"  {board:<11}  {b['clock_mhz']:>9g}  "
                     f"{b['latency_us_mean']:>10.1f} / {b['latency_us_max']:<10.1f}  {fit}")
        if "fmax_mhz" in b:
            lines.append(f"  {'':<11}  {b['fmax_mhz']:>9.1f}  {b['latency_us_mean_at_fmax']:>10.1f}"
                         f" / {b['latency_us_max_at_fmax']:<10.1f}  (at Fmax)")
    return "\n".join(lines)


def _sparsity(value):
    return "— (no spiking layer)" if value is None else f"{value:.4f}"
