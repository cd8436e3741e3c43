"""Protocol fuzzing against the co-simulated board: every bad frame is answered with an error
frame, and a read-back afterwards proves that weights, neuron state, parameters and step
counters did not change."""

import struct

import numpy as np
import pytest
from spikeforge.host.deploy import deploy
from spikeforge.host.inference import run_on_device
from spikeforge.link.protocol import (
    EVENT_MARKER,
    MAX_PAYLOAD,
    SYNC,
    Command,
    Param,
    Status,
    encode_request,
)

from .networks import small_network

pytestmark = pytest.mark.sim


def _flip(frame, index, bit=0):
    data = bytearray(frame)
    data[index] ^= 1 << bit
    return bytes(data)


def _cases(tag):
    """(name, bytes, expected status of the first response)."""
    req = lambda cmd, payload=b"", t=tag: encode_request(cmd, 0x42, t, payload)  # noqa: E731
    ww = req(Command.WRITE_WEIGHTS, struct.pack("<BBH", 0, 0, 0) + bytes([5, 6, 7]))
    run = req(Command.RUN, struct.pack("<3H", 1, 2, EVENT_MARKER))
    param = req(Command.WRITE_PARAM, struct.pack("<BI", Param.LEDS, 3))
    clear = req(Command.CLEAR)
    info = req(Command.INFO)
    oversize = bytes([SYNC]) + struct.pack("<HBBI", MAX_PAYLOAD + 1, Command.RUN, 1, tag)
    huge = bytes([SYNC]) + struct.pack("<HBBI", 0xFFFF, Command.WRITE_WEIGHTS, 1, tag)
    short_len = bytearray(req(Command.RUN, struct.pack("<2H", 1, EVENT_MARKER)))
    short_len[1] = 2  # LEN says 2 bytes, 4 follow (the CRC no longer covers the right bytes)
    return [
        ("bad CRC on INFO", _flip(info, -1), Status.BAD_CRC),
        ("bad CRC on WRITE_WEIGHTS payload", _flip(ww, 10, 3), Status.BAD_CRC),
        ("bad CRC on WRITE_PARAM value", _flip(param, 10, 7), Status.BAD_CRC),
        ("bad CRC on RUN event", _flip(run, 9, 1), Status.BAD_CRC),
        ("bad CRC on CLEAR command byte", _flip(clear, 3, 0), Status.BAD_CRC),
        ("bad CRC in the tag", _flip(ww, 6, 4), Status.BAD_CRC),
        ("truncated: SYNC only", bytes([SYNC]), Status.TRUNCATED),
        ("truncated after the header", ww[:9], Status.TRUNCATED),
        ("truncated in the payload", ww[:11], Status.TRUNCATED),
        ("truncated before the last CRC byte", ww[:-1], Status.TRUNCATED),
        ("oversize LEN", oversize + bytes(40), Status.OVERSIZE),
        ("oversize LEN 0xFFFF", huge + bytes(8), Status.OVERSIZE),
        ("wrong length: LEN shorter than the bytes", bytes(short_len), Status.BAD_CRC),
        ("wrong length for INFO", req(Command.INFO, b"\x00"), Status.BAD_LENGTH),
        ("wrong length for READ_WEIGHTS",
         req(Command.READ_WEIGHTS, struct.pack("<BBHB", 0, 0, 0, 1)), Status.BAD_LENGTH),
        ("wrong length for WRITE_PARAM", req(Command.WRITE_PARAM, b"\x01\x00\x00\x00"),
         Status.BAD_LENGTH),
        ("odd length for RUN", req(Command.RUN, b"\x01\x00\xff"), Status.BAD_LENGTH),
        ("empty RUN", req(Command.RUN), Status.BAD_LENGTH),
        ("CLEAR with a payload", req(Command.CLEAR, b"\x00"), Status.BAD_LENGTH),
        ("WRITE_WEIGHTS without words", req(Command.WRITE_WEIGHTS, b"\x00\x00\x00\x00"),
         Status.BAD_LENGTH),
        ("READ_OUTPUT of 3 bytes", req(Command.READ_OUTPUT, b"\x01\x00\x00"), Status.BAD_LENGTH),
        ("unknown command 0x00", req(0x00), Status.UNKNOWN_COMMAND),
        ("unknown command 0x7F", req(0x7F, b"\x01\x02"), Status.UNKNOWN_COMMAND),
        ("unknown command 0xFF", req(0xFF), Status.UNKNOWN_COMMAND),
        ("layer out of range", req(Command.WRITE_WEIGHTS, struct.pack("<BBHb", 2, 0, 0, 1)),
         Status.BAD_ADDRESS),
        ("lane out of range", req(Command.WRITE_WEIGHTS, struct.pack("<BBHb", 0, 1, 0, 1)),
         Status.BAD_ADDRESS),
        ("write past the end of a layer",
         req(Command.WRITE_WEIGHTS, struct.pack("<BBH3b", 1, 0, 46, 1, 1, 1)),
         Status.BAD_ADDRESS),
        ("read of zero weights", req(Command.READ_WEIGHTS, struct.pack("<BBHH", 0, 0, 0, 0)),
         Status.BAD_ADDRESS),
        ("read past the end of a layer",
         req(Command.READ_WEIGHTS, struct.pack("<BBHH", 0, 0, 90, 7)), Status.BAD_ADDRESS),
        ("state of a neuron that does not exist",
         req(Command.READ_STATE, struct.pack("<BHH", 1, 3, 2)), Status.BAD_ADDRESS),
        ("unknown parameter", req(Command.WRITE_PARAM, struct.pack("<BI", 7, 1)),
         Status.BAD_ADDRESS),
        ("input index out of range", req(Command.RUN, struct.pack("<2H", 8, EVENT_MARKER)),
         Status.BAD_VALUE),
        ("good events, then one out of range",
         req(Command.RUN, struct.pack("<5H", 0, 1, EVENT_MARKER, 3, 200)), Status.BAD_VALUE),
        ("weight outside its 6-bit format",
         req(Command.WRITE_WEIGHTS, struct.pack("<BBH3b", 1, 0, 0, 3, 40, 1)),
         Status.BAD_VALUE),
        ("wrong design tag on WRITE_WEIGHTS",
         req(Command.WRITE_WEIGHTS, struct.pack("<BBHb", 0, 0, 0, 1), tag ^ 1), Status.BAD_TAG),
        ("wrong design tag on RUN", req(Command.RUN, struct.pack("<H", EVENT_MARKER), 0),
         Status.BAD_TAG),
        ("wrong design tag on CLEAR", req(Command.CLEAR, b"", tag + 1), Status.BAD_TAG),
        ("garbage bytes", b"\x00\x11\x22\x33", Status.GARBAGE),
        ("garbage before a frame", b"\x5a\x5a" + req(Command.READ_PARAMS), Status.GARBAGE),
    ]


def _snapshot(device, network):
    weights = [device.read_weights(i, 0, 0, len(layer.weight.reshape(-1)))
               for i, layer in enumerate(network.layers)]
    state = [device.read_state(i, 0, layer.params.n) for i, layer in enumerate(network.layers)]
    counters = device.counters()
    return {"weights": weights, "state": state, "params": device.read_params(),
            "steps": counters["steps"], "in_events": counters["in_events"],
            "steps_sent": counters["steps_sent"], "output_level": counters["output_level"]}


def test_bad_frames_are_rejected_and_change_nothing(device):
    network = small_network(1)
    deploy(device, network)
    device.write_param(Param.LEDS, 0x5)
    x = (np.random.default_rng(5).random((1, 8, 8)) < 0.5).astype(np.uint8)
    run_on_device(device, network, x)  # leaves a non-zero neuron state behind
    before = _snapshot(device, network)
    assert any(r[1] != 0 for layer in before["state"] for r in layer)
    cases = _cases(device.tag)
    assert len({frame for _, frame, _ in cases}) == len(cases) >= 30
    rejected_before = device.counters()["frames_rejected"]
    for name, frame, expected in cases:
        responses = device.send_raw(frame, quiet=0.6)
        assert responses, f"{name}: no response"
        assert Status(responses[0].status) is expected, (
            f"{name}: answered {Status(responses[0].status).name}, expected {expected.name}")
        if name != "garbage before a frame":  # that one ends with a good, read-only frame
            assert all(r.status != Status.OK for r in responses), name
        assert all(r.payload == b"" for r in responses if r.status != Status.OK), name
    assert device.counters()["frames_rejected"] >= rejected_before + len(cases)
    assert _snapshot(device, network) == before
