"""``spikeforge train --tau-mem/--tau-syn``: time constants fitted to multi-term decays, reported
per layer, written to the network file, and evaluated exactly (torch = reference)."""

import json
import subprocess
import sys

import pytest
from spikeforge.model import load_network


def spikeforge(*argv):
    proc = subprocess.run(
        [sys.executable, "-m", "spikeforge.cli.main", *argv], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise AssertionError(f"spikeforge {' '.join(argv)} failed:\n{proc.stderr}")
    return proc


def test_tau_mem_trains_a_multi_term_decay_that_evaluates_exactly(tmp_path):
    out = tmp_path / "tau.sfn"
    proc = spikeforge("train", "--dataset", "digits", "--epochs", "1", "--hidden", "16",
                      "--steps", "8", "--tau-mem", "25", "--tau-syn", "3", "--out", str(out),
                      "--json")
    report = json.loads(proc.stdout)
    network = load_network(out)
    # d = 1/25 = 0.04 = 2^-5 + 2^-7 + 2^-10 (0.1 % off); one term would be 2^-5, 28 % off
    assert [ly.params.k_mem.to_json() for ly in network.layers] == [[5, 7, 10]] * 2
    assert all(not ly.params.k_syn.single for ly in network.layers)  # 1/3: needs > 1 term
    assert [entry["layer"] for entry in report["decays"]] == [ly.name for ly in network.layers]
    mem = report["decays"][0]["k_mem"]
    assert mem["terms"] == [5, 7, 10] and mem["n_terms"] == 3 and mem["tau"] == 25
    assert mem["realized_tau"] == pytest.approx(1 / (2**-5 + 2**-7 + 2**-10), rel=1e-12)
    assert abs(mem["tau_error"]) <= 0.01
    syn = report["decays"][0]["k_syn"]
    assert abs(syn["d_error"]) <= 0.01
    result = json.loads(spikeforge("eval", str(out), "--json").stdout)
    assert result["agreement"] == 1.0
    assert result["agreeing_samples"] == result["samples"] > 0
    assert result["int_accuracy"] == report["int_test_accuracy"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tau-mem", "0"], "--tau-mem must be a positive finite number, not 0.0"),
        (["--tau-mem", "-3"], "--tau-mem must be a positive finite number, not -3.0"),
        (["--tau-syn", "nan"], "--tau-syn must be a positive finite number, not nan"),
        (["--tau-mem", "25", "--max-decay-terms", "1", "--decay-tolerance", "0.05"],
         "--tau-mem: no decay of at most 1 term(s) is within 5.00% of d = 0.04"),
        (["--tau-mem", "25", "--max-decay-terms", "5"], ("--max-decay-terms", "1..4", "5")),
        (["--tau-mem", "25", "--decay-tolerance", "-1"], ("--decay-tolerance", "-1")),
        (["--tau-mem", "25", "--k-mem", "3"], "give either --k-mem or --tau-mem, not both"),
        (["--k-mem", "3", "3"], "--k-mem: decay shifts must be strictly increasing"),
    ],
)
def test_bad_decay_options_are_refused_and_nothing_is_written(tmp_path, capsys, argv, message):
    from spikeforge.cli.main import main

    out = tmp_path / "x.sfn"
    assert main(["train", "--epochs", "1", *argv, "--out", str(out)]) == 2
    stderr = capsys.readouterr().err
    for fragment in (message,) if isinstance(message, str) else message:
        assert fragment in stderr
    assert not out.exists()
