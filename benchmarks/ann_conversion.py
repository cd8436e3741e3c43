"""ANN→SNN conversion with Spike-Norm on digits: SNN accuracy vs time steps T against the ANN.

A bias-free ReLU MLP 64-128-10 is trained once; for every T it is converted (Spike-Norm
thresholds on 200 training samples, 8-bit weights, IF neurons with reset by subtraction, LI
membrane-sum readout) and the integer reference model is evaluated on the 360 test samples. The
peer is the ANN itself; the bar is an accuracy drop of at most 2 pp at some T.

    python benchmarks/ann_conversion.py [--json] [--out FILE] [--plot FILE] [--quick]
"""

import argparse
import sys
import time

from common import add_output_arguments, write_result

BAR_PP = 2.0


def measure(steps_list, epochs):
    from spikeforge.compiler.frontends.ann import convert_mlp, train_relu_mlp
    from spikeforge.datasets import load_digits
    from spikeforge.model import run

    model, ann_accuracy = train_relu_mlp(load_digits(), epochs=epochs)
    rows = []
    for steps in steps_list:
        start = time.perf_counter()
        data = load_digits(steps=steps)
        network, thresholds = convert_mlp(model, data.encoding, data.x_train[:200])
        trace = run(network, data.spikes("test"))
        accuracy = float((trace.predict(network.readout) == data.labels("test")).mean())
        rows.append({"steps": steps, "snn_accuracy": accuracy, "thresholds": thresholds,
                     "drop_pp": 100 * (ann_accuracy - accuracy),
                     "seconds": round(time.perf_counter() - start, 2)})
    best = min(rows, key=lambda r: (r["drop_pp"], r["steps"]))
    return {
        "benchmark": "ann_conversion", "dataset": "digits", "network": "64-128-10 ReLU → IF",
        "ann_accuracy": ann_accuracy, "epochs": epochs, "rows": rows, "bar_pp": BAR_PP,
        "summary": [{
            "metric": f"ANN→SNN digits accuracy (Spike-Norm, best T = {best['steps']})",
            "value": round(100 * best["snn_accuracy"], 2), "unit": "%",
            "versus": "the ANN converted", "versus_value": round(100 * ann_accuracy, 2),
            "ratio": round(best["snn_accuracy"] / ann_accuracy, 4),
            "limit": round(1 - BAR_PP / 100 / ann_accuracy, 4),
            "meets": best["drop_pp"] <= BAR_PP}],
    }


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    steps = [r["steps"] for r in result["rows"]]
    ax.plot(steps, [100 * r["snn_accuracy"] for r in result["rows"]], "o-", label="SNN (int8)")
    ax.axhline(100 * result["ann_accuracy"], color="k", ls="--", label="ANN")
    ax.axhline(100 * result["ann_accuracy"] - BAR_PP, color="r", ls=":", label="ANN − 2 pp")
    ax.set(xscale="log", xlabel="time steps T", ylabel="test accuracy (%)",
           title="digits: ANN→SNN with Spike-Norm")
    ax.set_xticks(steps, [str(s) for s in steps])
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(result):
    lines = [f"ANN (ReLU MLP) test accuracy {result['ann_accuracy']:.2%}",
             f"{'T':>5} {'SNN acc':>8} {'drop':>8} {'θ':>8}"]
    for r in result["rows"]:
        lines.append(f"{r['steps']:>5} {r['snn_accuracy']:>8.2%} {r['drop_pp']:>+7.2f}pp "
                     f"{r['thresholds'][0]:>8}")
    lines.append(f"bar: drop ≤ {BAR_PP} pp at some T — met: {result['summary'][0]['meets']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--plot", default=None, help="write the accuracy-vs-T plot (PNG)")
    parser.add_argument("--quick", action="store_true", help="T = 16, 32 and 10 ANN epochs")
    args = parser.parse_args(argv)
    steps = (16, 32) if args.quick else (8, 16, 32, 64, 128)
    result = measure(steps, 10 if args.quick else 40)
    if args.plot:
        plot(result, args.plot)
        result["plot"] = args.plot
    write_result(result, args.out, args.json)
    if not args.json:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
