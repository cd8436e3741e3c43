"""``spikeforge learn``: JSON report, exactness, and clear errors."""

import json

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind, save_network
from spikeforge.model.encoding import SpikeEncoding


@pytest.fixture
def netfile(tmp_path):
    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(4, 4, kind=NeuronKind.ALIF, recurrent=True, theta=40, k_adapt=2,
                               adapt_jump=9, trace_format=IntFormat(10, signed=False)),
                   rng.integers(-10, 60, (4, 4)), recurrent=rng.integers(-10, 10, (4, 4)))
    out = Layer(LayerParams(4, 2, theta=40), rng.integers(-10, 60, (2, 4)))
    path = tmp_path / "net.sfn"
    save_network(Network((hidden, out), SpikeEncoding(6)), path)
    return path


def test_learn_json_on_amaranth(netfile, capsys, tmp_path):
    out = tmp_path / "learned.sfn"
    code = main(["learn", str(netfile), "--rule", "eprop", "--sim", "amaranth", "--json",
                 "--samples", "2", "--learning-rate", "2^-6", "--out", str(out)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["mismatches"] == 0 and report["values_compared"] > 0
    assert report["final_weights_equal"] and report["rule"] == "eprop"
    assert out.exists()


@pytest.mark.parametrize("args, message", [
    (["--rule", "superspike", "--layers", "0"], "superspike does not support ALIF"),
    (["--rule", "eprop", "--learning-rate", "0.01"], "power of two"),
    (["--rule", "eprop", "--layers", "x"], "comma-separated"),
])
def test_learn_errors(netfile, capsys, args, message):
    assert main(["learn", str(netfile), "--sim", "amaranth", *args]) == 2
    assert message in capsys.readouterr().err


def test_learn_json_on_the_co_simulated_board(netfile, capsys, tmp_path):
    """The whole board top, over its UART host link: LEARN frames, read-back of the recurrent
    ALIF layer's weights, every output spike, after every trial."""
    from spikeforge.toolchain import missing_reason

    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    out = tmp_path / "learned.sfn"
    code = main(["learn", str(netfile), "--rule", "eprop", "--sim", "board", "--json",
                 "--samples", "3", "--learning-rate", "2^-6", "--out", str(out)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["first_mismatch"]
    assert report["sim"] == "board" and report["mismatches"] == 0
    assert report["weights_compared_after_trials"] == 3 and report["final_weights_equal"]
    rows = 4 * 8 + 2 * 4  # hidden: W and V; output: W
    assert report["values_compared"] == 3 * (rows + 2 + 6 * 2)
    assert report["device_trials"] == 3
    assert out.exists()
