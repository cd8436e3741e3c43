"""A trained digits network (64 → 128 → 10) on the co-simulated board: deploy 9,472 weights,
run test samples through ``spikeforge run --check``, outputs equal to the reference model."""

import json
import subprocess
import sys

import pytest
from spikeforge.cli.main import main
from spikeforge.model import load_network
from spikeforge.toolchain import missing_reason

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_trained_digits_network_runs_exactly_on_the_board(tmp_path, capsys):
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    netfile = tmp_path / "digits.sfn"
    train = subprocess.run([sys.executable, "-m", "spikeforge.cli.main", "train", "--dataset",
                            "digits", "--epochs", "2", "--out", str(netfile)],
                           capture_output=True, text=True)
    assert train.returncode == 0, train.stderr[-2000:]
    with CosimDevice(load_network(netfile)) as board:
        assert main(["deploy", str(netfile), "--port", board.url, "--json",
                     "--timeout", "60"]) == 0
        deployed = json.loads(capsys.readouterr().out)
        assert deployed["verified"] and deployed["weights"] == 64 * 128 + 128 * 10
        assert main(["run", "--port", board.url, "--network", str(netfile), "--input", "digits",
                     "--samples", "8", "--check", "--json", "--timeout", "60"]) == 0
        report = json.loads(capsys.readouterr().out)
    assert report["matches_reference"] is True
    assert report["counters"]["steps"] == 8 * 32
