"""Deploy → run → read back a *residual* network over the real host link, against a
co-simulated board top (Verilator behind a socket): the join's 1×1 kernel is written after the
convolution's kernel, read back, and the device then gives exactly the reference's outputs and
states."""

import numpy as np
import pytest
from spikeforge.host.deploy import deploy, weights_fingerprint
from spikeforge.link.memory_layout import lane_weights
from spikeforge.sim.random_networks import random_residual_network
from spikeforge.toolchain import missing_reason

from ..boards.conftest import TIMEOUT
from .test_deploy_conv import _run_matches, _state_matches

pytestmark = pytest.mark.sim

LANES = 2


def residual_network(seed):
    """One design (a block joined from its first layer, then a dense readout); ``seed`` draws
    its weights."""
    design = random_residual_network(np.random.default_rng(5), LANES, source=0, dense_out=True)
    rng = np.random.default_rng(seed)
    layers = []
    for layer in design.layers:
        fmt = layer.params.weight_format
        arrays = {"weight": rng.integers(fmt.min // 2, fmt.max + 1, layer.weight.shape)}
        if layer.shortcut is not None:
            arrays["shortcut"] = rng.integers(fmt.min // 2, fmt.max + 1,
                                              layer.shortcut_weight.shape)
        layers.append(layer.with_weights(**arrays))
    return type(design)(tuple(layers), design.encoding, design.readout, name=f"res-{seed}")


def test_deploy_residual_weights_run_and_read_back_equal_reference():
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.host.driver import Device
    from spikeforge.sim.cosim_device import CosimDevice

    a, b = residual_network(1), residual_network(2)
    assert not np.array_equal(a.layers[1].shortcut_weight, b.layers[1].shortcut_weight)
    assert weights_fingerprint(a) != weights_fingerprint(
        type(a)((a.layers[0], a.layers[1].with_weights(shortcut=b.layers[1].shortcut_weight),
                 a.layers[2]), a.encoding, a.readout))  # the join's weights are fingerprinted
    rng = np.random.default_rng(0)
    x = (rng.random((2, 8, a.n_in)) < 0.6).astype(np.uint8)
    with CosimDevice(a, lanes=LANES, divisor=4, timeout=TIMEOUT) as board, \
            Device(board.url, timeout=60) as device:
        summary = deploy(device, b)
        assert summary["verified"]
        joined = b.layers[1]
        for lane, words in enumerate(lane_weights(joined, LANES)):
            assert device.read_weights(1, lane, 0, len(words)) == words
        _run_matches(device, b, x)
        _state_matches(device, b, x)
        deploy(device, a)
        _run_matches(device, a, x)
        _state_matches(device, a, x)
    from spikeforge.model import run
    trace = run(b, x)
    assert trace.spikes[0].sum() > 0 and np.abs(trace.i[1]).sum() > 0  # the join carried events
