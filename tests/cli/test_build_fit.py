"""``spikeforge build`` refuses a network the board cannot hold before anything is synthesized:
the compiler's fit check names the largest memory and its layer, and nothing is written."""

import numpy as np
from spikeforge.model import Layer, LayerParams, Network, RateEncoding, save_network


def test_a_network_too_large_for_the_board_is_refused_before_synthesis(tmp_path, capsys):
    from spikeforge.cli.main import main

    rng = np.random.default_rng(0)
    big = Layer(LayerParams(64, 1024), rng.integers(-9, 9, (1024, 64)), name="wide")
    out = Layer(LayerParams(1024, 10), rng.integers(-9, 9, (10, 1024)), name="out")
    netfile = save_network(Network((big, out), RateEncoding(8, 16)), tmp_path / "big.sfn")
    assert main(["build", str(netfile), "--board", "icebreaker", "--out",
                 str(tmp_path / "ice")]) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "the network does not fit icebreaker" in message
    assert "Largest memory: weights of layer 'wide'" in message
    assert not (tmp_path / "ice").exists()
