"""snnTorch → NIR → spikeforge on digits: the accuracy an 8-bit import costs.

An snnTorch ``Synaptic`` network 64-128-10 (alpha 0.5, beta 0.875: shift-exact decays, subtract
reset, fast-sigmoid surrogate) is trained in float on the rate-coded digits, exported with
snnTorch's own ``export_to_nir``, imported with ``--weight-bits 8 --reset subtract`` and run on
the integer reference model (input padded by two steps per layer, the contract's delay). The
peer is snnTorch's own float accuracy on the same 360 test samples; the goal is a drop of at
most 1 pp.

    python benchmarks/nir_digits.py [--json] [--out FILE] [--epochs N] [--quick]
"""

import argparse
import sys
import time

import numpy as np
from common import add_output_arguments, write_result

GOAL_PP = 1.0


def train_snntorch(data, epochs, seed=0):
    import snntorch as snn
    import torch
    from snntorch import surrogate

    torch.manual_seed(seed)
    grad = surrogate.fast_sigmoid(slope=25)
    vec = lambda n, v: torch.full((n,), v)  # noqa: E731  (the exporter wants vectors)
    net = torch.nn.Sequential(
        torch.nn.Linear(data.n_in, 128, bias=False),
        snn.Synaptic(alpha=vec(128, 0.5), beta=vec(128, 0.875), threshold=vec(128, 1.0),
                     spike_grad=grad, init_hidden=True),
        torch.nn.Linear(128, data.n_classes, bias=False),
        snn.Synaptic(alpha=vec(10, 0.5), beta=vec(10, 0.875), threshold=vec(10, 1.0),
                     spike_grad=grad, init_hidden=True))

    def forward(x):
        for module in net:
            if hasattr(module, "reset_hidden"):
                module.reset_hidden()
        counts = 0
        for t in range(x.shape[1]):
            counts = counts + net(x[:, t])
        return counts

    x_train = torch.tensor(data.spikes("train"), dtype=torch.float32)
    y_train = torch.tensor(data.labels("train"))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x_train), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(forward(x_train[idx]), y_train[idx]).backward()
            opt.step()
    with torch.no_grad():
        counts = forward(torch.tensor(data.spikes("test"), dtype=torch.float32)).numpy()
    accuracy = float((counts.argmax(1) == data.labels("test")).mean())
    return net, accuracy


def import_int8(graph, data):
    """Import the NIR ``graph`` at 8 bits with subtract reset and run it on the integer reference
    over the test samples, padded by the contract's delay: ``(network, report, accuracy)``."""
    from spikeforge.compiler.nir_frontend import import_nir
    from spikeforge.model import run

    delay = 4  # two steps per layer
    network, report = import_nir(graph, weight_bits=8, reset="subtract",
                                 steps=data.encoding.steps + delay)
    x = data.spikes("test")
    x = np.concatenate([x, np.zeros((len(x), delay, x.shape[2]), x.dtype)], axis=1)
    accuracy = float((run(network, x).predict(network.readout) == data.labels("test")).mean())
    return network, report, accuracy


def measure(epochs):
    import torch
    from snntorch.export_nir import export_to_nir
    from spikeforge.datasets import load_digits

    torch.set_num_threads(2)
    data = load_digits()
    start = time.perf_counter()
    net, peer_accuracy = train_snntorch(data, epochs)
    trained = time.perf_counter() - start
    _, report, accuracy = import_int8(export_to_nir(net, torch.zeros(data.n_in)), data)
    drop = 100 * (peer_accuracy - accuracy)
    return {
        "benchmark": "nir_digits", "network": "snnTorch Synaptic 64-128-10, T=32",
        "epochs": epochs, "train_seconds": round(trained, 1),
        "snntorch_float_accuracy": peer_accuracy, "spikeforge_int8_accuracy": accuracy,
        "drop_pp": drop, "import": report,
        "summary": [{
            "metric": "digits accuracy after NIR import, 8-bit",
            "value": round(100 * accuracy, 2), "unit": "%",
            "versus": "snnTorch float, same network", "versus_value": round(100 * peer_accuracy, 2),
            "ratio": round(accuracy / peer_accuracy, 4),
            "limit": round(1 - GOAL_PP / 100 / peer_accuracy, 4), "meets": drop <= GOAL_PP}],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="3 epochs (smoke test)")
    args = parser.parse_args(argv)
    result = measure(3 if args.quick else args.epochs)
    write_result(result, args.out, args.json, default=float)
    if not args.json:
        print(f"snnTorch float {result['snntorch_float_accuracy']:.2%} → NIR → spikeforge int8 "
              f"{result['spikeforge_int8_accuracy']:.2%}: drop {result['drop_pp']:+.2f} pp "
              f"(goal ≤ {GOAL_PP} pp)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
