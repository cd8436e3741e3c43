"""``compile``: passes, emitted design folder, fit errors, lint, and the cycle prediction the
co-simulated RTL must meet."""

import json
import subprocess

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler.emit import compile_network
from spikeforge.compiler.resources import FitError
from spikeforge.compiler.targets import get_target
from spikeforge.model import IntFormat, Layer, LayerParams, Network, load_network, save_network
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.sim.random_networks import random_network


def dense(n_in, n, bits=8, seed=0):
    rng = np.random.default_rng(seed)
    params = LayerParams(n_in=n_in, n=n, weight_format=IntFormat(bits))
    lim = 1 << (bits - 1)
    return Layer(params, rng.integers(-lim, lim, (n, n_in)), name=f"l{n_in}x{n}")


@pytest.fixture(scope="module")
def digits_network():
    """The digits network of the demo, trained for one epoch (the compiler does not care)."""
    from spikeforge.datasets import load_digits
    from spikeforge.model.training.trainer import TrainConfig, train

    data = load_digits()
    net, _ = train(data, TrainConfig(epochs=1))
    return net.to_network(), data


def test_compile_writes_the_design_folder(tmp_path, digits_network, capsys):
    network, _ = digits_network
    netfile = tmp_path / "d.sfn"
    save_network(network, netfile)
    out = tmp_path / "design"
    assert main(["compile", str(netfile), "--target", "icebreaker", "--lanes", "2",
                 "--out", str(out), "--samples", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == [
        "mem", "network.sfn", "report.json", "spikeforge_top.v", "spikeforge_top.vlt"]
    assert json.loads((out / "report.json").read_text())["allocation"] == report["allocation"]
    assert report["allocation"]["dsps"] == 0
    assert report["allocation"]["bram_blocks"] <= get_target("icebreaker").bram_blocks
    # memory images hold exactly the weights, lane by lane (two's complement hex)
    hidden = network.layers[0]
    words = (out / f"mem/{hidden.name}_lane1_weights.hex").read_text().split()
    q = hidden.params.n // 2
    for row, neuron in ((0, 1), (5, 7), (63, 127)):
        value = int(words[row * q + neuron // 2], 16)
        value -= (value >> 7) << 8  # 8-bit two's complement
        assert value == hidden.weight[neuron, row]
    assert load_network(out / "network.sfn").layers[0].weight.tolist() == hidden.weight.tolist()


@pytest.mark.sim
def test_predicted_cycles_equal_the_cosimulated_rtl(tmp_path, digits_network):
    """The latency compile reports is what the Verilator RTL measures, sample by sample."""
    from spikeforge.sim.cosim import cosim_report
    from spikeforge.sim.toolchain import missing_reason

    if missing_reason("verilator"):
        pytest.skip(missing_reason("verilator"))
    network, data = digits_network
    x = data.spikes("test", np.arange(3))
    report = compile_network(network, "icebreaker", lanes=2, inputs=x)
    cosim = cosim_report(network, x, "verilator", lanes=2)
    assert cosim["mismatches"] == 0 and cosim["first_mismatch"] is None
    measured = [int(v) for v in np.asarray(cosim["cycles_per_sample"])]
    assert measured == report["schedule"]["cycles_per_inference"]


def test_verilog_is_lint_clean_with_the_justified_waivers(tmp_path):
    from spikeforge.sim.toolchain import configure_verilator, missing_reason

    if missing_reason("verilator"):
        pytest.skip(missing_reason("verilator"))
    configure_verilator()
    network = random_network(np.random.default_rng(3), 2, layers=2)
    compile_network(network, "generic", lanes=2, out=tmp_path / "d")
    done = subprocess.run(["verilator", "--lint-only", "-Wall", "spikeforge_top.vlt",
                           "spikeforge_top.v", "--top-module", "spikeforge_top"],
                          cwd=tmp_path / "d", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "%Warning" not in done.stderr and "%Error" not in done.stderr
    waivers = (tmp_path / "d" / "spikeforge_top.vlt").read_text()
    assert waivers.count("lint_off") == waivers.count("// ") - 1  # a reason above every waiver


def test_network_that_does_not_fit_says_what_and_leaves_nothing(tmp_path, capsys):
    network = Network((dense(256, 512, seed=1), dense(512, 10, seed=2)), SpikeEncoding(8))
    with pytest.raises(FitError) as info:
        compile_network(network, "icebreaker", lanes=1)
    message = str(info.value)
    assert "weights of layer 'l256x512'" in message and "block RAMs" in message
    assert "4096 bits" in message and "ulx3s-85f" in message
    netfile = tmp_path / "big.sfn"
    save_network(network, netfile)
    out = tmp_path / "design"
    assert main(["compile", str(netfile), "--target", "icebreaker", "--out", str(out)]) == 2
    assert "does not fit icebreaker" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sfn"]  # no partial folder
    assert main(["compile", str(netfile), "--target", "ulx3s-85f", "--out", str(out)]) == 0


def test_lanes_that_do_not_divide_are_refused(tmp_path, capsys):
    network = Network((dense(8, 6),), SpikeEncoding(4))
    netfile = tmp_path / "n.sfn"
    save_network(network, netfile)
    assert main(["compile", str(netfile), "--lanes", "4", "--out", str(tmp_path / "d")]) == 2
    assert "4 lanes do not divide n = 6" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
