"""The host driver: one request, one response, over pyserial.

``Device(port)`` opens ``port`` with :func:`serial.serial_for_url`, so a board's serial port
(``/dev/ttyUSB1``, ``COM3``) and the co-simulated board's bridge (``socket://127.0.0.1:PORT``)
are opened the same way. Every method sends one request frame of
:mod:`spikeforge.link.protocol` and waits for its response (stop and wait); an error status
raises :class:`~spikeforge.link.protocol.ProtocolError` naming the command and the status.

A link that fails (a cable pulled, the socket closed: pyserial's ``SerialException`` or an
``OSError``) raises :class:`LinkError`, a ``ProtocolError`` that says so. A new connection
resynchronises: a client that was stopped in the middle of a request leaves a partial frame in
the device's receiver until its line-quiet timeout, which swallows the next client's first
request, so the first ``INFO`` is retried (after stale input is discarded; waits of 1.5 s,
3 s, 6 s, ...) within ``timeout``.
"""

import struct
import time

from ..link.layouts import (
    READ_OUTPUT_ARGS,
    READ_STATE_ARGS,
    READ_WEIGHTS_ARGS,
    RESPONSE_HEAD,
    RUN_REPLY,
    STATE_RECORD,
    WEIGHTS_ARGS,
    WRITE_PARAM_ARGS,
    pack,
    unpack,
)
from ..link.protocol import (
    COUNTER_NAMES,
    MAX_PAYLOAD,
    RESPONSE_HEADER,
    STATE_RECORD_BYTES,
    SYNC,
    Command,
    Param,
    ProtocolError,
    Status,
    decode_response,
    encode_request,
    parse_info,
)

__all__ = ["Device", "LinkError"]

#: seconds the first INFO of a connection waits before it is sent again (longer than any
#: device's line-quiet timeout)
RESYNC_WAIT = 1.5


class LinkError(ProtocolError):
    """The serial link itself failed (port closed, socket disconnected, device unplugged)."""


#: what to do about a refusal, where the status name alone does not say
_ADVICE = {Status.NO_NETWORK: " (the device holds no valid network: a deploy did not complete; "
                              "run `spikeforge deploy` again)"}


def _status_name(status):
    try:
        return Status(status).name + _ADVICE.get(Status(status), "")
    except ValueError:
        return f"0x{status:02x}"


class Device:
    """A device behind a serial port.

    Parameters
    ----------
    port : str
        A pyserial port name or URL.
    baud : int
        Line rate (ignored by ``socket://``).
    timeout : float
        Seconds to wait for a response.
    """

    def __init__(self, port, *, baud=115200, timeout=10.0):
        import serial

        self.port = port
        self.timeout = timeout
        self._serial_errors = (serial.SerialException, OSError)
        self.serial = serial.serial_for_url(port, baudrate=baud, timeout=0.05)
        self.seq = 0
        self.tag = 0
        self._info = None

    def close(self):
        self.serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- frames -----------------------------------------------------------------------------

    def _link(self, action, *args):
        """``action(*args)`` on the serial port; a failing link is a :class:`LinkError`."""
        try:
            return action(*args)
        except self._serial_errors as exc:
            raise LinkError(f"the link to {self.port} failed: {exc}; check the cable or the "
                            "device, then reconnect") from None

    def _write(self, data):
        self._link(self.serial.write, bytes(data))
        self._link(self.serial.flush)

    def _read_exact(self, n, deadline, timeout=None):
        data = bytearray()
        while len(data) < n:
            if time.monotonic() > deadline:
                waited = self.timeout if timeout is None else timeout
                raise ProtocolError(f"no complete response within {waited:g} s "
                                    f"(got {bytes(data).hex()})")
            data += self._link(self.serial.read, n - len(data))
        return bytes(data)

    def read_response(self, timeout=None):
        """The next response frame (bytes before ``SYNC`` are skipped)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self._read_exact(1, deadline, timeout)[0] != SYNC:
            pass
        head = self._read_exact(RESPONSE_HEADER - 1, deadline, timeout)
        length = unpack(RESPONSE_HEAD, head)["length"]
        rest = self._read_exact(length + 2, deadline, timeout)
        return decode_response(bytes([SYNC]) + head + rest)

    def send_raw(self, data, quiet=0.5):
        """Write ``data`` as it is; return every response that arrives until ``quiet`` seconds
        pass without one (for tests of bad frames)."""
        self._write(data)
        responses = []
        while True:
            try:
                responses.append(self.read_response(timeout=quiet))
            except ProtocolError:
                return responses

    def transact(self, command, payload=b"", *, tag=None, check=True, timeout=None):
        """Send one request; return its :class:`~spikeforge.link.protocol.Response`.

        The first request of a session is preceded by ``INFO``, which gives the design tag."""
        if tag is None and self._info is None and command != Command.INFO:
            self.info()
        self.seq = (self.seq + 1) & 0xFF
        frame = encode_request(command, self.seq, self.tag if tag is None else tag, payload)
        self._write(frame)
        response = self.read_response(timeout)
        if response.seq != self.seq or response.command != int(command):
            raise ProtocolError(
                f"response to command 0x{response.command:02x} seq {response.seq} does not "
                f"answer {Command(command).name} seq {self.seq}")
        if check and not response.ok:
            raise ProtocolError(f"the device rejected {Command(command).name}: "
                                f"{_status_name(response.status)}", response.status)
        return response

    # ---- commands -----------------------------------------------------------------------------

    def info(self):
        """The device's :class:`~spikeforge.link.protocol.DesignInfo` (also sets the tag)."""
        if self._info is None:
            self._info = parse_info(self._first_info().payload)
            self.tag = self._info.tag
        return self._info

    def _first_info(self):
        """The connection's first ``INFO``, sent again while a partial frame that a previous
        client left in the receiver swallows it (stale input is dropped before each try)."""
        deadline = time.monotonic() + self.timeout
        wait = RESYNC_WAIT
        while True:
            self._link(self.serial.reset_input_buffer)
            wait = min(wait, max(deadline - time.monotonic(), 0.05))
            try:
                return self.transact(Command.INFO, tag=0, timeout=wait)
            except LinkError:
                raise
            except ProtocolError:
                if time.monotonic() + 0.05 >= deadline:
                    raise
                wait *= 2  # a device slower to answer than RESYNC_WAIT still gets through

    def write_weights(self, layer, lane, addr, values):
        b = self.info().weight_bytes
        payload = pack(WEIGHTS_ARGS, layer=layer, lane=lane, addr=addr) + b"".join(
            int(v).to_bytes(b, "little", signed=True) for v in values)
        self.transact(Command.WRITE_WEIGHTS, payload)

    def read_weights(self, layer, lane, addr, count):
        b = self.info().weight_bytes
        args = pack(READ_WEIGHTS_ARGS, layer=layer, lane=lane, addr=addr, count=count)
        data = self.transact(Command.READ_WEIGHTS, args).payload
        return [int.from_bytes(data[k:k + b], "little", signed=True)
                for k in range(0, len(data), b)]

    def read_state(self, layer, neuron, count):
        """``count`` records ``(i, u, b, s)`` of ``layer`` from ``neuron`` on."""
        args = pack(READ_STATE_ARGS, layer=layer, neuron=neuron, count=count)
        data = self.transact(Command.READ_STATE, args).payload
        return [tuple(unpack(STATE_RECORD, data, k).values())
                for k in range(0, len(data), STATE_RECORD_BYTES)]

    def write_param(self, param, value):
        self.transact(Command.WRITE_PARAM,
                      pack(WRITE_PARAM_ARGS, index=int(param), value=value & 0xFFFFFFFF))

    def read_params(self):
        """Every parameter the device has (:attr:`DesignInfo.n_params
        <spikeforge.link.protocol.DesignInfo>`), by lower-case name."""
        data = self.transact(Command.READ_PARAMS).payload
        return {Param(k).name.lower(): struct.unpack_from("<I", data, 4 * k)[0]
                for k in range(len(data) // 4)}

    def _events(self, command, words):
        payload = struct.pack(f"<{len(words)}H", *words)
        response = self.transact(command, payload, check=False)
        if response.status not in (Status.OK, Status.BUSY):
            raise ProtocolError(f"the device rejected {command.name}: "
                                f"{_status_name(response.status)}", response.status)
        reply = unpack(RUN_REPLY, response.payload)
        return reply["accepted"], reply["buffered"]

    def run_events(self, events):
        """Push event words (input indices, 0xFFFF ends a step); return (accepted, buffered)."""
        return self._events(Command.RUN, events)

    def learn_events(self, words):
        """Push ``LEARN`` words (inputs, targets, end of step, end of trial; see
        :func:`~spikeforge.link.protocol.learn_step_words`); return (accepted, buffered)."""
        if not self.info().learning:
            raise ProtocolError("this bitstream has no learning units: rebuild it with "
                                "`spikeforge build --rule ...`")
        return self._events(Command.LEARN, words)

    def read_output(self, max_count=MAX_PAYLOAD // 2):
        data = self.transact(Command.READ_OUTPUT,
                             pack(READ_OUTPUT_ARGS, max_count=max_count)).payload
        return list(struct.unpack(f"<{len(data) // 2}H", data))

    def counters(self):
        data = self.transact(Command.READ_COUNTERS).payload
        return dict(zip(COUNTER_NAMES, struct.unpack(f"<{len(COUNTER_NAMES)}I", data),
                        strict=True))

    def clear(self):
        self.transact(Command.CLEAR)
