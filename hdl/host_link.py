r"""The host link: executes the commands of :mod:`spikeforge.host.protocol` on a network core.

Structure (one clock domain)::

    UART rx ─► FrameReceiver ─► frame buffer (BufferRAM, MAX_PAYLOAD bytes)
                    │ verdict            │
                    ▼                    ▼
               executor (this module) ──► NetworkCore host ports, events in, clear
                    │        ▲
                    ▼        └── output buffer (BufferRAM FIFO) ◄── core o_events
               response bytes (header, items, CRC) ─► UART tx

Executor, per verdict:

1. **Check** (registers only): an error verdict of the receiver, then ``UNKNOWN_COMMAND``,
   ``BAD_TAG``, ``BAD_LENGTH``, ``BAD_ADDRESS`` (layer, lane, address + count against each
   layer's depth, parameter index). Nothing has changed yet.
2. **Pre-scan** (``WRITE_WEIGHTS``, ``RUN``): every word of the payload is read from the frame
   buffer and checked (a weight inside its layer's format, an event ``< n_in`` or the end-of-step
   word); one bad word rejects the frame with ``BAD_VALUE`` before anything is written.
3. **Quiet** (weights, state, ``CLEAR``): wait until the core is idle and has finished every step
   sent (``steps == steps_sent``); if the output buffer is full, it never would: ``BUSY``.
4. **Act**: write weights / parameters, push events (a step ends at each end-of-step word),
   pulse ``clear``, or size a read.
5. **Respond**: header, then ``count`` items read one at a time (a weight, a state record, a
   parameter, a counter, an output word, an ``INFO`` byte), shifted out byte by byte with the CRC
   accumulated on the way, then the CRC.

Core output events go into the output buffer (a FIFO of 16-bit words: a neuron index, or 0xFFFF
at the end of each step) whenever the executor is not reading it; a full buffer backpressures the
core (nothing is dropped). ``READ_OUTPUT`` pops words. A ``RUN`` whose events cannot enter the
core because the output buffer is full stops with ``BUSY`` and reports how many were accepted.

Every product here is by a constant power of two or a sum of shifts (``13 k``): no multipliers.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..host.protocol import (
    COUNTER_NAMES,
    EVENT_MARKER,
    MAX_PAYLOAD,
    SYNC,
    Command,
    DesignInfo,
    Param,
    Status,
)
from .crc import CRC_INIT, CRC16Byte
from .events import ProbeLayout, event_signature
from .frame_rx import FrameReceiver
from .link_ram import BufferRAM

__all__ = ["CORE_COUNTERS", "HostLink"]

#: Counters the core provides, in :data:`~spikeforge.host.protocol.COUNTER_NAMES` order.
CORE_COUNTERS = COUNTER_NAMES[:9]


class HostLink(wiring.Component):
    """Executes host commands on a :class:`~spikeforge.hdl.network_core.NetworkCore`.

    Parameters
    ----------
    info : DesignInfo
        What the design reports (:func:`spikeforge.host.protocol.design_info`); its layers give
        the address ranges and formats the executor checks.
    timeout : int
        Receiver silence timeout in cycles.

    Ports
    -----
    rx_byte, rx_valid : In
        Bytes from the UART receiver.
    tx : Out(stream of 8 bits)
        Response bytes to the UART transmitter.
    events : Out(stream of EventLayout)
        Input events to the core.
    outputs : In(stream of EventLayout)
        Output events of the core.
    clear : Out(1); idle : In(1)
        The core's ``clear`` and ``idle``.
    counters : In(array of 9 × 32 bits)
        The core's counters, :data:`CORE_COUNTERS` order.
    w_en, w_layer, w_lane, w_addr, w_data; r_layer, r_lane, r_addr : Out
        The core's host-access ports; ``r_weight``, ``r_state`` : In.
    leds : Out(32)
        :attr:`~spikeforge.host.protocol.Param.LEDS`.
    busy : Out(1)
        A frame or response is in progress (for testbenches that pause the clock when idle).
    """

    def __init__(self, info, *, timeout):
        if not isinstance(info, DesignInfo):
            raise TypeError(f"info must be a DesignInfo, not {info!r}")
        self.info = info
        self.timeout = timeout
        layers = info.layers
        deepest = max(ly.depth for ly in layers)
        largest = max(ly.n for ly in layers)
        self.weight_width = max(ly.weight_width for ly in layers)
        super().__init__({
            "rx_byte": In(8), "rx_valid": In(1),
            "tx": Out(stream.Signature(8)),
            "events": Out(event_signature()),
            "outputs": In(event_signature()),
            "clear": Out(1), "idle": In(1),
            "counters": In(unsigned(32)).array(len(CORE_COUNTERS)),
            "w_en": Out(1), "w_layer": Out(8), "w_lane": Out(8), "w_addr": Out(range(deepest)),
            "w_data": Out(signed(self.weight_width)),
            "r_layer": Out(8), "r_lane": Out(8), "r_addr": Out(range(max(deepest, largest))),
            "r_weight": In(signed(self.weight_width)), "r_state": In(ProbeLayout),
            "leds": Out(32), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        info = self.info
        layers = info.layers
        n_layers = len(layers)
        wbytes = info.weight_bytes
        wshift = {1: 0, 2: 1, 4: 2}[wbytes]
        out_depth = info.output_depth
        n_in = layers[0].n_in

        rx = m.submodules.rx = FrameReceiver(timeout=self.timeout)
        m.d.comb += [rx.byte.eq(self.rx_byte), rx.byte_valid.eq(self.rx_valid)]
        fbuf = m.submodules.frame_buffer = BufferRAM(width=8, depth=MAX_PAYLOAD)
        obuf = m.submodules.output_buffer = BufferRAM(width=16, depth=out_depth)
        rom_bytes = list(info.pack())
        rom = m.submodules.info_rom = Memory(shape=8, depth=len(rom_bytes), init=rom_bytes)
        rom_rd = rom.read_port()

        # ---- registers of the frame being executed ----------------------------------------
        cmd = Signal(8)
        seq = Signal(8)
        length = Signal(16)
        tag = Signal(32)
        args = Signal(48)
        status = Signal(Status)
        owns_buffer = Signal()  # an OK frame: the receiver waits for exec_done
        k = Signal(16)  # item / word index
        count = Signal(16)  # items of the response
        accepted = Signal(16)  # RUN: events pushed

        steps_sent = Signal(32)
        frames_ok = Signal(32)
        frames_rejected = Signal(32)
        bytes_dropped = Signal(32)
        weights_id = Signal(32)
        m.d.sync += bytes_dropped.eq(bytes_dropped + rx.dropped)

        # ---- output buffer: a FIFO in a single-port RAM --------------------------------------
        head = Signal(range(out_depth))
        tail = Signal(range(out_depth))
        level = Signal(range(out_depth + 1))
        reading_out = Signal()  # the executor owns the output buffer's port this cycle
        pop = Signal()
        push = Signal()
        full = level == out_depth
        m.d.comb += [
            self.outputs.ready.eq(~reading_out & ~full),
            push.eq(self.outputs.valid & self.outputs.ready),
            obuf.addr.eq(Mux(reading_out, head, tail)),
            obuf.w_en.eq(push),
            obuf.w_data.eq(Mux(self.outputs.payload.marker, EVENT_MARKER,
                               self.outputs.payload.addr)),
        ]
        with m.If(push):
            m.d.sync += tail.eq(Mux(tail == out_depth - 1, 0, tail + 1))
        with m.If(pop):
            m.d.sync += head.eq(Mux(head == out_depth - 1, 0, head + 1))
        m.d.sync += level.eq(level + push - pop)

        # ---- argument fields and checks (registers only) -------------------------------------
        a_layer, a_lane, a_addr, a_count = args[0:8], args[8:16], args[16:32], args[32:48]
        s_layer, s_neuron, s_count = args[0:8], args[8:24], args[24:40]
        p_index, p_value = args[0:8], args[8:40]
        o_max = args[0:16]
        layer_ok = a_layer < n_layers
        sel = Mux(layer_ok, a_layer, 0)[:max(1, (n_layers - 1).bit_length())]
        depth_of = Array(Const(ly.depth, 32) for ly in layers)
        n_of = Array(Const(ly.n, 32) for ly in layers)
        words = Signal(16)  # WRITE_WEIGHTS: weight words in the payload (set with the frame)
        max_items = MAX_PAYLOAD >> wshift
        yes = Const(1, 1)
        checks = {
            Command.INFO: (length == 0, yes),
            Command.WRITE_WEIGHTS: (
                (length >= 4 + wbytes) & ((length & (wbytes - 1)) == 0),
                layer_ok & (a_lane < info.lanes) & (a_addr + words <= depth_of[sel])),
            Command.READ_WEIGHTS: (
                length == 6,
                layer_ok & (a_lane < info.lanes) & (a_count != 0) & (a_count <= max_items)
                & (a_addr + a_count <= depth_of[sel])),
            Command.READ_STATE: (
                length == 5,
                (s_layer < n_layers) & (s_count != 0) & (s_count <= MAX_PAYLOAD // 13)
                & (s_neuron + s_count <= n_of[Mux(s_layer < n_layers, s_layer, 0)[:len(sel)]])),
            Command.WRITE_PARAM: (length == 5, p_index < len(Param)),
            Command.READ_PARAMS: (length == 0, yes),
            Command.RUN: ((length != 0) & ~length[0], yes),
            Command.READ_OUTPUT: (length == 2, yes),
            Command.READ_COUNTERS: (length == 0, yes),
            Command.CLEAR: (length == 0, yes),
        }
        verdict = Signal(Status)
        with m.Switch(cmd):
            for command, (length_ok, address_ok) in checks.items():
                with m.Case(command):
                    with m.If((tag != info.tag) & (command != Command.INFO)):
                        m.d.comb += verdict.eq(Status.BAD_TAG)
                    with m.Elif(~length_ok):
                        m.d.comb += verdict.eq(Status.BAD_LENGTH)
                    with m.Elif(~address_ok):
                        m.d.comb += verdict.eq(Status.BAD_ADDRESS)
                    with m.Else():
                        m.d.comb += verdict.eq(Status.OK)
            with m.Default():
                m.d.comb += verdict.eq(Status.UNKNOWN_COMMAND)

        # ---- payload word reader: the frame buffer, one byte every two cycles -----------------
        # Bytes are shifted in from the top, so after b bytes the little-endian word is
        # word_acc[32 - 8 b:].
        ptr = Signal(16)
        word_acc = Signal(32)
        got_bytes = Signal(3)
        fetch = Signal()  # the executor wants the next byte
        fetched = Signal()  # word_acc holds a new byte this cycle
        fetch_wait = Signal()
        m.d.comb += fbuf.addr.eq(Mux(owns_buffer, ptr, rx.fb_addr))
        m.d.comb += [fbuf.w_en.eq(rx.fb_we & ~owns_buffer), fbuf.w_data.eq(rx.fb_data)]
        m.d.comb += fetched.eq(fetch_wait)
        with m.If(fetch_wait):
            m.d.sync += [fetch_wait.eq(0), ptr.eq(ptr + 1),
                         word_acc.eq(Cat(word_acc[8:], fbuf.r_data)), got_bytes.eq(got_bytes + 1)]
        with m.Elif(fetch):
            m.d.sync += fetch_wait.eq(1)
        event_word = word_acc[16:32]
        weight_word = word_acc[32 - 8 * wbytes:32].as_signed()
        lo = Array(Const(-(1 << (ly.weight_width - 1)), signed(33)) for ly in layers)[sel]
        hi = Array(Const((1 << (ly.weight_width - 1)) - 1, signed(33)) for ly in layers)[sel]
        weight_in_range = (weight_word >= lo) & (weight_word <= hi)
        event_in_range = (event_word < n_in) | (event_word == EVENT_MARKER)
        # decoded once per frame, so no long path starts at ``cmd``
        is_run = Signal()
        needs_quiet = Signal()
        word_size = Signal(3)
        payload_words = Signal(16)

        # ---- response shifter --------------------------------------------------------------
        shift = Signal(13 * 8)
        nbytes = Signal(range(14))
        crc = Signal(16, init=CRC_INIT)
        crc_skip = Signal()  # the next byte is SYNC: not in the CRC
        crc_step = m.submodules.crc_step = CRC16Byte()
        m.d.comb += [crc_step.crc_in.eq(crc), crc_step.data.eq(shift[:8]),
                     self.tx.payload.eq(shift[:8])]
        sent = Signal()
        resp_len = Signal(16)

        # ---- item sources --------------------------------------------------------------------
        state = self.r_state
        item_word = Signal(13 * 8)
        item_bytes = Signal(range(14))
        params = Array([weights_id, self.leds])
        counters = Array([*self.counters, frames_ok, frames_rejected, bytes_dropped, steps_sent,
                          level])
        with m.Switch(cmd):
            with m.Case(Command.INFO):
                m.d.comb += [item_word.eq(rom_rd.data), item_bytes.eq(1)]
            with m.Case(Command.READ_WEIGHTS):
                m.d.comb += [item_word.eq(self.r_weight.as_unsigned()), item_bytes.eq(wbytes)]
            with m.Case(Command.READ_STATE):
                m.d.comb += [item_word.eq(Cat(state.i, state.u, state.b, state.s)),
                             item_bytes.eq(13)]
            with m.Case(Command.READ_PARAMS):
                m.d.comb += [item_word.eq(params[k[:1]]), item_bytes.eq(4)]
            with m.Case(Command.READ_COUNTERS):
                m.d.comb += [item_word.eq(counters[k[:4]]), item_bytes.eq(4)]
            with m.Case(Command.READ_OUTPUT):
                m.d.comb += [item_word.eq(obuf.r_data), item_bytes.eq(2)]
            with m.Case(Command.RUN):
                m.d.comb += [item_word.eq(Cat(accepted, level[:16])), item_bytes.eq(4)]
        m.d.comb += [
            rom_rd.addr.eq(k),
            self.r_layer.eq(Mux(cmd == Command.READ_STATE, s_layer, a_layer)),
            self.r_lane.eq(Mux(cmd == Command.READ_STATE, 0, a_lane)),
            self.r_addr.eq(Mux(cmd == Command.READ_STATE, s_neuron, a_addr) + k),
            self.w_layer.eq(a_layer), self.w_lane.eq(a_lane), self.w_addr.eq(a_addr + k),
            self.w_data.eq(weight_word),
            self.events.payload.addr.eq(event_word),
            self.events.payload.marker.eq(event_word == EVENT_MARKER),
        ]
        quiet = Signal()  # one cycle late; nothing is pushed while the executor waits for it
        m.d.sync += quiet.eq(self.idle & (self.counters[1] == steps_sent))

        # ---- the executor ------------------------------------------------------------------
        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += rx.rep_ready.eq(1)
                with m.If(rx.rep_valid):
                    m.d.sync += [
                        cmd.eq(rx.rep_cmd), seq.eq(rx.rep_seq), length.eq(rx.rep_len),
                        tag.eq(rx.rep_tag), args.eq(rx.rep_args), status.eq(rx.rep_status),
                        owns_buffer.eq(rx.rep_status == Status.OK),
                        k.eq(0), count.eq(0), accepted.eq(0), ptr.eq(0), got_bytes.eq(0),
                        words.eq((rx.rep_len - 4) >> wshift),
                        is_run.eq(rx.rep_cmd == Command.RUN),
                        needs_quiet.eq((rx.rep_cmd == Command.WRITE_WEIGHTS)
                                       | (rx.rep_cmd == Command.READ_WEIGHTS)
                                       | (rx.rep_cmd == Command.READ_STATE)
                                       | (rx.rep_cmd == Command.CLEAR)),
                    ]
                    with m.If(rx.rep_status == Status.OK):
                        m.next = "CHECK"
                    with m.Else():
                        m.next = "RESPOND"
            with m.State("CHECK"):
                m.d.sync += [status.eq(verdict), word_size.eq(Mux(is_run, 2, wbytes)),
                             payload_words.eq(Mux(is_run, length >> 1, words))]
                m.next = "DISPATCH"
            with m.State("DISPATCH"):
                with m.If(status != Status.OK):
                    m.next = "RESPOND"
                with m.Elif((cmd == Command.WRITE_WEIGHTS) | is_run):
                    m.d.sync += ptr.eq(Mux(is_run, 0, 4))
                    m.next = "PRESCAN"
                with m.Else():
                    m.next = "QUIET"
            with m.State("PRESCAN"):
                with m.If(k == payload_words):
                    m.d.sync += [k.eq(0), ptr.eq(Mux(is_run, 0, 4)), got_bytes.eq(0)]
                    m.next = "QUIET"
                with m.Elif(got_bytes == word_size):
                    m.d.sync += [got_bytes.eq(0), k.eq(k + 1)]
                    with m.If(Mux(is_run, ~event_in_range, ~weight_in_range)):
                        m.d.sync += status.eq(Status.BAD_VALUE)
                        m.next = "RESPOND"
                with m.Else():
                    m.d.comb += fetch.eq(~fetched)
            with m.State("QUIET"):
                with m.If(~needs_quiet | quiet):
                    m.next = "ACT"
                with m.Elif(full):
                    m.d.sync += status.eq(Status.BUSY)
                    m.next = "RESPOND"
            with m.State("ACT"), m.Switch(cmd):
                with m.Case(Command.WRITE_WEIGHTS):
                    with m.If(k == payload_words):
                        m.next = "RESPOND"
                    with m.Elif(got_bytes == wbytes):
                        m.d.comb += self.w_en.eq(1)
                        m.d.sync += [got_bytes.eq(0), k.eq(k + 1)]
                    with m.Else():
                        m.d.comb += fetch.eq(~fetched)
                with m.Case(Command.RUN):
                    with m.If(k == payload_words):
                        m.next = "RESPOND"
                    with m.Elif(got_bytes == 2):
                        m.d.comb += self.events.valid.eq(1)
                        with m.If(self.events.ready):
                            m.d.sync += [got_bytes.eq(0), k.eq(k + 1),
                                         accepted.eq(accepted + 1)]
                            with m.If(event_word == EVENT_MARKER):
                                m.d.sync += steps_sent.eq(steps_sent + 1)
                        with m.Elif(full):
                            m.d.sync += status.eq(Status.BUSY)
                            m.next = "RESPOND"
                    with m.Else():
                        m.d.comb += fetch.eq(~fetched)
                with m.Case(Command.WRITE_PARAM):
                    with m.If(p_index == Param.WEIGHTS_ID):
                        m.d.sync += weights_id.eq(p_value)
                    with m.Else():
                        m.d.sync += self.leds.eq(p_value)
                    m.next = "RESPOND"
                with m.Case(Command.CLEAR):
                    m.d.comb += self.clear.eq(1)
                    m.next = "CLEARING"
                with m.Default():
                    m.next = "RESPOND"
            with m.State("CLEARING"):
                m.next = "CLEAR_WAIT"
            with m.State("CLEAR_WAIT"), m.If(self.idle):
                m.next = "RESPOND"
            with m.State("RESPOND"):
                items = Signal(16)
                with m.If(status == Status.OK), m.Switch(cmd):
                    with m.Case(Command.INFO):
                        m.d.comb += items.eq(len(rom_bytes))
                    with m.Case(Command.READ_WEIGHTS):
                        m.d.comb += items.eq(a_count)
                    with m.Case(Command.READ_STATE):
                        m.d.comb += items.eq(s_count)
                    with m.Case(Command.READ_PARAMS):
                        m.d.comb += items.eq(len(Param))
                    with m.Case(Command.READ_COUNTERS):
                        m.d.comb += items.eq(len(COUNTER_NAMES))
                    with m.Case(Command.READ_OUTPUT):
                        most = Mux(o_max < MAX_PAYLOAD // 2, o_max, MAX_PAYLOAD // 2)
                        m.d.comb += items.eq(Mux(most < level, most, level))
                    with m.Case(Command.RUN):
                        m.d.comb += items.eq(1)
                with m.Elif((status == Status.BUSY) & is_run):
                    m.d.comb += items.eq(1)
                with m.If(status == Status.OK):
                    m.d.sync += frames_ok.eq(frames_ok + 1)
                with m.Else():
                    m.d.sync += frames_rejected.eq(frames_rejected + 1)
                m.d.sync += [count.eq(items), k.eq(0)]
                m.next = "HEADER"
            with m.State("HEADER"):
                items = count
                with m.Switch(cmd):
                    with m.Case(Command.INFO):
                        m.d.comb += resp_len.eq(items)
                    with m.Case(Command.READ_WEIGHTS):
                        m.d.comb += resp_len.eq(items << wshift)
                    with m.Case(Command.READ_STATE):
                        m.d.comb += resp_len.eq((items << 3) + (items << 2) + items)
                    with m.Case(Command.READ_OUTPUT):
                        m.d.comb += resp_len.eq(items << 1)
                    with m.Default():
                        m.d.comb += resp_len.eq(items << 2)
                m.d.sync += [
                    shift.eq(Cat(Const(SYNC, 8), resp_len, cmd, seq, status)),
                    nbytes.eq(6), crc.eq(CRC_INIT), crc_skip.eq(1),
                ]
                m.next = "SEND"
            with m.State("SEND"):
                with m.If(nbytes == 0):
                    with m.If(k == count):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "LOAD"
                with m.Else():
                    m.d.comb += self.tx.valid.eq(1)
                    with m.If(self.tx.ready):
                        m.d.comb += sent.eq(1)
                        m.d.sync += [shift.eq(shift >> 8), nbytes.eq(nbytes - 1),
                                     crc_skip.eq(0)]
                        with m.If(~crc_skip):
                            m.d.sync += crc.eq(crc_step.crc_out)
            with m.State("LOAD"):  # addresses of item k are driven from here on
                m.d.comb += reading_out.eq(cmd == Command.READ_OUTPUT)
                m.next = "LOAD_WAIT"
            with m.State("LOAD_WAIT"):
                m.d.comb += reading_out.eq(cmd == Command.READ_OUTPUT)
                m.next = "LATCH"
            with m.State("LATCH"):
                m.d.comb += pop.eq(cmd == Command.READ_OUTPUT)
                m.d.sync += [shift.eq(item_word), nbytes.eq(item_bytes), k.eq(k + 1)]
                m.next = "SEND"
            with m.State("CRC"):
                m.d.sync += [shift.eq(crc), nbytes.eq(2), crc_skip.eq(1)]
                m.next = "CRC_SEND"
            with m.State("CRC_SEND"):
                with m.If(nbytes == 0):
                    m.d.comb += rx.exec_done.eq(owns_buffer)
                    m.d.sync += owns_buffer.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.tx.valid.eq(1)
                    with m.If(self.tx.ready):
                        m.d.sync += [shift.eq(shift >> 8), nbytes.eq(nbytes - 1)]
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | rx.rep_valid)
        return m
