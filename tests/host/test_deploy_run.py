"""Deploy → run → read back against the co-simulated board top, exactly as the reference model.

The board was built from ``small_network(1)``; ``small_network(2)`` has the same design and other
weights, so it deploys without a rebuild and must then give exactly its own reference outputs.
"""

import numpy as np
import pytest
from spikeforge.host.deploy import DeployError, deploy, weights_fingerprint
from spikeforge.host.inference import run_on_device
from spikeforge.link.protocol import LED_BITS, Param
from spikeforge.model import run
from spikeforge.model.network import final_states

from ..boards.networks import small_network

pytestmark = pytest.mark.sim


def _inputs(seed, batch=2):
    rng = np.random.default_rng(seed)
    return (rng.random((batch, 8, 8)) < 0.45).astype(np.uint8)


def _state_matches(device, network, x):
    """The device's neuron state after the last sample equals the reference's."""
    states = final_states(run(network, x[-1:]))
    for index, (layer, st) in enumerate(zip(network.layers, states, strict=True)):
        records = device.read_state(index, 0, layer.params.n)
        assert [r[0] for r in records] == st.i[0].tolist()
        assert [r[1] for r in records] == st.u[0].tolist()
        assert [r[3] for r in records] == st.s[0].tolist()


def test_deploy_run_read_back_equals_reference(device):
    a = small_network(1)
    summary = deploy(device, a)
    assert summary["verified"] and summary["weights"] == 8 * 12 + 12 * 4
    x = _inputs(0)
    result = run_on_device(device, a, x)
    reference = run(a, x)
    assert np.array_equal(result["spikes"], reference.spikes[-1])
    assert result["spikes"].sum() > 0
    assert np.array_equal(result["predictions"], reference.predict(a.readout))
    _state_matches(device, a, x)
    assert device.read_params()["weights_id"] == weights_fingerprint(a)
    counters = result["counters"]
    assert counters["steps_sent"] == counters["steps"]
    assert counters["in_events"] >= int(x.sum())


def test_new_weights_change_outputs_to_the_new_reference_without_rebuild(device):
    a, b = small_network(1), small_network(2)
    x = _inputs(1, batch=3)
    deploy(device, a)
    out_a = run_on_device(device, a, x)["spikes"]
    assert np.array_equal(out_a, run(a, x).spikes[-1])
    deploy(device, b)
    out_b = run_on_device(device, b, x)["spikes"]
    assert np.array_equal(out_b, run(b, x).spikes[-1])
    assert not np.array_equal(out_a, out_b)  # the new weights made a difference
    _state_matches(device, b, x)
    assert device.read_params()["weights_id"] == weights_fingerprint(b)


@pytest.mark.parametrize(("variant", "message"), [
    (lambda: small_network(3, n_hidden=16), "layer 0: n is 12 in the bitstream but 16"),
    (lambda: small_network(3, theta=50), "theta is 40 in the bitstream but 50"),
    (lambda: small_network(3, w1_width=8), "weight_width is 6 in the bitstream but 8"),
])
def test_deploy_refuses_a_mismatched_network_and_changes_nothing(device, variant, message):
    a = small_network(1)
    deploy(device, a)
    before = device.read_weights(0, 0, 0, 96)
    with pytest.raises(DeployError, match=message):
        deploy(device, variant())
    assert device.read_weights(0, 0, 0, 96) == before
    assert device.read_params()["weights_id"] == weights_fingerprint(a)


def test_leds_parameter_round_trips(device):
    device.write_param(Param.LEDS, 0b101)
    assert device.read_params()["leds"] == 0b101
    # the device keeps the low LED_BITS bits, as many as a board has LEDs
    device.write_param(Param.LEDS, 0x1234_56A5)
    assert device.read_params()["leds"] == 0x1234_56A5 & ((1 << LED_BITS) - 1) == 0xA5
    device.write_param(Param.LEDS, 0)
