"""``spikeforge eval``: integer accuracy (reference), torch accuracy, and their agreement.

Agreement is the fraction of test samples for which the torch training forward pass and the
NumPy reference produce identical spikes and states (I, U, b) at every step in every layer.
"""

from .common import CommandError, emit_json, existing_file, integer, load_network_arg

__all__ = ["add_arguments", "evaluate", "run"]


def add_arguments(parser):
    from spikeforge.datasets import DATASETS

    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="dataset (default: the one the network was trained on)",
    )
    parser.add_argument("--limit", type=integer(1), default=None,
                        help="evaluate the first N test samples")
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
    name = args.dataset or network.metadata.get("dataset")
    if name is None:
        raise CommandError("the network file names no dataset; pass --dataset digits|randman")
    dataset = load_dataset(name, steps=network.steps)
    if dataset.n_in != network.n_in:
        raise CommandError(f"the network takes {network.n_in} inputs but {name} has {dataset.n_in}")
    report = {
        "netfile": str(args.netfile),
        "dataset": name,
        **evaluate(network, dataset, args.limit),
    }
    report["weight_bits"] = [ly.params.weight_format.width for ly in network.layers]
    if args.json:
        emit_json(report)
    else:
        print(
            f"{name}: integer accuracy {report['int_accuracy']:.2%}, torch "
            f"{report['torch_accuracy']:.2%}, torch ↔ reference agreement "
            f"{report['agreement']:.2%} of {report['samples']} samples"
        )
    return 0
