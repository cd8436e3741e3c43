"""Deploy → run → read back a *convolutional* network over the real host link, against a
co-simulated board top (the UART/host-link gateware on Verilator behind a socket), exactly as the
reference model.

The board is built (with 2 lanes, so the lanes split the output channels) from
``conv_network(1)``: a 1×6×6 input map, a 3×3 convolution with 4 output channels and padding 1
(144 LIF neurons, a per-channel bias, the kernel in block RAM), then a dense layer of 4 LIF
neurons over the 2×2 sum-pooled map. ``conv_network(3)`` has the same design and other weights,
so it deploys without a rebuild and must then give exactly its own reference outputs and states.
"""

import numpy as np
import pytest
from spikeforge.host.deploy import DeployError, deploy, weights_fingerprint
from spikeforge.host.inference import run_on_device
from spikeforge.link.memory_layout import lane_depth, lane_weights
from spikeforge.link.protocol import MAX_PAYLOAD, STATE_RECORD_BYTES
from spikeforge.model import (
    Connectivity,
    Conv2d,
    Layer,
    LayerParams,
    Network,
    SpikeEncoding,
    run,
)
from spikeforge.model.network import final_states
from spikeforge.toolchain import missing_reason

from ..boards.conftest import TIMEOUT

pytestmark = pytest.mark.sim

LANES = 2
SHAPE = (1, 6, 6)


def conv_network(seed, *, shape=SHAPE, out_channels=4, kernel=3, padding=1):
    """``shape`` → conv ``out_channels`` × ``kernel``² (padding) LIF → 2×2-pooled dense 4 LIF."""
    rng = np.random.default_rng(seed)
    conv = Connectivity(shape, conv=Conv2d(out_channels, kernel, 1, padding))
    n = conv.neurons()
    hidden = Layer(LayerParams(conv.n_in, n, theta=64, bias=True),
                   rng.integers(-40, 50, conv.weight_shape(n)),
                   bias=np.array([3, -2, 0, 5, 1, -1][:out_channels]), name="conv",
                   connectivity=conv)
    pooled = Connectivity(conv.output_shape, pool=2)
    out = Layer(LayerParams(n, 4, theta=64), rng.integers(-30, 30, pooled.weight_shape(4)),
                name="out", connectivity=pooled)
    return Network((hidden, out), SpikeEncoding(8), name=f"conv-{seed}")


@pytest.fixture(scope="module")
def conv_board():
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    with CosimDevice(conv_network(1), lanes=LANES, divisor=4, timeout=TIMEOUT) as board:
        yield board


@pytest.fixture
def conv_device(conv_board):
    from spikeforge.host.driver import Device

    with Device(conv_board.url, timeout=60) as dev:
        dev.info()
        yield dev


def _inputs(seed, batch=2, steps=8):
    rng = np.random.default_rng(seed)
    return (rng.random((batch, steps, int(np.prod(SHAPE)))) < 0.4).astype(np.uint8)


def _state_matches(device, network, x):
    """Every neuron's state on the device after the last sample equals the reference's (read in
    frames of at most ``MAX_PAYLOAD`` bytes)."""
    states = final_states(run(network, x[-1:]))
    per_read = MAX_PAYLOAD // STATE_RECORD_BYTES
    for index, (layer, st) in enumerate(zip(network.layers, states, strict=True)):
        n = layer.params.n
        records = []
        for start in range(0, n, per_read):
            records += device.read_state(index, start, min(per_read, n - start))
        assert [r[0] for r in records] == st.i[0].tolist(), f"layer {index}: i"
        assert [r[1] for r in records] == st.u[0].tolist(), f"layer {index}: u"
        assert [r[3] for r in records] == st.s[0].tolist(), f"layer {index}: s"


def _run_matches(device, network, x):
    """``run_on_device`` gives exactly the reference's output spikes and predictions."""
    result = run_on_device(device, network, x)
    reference = run(network, x)
    assert np.array_equal(result["spikes"], reference.spikes[-1])
    assert np.array_equal(result["predictions"], reference.predict(network.readout))
    # the readout can send a step's outputs before an earlier, longer layer ends that step:
    # a weight read is answered once the core is quiet, when every step sent is counted
    device.read_weights(0, 0, 0, 1)
    counters = device.counters()
    assert counters["steps_sent"] == counters["steps"]
    assert counters["in_events"] >= int(x.sum())
    return result


def test_the_board_powers_up_with_its_conv_network(conv_device):
    a = conv_network(1)
    assert conv_device.info().lanes == LANES
    assert [layer.depth for layer in conv_device.info().layers] == [
        lane_depth(layer, LANES) for layer in a.layers]
    assert conv_device.info().layers[0].depth == 9 * 4 // LANES  # the kernel, not 144 × 36
    if conv_device.read_params()["weights_id"] == weights_fingerprint(a):  # nothing deployed yet
        for index, layer in enumerate(a.layers):
            for lane, words in enumerate(lane_weights(layer, LANES)):
                back = []
                for addr in range(0, len(words), 256):
                    back += conv_device.read_weights(index, lane, addr,
                                                     min(256, len(words) - addr))
                assert back == words, f"layer {index} lane {lane}"


def test_deploy_conv_weights_run_and_read_back_equal_reference(conv_device):
    a, b = conv_network(1), conv_network(3)
    assert not np.array_equal(a.layers[0].weight, b.layers[0].weight)
    x = _inputs(0)
    summary = deploy(conv_device, b)
    assert summary["verified"]
    # the kernel, and the dense layer over the 4×3×3 pooled map held as its 4·36 weights (the
    # convolution core's 3×3 kernel of one channel per neuron), not 144 × 4 unrolled
    assert summary["weights"] == 4 * 1 * 3 * 3 + 4 * 4 * 3 * 3
    assert conv_device.read_params()["weights_id"] == weights_fingerprint(b)
    result = _run_matches(conv_device, b, x)
    assert result["spikes"].sum() > 0
    _state_matches(conv_device, b, x)
    # and back: the first weights give their own outputs again, which differ
    deploy(conv_device, a)
    out_a = _run_matches(conv_device, a, x)["spikes"]
    assert not np.array_equal(out_a, result["spikes"])
    _state_matches(conv_device, a, x)


@pytest.mark.parametrize(("variant", "message"), [
    (lambda: conv_network(4, out_channels=6), "layer 0: n is 144 in the bitstream but 216"),
    (lambda: conv_network(4, kernel=5, padding=2), "layer 0: depth is 18 in the bitstream but 50"),
])
def test_deploy_refuses_a_conv_network_of_another_design(conv_device, variant, message):
    a = conv_network(1)
    deploy(conv_device, a)
    with pytest.raises(DeployError, match=message):
        deploy(conv_device, variant())
    assert conv_device.read_params()["weights_id"] == weights_fingerprint(a)


def test_deploy_refuses_a_conv_network_of_another_geometry(conv_device):
    # another input map (1×4×9 instead of 1×6×6) keeps n_in, n and the kernel depth: only the
    # design hash, which covers the connectivity, tells the two apart
    a, other = conv_network(1), conv_network(4, shape=(1, 4, 9))
    assert other.n_in == a.n_in and other.layers[0].params.n == a.layers[0].params.n
    refused = False
    try:
        deploy(conv_device, other)
    except DeployError:
        refused = True
    finally:
        deploy(conv_device, a)
    assert refused, "deploy accepted a conv network of another geometry"
