"""The link's byte layouts: one declaration gives the gateware's fields and the host's bytes,
and those bytes are the little-endian packing the protocol document describes."""

import struct

import pytest
from spikeforge.link.layouts import (
    ARGUMENT_BITS,
    READ_OUTPUT_ARGS,
    READ_STATE_ARGS,
    READ_WEIGHTS_ARGS,
    RUN_REPLY,
    STATE_RECORD,
    WEIGHTS_ARGS,
    WRITE_PARAM_ARGS,
    nbytes,
    pack,
    unpack,
)
from spikeforge.link.protocol import STATE_RECORD_BYTES

#: each layout, the struct format of docs/host_protocol.md, and field values at their extremes
CASES = [
    (WEIGHTS_ARGS, "<BBH", {"layer": 255, "lane": 3, "addr": 0xFFFF}),
    (READ_WEIGHTS_ARGS, "<BBHH", {"layer": 1, "lane": 0, "addr": 300, "count": 0xFFFF}),
    (READ_STATE_ARGS, "<BHH", {"layer": 2, "neuron": 65535, "count": 39}),
    (WRITE_PARAM_ARGS, "<BI", {"index": 1, "value": 0xFFFFFFFF}),
    (READ_OUTPUT_ARGS, "<H", {"max_count": 256}),
    (RUN_REPLY, "<HH", {"accepted": 7, "buffered": 0xFFFF}),
    (STATE_RECORD, "<iiIB", {"i": -(1 << 31), "u": (1 << 31) - 1, "b": 0xFFFFFFFF, "s": 1}),
]


@pytest.mark.parametrize(("layout", "fmt", "values"), CASES, ids=lambda v: str(v)[:20])
def test_packing_is_the_documented_struct(layout, fmt, values):
    wire = struct.pack(fmt, *values.values())
    assert pack(layout, **values) == wire
    assert nbytes(layout) == struct.calcsize(fmt)
    assert unpack(layout, b"\x00" + wire, 1) == values


def test_derived_sizes():
    assert STATE_RECORD_BYTES == nbytes(STATE_RECORD) == 13
    assert ARGUMENT_BITS == 48  # the receiver keeps the first six payload bytes


@pytest.mark.hostile
def test_values_that_do_not_fit_and_short_payloads_are_refused():
    with pytest.raises(ValueError, match="layer = 256 does not fit unsigned"):
        pack(WEIGHTS_ARGS, layer=256, lane=0, addr=0)
    with pytest.raises(ValueError, match="i = 2147483648 does not fit signed"):
        pack(STATE_RECORD, i=1 << 31, u=0, b=0, s=0)
    with pytest.raises(ValueError, match="do not match the layout"):
        pack(READ_OUTPUT_ARGS, count=1)
    with pytest.raises(ValueError, match="13 bytes needed at offset 13, 12 there"):
        unpack(STATE_RECORD, bytes(25), 13)
