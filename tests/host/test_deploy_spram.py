"""Weights in the iCE40 UltraPlus SPRAM, over the real host link: the board top elaborated as on
a UP5K (its weight memories and the link's buffers are ``SB_SPRAM256KA`` instances, simulated
with the model Yosys ships) boots with no network, takes a deploy, reads every weight back and
then gives exactly the reference's outputs and states.

The design covers every way a weight sits in SPRAM: 8-bit weights two to a word across two
SPRAMs (40,960 words of one lane: the SPRAM is chosen by the address), 4-bit weights four to a
word, 12-bit weights one to a word, and a layer whose lanes are split between SPRAM and block
RAM.
"""

import numpy as np
import pytest
from spikeforge.host.deploy import DeployError, check_deployed, deploy
from spikeforge.host.inference import run_on_device
from spikeforge.link.memory_layout import lane_depth
from spikeforge.model import IntFormat, Layer, LayerParams, Network, SpikeEncoding
from spikeforge.model.fingerprint import NO_NETWORK
from spikeforge.toolchain import missing_reason

from ..boards.conftest import TIMEOUT
from .test_deploy_conv import _run_matches, _state_matches

pytestmark = pytest.mark.sim

LANES = 2
#: (layer, lane) in SPRAM: both lanes of the wide layer, one lane of the 4-bit layer, the
#: 12-bit readout's lane 0
SPRAM = {(0, 0), (0, 1), (1, 1), (2, 0)}


def spram_network(seed):
    """256 → 160 (8-bit) → 12 (4-bit) → 6 (12-bit) LIF; ``seed`` draws the weights."""
    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_in, n, bits, theta) in enumerate(((256, 160, 8, 300), (160, 12, 4, 12),
                                                    (12, 6, 12, 900))):
        fmt = IntFormat(bits)
        params = LayerParams(n_in, n, weight_format=fmt, theta=theta)
        layers.append(Layer(params, rng.integers(fmt.min // 2, fmt.max + 1, (n, n_in)),
                            name=f"l{index}"))
    return Network(tuple(layers), SpikeEncoding(steps=6), name=f"spram-{seed}")


def test_weights_in_spram_deploy_read_back_and_run_equal_reference():
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.host.driver import Device
    from spikeforge.link.protocol import ProtocolError
    from spikeforge.sim.cosim_device import CosimDevice

    network = spram_network(1)
    assert lane_depth(network.layers[0], LANES) == 20480  # two SPRAMs at two weights a word
    rng = np.random.default_rng(0)
    x = (rng.random((2, 6, network.n_in)) < 0.3).astype(np.uint8)
    with CosimDevice(spram_network(2), lanes=LANES, divisor=4, timeout=TIMEOUT,
                     spram_weights=SPRAM) as board, Device(board.url, timeout=120) as device:
        # SPRAM has no initial contents: the board starts without a network and says so
        assert device.read_params()["weights_id"] == NO_NETWORK
        with pytest.raises(DeployError, match="no valid network"):
            check_deployed(device, network)
        with pytest.raises(ProtocolError, match="no valid network"):
            run_on_device(device, network, x)
        summary = deploy(device, network)  # every weight written, read back and compared
        assert summary["verified"] and summary["weights"] == 256 * 160 + 160 * 12 + 12 * 6
        check_deployed(device, network)
        _run_matches(device, network, x)
        _state_matches(device, network, x)
    from spikeforge.model import run
    spikes = run(network, x).spikes
    assert all(s.sum() > 0 for s in spikes)  # every layer spiked: every weight memory was read
