"""8-bit quantization on import: an snnTorch digits network trained in float, exported to NIR
and imported at 8 bits loses at most 1 pp of test accuracy against snnTorch's own float run.

The network is snnTorch ``Synaptic`` 64-128-10 with alpha 0.5 and beta 0.875 (shift-exact
decays, so only the weights are rounded), subtract reset; the integer network gets two more
steps per layer (the contract's delay). The measured drop is printed (``pytest -s``).
"""

import numpy as np
import pytest
from spikeforge.compiler.frontends.nir import import_nir
from spikeforge.datasets import load_digits
from spikeforge.model import run

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir


def train_snntorch(data, epochs, seed=0):
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

    def counts(x):
        for module in net:
            if hasattr(module, "reset_hidden"):
                module.reset_hidden()
        total = 0
        for t in range(x.shape[1]):
            total = total + net(x[:, t])
        return total

    x = torch.tensor(data.spikes("train"), dtype=torch.float32)
    y = torch.tensor(data.labels("train"))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(counts(x[idx]), y[idx]).backward()
            opt.step()
    with torch.no_grad():
        out = counts(torch.tensor(data.spikes("test"), dtype=torch.float32)).numpy()
    return net, float((out.argmax(1) == data.labels("test")).mean())


@pytest.mark.peers
def test_eight_bit_import_costs_at_most_one_point_on_digits():
    data = load_digits()
    net, peer = train_snntorch(data, epochs=20)
    graph = export_nir(net, torch.zeros(data.n_in))
    delay = 4  # two steps per layer
    network, report = import_nir(graph, weight_bits=8, reset="subtract",
                                 steps=data.encoding.steps + delay)
    assert all(abs(ly["decays"][k]["factor_error"]) < 1e-6  # float32 beta = 0.875
               for ly in report["layers"] for k in ("syn", "mem"))
    assert all(0 < ly["weight_rounding_max_error"] <= 0.5 for ly in report["layers"])
    x = data.spikes("test")
    x = np.concatenate([x, np.zeros((len(x), delay, x.shape[2]), x.dtype)], axis=1)
    ours = float((run(network, x).predict(network.readout) == data.labels("test")).mean())
    drop = 100 * (peer - ours)
    print(f"\nsnnTorch float {peer:.2%} → NIR → spikeforge int8 {ours:.2%}: drop {drop:+.2f} pp")
    assert peer > 0.9
    assert drop <= 1.0
