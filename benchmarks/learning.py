"""On-chip learning demo: a digits network whose readout starts random learns on the simulated
device alone (SuperSpike on the readout, Verilator), from chance to a useful accuracy.

The hidden layer is a fixed random projection (64 LIF neurons); the 10 readout neurons start with
random weights in -2..2. The device streams learning trials and, at checkpoints, frozen test
trials whose output spike counts give the accuracy curve. The integer reference runs the same
trials; the device's weights after the last trial must equal the reference's bit for bit.

Usage: ``python benchmarks/learning.py [--train 1000] [--eval 100] [--every 250]
[--sim verilator] [--json] [--out learning.json] [--plot learning.png] [--quick]``.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from spikeforge.datasets import load_dataset
from spikeforge.model import Layer, LayerParams, Network
from spikeforge.model.learning import LearningConfig, class_targets
from spikeforge.sim.learning_cosim import learning_report

__all__ = ["demo_network", "main"]


def demo_network(seed=0):
    """Digits 64 → 64 LIF (fixed random, N(0, 6)) → 10 LIF readout (random -2..2)."""
    data = load_dataset("digits")
    rng = np.random.default_rng(seed)
    hidden = Layer(LayerParams(data.n_in, 64, k_syn=2, k_mem=3, theta=64),
                   np.clip(np.rint(rng.normal(0, 6, (64, data.n_in))), -127, 127).astype(int),
                   name="hidden")
    readout = Layer(LayerParams(64, 10, k_syn=2, k_mem=3, theta=512),
                    rng.integers(-2, 3, (10, 64)), name="readout")
    return Network((hidden, readout), data.encoding, name="digits-learning",
                   metadata={"dataset": "digits"}), data


def _on_the_board(network, config, x, targets, learn, readback):
    """The trials as ``LEARN`` frames to the co-simulated board top (Verilator), over UART."""
    from spikeforge.host.driver import Device
    from spikeforge.host.learning import device_learning_report
    from spikeforge.sim.cosim_device import CosimDevice

    with CosimDevice(network, learning=config) as board, \
            Device(board.url, timeout=120) as device:
        report, final, results = device_learning_report(
            device, network, config, x, targets, learn, readback=readback)
    report["sim"] = "board"
    return report, final, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--eval", type=int, default=100)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--sim", default="verilator",
                        help="verilator, icarus or amaranth (the learning core's command "
                        "stream), or board (the co-simulated board top, over its UART link)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--out", default=None, help="write the JSON here too")
    parser.add_argument("--plot", default=None, help="write the learning curve here (PNG)")
    parser.add_argument("--quick", action="store_true",
                        help="200 learning trials, checkpoints every 100, 60 test digits")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.every, args.eval = 200, 100, 60

    network, data = demo_network(args.seed)
    config = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -21)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data.y_train))
    train = np.resize(order, args.train)
    test = np.arange(args.eval)
    x_test, y_test = data.spikes("test", test), data.y_test[test]
    chunks_x, chunks_y, learn, checkpoints = [x_test], [y_test], [False] * len(test), [0]
    for start in range(0, args.train, args.every):
        index = train[start:start + args.every]
        chunks_x += [data.spikes("train", index), x_test]
        chunks_y += [data.y_train[index], y_test]
        learn += [True] * len(index) + [False] * len(test)
        checkpoints.append(start + len(index))
    x, labels = np.concatenate(chunks_x), np.concatenate(chunks_y)
    targets = class_targets(labels, 10, x.shape[1], period=4, start=4)
    readback = [False] * (len(learn) - 1) + [True]
    started = time.perf_counter()
    if args.sim == "board":
        report, _, results = _on_the_board(network, config, x, targets, learn, readback)
    else:
        report, _, results = learning_report(network, config, x, targets, learn, args.sim,
                                             traces=False, readback=readback)
    counts = np.asarray([r["counts"] for r in results])
    hit = np.argmax(counts, axis=1) == labels
    curve, position = [], 0
    for k, trained in enumerate(checkpoints):
        position += 0 if k == 0 else min(args.every, args.train - checkpoints[k - 1])
        begin = position + k * len(test)
        curve.append({"trained_trials": trained,
                      "accuracy": float(hit[begin:begin + len(test)].mean())})
    report.update({
        "benchmark": "on-chip learning (SuperSpike readout, digits)",
        "curve": curve, "chance": 0.1, "eval_samples": len(test),
        "total_seconds": round(time.perf_counter() - started, 2),
        "network": "digits 64 -> 64 LIF (fixed random) -> 10 LIF readout (learned)",
    })
    final = curve[-1]["accuracy"]
    report["summary"] = [
        {"metric": f"digits accuracy after {args.train} on-device SuperSpike trials",
         "value": round(100 * final, 1), "unit": "%", "versus": "chance (random readout)",
         "versus_value": 10.0, "ratio": round(final / 0.1, 2), "limit": None,
         "meets": None},
        {"metric": "device vs reference: " + (
            "every step's output spikes" if args.sim == "board" else "every trial's output counts")
            + ", final weights",
         "value": int(report["mismatches"]), "unit": "mismatches",
         "versus": f"{report['values_compared']} values compared", "versus_value": 0,
         "ratio": None, "limit": 0,
         "meets": report["mismatches"] == 0 and bool(report["final_weights_equal"])},
    ]
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot([c["trained_trials"] for c in curve], [c["accuracy"] for c in curve], "o-",
                label=f"device ({args.sim})")
        ax.axhline(0.1, color="gray", ls="--", label="chance")
        ax.set_xlabel("learning trials on device")
        ax.set_ylabel(f"test accuracy ({len(test)} digits)")
        ax.set_ylim(0, 1)
        ax.legend()
        ax.set_title("SuperSpike readout learning, on chip")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        plt.close(fig)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        print(f"{'trials':>7} {'accuracy':>9}")
        for point in curve:
            print(f"{point['trained_trials']:>7} {point['accuracy']:>9.1%}")
        print(f"device = reference: {report['mismatches']} mismatches in "
              f"{report['values_compared']} values, final weights equal: "
              f"{report['final_weights_equal']} ({report['total_seconds']} s)")
    return 0 if report["mismatches"] == 0 and report["final_weights_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
