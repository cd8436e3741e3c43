r"""The host link protocol: commands, status codes, frames and their CRC, defined once.

The HDL (:mod:`spikeforge.hdl.host_link`), the driver (:mod:`spikeforge.host.driver`) and the
tests all import the enums and constants below; nothing about the wire format is written twice.
See ``docs/host_protocol.md`` for the full description.

Frames
------
All multi-byte fields are little-endian. A request (host → device) is

=======  ======  =====================================================================
offset   bytes   field
=======  ======  =====================================================================
0        1       ``SYNC`` = 0xA5
1        2       ``LEN``: payload bytes, 0..:data:`MAX_PAYLOAD`
3        1       ``CMD``: a :class:`Command`
4        1       ``SEQ``: any value, echoed in the response
5        4       ``TAG``: the first four bytes of the design hash (ignored by ``INFO``)
9        LEN     payload
9+LEN    2       CRC-16 of bytes 1 .. 8+LEN
=======  ======  =====================================================================

and a response (device → host) is ``SYNC, LEN(2), CMD, SEQ, STATUS, payload, CRC(2)`` with the
CRC over ``LEN`` .. the last payload byte. The device answers every request with exactly one
response; a rejected request (any :class:`Status` other than ``OK``) changes no device state and
its response has no payload (except ``RUN`` stopped by ``BUSY``, see below).

The CRC is CRC-16/CCITT-FALSE: polynomial :math:`x^{16} + x^{12} + x^5 + 1` (0x1021), initial
value 0xFFFF, no reflection, no final XOR; ``crc16(b"123456789") == 0x29B1``.

Stop and wait: the host sends the next request only after the response of the previous one.
Bytes that arrive while the device executes a command are dropped (and counted).
"""

import hashlib
import json
import struct
from dataclasses import dataclass

from amaranth.lib import enum
from amaranth.lib.crc import catalog

from .layouts import REQUEST_HEAD, RESPONSE_HEAD, STATE_RECORD, nbytes, pack, unpack

__all__ = [
    "CORE_COUNTER_NAMES",
    "COUNTER_NAMES",
    "CRC_ALGORITHM",
    "CRC_INIT",
    "CRC_POLY",
    "DEFAULT_LINK",
    "EVENT_MARKER",
    "LEARN_TARGET",
    "LEARN_TRIAL_FREEZE",
    "LEARN_TRIAL_LEARN",
    "LED_BITS",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "REQUEST_HEADER",
    "RESPONSE_HEADER",
    "STATE_RECORD_BYTES",
    "SYNC",
    "Command",
    "DesignInfo",
    "LayerInfo",
    "LinkConfig",
    "Param",
    "ProtocolError",
    "Response",
    "Status",
    "crc16",
    "crc16_update",
    "decode_response",
    "design_info",
    "encode_request",
    "encode_response",
    "layer_info",
    "learn_step_words",
    "learning_hash",
    "parse_info",
]

PROTOCOL_VERSION = 4
SYNC = 0xA5
#: Largest payload of a request or a response, in bytes.
MAX_PAYLOAD = 512
#: Bytes before the payload: ``SYNC``, then :data:`~spikeforge.link.layouts.REQUEST_HEAD`
#: (LEN, CMD, SEQ, TAG) or :data:`~spikeforge.link.layouts.RESPONSE_HEAD` (LEN, CMD, SEQ, STATUS).
REQUEST_HEADER = 1 + nbytes(REQUEST_HEAD)
RESPONSE_HEADER = 1 + nbytes(RESPONSE_HEAD)
#: The frames' CRC: CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection,
#: no final XOR) over every byte after ``SYNC``; the gateware computes it with Amaranth's
#: :class:`amaranth.lib.crc.Processor` of these parameters, the host with :func:`crc16`.
CRC_ALGORITHM = catalog.CRC16_CCITT_FALSE
CRC_POLY = CRC_ALGORITHM.polynomial
CRC_INIT = CRC_ALGORITHM.initial_crc
#: ``RUN`` event word that ends a time step; any other value is an input index.
EVENT_MARKER = 0xFFFF
#: ``LEARN`` word flag: ``LEARN_TARGET | k`` is a target spike of output neuron ``k``.
LEARN_TARGET = 0x8000
#: ``LEARN`` words that end a trial: apply the accumulated update to the weights (learn), or
#: leave the weights as they are (freeze). Either way the neuron and learning state is cleared.
LEARN_TRIAL_LEARN = 0xFFFE
LEARN_TRIAL_FREEZE = 0xFFFD
#: ``READ_STATE`` bytes per neuron: ``i`` (s32), ``u`` (s32), ``b`` (u32), ``s`` (u8)
#: (:data:`~spikeforge.link.layouts.STATE_RECORD`).
STATE_RECORD_BYTES = nbytes(STATE_RECORD)


class Command(enum.IntEnum, shape=8):
    """What a request asks for. Payload layouts (``u16`` etc. little-endian):

    ============== ==================================== =======================================
    command        request payload                      response payload
    ============== ==================================== =======================================
    INFO           (none)                               :class:`DesignInfo` bytes
    WRITE_WEIGHTS  layer u8, lane u8, addr u16, then    (none)
                   ``k ≥ 1`` words of ``B`` bytes
    READ_WEIGHTS   layer u8, lane u8, addr u16,         ``count`` words of ``B`` bytes
                   count u16
    READ_STATE     layer u8, neuron u16, count u16      ``count`` records of 13 bytes
    WRITE_PARAM    index u8 (:class:`Param`), value u32 (none)
    READ_PARAMS    (none)                               every :class:`Param`, u32 each
    RUN            ``e ≥ 1`` event words u16 (input     accepted u16, output entries u16
                   index, or 0xFFFF: end of step)
    READ_OUTPUT    max count u16                        up to max count output words u16
                                                        (neuron index, or 0xFFFF: end of step)
    READ_COUNTERS  (none)                               :data:`COUNTER_NAMES`, u32 each
    CLEAR          (none)                               (none)
    LEARN          ``e ≥ 1`` learn words u16 (input     accepted u16, output entries u16
                   index, ``LEARN_TARGET | k``, 0xFFFF:
                   end of step, ``LEARN_TRIAL_*``)
    ============== ==================================== =======================================

    ``LEARN`` exists on bitstreams built with learning units only (:attr:`DesignInfo.learning`);
    elsewhere it is an ``UNKNOWN_COMMAND``. A trial is any number of ``LEARN`` frames: each step's
    inputs and targets in any order, its end-of-step word, and after the last step one
    ``LEARN_TRIAL_LEARN`` or ``LEARN_TRIAL_FREEZE`` word. While a trial is open, ``RUN``,
    ``WRITE_WEIGHTS``, ``CLEAR`` and writing ``LFSR`` are refused with ``IN_TRIAL``.

    ``B`` is :attr:`DesignInfo.weight_bytes`. Weight addresses are those of
    :mod:`spikeforge.link.memory_layout`. Weights, state and ``CLEAR`` wait until the core has
    finished every step sent so far.
    """

    INFO = 0x01
    WRITE_WEIGHTS = 0x10
    READ_WEIGHTS = 0x11
    READ_STATE = 0x12
    WRITE_PARAM = 0x20
    READ_PARAMS = 0x21
    RUN = 0x30
    READ_OUTPUT = 0x31
    READ_COUNTERS = 0x32
    CLEAR = 0x33
    LEARN = 0x34


class Status(enum.IntEnum, shape=8):
    """The ``STATUS`` byte of a response. Anything but ``OK`` means nothing changed, except
    ``BUSY``: a RUN or LEARN answered BUSY returns a payload and its accepted words run
    (``docs/host_protocol.md``)."""

    OK = 0x00
    BAD_CRC = 0x01  #: the CRC does not match
    TRUNCATED = 0x02  #: the line went quiet before the frame was complete
    OVERSIZE = 0x03  #: ``LEN`` > MAX_PAYLOAD (the rest of the frame is discarded)
    BAD_LENGTH = 0x04  #: ``LEN`` is not a valid payload length for the command
    UNKNOWN_COMMAND = 0x05
    BAD_ADDRESS = 0x06  #: layer, lane, address, neuron, count or parameter out of range
    BAD_TAG = 0x07  #: ``TAG`` is not this design's
    GARBAGE = 0x08  #: bytes outside a frame (answered once the line goes quiet or at SYNC)
    BAD_VALUE = 0x09  #: an input index ≥ n_in, or a weight outside its format
    BUSY = 0x0A  #: the output buffer is full: read outputs first
    IN_TRIAL = 0x0B  #: a learning trial is open: end it with its end-of-trial word first
    OVERRUN = 0x0C  #: bytes arrived while the device executed a frame (stop and wait broken)
    #: ``RUN``/``LEARN`` while ``WEIGHTS_ID`` is 0: a deploy is under way or did not complete
    NO_NETWORK = 0x0D


#: The bits of ``Param.LEDS`` a device keeps (a board has at most this many user LEDs).
LED_BITS = 8


class Param(enum.IntEnum, shape=8):
    """Device parameters (u32, read and written by the host).

    Neuron parameters (θ, shifts, formats) are constants of the bitstream and part of its
    design hash; what the host may change at run time is listed here.
    """

    WEIGHTS_ID = 0  #: fingerprint of the weights the host deployed (``deploy`` writes it)
    #: drives the board's user LEDs (bit k: LED k); the device keeps the low :data:`LED_BITS`
    #: bits of the value written and reads the others back as 0
    LEDS = 1
    #: learning bitstreams only: the state of the LFSR that rounds weight updates
    #: (:mod:`spikeforge.model.learning.lfsr`); write ``lfsr_seed`` to replay the reference
    LFSR = 2


#: Counters in ``READ_COUNTERS`` order: the core's (:data:`CORE_COUNTER_NAMES`), the
#: link's, then the learning trials completed (always 0 without learning units).
COUNTER_NAMES = (
    "cycles", "steps", "run_cycles", "events", "synops", "saturations", "stall_cycles",
    "in_events", "out_events",
    "frames_ok", "frames_rejected", "bytes_dropped", "steps_sent", "output_level",
    "trials",
)
#: The network core's own counters (its 32-bit counter outputs, in this order): the first
#: nine of :data:`COUNTER_NAMES`.
CORE_COUNTER_NAMES = COUNTER_NAMES[:COUNTER_NAMES.index("out_events") + 1]


class ProtocolError(RuntimeError):
    """The device answered with an error status, or its answer could not be decoded."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


# ---- CRC ------------------------------------------------------------------------------------


def crc16_update(crc, byte):
    """One byte of CRC-16/CCITT-FALSE, MSB first (the HDL unrolls the same eight steps)."""
    crc ^= (byte & 0xFF) << 8
    for _ in range(8):
        crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
    return crc


def crc16(data, crc=CRC_INIT):
    for byte in bytes(data):
        crc = crc16_update(crc, byte)
    return crc


# ---- frames ---------------------------------------------------------------------------------


def encode_request(command, seq, tag, payload=b""):
    """The bytes of a request frame (``command`` may be any 0..255 for testing)."""
    payload = bytes(payload)
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload must be at most 65535 bytes, not {len(payload)}")
    body = pack(REQUEST_HEAD, length=len(payload), command=int(command), seq=seq & 0xFF,
                tag=tag & 0xFFFFFFFF) + payload
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


def encode_response(command, seq, status, payload=b""):
    """The bytes of a response frame, as the device sends it (used by tests and docs)."""
    body = pack(RESPONSE_HEAD, length=len(payload), command=int(command), seq=seq & 0xFF,
                status=int(status)) + payload
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Response:
    command: int
    seq: int
    status: int
    payload: bytes

    @property
    def ok(self):
        return self.status == Status.OK


def decode_response(frame):
    """A :class:`Response` from the bytes of one complete frame; raises ``ProtocolError``."""
    frame = bytes(frame)
    if len(frame) < RESPONSE_HEADER + 2 or frame[0] != SYNC:
        raise ProtocolError(f"not a response frame: {frame[:16].hex()}")
    head = unpack(RESPONSE_HEAD, frame, 1)
    length, command, seq, status = head["length"], head["command"], head["seq"], head["status"]
    if len(frame) != RESPONSE_HEADER + length + 2:
        raise ProtocolError(f"response of {len(frame)} bytes, but LEN says {length} payload bytes")
    (crc,) = struct.unpack_from("<H", frame, RESPONSE_HEADER + length)
    if crc != crc16(frame[1:RESPONSE_HEADER + length]):
        raise ProtocolError(f"response CRC mismatch in {frame.hex()}")
    return Response(command, seq, status, frame[RESPONSE_HEADER:RESPONSE_HEADER + length])


# ---- design description ---------------------------------------------------------------------


@dataclass(frozen=True)
class LinkConfig:
    """Link parameters that shape the protocol of one bitstream.

    Parameters
    ----------
    output_depth : int
        Entries of the device's output buffer (words of ``READ_OUTPUT``).
    """

    output_depth: int = 4096

    def __post_init__(self):
        if not isinstance(self.output_depth, int) or not 16 <= self.output_depth <= 65535:
            raise ValueError(
                f"output_depth must be an integer in 16..65535, not {self.output_depth!r}")


@dataclass(frozen=True)
class LayerInfo:
    """What the bitstream fixed about one layer (``INFO``: 44 bytes).

    A decay (``k_syn``, ``k_mem``, ``k_adapt``) is what the network file writes: an int for
    one term, else a tuple of signed shifts (:meth:`spikeforge.model.decay.Decay.to_json`); on
    the wire 4 signed bytes, the terms then zeros (only the first term can have shift 0).
    ``theta_reset`` is the reset amount (θ unless the layer sets another).
    """

    n_in: int
    n: int
    kind: int
    reset: int
    recurrent: bool
    bias: bool
    k_syn: int | tuple
    k_mem: int | tuple
    k_adapt: int | tuple
    weight_width: int
    current_width: int
    potential_width: int
    trace_width: int
    theta: int
    adapt_jump: int
    depth: int  #: weight words per lane
    theta_reset: int = 0
    input_shift: int = 0
    same_step_recurrence: bool = False

    _FORMAT = "<IIBBB4b4b4bBBBBBIIII"

    def pack(self):
        flags = (int(self.recurrent) | (int(self.bias) << 1)
                 | (int(self.same_step_recurrence) << 2))
        return struct.pack(
            self._FORMAT, self.n_in, self.n, self.kind, self.reset, flags,
            *_decay_bytes(self.k_syn), *_decay_bytes(self.k_mem), *_decay_bytes(self.k_adapt),
            self.weight_width, self.current_width, self.potential_width, self.trace_width,
            self.input_shift, self.theta, self.theta_reset, self.adapt_jump, self.depth)

    @classmethod
    def unpack(cls, data):
        fields = struct.unpack(cls._FORMAT, data)
        n_in, n, kind, reset, flags = fields[:5]
        k_syn, k_mem, k_adapt = (_decay_of_bytes(fields[5 + 4 * k:9 + 4 * k]) for k in range(3))
        ww, cw, pw, tw, shift, theta, theta_reset, jump, depth = fields[17:]
        return cls(n_in, n, kind, reset, bool(flags & 1), bool(flags & 2), k_syn, k_mem, k_adapt,
                   ww, cw, pw, tw, theta, jump, depth, theta_reset, shift, bool(flags & 4))

    @classmethod
    def size(cls):
        return struct.calcsize(cls._FORMAT)


@dataclass(frozen=True)
class DesignInfo:
    """The ``INFO`` payload: everything the host must agree with before it deploys.

    Bytes: version u8, hash (16 bytes), lanes u8, n_layers u8, weight_bytes u8, n_params u8,
    max_payload u16, output_depth u16, learning u8, learning_layers u16, learning hash (16
    bytes), then :class:`LayerInfo` per layer.

    ``learning`` is 0 without learning units, else 1 + the
    :class:`~spikeforge.model.learning.LearningRule`; ``learning_layers`` has bit ``i`` set for
    every learning layer ``i``; ``learning_hash`` (:func:`learning_hash`) fingerprints the whole
    learning configuration (zeros without learning units).
    """

    version: int
    design_hash: bytes
    lanes: int
    weight_bytes: int
    n_params: int
    max_payload: int
    output_depth: int
    layers: tuple
    learning: int = 0
    learning_layers: int = 0
    learning_hash: bytes = bytes(16)

    _HEAD = "<B16sBBBBHHBH16s"

    @property
    def tag(self):
        """The ``TAG`` of every request to this design: the hash's first four bytes."""
        return struct.unpack_from("<I", self.design_hash)[0]

    @property
    def rule_name(self):
        """The learning rule's name (``"superspike"``, ``"eprop"``), or ``None``."""
        if not self.learning:
            return None
        from ..model.learning import LearningRule

        try:
            return LearningRule(self.learning - 1).name.lower()
        except ValueError:
            return f"rule {self.learning - 1}"

    def pack(self):
        head = struct.pack(self._HEAD, self.version, self.design_hash, self.lanes,
                           len(self.layers), self.weight_bytes, self.n_params, self.max_payload,
                           self.output_depth, self.learning, self.learning_layers,
                           self.learning_hash)
        return head + b"".join(layer.pack() for layer in self.layers)


def parse_info(payload):
    """A :class:`DesignInfo` from an ``INFO`` response payload."""
    head = struct.calcsize(DesignInfo._HEAD)
    if len(payload) >= 1 and payload[0] != PROTOCOL_VERSION:
        raise ProtocolError(
            f"the device speaks protocol version {payload[0]}; this host speaks "
            f"{PROTOCOL_VERSION}: rebuild the bitstream with this spikeforge")
    if len(payload) < head:
        raise ProtocolError(f"INFO payload of {len(payload)} bytes is shorter than {head}")
    (version, digest, lanes, n_layers, wbytes, n_params, max_payload, depth, learning,
     learning_layers, lhash) = struct.unpack_from(DesignInfo._HEAD, payload)
    size = LayerInfo.size()
    if len(payload) != head + n_layers * size:
        raise ProtocolError(f"INFO payload of {len(payload)} bytes does not hold {n_layers} layers")
    layers = tuple(LayerInfo.unpack(payload[head + k * size:head + (k + 1) * size])
                   for k in range(n_layers))
    return DesignInfo(version, digest, lanes, wbytes, n_params, max_payload, depth, layers,
                      learning, learning_layers, lhash)


#: The link parameters of a default build.
DEFAULT_LINK = LinkConfig()


def _decay_json(decay):
    value = decay.to_json()
    return value if isinstance(value, int) else tuple(value)


def _decay_bytes(decay):
    """4 signed bytes: the terms of ``decay`` (an int or signed shifts), then zeros."""
    terms = [decay] if isinstance(decay, int) else list(decay)
    return [*terms, *[0] * (4 - len(terms))]


def _decay_of_bytes(values):
    terms = [values[0], *(v for v in values[1:] if v)]
    return terms[0] if len(terms) == 1 else tuple(terms)


def layer_info(layer, lanes):
    """The :class:`LayerInfo` of a :class:`~spikeforge.model.Layer` built with ``lanes``."""
    from .memory_layout import lane_depth

    p = layer.params
    return LayerInfo(
        n_in=p.n_in, n=p.n, kind=int(p.kind), reset=int(p.reset), recurrent=p.recurrent,
        bias=p.bias, k_syn=_decay_json(p.k_syn), k_mem=_decay_json(p.k_mem),
        k_adapt=_decay_json(p.k_adapt),
        weight_width=p.weight_format.width, current_width=p.current_format.width,
        potential_width=p.potential_format.width, trace_width=p.trace_format.width,
        theta=p.theta, adapt_jump=p.adapt_jump, depth=lane_depth(layer, lanes),
        theta_reset=p.reset_amount, input_shift=p.input_shift,
        same_step_recurrence=p.same_step_recurrence)


def weight_bytes(network):
    """``B``: bytes per weight word on the wire (1, 2 or 4), from the widest weight format."""
    widest = max(layer.params.weight_format.width for layer in network.layers)
    return 1 if widest <= 8 else 2 if widest <= 16 else 4


def learning_hash(config):
    """16 bytes that fingerprint a :class:`~spikeforge.model.learning.LearningConfig`: SHA-256
    of its canonical JSON and its feedback matrices. A learning bitstream reports it, so the
    host can refuse to compare the device against a reference with another configuration."""
    canon = {"config": config.to_dict(),
             "feedback": {str(k): v.astype(int).tolist() for k, v in config.feedback.items()}}
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).digest()[:16]


def learn_step_words(x_step, target_step):
    """``LEARN`` words of one step: its input indices, its targets, the end-of-step word."""
    import numpy as np

    return ([int(j) for j in np.flatnonzero(x_step)]
            + [LEARN_TARGET | int(k) for k in np.flatnonzero(target_step)] + [EVENT_MARKER])


def _layer_canon(layer):
    """What a bitstream fixes of a layer: its parameters, its bias values and, for a layer
    with one, its connectivity (the ROMs of a convolution core are built from it) and its
    residual join (which layer feeds the join's FIFO, and the join's ROM entries)."""
    canon = {"params": layer.params.to_dict(),
             "bias": None if layer.bias is None else [int(v) for v in layer.bias]}
    if layer.connectivity is not None:
        canon["connectivity"] = layer.connectivity.to_dict()
    if layer.shortcut is not None:
        canon["shortcut"] = layer.shortcut.to_dict()
    return canon


def design_info(network, lanes, link=DEFAULT_LINK, learning=None):
    """The :class:`DesignInfo` a bitstream of ``network`` with ``lanes`` lanes reports.

    The design hash is SHA-256 (first 16 bytes) of a canonical JSON of everything the bitstream
    fixes: protocol version, lanes, link parameters, every layer's parameters, its bias values
    (biases are not writable over the link), its connectivity and its residual join, if any.
    Weights (a join's too) are not part
    of it: they are deployed. The learning configuration (``learning``, a
    :class:`~spikeforge.model.learning.LearningConfig`) has its own hash, so a network can be
    deployed to a learning bitstream without knowing how it learns.
    """
    canon = {
        "version": PROTOCOL_VERSION,
        "lanes": lanes,
        "max_payload": MAX_PAYLOAD,
        "output_depth": link.output_depth,
        "layers": [_layer_canon(layer) for layer in network.layers],
    }
    digest = hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).digest()[:16]
    layers = tuple(layer_info(layer, lanes) for layer in network.layers)
    if len(layers) > 16:
        raise ValueError(f"the host link describes at most 16 layers, not {len(layers)}")
    if learning is None:
        return DesignInfo(PROTOCOL_VERSION, digest, lanes, weight_bytes(network), len(Param) - 1,
                          MAX_PAYLOAD, link.output_depth, layers)
    learning.check(network)
    if network.n_in > LEARN_TARGET or network.n_out > LEARN_TRIAL_FREEZE - LEARN_TARGET:
        raise ValueError(
            f"the LEARN words of the host link address at most {LEARN_TARGET} inputs and "
            f"{LEARN_TRIAL_FREEZE - LEARN_TARGET} outputs; the network has {network.n_in} and "
            f"{network.n_out}")
    mask = sum(1 << index for index in learning.layers)
    return DesignInfo(PROTOCOL_VERSION, digest, lanes, weight_bytes(network), len(Param),
                      MAX_PAYLOAD, link.output_depth, layers, 1 + int(learning.rule), mask,
                      learning_hash(learning))
