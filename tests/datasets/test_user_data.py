"""A user's own dataset, start to finish with no code written: a synthetic ``.npz`` of a shape no
built-in dataset has (40 channels, T = 50, 3 classes) is checked, trained on, evaluated,
co-simulated on the RTL and run on a co-simulated board; and the documented torch-loop example
runs as written."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import load_network
from spikeforge.toolchain import missing_reason

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHANNELS, STEPS, CLASSES = 40, 50, 3


def make_dataset(path, seed=0, channels=CHANNELS, classes=CLASSES, n_train=240, n_test=60):
    """Each class fires its own block of channels at rate 0.25, the rest at 0.02."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, classes, n)
        rates = np.full((classes, channels), 0.02)
        for k in range(classes):
            rates[k, k * (channels // classes):(k + 1) * (channels // classes)] = 0.25
        return (rng.random((n, STEPS, channels)) < rates[y][:, None, :]).astype(np.uint8), y

    (x_train, y_train), (x_test, y_test) = split(n_train), split(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return x_test, y_test


def _json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _refused(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(re.escape(message), err), err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_data")
    data, net = folder / "mine.npz", folder / "mine.sfn"
    make_dataset(data)
    assert main(["train", "--data", str(data), "--hidden", "16", "--epochs", "8", "--theta", "1",
                 "--out", str(net), "--json"]) == 0
    return data, net


def test_dataset_trains_evaluates_and_cosimulates_without_code(trained, capsys):
    data, net = trained
    described = _json(capsys, ["data", str(data), "--json"])
    assert (described["channels"], described["steps"], described["classes"]) == (40, 50, 3)
    assert described["train"]["samples"] == 240 and described["test"]["samples"] == 60

    network = load_network(net)
    assert network.n_in == 40 and network.steps == 50 and network.layers[-1].params.n == 3
    assert network.metadata["dataset"] == "mine.npz"
    assert network.metadata["accuracy"]["int"] > 0.9  # chance is 1/3

    report = _json(capsys, ["eval", str(net), "--json"])  # the data is found through the file
    assert report["dataset"] == "mine.npz" and report["samples"] == 60
    assert report["int_accuracy"] == network.metadata["accuracy"]["int"]
    assert report["agreement"] == 1.0

    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    report = _json(capsys, ["cosim", str(net), "--samples", "3", "--json"])
    assert report["stimulus"] == "mine.npz test samples"
    assert report["mismatches"] == 0 and report["cycle_mismatches"] == 0
    assert report["neuron_steps_compared"] == 3 * 50 * (16 + 3)


@pytest.mark.sim
def test_dataset_runs_on_a_cosimulated_board(trained, capsys):
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    data, net = trained
    with CosimDevice(load_network(net), divisor=4) as board:
        assert main(["deploy", str(net), "--port", board.url, "--timeout", "60"]) == 0
        capsys.readouterr()
        report = _json(capsys, ["run", "--port", board.url, "--network", str(net), "--input",
                                str(data), "--samples", "2", "--check", "--json",
                                "--timeout", "60"])
    assert report["samples"] == 2 and report["matches_reference"] is True
    labels = np.load(data)["y_test"][:2]
    assert report["accuracy"] == float(np.mean(np.asarray(report["predictions"]) == labels))


@pytest.mark.hostile
def test_data_that_does_not_fit_the_network_is_refused(trained, tmp_path, capsys):
    data, net = trained
    make_dataset(tmp_path / "narrow.npz", channels=20)
    _refused(capsys, ["eval", str(net), "--data", str(tmp_path / "narrow.npz")],
             "narrow.npz has 20 channels but the network takes 40 inputs")
    make_dataset(tmp_path / "more.npz", classes=5)
    _refused(capsys, ["cosim", str(net), "--data", str(tmp_path / "more.npz")],
             "more.npz has label 4 but the network's output layer has 3 neurons")
    np.savez(tmp_path / "bad.npz", x=np.full((4, 50, 40), 2, np.uint8), y=np.arange(4) % 2)
    _refused(capsys, ["train", "--data", str(tmp_path / "bad.npz"), "--epochs", "1", "--out",
                      str(tmp_path / "n.sfn")], "argument --data: bad.npz: x holds values other")
    assert not (tmp_path / "n.sfn").exists()
    _refused(capsys, ["train", "--data", str(data), "--dataset", "digits", "--out",
                      str(tmp_path / "n.sfn")], "give either --dataset (built-in) or --data")


@pytest.mark.hostile
def test_a_changed_data_file_is_not_used_silently(trained, tmp_path, capsys):
    data, net = trained
    copy = tmp_path / "mine.npz"
    copy.write_bytes(data.read_bytes())
    network = load_network(net)
    network.metadata["data_file"] = str(copy)
    from spikeforge.model import save_network

    moved = save_network(network, tmp_path / "moved.sfn")
    assert _json(capsys, ["eval", str(moved), "--json"])["agreement"] == 1.0
    make_dataset(copy, seed=5)
    _refused(capsys, ["eval", str(moved)], "mine.npz has changed since the network was trained")
    assert _json(capsys, ["eval", str(moved), "--data", str(copy), "--json"])["samples"] == 60


def test_documented_torch_loop_runs_as_written(tmp_path, capsys, monkeypatch):
    text = (DOCS / "training.md").read_text()
    section = text[text.index("## Your own data, your own training loop"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 25
    monkeypatch.chdir(tmp_path)
    make_dataset(tmp_path / "mine.npz")
    exec(compile(code, "docs/training.md", "exec"), {"__name__": "docs_example"})
    assert os.path.exists("mine.sfn")
    report = _json(capsys, ["eval", "mine.sfn", "--json"])
    assert report["dataset"] == "mine.npz" and report["agreement"] == 1.0
    assert report["int_accuracy"] > 0.9
