"""8-bit quantization on import: an snnTorch digits network trained in float, exported to NIR
and imported at 8 bits loses at most 1 pp of test accuracy against snnTorch's own float run.

The network is snnTorch ``Synaptic`` 64-128-10 with alpha 0.5 and beta 0.875 (shift-exact
decays, so only the weights are rounded), subtract reset; the integer network gets two more
steps per layer (the contract's delay). Training and import are those of
``benchmarks/nir_digits.py``, which reports the same figure. The measured drop is printed
(``pytest -s``).
"""

import sys
from pathlib import Path

import pytest
from spikeforge.datasets import load_digits

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install -e .[peers]")
export_nir = pytest.importorskip("snntorch.export_nir",
                                 reason="snnTorch's NIR export needs nirtorch").export_to_nir

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from nir_digits import import_int8, train_snntorch  # noqa: E402  (the benchmark's own steps)


@pytest.mark.peers
def test_eight_bit_import_costs_at_most_one_point_on_digits():
    data = load_digits()
    net, peer = train_snntorch(data, epochs=20)
    _, report, ours = import_int8(export_nir(net, torch.zeros(data.n_in)), data)
    assert all(abs(ly["decays"][k]["factor_error"]) < 1e-6  # float32 beta = 0.875
               for ly in report["layers"] for k in ("syn", "mem"))
    assert all(0 < ly["weight_rounding_max_error"] <= 0.5 for ly in report["layers"])
    drop = 100 * (peer - ours)
    print(f"\nsnnTorch float {peer:.2%} → NIR → spikeforge int8 {ours:.2%}: drop {drop:+.2f} pp")
    assert peer > 0.9
    assert drop <= 1.0
