r"""The host link: executes the commands of :mod:`spikeforge.link.protocol` on a network core.

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
2. **Pre-scan** (``WRITE_WEIGHTS``, ``RUN``, ``LEARN``): every word of the payload is read from
   the frame buffer and checked (a weight inside its layer's format, an event ``< n_in``, a
   target ``< n_out``, a known marker); one bad word rejects the frame with ``BAD_VALUE`` before
   anything is written (the scan reads every word first).
3. **Quiet** (weights, state, ``CLEAR``, ``LEARN``, writing ``LFSR``): wait until the core is
   idle and has finished every step sent (``steps == steps_sent``); if the output buffer is
   full, it never would: ``BUSY``. ``CLEAR`` instead drops every output the core emits while it
   waits, so it is never ``BUSY``.
4. **Act**: write weights / parameters, push events (a step ends at each end-of-step word),
   pulse ``clear`` and empty the output buffer (``CLEAR``: nothing a previous client left
   behind reaches the next one), or size a read.
5. **Respond**: header, then ``count`` items read one at a time (a weight, a state record, a
   parameter, a counter, an output word, an ``INFO`` byte), shifted out byte by byte with the CRC
   accumulated on the way, then the CRC.

Core output events go into the output buffer (a FIFO of 16-bit words: a neuron index, or 0xFFFF
at the end of each step) whenever the executor is not reading it; a full buffer backpressures the
core (nothing is dropped). ``READ_OUTPUT`` pops words. A ``RUN`` whose events cannot enter the
core because the output buffer is full stops with ``BUSY`` and reports how many were accepted.

With learning units (``info.learning``), ``LEARN`` frames go to the
:class:`~spikeforge.hdl.learning_core.LearningCore`'s command stream (``commands``): an input
index becomes ``INPUT``, ``LEARN_TARGET | k`` a ``TARGET``, 0xFFFF a ``STEP``, the end-of-trial
words ``END`` with its learn/freeze bit. The executor tracks whether a trial is open (between
the first word of a trial and its end word) and refuses, while one is, every command that would
change what the trial computes (``IN_TRIAL``). "Quiet" then also waits until every trial sent
has finished its update (``trials == trials_sent``).

Every product here is by a constant power of two or a sum of shifts (``13 k``): no multipliers.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.layouts import (
    ARGUMENT_BITS,
    READ_OUTPUT_ARGS,
    READ_STATE_ARGS,
    READ_WEIGHTS_ARGS,
    RUN_REPLY,
    STATE_RECORD,
    WRITE_PARAM_ARGS,
)
from ..link.protocol import (
    COUNTER_NAMES,
    EVENT_MARKER,
    LEARN_TRIAL_FREEZE,
    LEARN_TRIAL_LEARN,
    MAX_PAYLOAD,
    STATE_RECORD_BYTES,
    SYNC,
    Command,
    DesignInfo,
    Param,
    Status,
)
from ..model.fingerprint import NO_NETWORK
from ..model.numerics import check_int
from .crc import CRC_INIT, CRC16Byte
from .events import ProbeLayout, event_signature
from .fifo_pointers import FifoPointers
from .frame_rx import FrameReceiver
from .learning_events import LearningCommand, command_signature
from .link_ram import BufferRAM

__all__ = ["CORE_COUNTERS", "HostLink"]

#: Counters the core provides, in :data:`~spikeforge.link.protocol.COUNTER_NAMES` order.
CORE_COUNTERS = COUNTER_NAMES[:9]


class HostLink(wiring.Component):
    """Executes host commands on a :class:`~spikeforge.hdl.network_core.NetworkCore`.

    Parameters
    ----------
    info : DesignInfo
        What the design reports (:func:`spikeforge.link.protocol.design_info`); its layers give
        the address ranges and formats the executor checks.
    timeout : int
        Receiver silence timeout in cycles.
    weights_id : int
        ``WEIGHTS_ID`` at power-up: the fingerprint of the weights the core's memories start
        with (:func:`~spikeforge.model.fingerprint.weights_fingerprint`). While it reads 0 ("no
        valid network", set by a deploy before its first write) ``RUN`` and ``LEARN`` are
        refused with ``NO_NETWORK``.

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
        :attr:`~spikeforge.link.protocol.Param.LEDS`.
    trials : In(32)
        Learning trials completed (tie to 0 without learning units).
    commands : Out(stream of CommandLayout); lfsr : In(32); lfsr_w_en, lfsr_w_data : Out
        Learning units only: the learning core's command stream and its rounding LFSR.
    busy : Out(1)
        A frame or response is in progress (for testbenches that pause the clock when idle).
    """

    def __init__(self, info, *, timeout, weights_id=NO_NETWORK):
        if not isinstance(info, DesignInfo):
            raise TypeError(f"info must be a DesignInfo, not {info!r}")
        self.info = info
        self.timeout = timeout
        self.initial_weights_id = check_int("weights_id", weights_id, 0, (1 << 32) - 1)
        layers = info.layers
        deepest = max(ly.depth for ly in layers)
        largest = max(ly.n for ly in layers)
        self.weight_width = max(ly.weight_width for ly in layers)
        self.learning = bool(info.learning)
        learning = {"commands": Out(command_signature()), "lfsr": In(32), "lfsr_w_en": Out(1),
                    "lfsr_w_data": Out(32)} if self.learning else {}
        super().__init__({
            **learning, "trials": In(32),
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
        n_out = layers[-1].n

        rx = m.submodules.rx = FrameReceiver(timeout=self.timeout)
        m.d.comb += [rx.byte.eq(self.rx_byte), rx.byte_valid.eq(self.rx_valid)]
        fbuf = m.submodules.frame_buffer = BufferRAM(width=8, depth=MAX_PAYLOAD)
        obuf = m.submodules.output_buffer = BufferRAM(width=16, depth=out_depth)
        rom_bytes = list(info.pack())
        rom = m.submodules.info_rom = Memory(shape=8, depth=len(rom_bytes), init=rom_bytes)
        rom_rd = rom.read_port()

        # ---- registers of the frame being executed ----------------------------------------
        cmd = Signal(8)
        cmd_is = {command: Signal(name=f"is_{command.name.lower()}") for command in Command}
        seq = Signal(8)
        length = Signal(16)
        tag = Signal(32)
        args = Signal(ARGUMENT_BITS)
        status = Signal(Status)
        owns_buffer = Signal()  # an OK frame: the receiver waits for exec_done
        k = Signal(16)  # item / word index
        count = Signal(16)  # items of the response
        # k runs up to a limit (payload words, response items); ``k_left`` counts down to it and
        # ``k_done`` (k reached the limit) is a register, so no 16-bit compare feeds the FSM
        k_left = Signal(16)
        k_done = Signal()

        def restart(limit):
            """Statements: k starts again from 0 towards ``limit``."""
            return [k_left.eq(limit), k_done.eq(limit == 0)]

        advance = [k_left.eq(k_left - 1), k_done.eq(k_left == 1)]  # with k.eq(k + 1)
        accepted = Signal(16)  # RUN: events pushed

        steps_sent = Signal(32)
        frames_ok = Signal(32)
        frames_rejected = Signal(32)
        bytes_dropped = Signal(32)
        weights_id = Signal(32, init=self.initial_weights_id)
        no_network = Signal(init=self.initial_weights_id == NO_NETWORK)  # registered compare
        m.d.sync += no_network.eq(weights_id == NO_NETWORK)
        dropped = Signal()  # registered, so no 32-bit carry chain follows the receiver's FSM
        m.d.sync += [dropped.eq(rx.dropped), bytes_dropped.eq(bytes_dropped + dropped)]

        # ---- output buffer: a FIFO in a single-port RAM --------------------------------------
        fifo = m.submodules.output_fifo = FifoPointers(out_depth)
        head, tail, level, full = fifo.head, fifo.tail, fifo.level, fifo.full
        reading_out = Signal()  # the executor owns the output buffer's port (a register)
        pop = Signal(name="obuf_pop")
        push = Signal(name="obuf_push")
        m.d.comb += [fifo.push.eq(push), fifo.pop.eq(pop)]
        # CLEAR: from its QUIET wait to its response, core outputs are taken and dropped (so a
        # core stalled on a full buffer finishes its steps), then the buffer is emptied
        flushing = Signal()
        m.d.comb += [
            self.outputs.ready.eq(~reading_out & (~full | flushing)),
            push.eq(self.outputs.valid & self.outputs.ready & ~flushing),
            obuf.addr.eq(Mux(reading_out, head, tail)),
            obuf.w_en.eq(push),
            obuf.w_data.eq(Mux(self.outputs.payload.marker, EVENT_MARKER,
                               self.outputs.payload.addr)),
        ]

        # ---- argument fields and checks (registers only) -------------------------------------
        # the argument layouts of link/layouts.py viewed over the frame's argument bytes
        weights_args = data.View(READ_WEIGHTS_ARGS, args[:READ_WEIGHTS_ARGS.size])
        state_args = data.View(READ_STATE_ARGS, args[:READ_STATE_ARGS.size])
        param_args = data.View(WRITE_PARAM_ARGS, args[:WRITE_PARAM_ARGS.size])
        output_args = data.View(READ_OUTPUT_ARGS, args[:READ_OUTPUT_ARGS.size])
        a_layer, a_lane = weights_args.layer, weights_args.lane
        a_addr, a_count = weights_args.addr, weights_args.count
        s_layer, s_neuron, s_count = state_args.layer, state_args.neuron, state_args.count
        p_index, p_value = param_args.index, param_args.value
        o_max = output_args.max_count
        # a constant without learning units, so none of the LEARN checks is built
        is_learn = cmd_is[Command.LEARN] if self.learning else Const(0, 1)
        is_events = cmd_is[Command.RUN] | is_learn  # payloads of u16 event words
        layer_ok = a_layer < n_layers
        sel = Mux(layer_ok, a_layer, 0)[:max(1, (n_layers - 1).bit_length())]
        depth_of = Array(Const(ly.depth, 32) for ly in layers)
        n_of = Array(Const(ly.n, 32) for ly in layers)
        words = Signal(16)  # WRITE_WEIGHTS: weight words in the payload (set with the frame)
        max_items = MAX_PAYLOAD >> wshift
        fsm_checking = Signal()  # the executor is in CHECK_FIELDS
        # address ends and limits, registered in CHECK; the verdict compares them in VERDICT
        write_end, read_end, state_end = Signal(17), Signal(17), Signal(17)
        depth_limit, n_limit = Signal(32), Signal(32)
        yes = Const(1, 1)
        checks = {
            Command.INFO: (length == 0, yes),
            Command.WRITE_WEIGHTS: (
                (length >= 4 + wbytes) & ((length & (wbytes - 1)) == 0),
                layer_ok & (a_lane < info.lanes) & (write_end <= depth_limit)),
            Command.READ_WEIGHTS: (
                length == 6,
                layer_ok & (a_lane < info.lanes) & (a_count != 0) & (a_count <= max_items)
                & (read_end <= depth_limit)),
            Command.READ_STATE: (
                length == 5,
                (s_layer < n_layers) & (s_count != 0)
                & (s_count <= MAX_PAYLOAD // STATE_RECORD_BYTES) & (state_end <= n_limit)),
            Command.WRITE_PARAM: (length == 5, p_index < info.n_params),
            Command.READ_PARAMS: (length == 0, yes),
            Command.RUN: ((length != 0) & ~length[0], yes),
            Command.READ_OUTPUT: (length == 2, yes),
            Command.READ_COUNTERS: (length == 0, yes),
            Command.CLEAR: (length == 0, yes),
        }
        if self.learning:
            checks[Command.LEARN] = ((length != 0) & ~length[0], yes)
        # every command's checks are registered in CHECK_FIELDS, side by side; VERDICT picks the
        # frame's with the one-hot command flags and orders them
        tag_ok = Signal()
        length_good = {command: Signal(name=f"length_ok_{command.name.lower()}")
                       for command in checks}
        address_good = {command: Signal(name=f"address_ok_{command.name.lower()}")
                        for command in checks}
        with m.If(fsm_checking):
            m.d.sync += tag_ok.eq(tag == info.tag)
            for command, (length_ok, address_ok) in checks.items():
                m.d.sync += [length_good[command].eq(length_ok),
                             address_good[command].eq(address_ok)]

        def any_of(terms):
            result = Const(0, 1)
            for term in terms:
                result = result | term
            return result

        known = any_of(cmd_is[c] for c in checks)
        tag_needed = any_of(cmd_is[c] for c in checks if c is not Command.INFO)
        length_pass = any_of(cmd_is[c] & length_good[c] for c in checks)
        address_pass = any_of(cmd_is[c] & address_good[c] for c in checks)
        verdict = Signal(Status)
        with m.If(~known):
            m.d.comb += verdict.eq(Status.UNKNOWN_COMMAND)
        with m.Elif(tag_needed & ~tag_ok):
            m.d.comb += verdict.eq(Status.BAD_TAG)
        with m.Elif(~length_pass):
            m.d.comb += verdict.eq(Status.BAD_LENGTH)
        with m.Elif(~address_pass):
            m.d.comb += verdict.eq(Status.BAD_ADDRESS)
        with m.Else():
            m.d.comb += verdict.eq(Status.OK)

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
        trial_end = (event_word == LEARN_TRIAL_LEARN) | (event_word == LEARN_TRIAL_FREEZE)
        learn_in_range = ((event_word < n_in) | (event_word[15] & (event_word[:15] < n_out))
                          | trial_end | (event_word == EVENT_MARKER))
        # decoded once per frame, so no long path starts at ``cmd``
        is_run = cmd_is[Command.RUN]
        word_bad = Mux(is_learn, ~learn_in_range,
                       Mux(is_run, ~event_in_range, ~weight_in_range))
        bad_seen = Signal()  # PRESCAN: a bad word was read
        is_read_output = cmd_is[Command.READ_OUTPUT]
        is_read_state = cmd_is[Command.READ_STATE]
        most = Signal(16)  # READ_OUTPUT: the most events one response may carry
        # min(most, level) of the previous cycle: the level only grows until this frame pops
        available = Signal(16)
        m.d.sync += available.eq(Mux(most < level, most, level))
        needs_quiet = Signal()
        word_size = Signal(3)
        payload_words = Signal(16)

        # ---- response shifter --------------------------------------------------------------
        shift = Signal(STATE_RECORD_BYTES * 8)
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
        item_word = Signal(STATE_RECORD_BYTES * 8)
        item_bytes = Signal(range(14))
        item_reg = Signal.like(item_word)
        item_reg_bytes = Signal.like(item_bytes)
        params = [weights_id, self.leds, *([self.lfsr] if self.learning else [])]
        assert len(params) == info.n_params
        counters = [*self.counters, frames_ok, frames_rejected, bytes_dropped, steps_sent, level,
                    self.trials]
        assert len(counters) == len(COUNTER_NAMES)
        # parameter and counter k, registered (valid two cycles after k changes, well before
        # CAPTURE); the counter is picked in two 4-way steps
        param_k = Signal(32)
        counter_k = Signal(32)
        quads = []
        for group in range(0, len(counters), 4):
            quad = Signal(32, name=f"counters_{group}")
            m.d.sync += quad.eq(Array(counters[group:group + 4])[k[:2]])
            quads.append(quad)
        m.d.sync += [param_k.eq(Array(params)[k[:(len(params) - 1).bit_length()]]),
                     counter_k.eq(Array(quads)[k[2:4]])]
        # words read from memories are registered before the item selection: a block RAM's
        # clock-to-output time leaves no room for logic behind it at the ECP5's clock rates
        rom_q = Signal.like(rom_rd.data)
        # signed: a weight narrower than its B bytes is sign-extended on the wire, as written
        weight_q = Signal(self.r_weight.shape())
        state_q = Signal(STATE_RECORD)
        obuf_q = Signal.like(obuf.r_data)
        m.d.sync += [rom_q.eq(rom_rd.data), weight_q.eq(self.r_weight),
                     state_q.i.eq(state.i), state_q.u.eq(state.u), state_q.b.eq(state.b),
                     state_q.s.eq(state.s), obuf_q.eq(obuf.r_data)]
        run_reply = Signal(RUN_REPLY)
        m.d.comb += [run_reply.accepted.eq(accepted), run_reply.buffered.eq(level[:16])]
        # the item of the frame's command: an AND-OR of the one-hot command flags
        sources = {
            Command.INFO: (rom_q, 1),
            Command.READ_WEIGHTS: (weight_q, wbytes),
            Command.READ_STATE: (state_q.as_value(), STATE_RECORD_BYTES),
            Command.READ_PARAMS: (param_k, 4),
            Command.READ_COUNTERS: (counter_k, 4),
            Command.READ_OUTPUT: (obuf_q, 2),
            Command.RUN: (run_reply.as_value(), RUN_REPLY.size // 8),
            Command.LEARN: (run_reply.as_value(), RUN_REPLY.size // 8),
        }
        word_terms = [Mux(cmd_is[c], word, 0) for c, (word, _) in sources.items()]
        byte_terms = [Mux(cmd_is[c], size, 0) for c, (_, size) in sources.items()]
        m.d.comb += [item_word.eq(any_of(word_terms)), item_bytes.eq(any_of(byte_terms))]
        m.d.comb += [
            rom_rd.addr.eq(k),
            self.w_layer.eq(a_layer), self.w_lane.eq(a_lane), self.w_addr.eq(a_addr + k),
            self.w_data.eq(weight_word),
            self.events.payload.addr.eq(event_word),
            self.events.payload.marker.eq(event_word == EVENT_MARKER),
        ]
        # read addresses are registered: item k is read from LOAD on, and k has been stable for a
        # whole byte time by then
        m.d.sync += [
            self.r_layer.eq(Mux(is_read_state, s_layer, a_layer)),
            self.r_lane.eq(Mux(is_read_state, 0, a_lane)),
            self.r_addr.eq(Mux(is_read_state, s_neuron, a_addr) + k),
        ]
        trials_sent = Signal(32)
        in_trial = Signal()  # LEARN words of a trial went out, its end word not yet
        trial_blocks = Signal()  # the frame's command would change what an open trial computes
        quiet = Signal()  # one cycle late; nothing is pushed while the executor waits for it
        m.d.sync += quiet.eq(self.idle & (self.counters[1] == steps_sent)
                             & (self.trials == trials_sent))

        # ---- the executor ------------------------------------------------------------------
        # the handshakes with the receiver are registers: its FSM and this one do not chain
        waiting = Signal(init=1)  # the executor is in IDLE
        exec_done = Signal()
        m.d.comb += [rx.rep_ready.eq(waiting), rx.exec_done.eq(exec_done)]
        m.d.sync += exec_done.eq(0)
        if self.learning:
            # the learn word as a learning-core command
            payload = self.commands.payload
            with m.If(~event_word[15]):
                m.d.comb += [payload.kind.eq(LearningCommand.INPUT), payload.addr.eq(event_word)]
            with m.Elif(event_word == EVENT_MARKER):
                m.d.comb += payload.kind.eq(LearningCommand.STEP)
            with m.Elif(trial_end):
                m.d.comb += [payload.kind.eq(LearningCommand.END),
                             payload.addr.eq(event_word == LEARN_TRIAL_LEARN)]
            with m.Else():
                m.d.comb += [payload.kind.eq(LearningCommand.TARGET),
                             payload.addr.eq(event_word[:15])]
            m.d.comb += self.lfsr_w_data.eq(p_value)
        incoming = data.View(WRITE_PARAM_ARGS, rx.rep_args[:WRITE_PARAM_ARGS.size])
        writes_lfsr = ((rx.rep_cmd == Command.WRITE_PARAM) & (incoming.index == Param.LFSR)
                       if self.learning else Const(0, 1))
        with m.FSM() as fsm:
            with m.State("IDLE"), m.If(rx.rep_valid):
                m.d.sync += waiting.eq(0)
                m.d.sync += [
                    cmd.eq(rx.rep_cmd), seq.eq(rx.rep_seq), length.eq(rx.rep_len),
                    tag.eq(rx.rep_tag), args.eq(rx.rep_args), status.eq(rx.rep_status),
                    owns_buffer.eq(rx.rep_status == Status.OK),
                    k.eq(0), count.eq(0), accepted.eq(0), ptr.eq(0), got_bytes.eq(0),
                    bad_seen.eq(0),
                    words.eq((rx.rep_len - 4) >> wshift),
                    *(flag.eq(rx.rep_cmd == command) for command, flag in cmd_is.items()),
                    needs_quiet.eq((rx.rep_cmd == Command.WRITE_WEIGHTS)
                                   | (rx.rep_cmd == Command.READ_WEIGHTS)
                                   | (rx.rep_cmd == Command.READ_STATE)
                                   | (rx.rep_cmd == Command.CLEAR) | writes_lfsr
                                   | (rx.rep_cmd == Command.LEARN)),
                    trial_blocks.eq((rx.rep_cmd == Command.RUN)
                                    | (rx.rep_cmd == Command.WRITE_WEIGHTS)
                                    | (rx.rep_cmd == Command.CLEAR) | writes_lfsr),
                ]
                with m.If(rx.rep_status == Status.OK):
                    m.next = "CHECK"
                with m.Else():
                    m.next = "RESPOND"
            with m.State("CHECK"):
                m.d.sync += [
                    write_end.eq(a_addr + words), read_end.eq(a_addr + a_count),
                    state_end.eq(s_neuron + s_count), depth_limit.eq(depth_of[sel]),
                    n_limit.eq(n_of[Mux(s_layer < n_layers, s_layer, 0)[:len(sel)]]),
                ]
                m.next = "CHECK_FIELDS"
            with m.State("CHECK_FIELDS"):
                m.d.comb += fsm_checking.eq(1)
                m.next = "VERDICT"
            with m.State("VERDICT"):
                m.d.sync += [most.eq(Mux(o_max < MAX_PAYLOAD // 2, o_max, MAX_PAYLOAD // 2))]
                frame_words = Mux(is_events, length >> 1, words)
                m.d.sync += [status.eq(verdict), word_size.eq(Mux(is_events, 2, wbytes)),
                             payload_words.eq(frame_words), *restart(frame_words)]
                m.next = "DISPATCH"
            with m.State("DISPATCH"):
                with m.If(status != Status.OK):
                    m.next = "RESPOND"
                with m.Elif(in_trial & trial_blocks):
                    m.d.sync += status.eq(Status.IN_TRIAL)
                    m.next = "RESPOND"
                with m.Elif(is_events & no_network):
                    m.d.sync += status.eq(Status.NO_NETWORK)
                    m.next = "RESPOND"
                with m.Elif(cmd_is[Command.WRITE_WEIGHTS] | is_events):
                    m.d.sync += ptr.eq(Mux(is_events, 0, 4))
                    m.next = "PRESCAN"
                with m.Else():
                    m.next = "QUIET"
            with m.State("PRESCAN"):
                # a bad word is remembered in a register and acted on once the scan is done, so
                # the word compares feed one flip-flop, not the status and state registers
                with m.If(k_done & bad_seen):
                    m.d.sync += status.eq(Status.BAD_VALUE)
                    m.next = "RESPOND"
                with m.Elif(k_done):
                    m.d.sync += [k.eq(0), ptr.eq(Mux(is_events, 0, 4)), got_bytes.eq(0)]
                    m.d.sync += restart(payload_words)
                    m.next = "QUIET"
                with m.Elif(got_bytes == word_size):
                    m.d.sync += [got_bytes.eq(0), k.eq(k + 1), *advance,
                                 bad_seen.eq(bad_seen | word_bad)]
                with m.Else():
                    m.d.comb += fetch.eq(~fetched)
            with m.State("QUIET"):
                with m.If(~needs_quiet | quiet):
                    # one state per command that acts: no command decoding in their paths
                    with m.If(cmd_is[Command.WRITE_WEIGHTS]):
                        m.next = "WRITE_WEIGHTS"
                    with m.Elif(is_run):
                        m.next = "RUN"
                    if self.learning:
                        with m.Elif(is_learn):
                            m.next = "LEARN"
                    with m.Elif(cmd_is[Command.WRITE_PARAM]):
                        m.next = "WRITE_PARAM"
                    with m.Elif(cmd_is[Command.CLEAR]):
                        m.d.sync += self.clear.eq(1)  # during CLEARING
                        m.next = "CLEARING"
                    with m.Else():
                        m.next = "RESPOND"
                with m.Elif(full & ~cmd_is[Command.CLEAR]):  # CLEAR drops outputs: never BUSY
                    m.d.sync += status.eq(Status.BUSY)
                    m.next = "RESPOND"
            with m.State("WRITE_WEIGHTS"):
                with m.If(k_done):
                    m.next = "RESPOND"
                with m.Elif(got_bytes == wbytes):
                    m.d.comb += self.w_en.eq(1)
                    m.d.sync += [got_bytes.eq(0), k.eq(k + 1), *advance]
                with m.Else():
                    m.d.comb += fetch.eq(~fetched)
            def push_words(sink, on_push=lambda: None):
                """The body of RUN and LEARN: each u16 word of the payload into ``sink``."""
                with m.If(k_done):
                    m.next = "RESPOND"
                with m.Elif(got_bytes == 2):
                    m.d.comb += sink.valid.eq(1)
                    with m.If(sink.ready):
                        m.d.sync += [got_bytes.eq(0), k.eq(k + 1), *advance,
                                     accepted.eq(accepted + 1)]
                        with m.If(event_word == EVENT_MARKER):
                            m.d.sync += steps_sent.eq(steps_sent + 1)
                        on_push()
                    with m.Elif(full):
                        m.d.sync += status.eq(Status.BUSY)
                        m.next = "RESPOND"
                with m.Else():
                    m.d.comb += fetch.eq(~fetched)

            def trial_bookkeeping():
                with m.If(trial_end):
                    m.d.sync += [in_trial.eq(0), trials_sent.eq(trials_sent + 1)]
                with m.Else():
                    m.d.sync += in_trial.eq(1)

            with m.State("RUN"):
                push_words(self.events)
            if self.learning:
                with m.State("LEARN"):
                    push_words(self.commands, trial_bookkeeping)
            with m.State("WRITE_PARAM"):
                with m.If(p_index == Param.WEIGHTS_ID):
                    m.d.sync += weights_id.eq(p_value)
                with m.Elif(p_index == Param.LEDS):
                    m.d.sync += self.leds.eq(p_value)
                if self.learning:
                    with m.Elif(p_index == Param.LFSR):
                        m.d.comb += self.lfsr_w_en.eq(1)
                m.next = "RESPOND"
            with m.State("CLEARING"):
                m.d.sync += self.clear.eq(0)
                m.next = "CLEAR_WAIT"
            with m.State("CLEAR_WAIT"), m.If(self.idle):
                m.d.comb += fifo.clear.eq(1)  # the output buffer is emptied
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
                        m.d.comb += items.eq(info.n_params)
                    with m.Case(Command.READ_COUNTERS):
                        m.d.comb += items.eq(len(COUNTER_NAMES))
                    with m.Case(Command.READ_OUTPUT):
                        m.d.comb += items.eq(available)
                    with m.Case(Command.RUN, Command.LEARN):
                        m.d.comb += items.eq(1)
                with m.Elif((status == Status.BUSY) & is_events):
                    m.d.comb += items.eq(1)
                with m.If(status == Status.OK):
                    m.d.sync += frames_ok.eq(frames_ok + 1)
                with m.Else():
                    m.d.sync += frames_rejected.eq(frames_rejected + 1)
                m.d.sync += [count.eq(items), k.eq(0)]
                m.next = "LENGTH"
            with m.State("LENGTH"):  # the payload length, registered before HEADER uses it
                items = count
                with m.Switch(cmd):
                    with m.Case(Command.INFO):
                        m.d.sync += resp_len.eq(items)
                    with m.Case(Command.READ_WEIGHTS):
                        m.d.sync += resp_len.eq(items << wshift)
                    with m.Case(Command.READ_STATE):
                        m.d.sync += resp_len.eq((items << 3) + (items << 2) + items)
                    with m.Case(Command.READ_OUTPUT):
                        m.d.sync += resp_len.eq(items << 1)
                    with m.Default():
                        m.d.sync += resp_len.eq(items << 2)
                m.next = "HEADER"
            with m.State("HEADER"):
                m.d.sync += [
                    shift.eq(Cat(Const(SYNC, 8), resp_len, cmd, seq, status)),
                    nbytes.eq(6), crc.eq(CRC_INIT), crc_skip.eq(1),
                ]
                m.d.sync += restart(count)
                m.next = "SEND"
            with m.State("SEND"):
                with m.If(nbytes == 0):
                    with m.If(k_done):
                        m.next = "CRC"
                    with m.Else():
                        m.d.sync += reading_out.eq(is_read_output)
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
                m.next = "LOAD_WAIT"
            with m.State("LOAD_WAIT"):  # the memories' read data
                m.next = "LOAD_REG"
            with m.State("LOAD_REG"):  # ... and its register
                m.next = "CAPTURE"
            with m.State("CAPTURE"):  # the item selection is registered: a long mux otherwise
                m.d.sync += [item_reg.eq(item_word), item_reg_bytes.eq(item_bytes),
                             reading_out.eq(0)]
                m.next = "LATCH"
            with m.State("LATCH"):
                m.d.comb += pop.eq(is_read_output)
                m.d.sync += [shift.eq(item_reg), nbytes.eq(item_reg_bytes), k.eq(k + 1), *advance]
                m.next = "SEND"
            with m.State("CRC"):
                m.d.sync += [shift.eq(crc), nbytes.eq(2), crc_skip.eq(1)]
                m.next = "CRC_SEND"
            with m.State("CRC_SEND"):
                with m.If(nbytes == 0):
                    m.d.sync += [exec_done.eq(owns_buffer), owns_buffer.eq(0), waiting.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.tx.valid.eq(1)
                    with m.If(self.tx.ready):
                        m.d.sync += [shift.eq(shift >> 8), nbytes.eq(nbytes - 1)]
        m.d.comb += flushing.eq(cmd_is[Command.CLEAR] & (fsm.ongoing("QUIET")
                                                         | fsm.ongoing("CLEARING")
                                                         | fsm.ongoing("CLEAR_WAIT")))
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | rx.rep_valid)
        return m
