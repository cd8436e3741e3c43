"""Training throughput: spikeforge vs snnTorch on the same network, data and batch size.

Both train a 64-128-10 current-based LIF network (snnTorch ``Synaptic``, α = 0.5, β = 0.875,
fast-sigmoid surrogate, slope 25) on scikit-learn digits rate-coded over T = 32 steps, batch 64,
Adam, BPTT, on the CPU with the same thread count, measured in alternating rounds in one run.
spikeforge's forward pass is the exact integer semantics (8-bit weights); snnTorch's is float.

    python benchmarks/train_throughput.py [--json] [--out FILE] [--epochs N] [--threads N]
"""

import argparse
import sys
import time

import numpy as np
import torch
from common import add_output_arguments, write_result

GOAL, STRETCH = 1.0, 2.0


def spikeforge_epoch_fn(dataset, batch_size, seed):
    from spikeforge.model.training.trainer import TrainConfig, build_network, train_epoch

    config = TrainConfig(seed=seed, batch_size=batch_size)
    net = build_network(dataset.n_in, dataset.n_classes, dataset.encoding, config)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    x = torch.as_tensor(dataset.spikes("train"), dtype=net.dtype)
    y = torch.as_tensor(dataset.labels("train"))
    rng = np.random.default_rng(seed)
    return lambda: train_epoch(net, opt, x, y, batch_size, rng)


def snntorch_epoch_fn(dataset, batch_size, seed):
    import snntorch as snn
    from snntorch import surrogate
    from torch import nn

    torch.manual_seed(seed)
    grad = surrogate.fast_sigmoid(slope=25)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(64, 128), nn.Linear(128, 10)
            self.lif1 = snn.Synaptic(alpha=0.5, beta=0.875, spike_grad=grad)
            self.lif2 = snn.Synaptic(alpha=0.5, beta=0.875, spike_grad=grad)

        def forward(self, x):  # x: (T, batch, 64)
            syn1, mem1 = self.lif1.init_synaptic()
            syn2, mem2 = self.lif2.init_synaptic()
            counts = 0
            for step in range(x.shape[0]):
                spk1, syn1, mem1 = self.lif1(self.fc1(x[step]), syn1, mem1)
                spk2, syn2, mem2 = self.lif2(self.fc2(spk1), syn2, mem2)
                counts = counts + spk2
            return counts

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.as_tensor(dataset.spikes("train"), dtype=torch.float32).transpose(0, 1)
    y = torch.as_tensor(dataset.labels("train"))
    rng = np.random.default_rng(seed)

    def epoch():
        order = torch.as_tensor(rng.permutation(x.shape[1]))
        for first in range(0, len(order), batch_size):
            idx = order[first : first + batch_size]
            loss = loss_fn(net(x[:, idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return epoch


def measure(epochs=3, threads=2, batch_size=64, seed=0):
    from spikeforge.datasets import load_digits

    torch.set_num_threads(threads)
    dataset = load_digits()
    runners = {"spikeforge": spikeforge_epoch_fn(dataset, batch_size, seed)}
    peer_error = None
    try:
        runners["snntorch"] = snntorch_epoch_fn(dataset, batch_size, seed)
    except ImportError as exc:
        peer_error = f"snnTorch not installed ({exc}); install the 'peers' extra"
    seconds = {name: [] for name in runners}
    for epoch in runners.values():  # warm-up epoch each, not timed
        epoch()
    for _ in range(epochs):  # alternate so both see the same machine load
        for name, epoch in runners.items():
            start = time.perf_counter()
            epoch()
            seconds[name].append(time.perf_counter() - start)
    n = len(dataset.y_train)
    result = {
        "network": "64-128-10 CuBa-LIF, T=32, digits",
        "batch_size": batch_size,
        "threads": threads,
        "epochs_timed": epochs,
        "samples_per_second": {k: n / float(np.median(v)) for k, v in seconds.items()},
        "peer_error": peer_error,
        "goal_ratio": GOAL,
        "stretch_ratio": STRETCH,
    }
    sps = result["samples_per_second"]
    row = {"metric": "training samples/s (digits, batch 64)", "value": round(sps["spikeforge"]),
           "unit": "samples/s", "versus": "snnTorch, same network and data", "limit": GOAL}
    if "snntorch" in seconds:
        result["ratio"] = sps["spikeforge"] / sps["snntorch"]
        result["meets_goal"] = result["ratio"] >= GOAL
        row.update(versus_value=round(sps["snntorch"]), ratio=round(result["ratio"], 2),
                   meets=result["meets_goal"])
    else:
        row.update(versus_value=None, ratio=None, meets=None)
    result["summary"] = [row]
    return result


def table(result):
    lines = [
        f"training throughput — {result['network']}, batch {result['batch_size']}, "
        f"{result['threads']} threads",
        f"{'trainer':<12} {'samples/s':>10}",
    ]
    for name, sps in result["samples_per_second"].items():
        lines.append(f"{name:<12} {sps:>10.0f}")
    if "ratio" in result:
        lines.append(
            f"ratio spikeforge/snnTorch: {result['ratio']:.2f} (goal ≥ {GOAL}, stretch ≥ {STRETCH})"
        )
    else:
        lines.append(result["peer_error"])
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    result = measure(args.epochs, args.threads)
    write_result(result, args.out, args.json)
    if not args.json:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
