"""Random frames against the co-simulated board (issue 17, item 8, the host-link part; bounded):
every frame with a good CRC gets exactly one response, with its own ``CMD`` and ``SEQ`` and a
known status, and a frame the device refuses changes nothing (weights, neuron state,
parameters, step and event counters, output buffer)."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.host.deploy import deploy
from spikeforge.link.protocol import Command, Status, encode_request

from .test_protocol_contract import narrow_network, serve_narrow_board

pytestmark = pytest.mark.sim

#: refusals after which the device must be exactly as before
REFUSALS = {s for s in Status if s not in (Status.OK, Status.BUSY)}


@pytest.fixture(scope="module")
def narrow_board():
    yield from serve_narrow_board()


def _snapshot(dev, network):
    """Everything a refused frame must leave as it was, once the steps sent have run."""
    for _ in range(200):
        counters = dev.counters()
        if counters["steps"] == counters["steps_sent"]:
            break
    return {
        "weights": [dev.read_weights(i, 0, 0, len(layer.weight.reshape(-1)))
                    for i, layer in enumerate(network.layers)],
        "state": [dev.read_state(i, 0, layer.params.n) for i, layer in enumerate(network.layers)],
        "params": dev.read_params(),
        **{name: counters[name] for name in ("steps", "steps_sent", "in_events", "events",
                                             "output_level")},
    }


def _payloads():
    """Payloads shaped like the commands' (layer, lane, address, count, words), with values
    around the edges of the valid ranges, or raw bytes."""
    small = st.integers(0, 3)
    edge16 = st.sampled_from([0, 1, 7, 8, 11, 12, 95, 96, 97, 255, 256, 0xFFFE, 0xFFFF])
    structured = st.tuples(small, small, edge16, st.lists(edge16, max_size=6)).map(
        lambda t: struct.pack(f"<BBH{len(t[3])}H", t[0], t[1], t[2], *t[3]))
    return st.one_of(structured, st.binary(max_size=20))


@pytest.mark.slow  # about 90 s: 30 examples, each frame between two full snapshots
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(st.tuples(
    st.one_of(st.sampled_from(list(Command)), st.integers(0, 255)),
    _payloads(), st.booleans()), min_size=1, max_size=3))
def test_random_frames_are_answered_once_and_refusals_change_nothing(narrow_board, frames):
    from spikeforge.host.driver import Device

    network = narrow_network()
    with Device(narrow_board.url, timeout=30) as dev:
        if dev.read_params()["weights_id"] == 0:
            deploy(dev, network)
        for seq, (command, payload, right_tag) in enumerate(frames, start=100):
            before = _snapshot(dev, network)
            tag = dev.tag if right_tag else dev.tag ^ 0x5A5A
            dev._write(encode_request(int(command), seq, tag, payload))
            response = dev.read_response(timeout=10)
            assert (response.command, response.seq) == (int(command), seq)
            status = Status(response.status)  # a known status, or this raises
            if status in REFUSALS:
                assert response.payload == b""
                assert _snapshot(dev, network) == before, (command, payload.hex(), status)


def test_the_device_still_works_after_the_random_frames(narrow_board):
    from spikeforge.host.driver import Device
    from spikeforge.host.inference import run_on_device
    from spikeforge.model import run

    network = narrow_network()
    x = (np.random.default_rng(1).random((2, 8, 8)) < 0.5).astype(np.uint8)
    with Device(narrow_board.url, timeout=30) as dev:
        deploy(dev, network)
        assert np.array_equal(run_on_device(dev, network, x)["spikes"], run(network, x).spikes[-1])
