"""The host protocol as a contract a third-party client can rely on (issue 17, item 6), on a
co-simulated board whose widest weight format is narrower than a byte (4 bits):

* a weight reads back as the signed value written (an s4 −8 is the byte 0xF8, as written);
* a frame sent before the previous response arrived is refused with ``OVERRUN``, never dropped
  silently, and changes nothing;
* ``CMD``/``SEQ`` of error responses: the frame's once its header was received, else 0;
* one time step may span ``RUN`` frames.
"""

import struct
import time

import numpy as np
import pytest
from spikeforge.host.deploy import deploy
from spikeforge.host.inference import OutputGroups, start_clean
from spikeforge.link.protocol import EVENT_MARKER, Command, Param, Status, encode_request
from spikeforge.model import IntFormat, Layer, LayerParams, Network, RateEncoding, run
from spikeforge.toolchain import missing_reason

pytestmark = pytest.mark.sim


def narrow_network(seed=7):
    """8 → 12 → 4, both layers with 4-bit weights (so every weight word has sign bits to fill);
    the first weight of each layer is −8, the most negative s4."""
    rng = np.random.default_rng(seed)
    fmt = IntFormat(4)
    w0 = rng.integers(-8, 8, (12, 8))
    w1 = rng.integers(-8, 8, (4, 12))
    w0[0, 0] = w1[0, 0] = -8
    l0 = Layer(LayerParams(8, 12, theta=10, weight_format=fmt), w0, name="hidden")
    l1 = Layer(LayerParams(12, 4, theta=10, weight_format=fmt), w1, name="out")
    return Network((l0, l1), RateEncoding(steps=8, levels=4), name=f"narrow-{seed}")


def serve_narrow_board():
    """A co-simulated board of :func:`narrow_network` (a generator for module fixtures)."""
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    with CosimDevice(narrow_network(), divisor=4) as device:
        yield device


@pytest.fixture(scope="module")
def narrow_board():
    yield from serve_narrow_board()


@pytest.fixture
def dev(narrow_board):
    from spikeforge.host.driver import Device

    with Device(narrow_board.url, timeout=30) as device:
        device.info()
        yield device


def _raw_read(dev, layer, addr, count):
    """The bytes of a ``READ_WEIGHTS`` response, as a third-party client gets them."""
    return dev.transact(Command.READ_WEIGHTS, struct.pack("<BBHH", layer, 0, addr, count)).payload


def test_narrow_weights_read_back_sign_extended_as_written(dev):
    network = narrow_network()
    assert dev.info().weight_bytes == 1
    report = deploy(dev, network)  # verifies every word read back against the written value
    assert report["verified"]
    for layer in range(2):
        assert _raw_read(dev, layer, 0, 1) == b"\xf8"  # -8, as a client writes it
        for value in range(-8, 8):
            dev.write_weights(layer, 0, 1, [value])
            assert dev.read_weights(layer, 0, 1, 1) == [value]
            assert _raw_read(dev, layer, 1, 1) == value.to_bytes(1, "little", signed=True)
    deploy(dev, network)


def test_a_frame_sent_before_the_response_is_refused_with_overrun(dev):
    dev.write_param(Param.LEDS, 3)
    rejected = dev.counters()["frames_rejected"]
    first = encode_request(Command.READ_WEIGHTS, 41, dev.tag, struct.pack("<BBHH", 0, 0, 0, 96))
    second = encode_request(Command.WRITE_PARAM, 42, dev.tag, struct.pack("<BI", Param.LEDS, 9))
    responses = dev.send_raw(first + second, quiet=1.0)
    assert [(r.command, r.seq, Status(r.status)) for r in responses] == [
        (Command.READ_WEIGHTS, 41, Status.OK), (0, 0, Status.OVERRUN)]
    assert responses[1].payload == b""
    assert dev.read_params()["leds"] == 3  # the refused frame changed nothing
    assert dev.counters()["frames_rejected"] == rejected + 1
    # three frames at once: still one OVERRUN for everything after the first
    responses = dev.send_raw(first + second + second, quiet=1.0)
    assert [Status(r.status) for r in responses] == [Status.OK, Status.OVERRUN]
    assert dev.read_params()["leds"] == 3


def test_error_responses_carry_cmd_and_seq_once_the_header_is_whole(dev):
    good = encode_request(Command.READ_PARAMS, 77, dev.tag)
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    (response,) = dev.send_raw(bad_crc, quiet=1.0)
    assert (response.command, response.seq, response.status) == (
        Command.READ_PARAMS, 77, Status.BAD_CRC)
    (response,) = dev.send_raw(good[:-1], quiet=1.0)  # truncated in the CRC
    assert (response.command, response.seq, response.status) == (
        Command.READ_PARAMS, 77, Status.TRUNCATED)
    (response,) = dev.send_raw(good[:5], quiet=1.0)  # truncated inside the header
    assert (response.command, response.seq, response.status) == (0, 0, Status.TRUNCATED)
    (response,) = dev.send_raw(b"\x00\x01", quiet=1.0)
    assert (response.command, response.seq, response.status) == (0, 0, Status.GARBAGE)
    (response,) = dev.send_raw(encode_request(0x55, 78, dev.tag), quiet=1.0)
    assert (response.command, response.seq, response.status) == (
        0x55, 78, Status.UNKNOWN_COMMAND)


def test_one_step_may_span_run_frames(dev):
    network = narrow_network()
    deploy(dev, network)
    x = (np.random.default_rng(11).random((1, 8, 8)) < 0.6).astype(np.uint8)
    start_clean(dev)
    words = [w for step in x[0] for w in (*np.flatnonzero(step).tolist(), EVENT_MARKER)]
    cut = np.random.default_rng(12)
    start = 0
    while start < len(words):  # frames of 1..3 words, cut anywhere inside a step
        size = int(cut.integers(1, 4))
        assert dev.run_events(words[start:start + size])[0] == len(words[start:start + size])
        start += size
    groups = OutputGroups(dev)
    deadline = time.monotonic() + 60
    while len(groups.groups) < x.shape[1] and time.monotonic() < deadline:
        groups.read_until(x.shape[1])
    expected = run(network, x).spikes[-1][0]
    assert [sorted(g) for g in groups.groups] == [
        np.flatnonzero(expected[n]).tolist() for n in range(x.shape[1])]
