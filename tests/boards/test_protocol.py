"""The wire format, checked without hardware: CRC, frames, design description."""

import struct

import pytest
from spikeforge.host.protocol import (
    MAX_PAYLOAD,
    SYNC,
    Command,
    DesignInfo,
    LinkConfig,
    ProtocolError,
    Status,
    crc16,
    decode_response,
    design_info,
    encode_request,
    encode_response,
    parse_info,
)

from .networks import small_network


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF


def test_request_layout():
    frame = encode_request(Command.READ_PARAMS, 7, 0xDEADBEEF, b"\x01\x02")
    assert frame[0] == SYNC
    assert struct.unpack_from("<HBBI", frame, 1) == (2, Command.READ_PARAMS, 7, 0xDEADBEEF)
    assert frame[9:11] == b"\x01\x02"
    assert struct.unpack_from("<H", frame, 11)[0] == crc16(frame[1:11])


def test_response_round_trip_and_corruption():
    frame = encode_response(Command.RUN, 3, Status.OK, b"\x05\x00\x00\x00")
    response = decode_response(frame)
    assert (response.command, response.seq, response.status) == (Command.RUN, 3, 0)
    assert response.payload == b"\x05\x00\x00\x00"
    with pytest.raises(ProtocolError, match="CRC"):
        decode_response(frame[:-1] + bytes([frame[-1] ^ 1]))


def test_enums_are_hardware_shapes_with_distinct_values():
    for enum in (Command, Status):
        assert len({int(v) for v in enum}) == len(enum)
        assert all(0 <= int(v) < 256 for v in enum)


def test_design_info_round_trip_and_hash_ignores_weights():
    a, b = small_network(1), small_network(2)
    info = design_info(a, 1)
    assert parse_info(info.pack()) == info
    assert design_info(b, 1).design_hash == info.design_hash  # weights are deployed, not built
    assert design_info(small_network(1, theta=41), 1).design_hash != info.design_hash
    assert design_info(a, 2).design_hash != info.design_hash
    assert design_info(a, 1, LinkConfig(1024)).design_hash != info.design_hash
    assert isinstance(info, DesignInfo) and len(info.pack()) <= MAX_PAYLOAD
