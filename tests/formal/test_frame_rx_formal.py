r"""Proofs (k-induction, SymbiYosys) about the frame receiver, for every byte sequence, every
timing of the bytes and every behaviour of the executor:

Bytes arrive at any time, but never in two consecutive cycles (the UART's rate).

1. **Only a well-formed frame is issued.** An ``OK`` verdict is given only for a frame that an
   independent monitor in the harness saw whole: ``SYNC`` between frames, 8 header bytes,
   exactly ``LEN`` ≤ ``MAX_PAYLOAD`` payload bytes and two CRC bytes equal to the CRC-16 of
   header and payload; its ``LEN``, ``CMD`` and ``SEQ`` are those the monitor saw, and its tag
   flag says whether the ``TAG`` the monitor saw is the receiver's. A frame with
   a bad CRC or a bad length (``LEN`` > ``MAX_PAYLOAD``, or the line quiet before ``LEN`` bytes)
   is never issued to the executor, so nothing acts on it.
2. **The frame buffer gets payload bytes only**, each at its own index (byte ``k`` of the
   payload at address ``k`` < ``LEN`` ≤ ``MAX_PAYLOAD``): never a header, CRC or garbage byte,
   never past the payload.
3. **Back to idle.** Whatever came before, once the line has been quiet for ``timeout`` cycles
   and a few more, with an executor that takes verdicts, the receiver is idle with nothing
   left to report.

The command code is not the receiver's business: ``UNKNOWN_COMMAND`` and the per-command
checks are the executor's (``hdl/host_link.py``), covered by ``tests/boards/test_bad_frames.py``.
The monitor is a plain byte counter with its own CRC unit; the invariants that make the
induction go through tie it to the receiver's registers state by state.
"""

import contextlib

import pytest
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cat, Const, Module, Mux, ResetSignal, Signal
from spikeforge.hdl.frame_rx import HEAD_BITS, FrameReceiver
from spikeforge.link.protocol import CRC_INIT, CRC_POLY, MAX_PAYLOAD, SYNC, Status

from .sby import elaborated, internal, prove

pytestmark = pytest.mark.formal

TIMEOUT = 16  # the smallest the receiver takes: the proof is about the logic, not the count
TAG = 0x5A17_C0DE  # any tag: four different bytes
#: cycles after ``timeout`` quiet ones by which the receiver is idle (report, overrun discard)
SETTLE = 6


def _states(signal):
    """FSM state name → encoding, from the state signal's decoder."""
    states = {}
    for n in range(1 << len(signal)):
        with contextlib.suppress(KeyError):
            states[signal.decoder(n).split("/")[0]] = n
    return states


def crc_step(crc, byte):
    """CRC-16/CCITT-FALSE of one more byte, unrolled (the monitor's own CRC, independent of the
    receiver's :class:`amaranth.lib.crc.Processor`)."""
    crc = crc ^ Cat(Signal(8), byte)
    for _ in range(8):
        crc = Mux(crc[15], (crc << 1)[:16] ^ CRC_POLY, (crc << 1)[:16])
    return crc


def harness():
    m = Module()
    dut = FrameReceiver(timeout=TIMEOUT, tag=TAG)
    frag = elaborated(dut)
    m.submodules.dut = frag
    reg = {name: internal(frag, name) for name in
           ("fsm_state", "index", "index_next", "header", "last", "at_last", "verdict", "garbage",
            "quiet", "quiet_full", "overrun", "header_ok", "tag_ok", "oversize", "no_payload",
            "crc_low_ok", "crc_ok", "clear_header_ok", "header_end")}
    crc_unit = next(sub for sub, name, *_ in frag.subfragments if name == "crc")
    reg["crc"] = internal(crc_unit, "crc_reg")  # the receiver's CRC register
    state = reg["fsm_state"]
    st = _states(state)
    assert {"IDLE", "GARBAGE", "HEADER", "CHECK_LEN", "PAYLOAD", "CRC", "VERIFY", "DISCARD",
            "REPORT", "WAIT_EXEC"} <= set(st), st

    def in_state(*names):
        result = 0
        for name in names:
            result = result | (state == st[name])
        return result

    m.d.comb += Assume(~ResetSignal())
    byte, got = Signal(8), Signal()
    m.d.comb += [byte.eq(AnySeq(8)), got.eq(AnySeq(1)),
                 dut.byte.eq(byte), dut.byte_valid.eq(got), dut.byte_is_sync.eq(byte == SYNC),
                 dut.rep_ready.eq(AnySeq(1)), dut.exec_done.eq(AnySeq(1))]
    # the one assumption on the line: no two bytes in consecutive cycles (the UART receiver
    # delivers at most one byte per 10 bit times of at least 4 cycles each)
    got_before = Signal()
    m.d.sync += got_before.eq(got)
    m.d.comb += Assume(~(got & got_before))

    # ---- the monitor: a frame is SYNC (between frames), 8 header bytes, LEN bytes, 2 CRC ----
    active = Signal()  # a frame started; ``pos`` bytes of it after SYNC so far
    pos = Signal(18)
    hdr = Signal(64)
    length = hdr[0:16]
    crc, crc_rx = Signal(16, init=CRC_INIT), Signal(16)
    crc_next = Signal(16)
    m.d.comb += crc_next.eq(crc_step(crc, byte))
    done = Signal()
    m.d.comb += done.eq(active & (pos >= 8) & (pos == 10 + length))
    start = in_state("IDLE", "GARBAGE") & got & (byte == SYNC)
    with m.If(start):
        m.d.sync += [active.eq(1), pos.eq(0), crc.eq(CRC_INIT)]
    with m.Elif(active & got & ~done):
        m.d.sync += pos.eq(pos + 1)
        with m.If(pos < 8):
            m.d.sync += [hdr.eq(Cat(hdr[8:], byte)), crc.eq(crc_next)]
        with m.Elif(pos < 8 + length):
            m.d.sync += crc.eq(crc_next)
        with m.Else():
            m.d.sync += crc_rx.eq(Cat(crc_rx[8:], byte))

    # ---- 1. only a well-formed frame is issued ------------------------------------------------
    with m.If(dut.rep_valid & (dut.rep_status == Status.OK)):
        m.d.comb += [
            Assert(done), Assert(length <= MAX_PAYLOAD), Assert(crc_rx == crc),
            Assert(dut.rep_len == length), Assert(dut.rep_cmd == hdr[16:24]),
            Assert(dut.rep_seq == hdr[24:32]), Assert(dut.rep_tag_ok == (hdr[32:64] == TAG)),
        ]
    # ---- 2. the frame buffer gets payload bytes only, each at its index ----------------------
    with m.If(dut.fb_we):
        m.d.comb += [
            Assert(active & got), Assert(pos >= 8), Assert(pos < 8 + length),
            Assert(length <= MAX_PAYLOAD), Assert(dut.fb_addr == pos - 8),
            Assert(dut.fb_data == byte),
        ]
    # ---- 3. back to idle after a quiet line ------------------------------------------------------
    silent = Signal(range(TIMEOUT + SETTLE + 2))
    with m.If(got | ~dut.rep_ready | ~dut.exec_done):
        m.d.sync += silent.eq(0)
    with m.Elif(silent != TIMEOUT + SETTLE + 1):
        m.d.sync += silent.eq(silent + 1)
    with m.If(silent > TIMEOUT + SETTLE):
        m.d.comb += [Assert(state == st["IDLE"]), Assert(~reg["garbage"]),
                     Assert(~reg["overrun"])]

    # ---- invariants: the monitor and the receiver's registers, state by state ------------------
    index, quiet = reg["index"], reg["quiet"]
    same_header = [Assert(reg["header"] == hdr[:HEAD_BITS]),
                   Assert(reg["tag_ok"] == (hdr[HEAD_BITS:] == TAG)),
                   Assert(reg["oversize"] == (length > MAX_PAYLOAD)),
                   Assert(reg["no_payload"] == (length == 0))]
    with m.If(in_state("CHECK_LEN", "PAYLOAD", "CRC")):
        m.d.comb += Assert(reg["header_ok"])
    with m.If(in_state("HEADER")):  # cleared in its first cycle at the latest
        m.d.comb += Assert(~reg["header_ok"] | reg["clear_header_ok"])
        with m.If(~got_before):  # the header's last byte: the registered compare of index
            m.d.comb += Assert(reg["header_end"] == (index[:3] == 7))
    with m.If(reg["clear_header_ok"]):  # the order comes as a frame starts or overruns
        m.d.comb += Assert(in_state("HEADER", "DISCARD"))
    with m.If(in_state("HEADER")):
        # the bytes received so far: the monitor's are at the top of its register
        seen, unseen, head_unseen = Signal(64), Signal(7), Signal(6)  # shifts: bits not received
        m.d.comb += [unseen.eq(64 - (index[:3] << 3)), head_unseen.eq(HEAD_BITS - (index[:3] << 3)),
                     seen.eq(hdr >> unseen)]
        m.d.comb += [Assert(active), Assert(pos == index), Assert(index < 8),
                     Assert(reg["crc"] == crc)]
        with m.If(index <= HEAD_BITS // 8):  # LEN, CMD, SEQ bytes, at the top of the receiver's
            m.d.comb += [Assert((reg["header"] >> head_unseen) == seen),
                         Assert(reg["tag_ok"])]
        with m.Else():  # and some TAG bytes: the flag is their comparison with the tag's
            tag_bits, tag_seen = Signal(5), Signal(32)  # TAG bits received, their mask
            m.d.comb += [tag_bits.eq((index[:3] - 4) << 3),
                         tag_seen.eq((Const(1, 33) << tag_bits) - 1)]
            m.d.comb += [Assert(reg["header"] == seen[:HEAD_BITS]),
                         Assert(reg["tag_ok"] == (((seen[HEAD_BITS:] ^ TAG) & tag_seen) == 0))]
        with m.If(index >= 2):  # LEN's bytes were received: its checks are registered
            m.d.comb += [Assert(reg["oversize"] == (seen[:16] > MAX_PAYLOAD)),
                         Assert(reg["no_payload"] == (seen[:16] == 0))]
    with m.If(in_state("CHECK_LEN")):
        m.d.comb += [Assert(active), Assert(pos == 8), Assert(index == 0), *same_header,
                     Assert(reg["crc"] == crc)]
    with m.If(in_state("PAYLOAD")):
        m.d.comb += [Assert(active), Assert(pos == 8 + index), Assert(index < length),
                     Assert(length <= MAX_PAYLOAD), Assert(reg["last"] == length - 1),
                     *same_header, Assert(reg["crc"] == crc)]
        # the last-byte flag is the registered compare: right in every cycle a byte can arrive
        with m.If(~got_before):
            m.d.comb += Assert(reg["at_last"] == (index == reg["last"]))
    with m.If(in_state("CRC")):
        m.d.comb += [Assert(active), Assert(pos == 8 + length + index), Assert(index < 2),
                     Assert(length <= MAX_PAYLOAD), *same_header, Assert(reg["crc"] == crc)]
        with m.If(index == 1):  # the first CRC byte is at the top of the monitor's register
            m.d.comb += Assert(reg["crc_low_ok"] == (crc_rx[8:] == crc[:8]))
    with m.If(in_state("VERIFY") | (in_state("REPORT") & (reg["verdict"] == Status.OK))):
        m.d.comb += [Assert(done), Assert(length <= MAX_PAYLOAD), *same_header,
                     Assert(reg["crc"] == crc), Assert(reg["header_ok"])]
    with m.If(in_state("VERIFY")):
        m.d.comb += Assert(reg["crc_ok"] == (crc_rx == crc))
    with m.If(in_state("REPORT") & (reg["verdict"] == Status.OK)):
        m.d.comb += Assert(crc_rx == crc)
    m.d.comb += Assert(in_state(*st))  # no encoding outside the FSM's states
    # index + 1 from a register: right whenever a byte can arrive (index moves only with one)
    with m.If(~got_before):
        m.d.comb += Assert(reg["index_next"] == (index + 1)[:16])
    with m.If(reg["overrun"]):  # set only while a verdict waits, cleared when it is taken
        m.d.comb += Assert(in_state("REPORT", "WAIT_EXEC"))
    with m.If(in_state("DISCARD")):
        m.d.comb += Assert((reg["verdict"] == Status.OVERSIZE)
                           | (reg["verdict"] == Status.OVERRUN))
    # the quiet counter against the silent one
    m.d.comb += [Assert(quiet <= TIMEOUT), Assert(reg["quiet_full"] == (quiet == TIMEOUT))]
    with m.If(silent <= TIMEOUT):
        m.d.comb += Assert(quiet >= silent)
    with m.Else():
        m.d.comb += Assert(quiet == TIMEOUT)
    with m.If(in_state("HEADER", "PAYLOAD", "CRC", "DISCARD", "GARBAGE")):
        m.d.comb += Assert(silent <= quiet)
    return m


def test_frame_receiver_issues_only_whole_frames_and_returns_to_idle(tmp_path):
    seconds = prove(harness(), "frame_rx", tmp_path, depth=8)
    assert seconds < 120


@pytest.mark.parametrize("what, original, mutation", [
    ("the CRC is not checked", "with m.If(~crc_ok):", "with m.If(0):"),
    ("the length is not checked", "with m.If(oversize):", "with m.If(0):"),
])
def test_the_proof_fails_on_a_receiver_with_a_hole(tmp_path, monkeypatch, what, original,
                                                   mutation):
    """Not vacuous: around a mutant receiver the same harness is not proved (the induction
    step meets a state where the hole lets a broken frame through)."""
    import inspect
    import types

    import spikeforge.hdl.frame_rx as receiver

    source = inspect.getsource(receiver)
    assert source.count(original) == 1, what
    mutant = types.ModuleType("mutant_frame_rx")
    mutant.__package__ = receiver.__package__
    exec(compile(source.replace(original, mutation), "mutant_frame_rx", "exec"), mutant.__dict__)
    monkeypatch.setitem(harness.__globals__, "FrameReceiver", mutant.FrameReceiver)
    with pytest.raises(pytest.fail.Exception, match="not proved"):
        prove(harness(), "frame_rx_mutant", tmp_path, depth=8)
