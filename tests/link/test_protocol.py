"""The wire format, checked without hardware: CRC, frames, design description."""

import struct

import pytest
from spikeforge.link.protocol import (
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

from ..boards.networks import small_network


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


def test_design_info_of_a_learning_bitstream():
    from spikeforge.link.protocol import learning_hash
    from spikeforge.model.learning import LearningConfig

    network = small_network(1)
    config = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -6, seed=3)
    plain, info = design_info(network, 1), design_info(network, 1, learning=config)
    assert parse_info(info.pack()) == info
    assert (info.learning, info.rule_name, info.learning_layers) == (2, "eprop", 0b11)
    assert info.n_params == plain.n_params + 1  # the LFSR
    assert (plain.learning, plain.rule_name, plain.learning_hash) == (0, None, bytes(16))
    # the network's design hash does not depend on learning: a network deploys to both
    assert info.design_hash == plain.design_hash
    assert info.learning_hash == learning_hash(config)
    other_seed = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -6, seed=4)
    assert learning_hash(other_seed) != info.learning_hash  # other feedback matrices
    slower = LearningConfig.create(network, "eprop", learning_rate=2.0 ** -7, seed=3)
    assert learning_hash(slower) != info.learning_hash


def test_info_of_another_protocol_version_is_refused_clearly():
    payload = bytearray(design_info(small_network(1), 1).pack())
    payload[0] = 1
    with pytest.raises(ProtocolError, match=r"protocol version 1.*rebuild"):
        parse_info(bytes(payload))


def test_layer_description_carries_and_hashes_version_2_parameters():
    """Decays of 1 to 4 terms, the reset amount, the input shift and same-step recurrence go
    through INFO and back unchanged, and each one changes the design hash."""
    import numpy as np
    from spikeforge.model import Network
    from spikeforge.sim.random_networks import feature_network

    network = feature_network(np.random.default_rng(4), 2)
    info = design_info(network, 2)
    assert parse_info(info.pack()) == info
    hidden = info.layers[0]
    assert (hidden.k_syn, hidden.k_mem, hidden.k_adapt) == ((1, 2, -3, 4), (2, -4), (1, 2, -3))
    assert hidden.same_step_recurrence and hidden.input_shift == 1
    assert hidden.theta_reset == network.layers[0].params.reset_amount != hidden.theta
    assert info.layers[-1].k_syn == 2  # one term: an int, as in the network file
    for change in ({"k_syn": [1, 2, -3, 5]}, {"theta_reset": 1}, {"input_shift": 0},
                   {"same_step_recurrence": False}):
        layer = network.layers[0]
        changed = layer.__class__(layer.params.replace(**change), layer.weight,
                                  recurrent=layer.recurrent, bias=layer.bias)
        other = Network((changed, *network.layers[1:]), network.encoding, network.readout)
        assert design_info(other, 2).design_hash != info.design_hash, change
