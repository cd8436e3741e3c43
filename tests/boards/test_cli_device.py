"""``spikeforge deploy`` and ``spikeforge run`` as a user runs them, against the co-simulated
board (its pyserial ``socket://`` URL stands in for ``/dev/ttyUSB1``)."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import run, save_network

from .networks import small_network

pytestmark = pytest.mark.sim


def _cli(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_deploy_then_run_reports_reference_outputs(board, tmp_path, capsys):
    netfile = save_network(small_network(2), tmp_path / "b.sfn")
    status, out, err = _cli(capsys, "deploy", str(netfile), "--port", board.url, "--json")
    assert status == 0, err
    summary = json.loads(out)
    assert summary["verified"] and summary["weights"] == 144
    x = (np.random.default_rng(9).random((3, 8, 8)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    status, out, err = _cli(capsys, "run", "--port", board.url, "--network", str(netfile),
                            "--input", str(tmp_path / "x.npy"), "--check", "--json")
    assert status == 0, err
    report = json.loads(out)
    assert report["matches_reference"] is True
    reference = run(small_network(2), x)
    assert report["predictions"] == reference.predict(small_network(2).readout).tolist()
    assert report["counters"]["steps_sent"] == report["counters"]["steps"]


def test_deploy_of_a_mismatched_network_is_a_clear_error(board, tmp_path, capsys):
    netfile = save_network(small_network(3, n_hidden=16), tmp_path / "c.sfn")
    status, _, err = _cli(capsys, "deploy", str(netfile), "--port", board.url)
    assert status == 2
    assert "does not match the bitstream" in err and "n is 12 in the bitstream but 16" in err


def test_run_refuses_weights_that_were_not_deployed(board, tmp_path, capsys):
    netfile = save_network(small_network(4), tmp_path / "d.sfn")
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8), np.uint8))
    status, _, err = _cli(capsys, "run", "--port", board.url, "--network", str(netfile),
                          "--input", str(tmp_path / "x.npy"))
    assert status == 2 and "spikeforge deploy" in err
