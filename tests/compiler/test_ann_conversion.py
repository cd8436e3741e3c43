"""ANN→SNN with Spike-Norm: within 2 pp of the ANN on digits, exact in hardware, clear errors."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler.frontends.ann import ConversionError, convert_mlp, train_relu_mlp
from spikeforge.datasets import load_digits
from spikeforge.model import NeuronKind, Readout, load_network, run

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def converted():
    data = load_digits(steps=32)
    model, ann_accuracy = train_relu_mlp(data, epochs=40)
    network, thresholds = convert_mlp(model, data.encoding, data.x_train[:200])
    return data, model, ann_accuracy, network, thresholds


def test_converted_snn_is_within_two_points_of_the_ann(converted):
    data, _, ann_accuracy, network, thresholds = converted
    accuracy = (run(network, data.spikes("test")).predict(network.readout)
                == data.labels("test")).mean()
    assert ann_accuracy > 0.95
    assert accuracy >= ann_accuracy - 0.02
    hidden, out = network.layers
    assert hidden.params.kind is NeuronKind.IF and hidden.params.theta == thresholds[0]
    assert out.params.kind is NeuronKind.LI and network.readout is Readout.MEMBRANE_SUM


def test_spike_norm_threshold_is_the_largest_drive(converted):
    """No calibration sample drives a hidden neuron above its threshold in one step."""
    data, _, _, network, thresholds = converted
    x = data.spikes("train", np.arange(200)).astype(np.int64)
    drive = np.einsum("btj,ij->bti", x, network.layers[0].weight.astype(np.int64))
    assert drive.max() == thresholds[0]


@pytest.mark.sim
def test_converted_network_is_exact_in_hardware(converted):
    from spikeforge.sim.cosim import cosim_report
    from spikeforge.toolchain import missing_reason

    if missing_reason("icarus"):
        pytest.skip(missing_reason("icarus"))
    data, _, _, network, _ = converted
    report = cosim_report(network, data.spikes("test", np.arange(1)), "icarus", lanes=2)
    assert report["mismatches"] == 0 and report["cycle_mismatches"] == 0


@pytest.mark.parametrize("model,message", [
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                 torch.nn.Linear(3, 2, bias=False)), "has a bias"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False),
                                 torch.nn.Linear(3, 2, bias=False)), "need a ReLU"),
    (lambda: torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)), "Conv1d"),
    (lambda: torch.nn.Linear(4, 3, bias=False), "Sequential"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.ReLU()),
     "end with a Linear"),
])
def test_unsupported_models_are_refused(model, message):
    data = load_digits(steps=4)
    with pytest.raises(ConversionError, match=message):
        convert_mlp(model(), data.encoding, data.x_train[:4])


def test_convert_cli_writes_a_network_file(tmp_path, capsys):
    out = tmp_path / "conv.sfn"
    assert main(["convert", "--steps", "16", "--epochs", "10", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    network = load_network(out)
    assert network.steps == 16 and network.metadata["accuracy"]["int"] == report["snn_accuracy"]
    assert report["snn_accuracy"] > 0.9


def test_convert_cli_refuses_an_unloadable_model(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"garbage")
    assert main(["convert", "--model", str(bad), "--out", str(tmp_path / "x.sfn")]) == 2
    assert "cannot load a torch model" in capsys.readouterr().err
    assert not (tmp_path / "x.sfn").exists()
