"""``spikeforge train --arch``: a convolutional network trained on digits' 8×8 map, written as a
version-3 network file whose torch and reference predictions agree sample for sample; a bad spec
is refused before training and nothing is written."""

import json
import subprocess
import sys

import pytest
from spikeforge.model import Conv2d, load_network


def test_arch_trains_a_cnn_that_evaluates_exactly(tmp_path):
    out = tmp_path / "cnn.sfn"
    proc = subprocess.run(
        [sys.executable, "-m", "spikeforge.cli.main", "train", "--arch", "c4k3-p2-c8k3-p2-d10",
         "--epochs", "1", "--steps", "8", "--augment", "1", "--weight-decay", "0.05",
         "--out", str(out), "--json"],
        capture_output=True, text=True, check=True)
    report = json.loads(proc.stdout)
    network = load_network(out)
    conns = [ly.connectivity for ly in network.layers]
    assert conns[0].conv == Conv2d(4, 3, 1, 1) and conns[0].input_shape == (1, 8, 8)
    assert conns[1].pool == 2 and conns[1].conv == Conv2d(8, 3, 1, 1)
    assert conns[2].pool == 2 and conns[2].conv is None
    assert [ly.params.n for ly in network.layers] == [256, 128, 10]
    # kernels 4·9 + 8·4·9, dense 10·(8·2·2); unrolled: 256·64 + 128·256 + 10·128
    assert report["weight_words"] == 36 + 288 + 320
    assert report["weight_words_unrolled"] == 256 * 64 + 128 * 256 + 10 * 128
    assert network.metadata["train_config"]["theta"] == 2.0  # the convolutional defaults
    assert network.metadata["train_config"]["slope"] == 5.0
    assert network.metadata["train_config"]["input_shape"] == [1, 8, 8]
    assert network.metadata["train_config"]["augment"] == 1
    assert network.metadata["train_config"]["weight_decay"] == 0.05
    assert "conv 4×3×3 stride 1 padding 1 on 1×8×8 → 4×8×8" in report["layers"][0]
    result = subprocess.run([sys.executable, "-m", "spikeforge.cli.main", "eval", str(out),
                             "--json"], capture_output=True, text=True, check=True)
    result = json.loads(result.stdout)
    assert result["agreement"] == 1.0
    assert result["int_accuracy"] == report["int_test_accuracy"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--arch", "c4k3-p2-d9"], "must end with the output layer d10"),
    (["--arch", "c4q3-d10"], "token 1 ('c4q3') is not"),
    (["--arch", "c4k3-d10", "--input-shape", "1", "8", "9"], "has 72 inputs but the data has 64"),
    (["--arch", "c4k3-p16-d10"], "a pooling window of 16 does not fit the 8×8"),
    (["--dataset", "randman", "--augment", "1"], "are not integer images of a known (C, H, W)"),
    (["--weight-decay", "-0.1"], "--weight-decay: must be a finite number"),
])
def test_bad_arch_is_refused_before_training(tmp_path, capsys, argv, message):
    from spikeforge.cli.main import main

    out = tmp_path / "bad.sfn"
    assert main(["train", *argv, "--epochs", "1", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
