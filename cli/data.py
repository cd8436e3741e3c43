"""``spikeforge data FILE.npz``: check a spike dataset file and describe it.

Loads the file exactly as ``train --data`` would (same layouts, same split and binning options)
and prints its shape, classes, spike density and split sizes, or the reason it cannot be used.
"""

from .common import CommandError, add_split_arguments, data_file, emit_json, integer

__all__ = ["add_arguments", "describe", "run"]


def add_arguments(parser):
    parser.add_argument("file", type=data_file, metavar="FILE.npz",
                        help="spike dataset (docs/data.md)")
    add_split_arguments(parser)
    parser.add_argument("--steps", type=integer(1), default=None,
                        help="event lists: time steps T (default: the last event's step + 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def describe(dataset) -> dict:
    """Sizes, classes and spike density of each split."""
    import numpy as np

    report = {"name": dataset.name, "channels": dataset.n_in,
              "steps": int(dataset.x_train.shape[1]), "classes": dataset.n_classes}
    for split in ("train", "test"):
        x, y = getattr(dataset, f"x_{split}"), dataset.labels(split)
        report[split] = {"samples": len(y),
                         "per_class": np.bincount(y, minlength=dataset.n_classes).tolist(),
                         "spike_density": float(x.mean()) if x.size else 0.0}
    return report


def run(args):
    from spikeforge.datasets import SpikeFileError, load_spike_file

    try:
        dataset = load_spike_file(args.file, test_fraction=args.test_fraction,
                                  time_bin=args.time_bin, steps=args.steps, seed=args.seed)
    except SpikeFileError as exc:
        raise CommandError(str(exc)) from None
    report = describe(dataset)
    if args.json:
        emit_json(report)
    else:
        print(f"{report['name']}: {report['channels']} channels × {report['steps']} steps, "
              f"{report['classes']} classes")
        for split in ("train", "test"):
            r = report[split]
            print(f"  {split:5} {r['samples']:6} samples, spike density "
                  f"{r['spike_density']:.4f}, per class {r['per_class']}")
    return 0
