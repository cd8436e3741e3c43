"""Integer test accuracy on digits against weight width, with the snnTorch float baseline as peer.

Trains the 64-128-10 network at each width (quantization-aware, exact integer forward) and
evaluates it with the NumPy reference. The peer is the measured float snnTorch ``Synaptic``
baseline on the same split (96.7 ± 0.8 %), which the 8-bit network must reach.

    python benchmarks/accuracy_bits.py [--bits 8 4 3] [--epochs 30] [--json] [--out FILE]
"""

import argparse
import sys
import time

from common import add_output_arguments, write_result

BASELINE = 0.967  # snnTorch Synaptic 64-128-10, T=32, float (shared/TOOLCHAIN.md)


def measure(bits_list=(8, 4), epochs=30, seed=0):
    import torch
    from spikeforge.datasets import load_digits
    from spikeforge.model import run
    from spikeforge.model.training.trainer import TrainConfig, train

    torch.set_num_threads(2)
    data = load_digits()
    rows = []
    for bits in bits_list:
        start = time.perf_counter()
        net, history = train(data, TrainConfig(weight_bits=bits, epochs=epochs, seed=seed))
        network = net.to_network()
        accuracy = float(
            (
                run(network, data.spikes("test")).predict(network.readout) == data.labels("test")
            ).mean()
        )
        rows.append(
            {
                "weight_bits": bits,
                "int_accuracy": accuracy,
                "torch_accuracy": history[-1]["test_accuracy"],
                "curve": [m["test_accuracy"] for m in history],
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    summary = [
        {"metric": f"digits integer accuracy, {row['weight_bits']}-bit weights",
         "value": round(row["int_accuracy"] * 100, 2), "unit": "%",
         "versus": "snnTorch float Synaptic", "versus_value": BASELINE * 100,
         "ratio": round(row["int_accuracy"] / BASELINE, 3), "limit": 1.0,
         "meets": row["int_accuracy"] >= BASELINE}
        for row in rows
    ]
    return {
        "dataset": "digits",
        "network": "64-128-10 LIF, T=32",
        "epochs": epochs,
        "baseline_float_snntorch": BASELINE,
        "rows": rows,
        "summary": summary,
    }


def table(result):
    lines = [
        f"digits integer accuracy vs weight bits ({result['network']}, "
        f"{result['epochs']} epochs); peer: snnTorch float {result['baseline_float_snntorch']:.1%}",
        f"{'bits':>4} {'int acc':>8} {'Δ vs peer':>10} {'time':>7}",
    ]
    for row in result["rows"]:
        delta = row["int_accuracy"] - result["baseline_float_snntorch"]
        lines.append(
            f"{row['weight_bits']:>4} {row['int_accuracy']:>8.2%} {delta * 100:>+9.1f}pp "
            f"{row['seconds']:>6.1f}s"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    parser.add_argument("--epochs", type=int, default=30)
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    result = measure(args.bits, args.epochs)
    write_result(result, args.out, args.json)
    if not args.json:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
