"""``compile``: the design folder, the fit check, lint, and the cycle prediction the
co-simulated RTL must meet."""

import json
import subprocess

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.compiler import Options, compile_network, compile_source
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
    """The digits network of the demo (64-128-10), trained for one epoch (the compiler does not
    care about its accuracy)."""
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
    assert main(["compile", str(netfile), "--target", "icebreaker", "--lanes", "1",
                 "--out", str(out), "--samples", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == [
        "mem", "network.sfn", "report.json", "spikeforge_top.v", "spikeforge_top.vlt"]
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["allocation"] == report["allocation"]
    assert report["passes"] == ["fuse", "quantize", "ranges", "allocation", "schedule"]
    assert report["resources"]["dsps"] == 0
    # 64-128-10 at one lane: 30 block RAMs, what the bitstream flow places on the UP5K
    assert report["resources"]["bram_blocks"] == 30 == get_target("icebreaker").bram_blocks
    assert len(report["cycles_per_inference"]) == 4
    assert [f["weight"] for f in report["formats"]] == ["s8", "s8"]
    # memory images hold exactly the weights, lane by lane (two's complement hex)
    hidden = network.layers[0]
    q = hidden.params.n
    words = (out / f"mem/{hidden.name}_lane0_weights.hex").read_text().split()
    for row, neuron in ((0, 1), (5, 7), (63, 127)):
        value = int(words[row * q + neuron], 16)
        value -= (value >> 7) << 8  # 8-bit two's complement
        assert value == hidden.weight[neuron, row]
    assert load_network(out / "network.sfn").layers[0].weight.tolist() == hidden.weight.tolist()


def test_two_lane_images_interleave_neurons(tmp_path, digits_network):
    network, _ = digits_network
    compile_network(network, "ulx3s-85f", lanes=2, out=tmp_path / "d")
    hidden = network.layers[0]
    q = hidden.params.n // 2
    words = (tmp_path / "d" / f"mem/{hidden.name}_lane1_weights.hex").read_text().split()
    assert len(words) == 64 * q
    for row, neuron in ((0, 1), (5, 7), (63, 127)):  # neuron i: lane i % 2, word row·Q + i // 2
        value = int(words[row * q + neuron // 2], 16)
        assert value - ((value >> 7) << 8) == hidden.weight[neuron, row]


@pytest.mark.sim
def test_compiled_digits_design_cosimulates_exactly(tmp_path, digits_network):
    """The design folder's network on the Verilator RTL: 0 mismatches against the reference on
    every value of every step, and the cycles compile predicted for each input are measured."""
    from spikeforge.sim.cosim import cosim_report
    from spikeforge.toolchain import missing_reason

    if missing_reason("verilator"):
        pytest.skip(missing_reason("verilator"))
    network, data = digits_network
    x = data.spikes("test", np.arange(3))
    _, report = compile_source(network, Options("icebreaker", lanes=1, inputs=x),
                               out=tmp_path / "d")
    compiled = load_network(tmp_path / "d" / "network.sfn")
    cosim = cosim_report(compiled, x, "verilator", lanes=1)
    assert cosim["mismatches"] == 0 and cosim["first_mismatch"] is None
    assert cosim["values_compared"] > 10_000
    measured = [int(v) for v in np.asarray(cosim["cycles_per_sample"])]
    assert measured == report["cycles_per_inference"]
    lo, hi = report["cycles_per_inference_bounds"]
    assert all(lo <= c <= hi for c in measured)


def test_predicted_cycles_equal_the_amaranth_simulation():
    """Two lanes, a recurrent layer, on Amaranth's simulator: per-step cycles as predicted."""
    from spikeforge.sim.cosim import cosim_report

    network = random_network(np.random.default_rng(5), 2, layers=2)
    x = (np.random.default_rng(1).random((2, 6, network.n_in)) < 0.3).astype(np.uint8)
    x = x[:, :network.steps]
    network = Network(network.layers, SpikeEncoding(x.shape[1]), network.readout)
    _, report = compile_source(network, Options("generic", lanes=2, inputs=x))
    cosim = cosim_report(network, x, "amaranth", lanes=2)
    assert cosim["mismatches"] == 0 and cosim["cycle_mismatches"] == 0
    assert [int(c) for c in cosim["cycles_per_sample"]] == report["cycles_per_inference"]


def test_verilog_is_lint_clean_with_the_justified_waivers(tmp_path):
    from spikeforge.toolchain import configure_verilator, missing_reason

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
    assert "131072 × 8 bits = 1048576 bits" in message  # 256 rows × 512 neurons, 8 bits
    assert "122880 bits" in message  # what the UP5K has: 30 × 4096
    assert "fewer lanes" in message and "ulx3s-85f" in message
    netfile = tmp_path / "big.sfn"
    save_network(network, netfile)
    out = tmp_path / "design"
    assert main(["compile", str(netfile), "--target", "icebreaker", "--out", str(out)]) == 2
    assert "does not fit icebreaker" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sfn"]  # no partial folder
    assert main(["compile", str(netfile), "--target", "ulx3s-85f", "--out", str(out)]) == 0


def test_more_lanes_can_stop_a_network_fitting(digits_network):
    """Two lanes round each lane's weights up to whole blocks and make the state words twice
    as wide (two neurons updated a cycle; 4 blocks, not 2, for each layer's state): 37 of 30
    block RAMs, refused on a UP5K without its SPRAMs, with the lane count that fits. With them
    both lanes' weights of the first layer move to SPRAM (the two SPRAMs the link's counters
    leave; the counters then take 2 block RAMs) and it fits; with e-prop on every layer no
    weights may move (a learning unit writes the weights it reads) and it is refused."""
    from spikeforge.compiler.resources import check_fit
    from spikeforge.model.learning import LearningConfig

    network, _ = digits_network
    icebreaker = get_target("icebreaker")
    with pytest.raises(FitError, match=r"need 37 block RAMs.*With 1 lane\(s\) it needs 30 block "
                       "RAMs and fits"):
        check_fit(network, 2, icebreaker._replace(spram_blocks=0))
    everywhere = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -6)
    with pytest.raises(FitError, match=r"need \d+ block RAMs.*a learning layer's stay in block"):
        check_fit(network, 2, icebreaker, learning=everywhere)
    allocation = compile_network(network, "icebreaker", lanes=2)["allocation"]
    assert allocation["bram_blocks"] == 37 - 2 * 8 + 2 and allocation["spram_blocks"] == 2
    assert {"layer": "host link", "memory": "counters", "lane": None, "depth": 13, "width": 32,
            "bits": 416, "blocks": 2} in allocation["memories"]
    assert compile_network(network, "ulx3s-85f", lanes=2)["allocation"]["bram_blocks"] > 0


def test_logic_budget_is_checked(digits_network):
    """On the UP5K block RAM binds first; a device with fewer LUTs shows the logic check."""
    network, _ = digits_network
    small = get_target("icebreaker")._replace(name="tiny", luts=1000)
    with pytest.raises(FitError, match=r"about 1590 LUT4 \(estimate\) but the device has 1000"):
        compile_network(network, small)


def test_lanes_that_do_not_divide_are_refused(tmp_path, capsys):
    network = Network((dense(8, 6),), SpikeEncoding(4))
    netfile = tmp_path / "n.sfn"
    save_network(network, netfile)
    assert main(["compile", str(netfile), "--lanes", "4", "--out", str(tmp_path / "d")]) == 2
    assert "4 lanes do not divide n = 6" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_existing_output_folder_is_left_alone(tmp_path, capsys):
    network = Network((dense(8, 6),), SpikeEncoding(4))
    netfile = tmp_path / "n.sfn"
    save_network(network, netfile)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    assert main(["compile", str(netfile), "--out", str(tmp_path / "d")]) == 2
    assert "exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["keep.txt"]


def test_compile_reads_a_nir_file_through_its_front_end(tmp_path, capsys):
    nir = pytest.importorskip("nir")
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input({"input": np.array([4])}),
        "fc": nir.Linear(weight=rng.integers(-3, 4, (6, 4)).astype(float)),
        "lif": nir.LIF(tau=np.full(6, 2e-4), r=np.full(6, 2.0), v_leak=np.zeros(6),
                       v_threshold=np.full(6, 2.5)),
        "output": nir.Output({"output": np.array([6])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(str(tmp_path / "m.nir"), graph)
    assert main(["compile", str(tmp_path / "m.nir"), "--out", str(tmp_path / "d"), "--samples",
                 "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["formats"][0]  # v > 2.5 at the state scale 2^f: θ = 2.5·2^f + 1
    assert row["kind"] == "lif" and row["theta"] == int(2.5 * 2 ** row["input_shift"]) + 1
    assert row["k_mem"] == 1 and row["input_shift"] > 0
