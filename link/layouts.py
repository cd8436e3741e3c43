"""Byte layouts of the host link, declared once as Amaranth struct layouts.

The gateware views its registers through these layouts (``data.View(READ_STATE_ARGS, args)``,
a ``Signal(STATE_RECORD)``), and the host packs and unpacks the bytes of a frame with the same
declarations (:func:`pack`, :func:`unpack`), so a field's place is written in one place only.

A struct layout puts its first field in the least significant bits; a frame is little-endian;
so the layout's bit ``8k .. 8k+7`` is byte ``k`` on the wire. Every field here is a whole
number of bytes.
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

__all__ = [
    "ARGUMENT_BITS",
    "ARGUMENT_LAYOUTS",
    "READ_OUTPUT_ARGS",
    "READ_STATE_ARGS",
    "READ_WEIGHTS_ARGS",
    "REQUEST_HEAD",
    "RESPONSE_HEAD",
    "RUN_REPLY",
    "STATE_RECORD",
    "WEIGHTS_ARGS",
    "WRITE_PARAM_ARGS",
    "nbytes",
    "pack",
    "unpack",
]

#: a request frame's header, after its ``SYNC`` byte: payload bytes, command, sequence number,
#: and the tag of the design the host means (:attr:`~spikeforge.link.protocol.DesignInfo.tag`)
REQUEST_HEAD = data.StructLayout({"length": unsigned(16), "command": unsigned(8),
                                  "seq": unsigned(8), "tag": unsigned(32)})
#: a response frame's header, after its ``SYNC`` byte: the request's command and sequence
#: number, and a :class:`~spikeforge.link.protocol.Status`
RESPONSE_HEAD = data.StructLayout({"length": unsigned(16), "command": unsigned(8),
                                   "seq": unsigned(8), "status": unsigned(8)})

#: ``WRITE_WEIGHTS``: where the weight words that follow go
WEIGHTS_ARGS = data.StructLayout({"layer": unsigned(8), "lane": unsigned(8),
                                  "addr": unsigned(16)})
#: ``READ_WEIGHTS``: where, and how many words
READ_WEIGHTS_ARGS = data.StructLayout({"layer": unsigned(8), "lane": unsigned(8),
                                       "addr": unsigned(16), "count": unsigned(16)})
#: ``READ_STATE``: which neurons
READ_STATE_ARGS = data.StructLayout({"layer": unsigned(8), "neuron": unsigned(16),
                                     "count": unsigned(16)})
#: ``WRITE_PARAM``: a :class:`~spikeforge.link.protocol.Param` and its value
WRITE_PARAM_ARGS = data.StructLayout({"index": unsigned(8), "value": unsigned(32)})
#: ``READ_OUTPUT``: the most output words to return
READ_OUTPUT_ARGS = data.StructLayout({"max_count": unsigned(16)})
#: every request's leading argument bytes (what the receiver keeps of a payload), and their bits
ARGUMENT_LAYOUTS = (WEIGHTS_ARGS, READ_WEIGHTS_ARGS, READ_STATE_ARGS, WRITE_PARAM_ARGS,
                    READ_OUTPUT_ARGS)
ARGUMENT_BITS = max(layout.size for layout in ARGUMENT_LAYOUTS)
#: ``RUN`` / ``LEARN`` response: words accepted, output entries buffered
RUN_REPLY = data.StructLayout({"accepted": unsigned(16), "buffered": unsigned(16)})
#: one neuron of a ``READ_STATE`` response
STATE_RECORD = data.StructLayout({"i": signed(32), "u": signed(32), "b": unsigned(32),
                                  "s": unsigned(8)})


def nbytes(layout) -> int:
    """Bytes of ``layout`` on the wire."""
    assert layout.size % 8 == 0, layout
    return layout.size // 8


def pack(layout, **values) -> bytes:
    """The wire bytes of ``layout`` with its fields set to ``values`` (every field, in range)."""
    if set(values) != {name for name, _ in layout}:
        raise ValueError(f"fields {sorted(values)} do not match the layout's "
                         f"{[name for name, _ in layout]}")
    word = 0
    for name, field in layout:
        value, shape = int(values[name]), field.shape
        low = -(1 << (shape.width - 1)) if shape.signed else 0
        if not low <= value < low + (1 << shape.width):
            raise ValueError(f"{name} = {value} does not fit {shape}")
        word |= (value & ((1 << shape.width) - 1)) << field.offset
    return word.to_bytes(nbytes(layout), "little")


def unpack(layout, payload, offset=0) -> dict:
    """The fields of ``layout`` read from ``payload`` at byte ``offset``."""
    size = nbytes(layout)
    chunk = bytes(payload[offset:offset + size])
    if len(chunk) != size:
        raise ValueError(f"{size} bytes needed at offset {offset}, {len(chunk)} there")
    word = int.from_bytes(chunk, "little")
    fields = {}
    for name, field in layout:
        shape = field.shape
        value = (word >> field.offset) & ((1 << shape.width) - 1)
        if shape.signed and value >> (shape.width - 1):
            value -= 1 << shape.width
        fields[name] = value
    return fields
