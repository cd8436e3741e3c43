"""A spiking CNN on digits: integer accuracy at 8 and 4 bits, torch ↔ reference agreement, and
weight memory against the same network unrolled to dense layers; the dense 64-128-10 network
trained in the same run is the peer.

Each network is trained quantization-aware on the exact integer forward pass
(``spikeforge train --arch c16k3-p2-c32k3-p2-d10 --lr 5e-3 --epochs 40 --weight-decay 0.05``,
θ = 2, surrogate slope 5 and no input shift at 8 bits, the defaults for a convolving spec;
``--weight-bits 4 --theta 3 --input-shift 4`` at 4 bits; ``--augment N`` shifts every training
image by up to N pixels, drawn anew each epoch) on one torch thread per run (``--workers`` runs
at once), and evaluated by the NumPy reference; agreement is the fraction of test samples whose
torch and reference predictions are equal. The bars: 8-bit accuracy ≥ 98.3 % (the dense net's
97.8 % of earlier measurements, plus half a point), 4-bit within 0.5 pp of 8-bit, agreement
100 %, kernel words ≤ 1/10 of the unrolled words. Accuracies are the median of ten seeds (the
lower middle one): one seed moves a CNN's accuracy on the 360 test digits by up to a point, and
five seeds hid a recipe fault (below).

The surrogate's slope is 5, not the dense recipe's 25: spike counts are the logits, a fresh
CNN's counts differ by several spikes between classes, and within five batches the loss
silences every output neuron; one that stays silent wakes only through the surrogate's tail,
which one θ below threshold is 1/676 of its peak at slope 25 and 1/36 at 5. At 25, seed 9 kept
one class dead (90 % train and 88 % test accuracy, with or without weight decay); at 5 it reaches
98.33 % and no seed of ten falls below 97.5 % at either width (``docs/training.md``).

Weight decay (AdamW, λ = 0.05) is the recipe's one regularizer: the CNN fits its 1,437 training
digits to 100 % without it. Its gain is inside the seed noise (at slope 25, over seeds 0–9 the
8-bit medians were 98.19 % with it and 98.33 % without; ``docs/training.md``); one-pixel
translations (``--augment 1``) cost accuracy (a pixel is an eighth of a digit's width) and
label smoothing gave no systematic gain.

    python benchmarks/cnn_digits.py [--arch c16k3-p2-c32k3-p2-d10] [--epochs 40]
                                    [--seeds 0 1 ... 9] [--weight-decay 0.05] [--slope 5]
                                    [--augment 0] [--workers 2] [--json] [--quick]
"""

import argparse
import sys
import time

import numpy as np
from common import add_output_arguments, write_result

ARCH = "c16k3-p2-c32k3-p2-d10"


def recipe(bits):
    """``(theta, input_shift)`` of a width: at 6 bits and more θ = 2 weight units and integer
    states (``train``'s defaults for a convolving spec); below, θ = 3 with 4 fractional state
    bits (a 4-bit network's states would otherwise be a few integers, too coarse for the
    decays' floors). Adam 5e-3 at every width."""
    return (2.0, 0) if bits >= 6 else (3.0, 4)


TARGET_8BIT = 0.983
WEIGHT_DECAY = 0.05
SLOPE = 5.0  #: the surrogate's sharpness, ``train``'s default for a convolving spec


def train_one(data, **config):
    import torch
    from spikeforge.model import run
    from spikeforge.model.training.trainer import TrainConfig, predict, train

    torch.set_num_threads(1)  # one thread: the float gradient sums in one order every run
    if data is None:
        from spikeforge.datasets import load_digits
        data = load_digits()
    start = time.perf_counter()
    net, _ = train(data, TrainConfig(**config))
    network = net.to_network()
    reference = run(network, data.spikes("test")).predict(network.readout)
    with torch.no_grad():
        torch_pred = predict(net, data.spikes("test"))
    return {
        "arch": config.get("arch") or "d128-d10",
        "weight_bits": config["weight_bits"],
        "seed": config["seed"],
        "int_accuracy": float((reference == data.labels("test")).mean()),
        "torch_accuracy": float((torch_pred == data.labels("test")).mean()),
        "agreement": float((torch_pred == reference).mean()),
        "weight_words": int(sum(ly.weight.size for ly in network.layers)),
        "weight_words_unrolled": int(sum(ly.dense().weight.size for ly in network.layers)),
        "neurons": int(sum(ly.params.n for ly in network.layers)),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _train_job(job):
    """:func:`train_one` of a job, in a worker process (which loads the dataset itself)."""
    return train_one(None, **job)


def median_row(runs):
    """The run of median integer accuracy (of an odd count; the lower middle of an even one),
    with every run's accuracy beside it: float training is not bit-reproducible across
    machines, and one seed moves the accuracy by half a point."""
    ordered = sorted(runs, key=lambda r: r["int_accuracy"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    row["seed_accuracies"] = [r["int_accuracy"] for r in runs]
    row["agreement"] = min(r["agreement"] for r in runs)
    return row


def measure(arch=ARCH, epochs=40, dense_epochs=30, bits=(8, 4), seeds=tuple(range(10)),
            augment=0, workers=1, weight_decay=WEIGHT_DECAY, slope=SLOPE):
    """Train every (width, seed) CNN and the dense peers, ``workers`` at a time (each in its
    own process on one torch thread, so the result does not depend on ``workers``)."""
    from concurrent.futures import ProcessPoolExecutor

    from spikeforge.datasets import load_digits

    data = load_digits()
    jobs = [dict(arch=arch, weight_bits=b, epochs=epochs, lr=5e-3, theta=recipe(b)[0],
                 input_shift=recipe(b)[1], seed=seed, augment=augment,
                 weight_decay=weight_decay, slope=slope)
            for b in bits for seed in seeds]
    jobs += [dict(weight_bits=8, epochs=dense_epochs, seed=seed) for seed in seeds]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            runs = list(pool.map(_train_job, jobs))
    else:
        runs = [train_one(data, **job) for job in jobs]
    per_width = len(seeds)
    rows = [median_row(runs[i * per_width:(i + 1) * per_width]) for i in range(len(bits))]
    dense = median_row(runs[len(bits) * per_width:])
    eight = rows[0]
    summary = [
        {"metric": f"digits CNN integer accuracy, {eight['weight_bits']}-bit",
         "value": round(eight["int_accuracy"] * 100, 2), "unit": "%",
         "versus": "dense 64-128-10, same run", "versus_value": round(
             dense["int_accuracy"] * 100, 2),
         "ratio": round(eight["int_accuracy"] / dense["int_accuracy"], 4),
         "limit": TARGET_8BIT * 100, "meets": eight["int_accuracy"] >= TARGET_8BIT},
    ]
    for row in rows[1:]:
        drop = (eight["int_accuracy"] - row["int_accuracy"]) * 100
        summary.append({
            "metric": f"digits CNN accuracy drop, {row['weight_bits']}-bit vs 8-bit",
            "value": round(drop, 2), "unit": "pp", "versus": None, "versus_value": None,
            "ratio": None, "limit": 0.5, "meets": drop <= 0.5})
    summary.append({
        "metric": "torch ↔ reference agreement (every CNN)",
        "value": round(min(r["agreement"] for r in rows) * 100, 2), "unit": "%",
        "versus": None, "versus_value": None, "ratio": None, "limit": 100.0,
        "meets": all(r["agreement"] == 1.0 for r in rows)})
    summary.append({
        "metric": "CNN weight words (kernels)", "value": eight["weight_words"], "unit": "words",
        "versus": "unrolled to dense layers", "versus_value": eight["weight_words_unrolled"],
        "ratio": round(eight["weight_words"] / eight["weight_words_unrolled"], 4),
        "limit": 0.1, "meets": eight["weight_words"] <= eight["weight_words_unrolled"] / 10})
    return {"dataset": "digits", "steps": int(data.encoding.steps), "arch": arch,
            "epochs": epochs, "augment": augment, "weight_decay": weight_decay, "slope": slope,
            "seeds": list(seeds), "rows": rows,
            "dense_peer": dense, "summary": summary}


def table(result):
    lines = [f"digits spiking CNN {result['arch']} (T={result['steps']}, {result['epochs']} "
             f"epochs, weight decay {result['weight_decay']:g}, surrogate slope "
             f"{result['slope']:g}, training images shifted by up to "
             f"{result['augment']} pixels) against the "
             f"dense 64-128-10 network trained in the same run; median of seeds "
             f"{result['seeds']}",
             f"{'network':<26} {'bits':>4} {'int acc':>8} {'seeds':>22} {'agree':>7} "
             f"{'weights':>9} {'unrolled':>9}"]
    for row in [*result["rows"], result["dense_peer"]]:
        seeds = " ".join(f"{a:.2%}" for a in row["seed_accuracies"])
        lines.append(f"{row['arch']:<26} {row['weight_bits']:>4} {row['int_accuracy']:>8.2%} "
                     f"{seeds:>22} {row['agreement']:>7.1%} {row['weight_words']:>9} "
                     f"{row['weight_words_unrolled']:>9}")
    for row in result["summary"]:
        mark = {True: "meets", False: "MISSES", None: ""}[row["meets"]]
        lines.append(f"  {row['metric']}: {row['value']} {row['unit']} (limit {row['limit']}) "
                     f"{mark}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=ARCH)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--dense-epochs", type=int, default=30)
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY,
                        help="the CNNs' decoupled weight decay (AdamW; 0: Adam)")
    parser.add_argument("--slope", type=float, default=SLOPE,
                        help="the CNNs' surrogate sharpness (fast sigmoid)")
    parser.add_argument("--augment", type=int, default=0,
                        help="CNN training images shifted by up to this many pixels (0: none)")
    parser.add_argument("--workers", type=int, default=1, help="trainings run at once")
    parser.add_argument("--quick", action="store_true", help="2 epochs, one seed: a smoke test")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    epochs, dense_epochs = (2, 2) if args.quick else (args.epochs, args.dense_epochs)
    seeds = (0,) if args.quick else tuple(args.seeds)
    result = measure(args.arch, epochs, dense_epochs, tuple(args.bits), seeds, args.augment,
                     args.workers, args.weight_decay, args.slope)
    write_result(result, args.out, args.json)
    if not args.json:
        print(table(result))
    return 0


if __name__ == "__main__":
    np.set_printoptions(linewidth=120)
    sys.exit(main())
