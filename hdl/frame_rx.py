r"""The receiving half of the host link: bytes in, one verdict per frame out.

It parses the request frames of :mod:`spikeforge.link.protocol` byte by byte, stores the payload
in the frame buffer, checks length and CRC, and reports one verdict per frame (or per run of
bytes outside a frame) to the executor (:mod:`spikeforge.hdl.host_link`):

* ``SYNC`` starts a frame; any other byte between frames starts a *garbage* run, reported as
  ``GARBAGE`` at the next ``SYNC`` (which then starts a frame) or when the line goes quiet;
* ``LEN > MAX_PAYLOAD``: the rest is discarded until the line goes quiet, then ``OVERSIZE``;
* the line quiet for ``timeout`` cycles inside a frame: ``TRUNCATED``;
* a CRC mismatch: ``BAD_CRC``; otherwise ``OK`` with ``LEN``, ``CMD``, ``SEQ``, whether ``TAG``
  is the network's (``rep_tag_ok``) and the first six payload bytes (``args``) as registers.

The tag is compared as its bytes arrive, each against the network's byte registered between
bytes, into one flip-flop: the receiver keeps the 32 bits of ``LEN``, ``CMD`` and ``SEQ``, not
the tag's 32. Every other decision is taken from flags registered a byte ahead, so no wide
compare sits in front of the FSM: ``LEN``'s checks as its second byte arrives, each CRC byte
against the computed CRC as it arrives, the last payload byte from ``index == LEN - 1``
registered in the gaps between bytes (bytes never arrive in consecutive cycles), like
``index + 1`` and the argument byte a payload byte goes to, and the line's silence from a flag
beside the quiet counter.

``rep_cmd`` and ``rep_seq`` are the frame's when its header
(:data:`~spikeforge.link.layouts.REQUEST_HEAD`, 8 bytes) was received
whole (``OK``, ``BAD_CRC``, ``OVERSIZE``, ``TRUNCATED`` after the header), else 0 (``GARBAGE``,
``OVERRUN``, ``TRUNCATED`` inside the header); ``rep_len`` is the frame's ``LEN`` with ``OK``
(and the header register's bits otherwise: only an ``OK`` frame's length is used).

After a verdict the parser waits for the executor to take it (``rep_ready``) and, after ``OK``,
for ``exec_done`` (the executor reads the frame buffer and the ``rep_*`` fields, which hold
still, until then). Bytes that arrive meanwhile
cannot be stored: they pulse ``dropped``, and once the executor is done the rest is discarded
until the line goes quiet and reported as one ``OVERRUN`` verdict, so a frame sent before the
previous response is refused with a status, never dropped silently.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import crc, wiring
from amaranth.lib.wiring import In, Out

from ..link.layouts import ARGUMENT_BITS, REQUEST_HEAD
from ..link.protocol import CRC_ALGORITHM, MAX_PAYLOAD, Status
from ..model.numerics import check_int
from .arith import below

__all__ = ["HEAD_BITS", "FrameReceiver"]

#: the header bits the receiver keeps: ``LEN``, ``CMD`` and ``SEQ``, the fields before ``TAG``
HEAD_BITS = REQUEST_HEAD["tag"].offset


class FrameReceiver(wiring.Component):
    """Request frames from a byte stream.

    Parameters
    ----------
    timeout : int
        Cycles of silence that end a frame, a garbage run or a discarded frame.
    tag : int
        The network's tag (32 bits), which ``rep_tag_ok`` compares a frame's ``TAG`` with.
    fsm_domain : str
        The clock domain of the FSM's state register (on ``sync``'s clock).

    Ports
    -----
    byte, byte_valid : In(8), In(1)
        Received bytes (valid for one cycle each, no backpressure).
    byte_is_sync : In(1)
        ``byte == SYNC``, registered with ``byte`` by the caller, so the compare is not in front
        of the FSM.
    fb_addr, fb_data, fb_we : Out
        Frame buffer writes (payload byte ``fb_addr`` of the frame).
    rep_valid, rep_ready : Out(1), In(1)
        Verdict handshake; ``rep_status`` (:class:`~spikeforge.link.protocol.Status`),
        ``rep_cmd``, ``rep_seq``, ``rep_len``, ``rep_tag_ok`` (``TAG`` equals ``tag``),
        ``rep_args`` (the first payload bytes, as many as the longest argument layout of
        ``link/layouts.py``: 6; bytes past a short payload keep an earlier frame's, which no
        verdict reads: a frame whose length is not its command's layout's is ``BAD_LENGTH``).
    exec_done : In(1)
        The executor finished an ``OK`` frame and no longer reads the buffer.
    dropped : Out(1)
        A byte was dropped (it arrived while a frame waited for the executor).
    """

    def __init__(self, *, timeout, tag, fsm_domain="sync"):
        if not isinstance(timeout, int) or timeout < 16:
            raise ValueError(f"timeout must be an integer of at least 16 cycles, not {timeout!r}")
        self.timeout = timeout
        self.tag = check_int("tag", tag, 0, (1 << 32) - 1)
        self.fsm_domain = fsm_domain
        super().__init__({
            "byte": In(8), "byte_valid": In(1), "byte_is_sync": In(1),
            "fb_addr": Out(range(MAX_PAYLOAD)), "fb_data": Out(8), "fb_we": Out(1),
            "rep_valid": Out(1), "rep_ready": In(1), "rep_status": Out(Status),
            "rep_cmd": Out(8), "rep_seq": Out(8), "rep_len": Out(16), "rep_tag_ok": Out(1),
            "rep_args": Out(ARGUMENT_BITS),
            "exec_done": In(1), "dropped": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        byte, got = self.byte, self.byte_valid
        timed_out = self._silence(m)

        # the CRC of the bytes after SYNC: held at its initial value between frames (so a SYNC
        # finds it restarted, without a compare of the byte in front of it), updated by header
        # and payload bytes
        crc_unit = m.submodules.crc = crc.Processor(CRC_ALGORITHM(data_width=8))
        m.d.comb += crc_unit.data.eq(byte)

        # LEN, CMD and SEQ (the header's first four bytes), shifted in byte by byte,
        # little-endian; the TAG bytes that follow are compared with the network's as they come
        header = Signal(HEAD_BITS)
        field = {name: header[REQUEST_HEAD[name].offset:][:REQUEST_HEAD[name].width]
                 for name in ("length", "command", "seq")}
        tag_ok = Signal()
        tag_byte = Array(Const((self.tag >> 8 * k) & 0xFF, 8) for k in range(4))
        # no reset (a frame's start loads it; on the iCE40 a reset joins the enable's logic)
        index = Signal(16, reset_less=True)
        # the tag byte the next header byte is compared with, and whether it is a tag byte at all
        # (index ≥ 4), registered from index between bytes, like ``at_last`` below
        tag_expected = Signal(8)
        in_tag = Signal()
        m.d.sync += [tag_expected.eq(tag_byte[index[:2]]),
                     in_tag.eq(index[:3] >= HEAD_BITS // 8)]
        # not cleared as a frame starts, so a payload byte is the only thing that writes an
        # argument byte: its enable is the state, the byte's arrival and its slot, three
        # registers, not a SYNC's compare across the device
        args = Signal(ARGUMENT_BITS)
        last = Signal(16)  # LEN - 1, registered so no subtractor sits in the byte path
        # index == last, compared every cycle: right whenever a byte arrives, since none arrived
        # in the cycle before (CHECK_LEN sets it for the first payload byte)
        at_last = Signal()
        m.d.sync += at_last.eq(index == last)
        # index + 1, likewise: index moves only as a byte arrives
        index_next = Signal(16, init=1)
        m.d.sync += index_next.eq(index + 1)
        # the argument byte a payload byte would be (index == k), likewise registered
        arg_slot = Signal(ARGUMENT_BITS // 8)
        m.d.sync += [arg_slot[k].eq(index == k) for k in range(len(arg_slot))]
        oversize = Signal()  # LEN > MAX_PAYLOAD, set as LEN's high byte arrives
        no_payload = Signal()  # LEN == 0, likewise
        crc_low_ok = Signal()  # the first CRC byte received equals the computed CRC's low byte
        crc_ok = Signal()  # ... and the second its high byte
        verdict = Signal(Status)
        garbage = Signal()  # a garbage run waits to be reported
        header_ok = Signal()  # the frame's header bytes were received
        # header_ok is cleared a cycle after the order (a frame starts, an overrun is reported;
        # no byte and no report follow in that cycle), and set on the header's last byte, a
        # registered compare of index like ``at_last``: its enable is then one LUT of registers
        clear_header_ok = Signal()
        header_end = Signal()
        m.d.sync += [clear_header_ok.eq(0),
                     header_end.eq(index[:3] == REQUEST_HEAD.size // 8 - 1)]
        with m.If(clear_header_ok):
            m.d.sync += header_ok.eq(0)
        overrun = Signal()  # bytes were dropped while a verdict waited for the executor
        reporting = Signal()
        # the header's fields, or 0 where no whole header was received (a garbage run, a frame
        # cut short); a mask of two registers, so no path runs from the FSM state into the
        # executor's decoding of the command. The length is not masked: the executor checks it
        # only for OK frames, and the mask was the head of its longest paths
        whole = header_ok & ~garbage
        m.d.comb += [
            self.rep_cmd.eq(Mux(whole, field["command"], 0)),
            self.rep_seq.eq(Mux(whole, field["seq"], 0)),
            self.rep_len.eq(field["length"]),
            self.rep_tag_ok.eq(tag_ok), self.rep_args.eq(args),
            self.fb_addr.eq(index), self.fb_data.eq(byte),
        ]
        self._report(m, garbage, reporting, verdict)

        def after_report():
            """The verdict was taken: dropped bytes become an ``OVERRUN``, else idle."""
            with m.If(overrun | got):
                m.d.sync += [verdict.eq(Status.OVERRUN), clear_header_ok.eq(1), overrun.eq(0)]
                m.next = "DISCARD"
            with m.Else():
                m.next = "IDLE"

        def frame_starts():
            """``SYNC`` was received: a frame begins."""
            m.d.sync += [clear_header_ok.eq(1), tag_ok.eq(1)]
            m.next = "HEADER"

        def truncated_if_quiet():
            with m.Elif(timed_out):
                m.d.sync += verdict.eq(Status.TRUNCATED)
                m.next = "REPORT"

        with m.FSM(domain=self.fsm_domain) as fsm:
            with m.State("IDLE"), m.If(got):
                with m.If(self.byte_is_sync):
                    frame_starts()
                with m.Else():
                    m.next = "GARBAGE"
            with m.State("GARBAGE"):
                with m.If(got & self.byte_is_sync):
                    m.d.sync += garbage.eq(1)
                    frame_starts()
                with m.Elif(timed_out):
                    m.d.sync += garbage.eq(1)
                    m.next = "IDLE"
            with m.State("HEADER"):
                with m.If(got):
                    m.d.comb += crc_unit.valid.eq(1)
                    # the header is 8 bytes: here index < 8, and its low 3 bits say which byte
                    with m.If(~in_tag):
                        m.d.sync += header.eq(Cat(header[8:], byte))
                    with m.Elif(byte != tag_expected):
                        m.d.sync += tag_ok.eq(0)
                    with m.If(index[:3] == 1):  # LEN's high byte; its low byte tops the header
                        length = Cat(header[HEAD_BITS - 8:], byte)
                        m.d.sync += [oversize.eq(~below(length, MAX_PAYLOAD + 1)),
                                     no_payload.eq(length == 0)]
                    with m.If(header_end):
                        m.d.sync += header_ok.eq(1)
                        m.next = "CHECK_LEN"
                truncated_if_quiet()
            with m.State("CHECK_LEN"):
                with m.If(got):  # no byte can arrive one cycle after another; keep it simple
                    m.d.comb += self.dropped.eq(1)
                m.d.sync += [last.eq(field["length"] - 1), at_last.eq(field["length"] == 1)]
                with m.If(oversize):
                    m.d.sync += verdict.eq(Status.OVERSIZE)
                    m.next = "DISCARD"
                with m.Elif(no_payload):
                    m.next = "CRC"
                with m.Else():
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(got):
                    m.d.comb += [self.fb_we.eq(1), crc_unit.valid.eq(1)]
                    for k in range(ARGUMENT_BITS // 8):
                        with m.If(arg_slot[k]):
                            m.d.sync += args[8 * k:8 * k + 8].eq(byte)
                    with m.If(at_last):
                        m.next = "CRC"
                truncated_if_quiet()
            with m.State("CRC"):
                with m.If(got):
                    # each CRC byte against the computed CRC's as it arrives, low byte first
                    with m.If(~index[0]):
                        m.d.sync += crc_low_ok.eq(byte == crc_unit.crc[:8])
                    with m.Else():
                        m.d.sync += crc_ok.eq(crc_low_ok & (byte == crc_unit.crc[8:]))
                        m.next = "VERIFY"
                truncated_if_quiet()
            with m.State("VERIFY"):
                with m.If(got):
                    m.d.comb += self.dropped.eq(1)
                m.d.sync += verdict.eq(Status.OK)
                with m.If(~crc_ok):
                    m.d.sync += verdict.eq(Status.BAD_CRC)
                m.next = "REPORT"
            with m.State("DISCARD"), m.If(timed_out):
                m.next = "REPORT"
            with m.State("REPORT"):
                m.d.comb += reporting.eq(~garbage)
                with m.If(got):
                    m.d.comb += self.dropped.eq(1)
                    m.d.sync += overrun.eq(1)
                with m.If(~garbage & self.rep_ready):
                    with m.If(verdict == Status.OK):
                        m.next = "WAIT_EXEC"
                    with m.Else():
                        after_report()
            with m.State("WAIT_EXEC"):
                with m.If(got):
                    m.d.comb += self.dropped.eq(1)
                    m.d.sync += overrun.eq(1)
                with m.If(self.exec_done):
                    after_report()
        m.d.comb += crc_unit.start.eq(fsm.ongoing("IDLE") | fsm.ongoing("GARBAGE"))
        # every byte moves index: one more within the header, the payload and the CRC, else 0
        # (a frame's start, the header's and the payload's ends; elsewhere nothing reads it
        # until a frame starts). Its enable is then the byte's arrival, a register, not the
        # FSM's decoding
        counting = ((fsm.ongoing("HEADER") & ~header_end) | (fsm.ongoing("PAYLOAD") & ~at_last)
                    | fsm.ongoing("CRC"))
        with m.If(got):
            m.d.sync += index.eq(Mux(counting, index_next, 0))
        return m

    def _silence(self, m):
        """``timed_out``: no byte for ``timeout`` cycles, and none now. ``quiet_full`` is
        ``quiet == timeout`` as a register, so the count's compare is not in the FSM's paths."""
        quiet = Signal(range(self.timeout + 1))
        quiet_full = Signal()
        with m.If(self.byte_valid):
            m.d.sync += [quiet.eq(0), quiet_full.eq(0)]
        with m.Elif(~quiet_full):
            m.d.sync += [quiet.eq(quiet + 1), quiet_full.eq(quiet == self.timeout - 1)]
        return ~self.byte_valid & quiet_full

    def _report(self, m, garbage, reporting, verdict):
        """The verdict port: a garbage run first, then the frame's verdict."""
        with m.If(garbage):
            m.d.comb += [self.rep_valid.eq(1), self.rep_status.eq(Status.GARBAGE)]
            with m.If(self.rep_ready):
                m.d.sync += garbage.eq(0)
        with m.Elif(reporting):
            m.d.comb += [self.rep_valid.eq(1), self.rep_status.eq(verdict)]
