r"""The host link: executes the commands of :mod:`spikeforge.link.protocol` on a network core.

Structure (one clock domain)::

    UART rx ─► FrameReceiver ─► frame buffer (BufferRAM, MAX_PAYLOAD bytes)
                    │ verdict            │
                    ▼                    ▼ PayloadReader (words; LearnWordDecoder for LEARN)
               executor (this module) ──► NetworkCore host ports, events in, clear
                    │        ▲
                    ▼        └── OutputBuffer (a FIFO in one RAM) ◄── core o_events
               ResponseSerializer (header, items, CRC) ─► UART tx

Executor, per verdict:

1. **Check** (registers only): an error verdict of the receiver, then ``UNKNOWN_COMMAND``,
   ``BAD_TAG``, ``BAD_LENGTH``, ``BAD_ADDRESS`` (layer, lane, address + count against each
   layer's depth, parameter index). Nothing has changed yet.
2. **Pre-scan** (``WRITE_WEIGHTS``, ``RUN``, ``LEARN``): every word of the payload is read from
   the frame buffer and checked (a weight inside its layer's format, an event ``< n_in``, a
   target ``< n_out``, a known marker); one bad word rejects the frame with ``BAD_VALUE`` before
   anything is written (the scan reads every word first).
3. **Quiet** (weights, state, ``CLEAR``, ``LEARN``, writing ``LFSR``): wait until the core is
   idle and has finished every step sent (none is in flight); if the output buffer is
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

The one product here, a response's length (items × item size), is a sum of the count's shifts:
no multipliers.
"""

from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.layouts import (
    ARGUMENT_BITS,
    READ_OUTPUT_ARGS,
    READ_STATE_ARGS,
    READ_WEIGHTS_ARGS,
    RESPONSE_HEAD,
    RUN_REPLY,
    STATE_RECORD,
    WEIGHTS_ARGS,
    WRITE_PARAM_ARGS,
    nbytes,
)
from ..link.protocol import (
    COUNTER_NAMES,
    EVENT_MARKER,
    LED_BITS,
    MAX_PAYLOAD,
    RESPONSE_HEADER,
    STATE_RECORD_BYTES,
    SYNC,
    Command,
    DesignInfo,
    Param,
    Status,
)
from ..model.fingerprint import NO_NETWORK
from ..model.numerics import check_int
from .arith import below, overflows
from .counter_bank import CounterBank
from .events import ProbeLayout, event_signature
from .frame_rx import FrameReceiver
from .learn_decoder import LearnWordDecoder
from .learning_events import command_signature
from .link_ram import BufferRAM
from .network_core import INCREMENTED
from .output_buffer import OutputBuffer
from .payload_reader import PayloadReader
from .response_serializer import ResponseSerializer

__all__ = ["BANKED", "HostLink"]

#: The counters kept in the link's :class:`~spikeforge.hdl.counter_bank.CounterBank`: the clock
#: cycles, the steps the core completed, the core's counters that add an increment each cycle
#: (:data:`~spikeforge.hdl.network_core.INCREMENTED`), and the link's own frame, byte and
#: end-of-step counts. The others are registers read as they are: ``trials`` (compared with
#: the trials sent to wait for quiet learning units), ``output_level`` (the output buffer's
#: level).
BANKED = ("cycles", "steps", *INCREMENTED, "frames_ok", "frames_rejected", "bytes_dropped",
          "steps_sent")


def _any_of(terms):
    """The OR of ``terms`` (0 when there are none)."""
    result = Const(0, 1)
    for term in terms:
        result = result | term
    return result


def _any_of_stable(m, terms, name):
    """The OR of ``terms``, through a level of registers loaded in every cycle (an OR of at
    most four terms each): for terms that hold still for a cycle before the result is read."""
    terms = list(terms)
    parts = []
    for index in range(0, len(terms), 4):
        part = Signal(name=f"{name}_{index // 4}", reset_less=True)
        m.d.sync += part.eq(_any_of(terms[index:index + 4]))
        parts.append(part)
    return _any_of(parts)


class _HalvesLE:
    """``a ≤ b`` (unsigned) from registered compares of their halves: ``load`` registers them
    (``a``'s high half below ``b``'s; equal to it; the low halves ``≤``) and ``value`` is the
    whole compare of the operands ``load`` last saw. Two carry chains of half the width, each
    ending in its own flip-flop, instead of one chain in front of a single flip-flop (a 14-bit
    compare was among the UP5K's longest paths)."""

    def __init__(self, a, b, name):
        width = max(len(a), len(b))
        half = (width + 1) // 2
        a, b = a.as_unsigned(), b.as_unsigned()
        below, equal, low = (Signal(name=f"{name}_{part}", reset_less=True)
                             for part in ("high_below", "high_equal", "low"))
        self.load = [below.eq(a[half:] < b[half:]), equal.eq(a[half:] == b[half:]),
                     low.eq(a[:half] <= b[:half])]
        self.value = below | equal & low


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
    increment_maxima : dict
        The most each of the core's counters of
        :data:`~spikeforge.hdl.network_core.INCREMENTED` adds in a cycle
        (:attr:`NetworkCore.increment_maxima
        <spikeforge.hdl.network_core.NetworkCore.increment_maxima>`): it sizes the counter
        bank's pending registers.
    counter_storage : str
        Where the counter bank keeps its words: ``"spram"`` (two UltraPlus SPRAMs) or
        ``"memory"`` (:class:`~spikeforge.hdl.counter_bank.CounterBank`).
    steps_in_flight : int
        The most end-of-step words the link can have sent that the core has not finished a step
        for: what the buffers between them hold, plus the step running. It sizes the
        count of steps in flight that ``QUIET`` waits to see at 0 (instead of comparing two
        32-bit counts).
    fsm_domain : str
        The clock domain of the executor's and the receiver's state registers (``sync``'s
        clock; :data:`~spikeforge.hdl.link_top.FSM_DOMAIN` adds a reset after configuration).

    Ports
    -----
    rx_byte, rx_valid : In
        Bytes from the UART receiver, registered here with their ``SYNC`` compare.
    tx : Out(stream of 8 bits)
        Response bytes to the UART transmitter.
    events : Out(stream of EventLayout)
        Input events to the core.
    outputs : In(stream of EventLayout)
        Output events of the core.
    clear : Out(1); idle : In(1)
        The core's ``clear`` and ``idle``.
    step_parity : In(1)
        The low bit of the core's step counter: each change is a step completed (the link
        counts them in its counter bank, ``steps``, and as steps no longer in flight).
    <name>_increment : In
        The core's increments of the counters :data:`~spikeforge.hdl.network_core.INCREMENTED`
        (:attr:`NetworkCore.increments <spikeforge.hdl.network_core.NetworkCore.increments>`),
        which the link counts in its counter bank with ``cycles`` and its own counts.
    w_en, w_layer, w_lane, w_addr, w_data; r_layer, r_lane, r_addr : Out
        The core's host-access ports (a layer and a lane as wide as their valid values);
        ``r_weight``, ``r_state`` : In.
    leds : Out(LED_BITS)
        :attr:`~spikeforge.link.protocol.Param.LEDS` (its low :data:`LED_BITS` bits).
    trials : In(32)
        Learning trials completed (tie to 0 without learning units).
    commands : Out(stream of CommandLayout); lfsr : In(32); lfsr_w_en, lfsr_w_data : Out
        Learning units only: the learning core's command stream and its rounding LFSR.
    busy : Out(1)
        A frame or response is in progress (for testbenches that pause the clock when idle).
    """

    def __init__(self, info, *, timeout, weights_id=NO_NETWORK, increment_maxima,
                 counter_storage="memory", steps_in_flight, fsm_domain="sync"):
        if not isinstance(info, DesignInfo):
            raise TypeError(f"info must be a DesignInfo, not {info!r}")
        self.info = info
        self.timeout = timeout
        self.initial_weights_id = check_int("weights_id", weights_id, 0, (1 << 32) - 1)
        if set(increment_maxima) != set(INCREMENTED):
            raise ValueError(f"increment_maxima must give {INCREMENTED}, not "
                             f"{tuple(increment_maxima)}")
        self.increment_maxima = dict(increment_maxima)
        self.counter_storage = counter_storage
        self.steps_in_flight = check_int("steps_in_flight", steps_in_flight, 1, 1 << 24)
        self.fsm_domain = fsm_domain
        layers = info.layers
        deepest = max(ly.depth for ly in layers)
        largest = max(ly.n for ly in layers)
        # a layer and lane are checked before any access: only their valid values go out
        layer_bits, lane_bits = range(len(layers)), range(info.lanes)
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
            "step_parity": In(1),
            **{f"{name}_increment": In(range(top + 1))
               for name, top in self.increment_maxima.items()},
            "w_en": Out(1), "w_layer": Out(layer_bits), "w_lane": Out(lane_bits),
            "w_addr": Out(range(deepest)),
            "w_data": Out(signed(self.weight_width)),
            "r_layer": Out(layer_bits), "r_lane": Out(lane_bits),
            "r_addr": Out(range(max(deepest, largest))),
            "r_weight": In(signed(self.weight_width)), "r_state": In(ProbeLayout),
            "leds": Out(LED_BITS), "busy": Out(1),
        })

    def elaborate(self, platform):
        """The parts, the registers of the frame being executed, and the executor's FSM."""
        m = Module()
        info = self.info
        f = self._frame_registers(m)
        rx = f.rx = m.submodules.rx = FrameReceiver(timeout=self.timeout, tag=info.tag,
                                                    fsm_domain=self.fsm_domain)
        m.d.sync += [rx.byte.eq(self.rx_byte), rx.byte_valid.eq(self.rx_valid),
                     rx.byte_is_sync.eq(self.rx_byte == SYNC)]
        m.d.comb += [f.length.eq(rx.rep_len), f.args.eq(rx.rep_args)]
        # the counters of BANKED and their increments this cycle; a byte dropped by the
        # receiver is counted a cycle late, from a register
        maxima = {"cycles": 1, "steps": 1, **self.increment_maxima, "frames_ok": 1,
                  "frames_rejected": 1, "bytes_dropped": 1, "steps_sent": 1}
        bank = f.bank = m.submodules.counters = CounterBank(
            [maxima[name] for name in BANKED], storage=self.counter_storage)
        f.tally = {name: bank.increments[index] for index, name in enumerate(BANKED)}
        m.d.comb += f.tally["cycles"].eq(1)
        for name in INCREMENTED:
            m.d.comb += f.tally[name].eq(getattr(self, f"{name}_increment"))
        m.d.sync += f.tally["bytes_dropped"].eq(rx.dropped)
        self._steps_in_flight(m, f)
        fbuf = m.submodules.frame_buffer = BufferRAM(width=8, depth=MAX_PAYLOAD, registered=True)
        reader = f.reader = m.submodules.payload_reader = PayloadReader()
        m.d.comb += [
            fbuf.addr.eq(Mux(f.owns_buffer, reader.addr, rx.fb_addr)),
            fbuf.w_en.eq(rx.fb_we & ~f.owns_buffer), fbuf.w_data.eq(rx.fb_data),
            reader.r_data.eq(fbuf.r_data), fbuf.r_load.eq(reader.r_load),
        ]
        obuf = f.obuf = m.submodules.output = OutputBuffer(info.output_depth)
        wiring.connect(m, wiring.flipped(self.outputs), obuf.events)
        m.d.comb += obuf.owned.eq(f.reading_out)
        serializer = f.serializer = m.submodules.serializer = ResponseSerializer()
        wiring.connect(m, serializer.tx, wiring.flipped(self.tx))
        rom_bytes = list(info.pack())
        rom = m.submodules.info_rom = Memory(shape=8, depth=len(rom_bytes), init=rom_bytes)
        f.rom_rd, f.rom_items = rom.read_port(), len(rom_bytes)
        if self.learning:
            f.decoder = m.submodules.learn_decoder = LearnWordDecoder(
                n_in=info.layers[0].n_in, n_out=info.layers[-1].n)
            m.d.comb += [f.decoder.word.eq(f.event_word),
                         self.commands.payload.eq(f.decoder.command),
                         self.lfsr_w_data.eq(f.param_args.value)]

        m.d.comb += f.reader.size.eq(f.word_size)  # the reader says when a word is complete
        verdict = self._verdict(m, f)
        self._word_checks(m, f)
        self._items(m, f)
        # the handshakes with the receiver are registers: its FSM and this one do not chain
        m.d.comb += [rx.rep_ready.eq(f.waiting), rx.exec_done.eq(f.exec_done)]
        m.d.sync += [f.exec_done.eq(0), f.tally["frames_ok"].eq(0),
                     f.tally["frames_rejected"].eq(0)]
        with m.FSM(domain=self.fsm_domain) as fsm:
            self._accept_states(m, f, verdict)
            self._act_states(m, f)
            self._respond_states(m, f)
        # CLEAR: from its QUIET wait to its response, core outputs are taken and dropped (so a
        # core stalled on a full buffer finishes its steps), then the buffer is emptied; the
        # window is a register (``flushing``), not a decoding of the executor's state
        m.d.comb += obuf.flush.eq(f.flushing)
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | rx.rep_valid)
        return m

    # ---- registers ---------------------------------------------------------------------------

    def _frame_registers(self, m):
        """The executor's registers (the frame's fields, indices, link counters, parameters),
        as one namespace that the other parts of :meth:`elaborate` share."""
        f = SimpleNamespace()
        # the verdict's fields carry no reset: IDLE loads them before anything reads them, and on
        # the iCE40 a reset joins the logic of their enable (an SB_DFFESR resets only while
        # enabled), which is the receiver's handshake across the device
        f.cmd = Signal(8, reset_less=True)
        f.cmd_is = {command: Signal(name=f"is_{command.name.lower()}") for command in Command}
        # a constant without learning units, so none of the LEARN checks is built
        f.is_learn = f.cmd_is[Command.LEARN] if self.learning else Const(0, 1)
        f.is_events = f.cmd_is[Command.RUN] | f.is_learn  # payloads of u16 event words
        f.seq = Signal(8, reset_less=True)
        # the frame's length, tag check and arguments are the receiver's registers, not copies:
        # an OK frame's stay put until the executor is done with it (the receiver waits for
        # ``exec_done``), and no other frame reads them
        f.length = Signal(16)
        f.args = Signal(ARGUMENT_BITS)
        f.status = Signal(Status, reset_less=True)
        f.owns_buffer = Signal()  # an OK frame: the receiver waits for exec_done
        f.k = Signal(16)  # item / word index
        f.count = Signal(16)  # items of the response
        # k runs up to a limit (payload words, response items); ``k_left`` counts down to it and
        # ``k_done`` (k reached the limit) is a register, so no 16-bit compare feeds the FSM
        f.k_left = Signal(16)
        f.k_done = Signal()
        f.accepted = Signal(16)  # RUN: events pushed
        # k and k_left move a cycle after the state that orders it, from three one-cycle order
        # registers (clear k; load k_left with the payload's words or the response's items,
        # which stay put meanwhile; step both), so their 32 flip-flops' enables are an OR of two
        # flip-flops, not of the states and the handshakes that decide a take (the longest paths
        # of the iCE40 build). ``k_done`` moves at once: the states that take words test it in
        # the next cycle.
        k_clear, k_load, k_step = Signal(), Signal(), Signal()
        k_load_items = Signal()  # the load is the response's item count
        m.d.sync += [k_clear.eq(0), k_load.eq(0), k_step.eq(0)]  # the states set them for a cycle
        # ``k + 1``, ``k_left − 1``, ``k_left == 1`` and ``accepted + 1`` from registers, up to
        # date whenever they are used: a take comes at most every third cycle (a payload word
        # takes the reader three cycles after a take, a response item five states) and at the
        # earliest four cycles after an order to clear or load (the reader, restarted, is asked
        # for a word two states later), and ``accepted`` moves with a take; no adder's carry
        # chain meets the states' selects in front of these registers
        k_next, k_left_less, k_left_one = Signal(16, init=1), Signal(16, init=0xFFFF), Signal()
        f.accepted_next = Signal(16, init=1)
        m.d.sync += [k_next.eq(f.k + 1), k_left_less.eq(f.k_left - 1),
                     k_left_one.eq(f.k_left == 1), f.accepted_next.eq(f.accepted + 1)]
        with m.If(k_clear):
            m.d.sync += f.k.eq(0)
        with m.If(k_step):
            m.d.sync += [f.k.eq(k_next), f.k_left.eq(k_left_less)]
        f.clear_k = k_clear.eq(1)
        f.advance = [k_step.eq(1), f.k_done.eq(k_left_one)]
        f.marker_sent = Signal()  # an end-of-step word goes to the core this cycle
        f.weights_id = Signal(32, init=self.initial_weights_id)
        f.no_network = Signal(init=self.initial_weights_id == NO_NETWORK)  # registered compare
        m.d.sync += f.no_network.eq(f.weights_id == NO_NETWORK)
        f.trials_sent = Signal(32)
        f.in_trial = Signal()  # LEARN words of a trial went out, its end word not yet
        f.trial_blocks = Signal()  # the frame's command would change what an open trial computes
        f.needs_quiet = Signal()
        f.word_size = Signal(3)
        # the payload's words: events (RUN, LEARN) or WRITE_WEIGHTS' weights behind its
        # arguments (set with the frame; meaningless for other commands)
        f.payload_words = Signal(16)
        f.no_words = Signal()  # payload_words == 0, registered a state later
        with m.If(k_load):
            m.d.sync += f.k_left.eq(Mux(k_load_items, f.count, f.payload_words))
        # k_left runs over the payload's words (``no_words``: there are none) or the items
        f.restart_words = [k_load.eq(1), k_load_items.eq(0), f.k_done.eq(f.no_words)]
        f.restart_items = [k_load.eq(1), k_load_items.eq(1), f.k_done.eq(f.count == 0)]
        # the first index the frame reads or writes: READ_STATE's neuron, else the weight
        # address (set with the frame; meaningless for commands without one)
        f.first = Signal(16)
        f.bad_seen = Signal()  # PRESCAN: a bad word was read
        f.bad_word = Signal()  # PRESCAN: the word taken in the cycle before was bad
        f.most = Signal(16)  # READ_OUTPUT: the most events one response may carry
        f.reading_out = Signal()  # the executor owns the output buffer's port (a register)
        f.flushing = Signal()  # CLEAR, from QUIET to the end of CLEAR_WAIT: outputs are dropped
        f.waiting = Signal(init=1)  # the executor is in IDLE
        f.exec_done = Signal()
        f.resp_len = Signal(16)
        f.item_byte = Signal(8)  # the serializer's next byte of the item
        f.item_bytes = Signal(range(STATE_RECORD_BYTES + 1))
        f.in_header = Signal()  # the serializer's piece is the response header
        f.fsm_load_reg = Signal()  # the executor is in LOAD_REG: the item sources load
        # the argument layouts of link/layouts.py viewed over the frame's argument bytes
        f.weights_args = data.View(READ_WEIGHTS_ARGS, f.args[:READ_WEIGHTS_ARGS.size])
        f.state_args = data.View(READ_STATE_ARGS, f.args[:READ_STATE_ARGS.size])
        f.param_args = data.View(WRITE_PARAM_ARGS, f.args[:WRITE_PARAM_ARGS.size])
        # which parameter a WRITE_PARAM names, compared in every cycle from the received
        # arguments (settled as the executor takes the frame, states before these are read)
        f.param_is = {param: Signal(name=f"param_is_{param.name.lower()}") for param in Param}
        m.d.sync += [flag.eq(f.param_args.index == param) for param, flag in f.param_is.items()]
        f.output_args = data.View(READ_OUTPUT_ARGS, f.args[:READ_OUTPUT_ARGS.size])
        wbytes = self.info.weight_bytes
        f.wbytes, f.wshift = wbytes, {1: 0, 2: 1, 4: 2}[wbytes]
        f.event_word = Signal(16)
        f.weight_word = Signal(signed(8 * wbytes))
        return f

    def _steps_in_flight(self, m, f):
        """``steps`` and ``steps_sent`` are counted in the bank; ``QUIET`` waits for
        ``none_in_flight``: the end-of-step words sent minus the steps completed, a count of at
        most ``steps_in_flight``, is 0. A step completed is a change of the core's step parity.

        It is ``steps_sent − steps`` (the counts a host reads), so waiting for 0 is the 32-bit
        compare of the two that it replaces."""
        parity = Signal()
        completed = Signal()
        m.d.sync += parity.eq(self.step_parity)
        m.d.comb += completed.eq(parity != self.step_parity)
        in_flight = Signal(range(self.steps_in_flight + 1))
        f.none_in_flight = Signal(init=1)
        # an end-of-step word is counted a cycle after it went out, from a register: the word's
        # compare starts at the frame buffer's output, too far from this count for one cycle.
        # Its step completes cycles later (it still crosses the core's input FIFO), and QUIET
        # reads the count at the earliest a frame later
        sent = Signal()
        m.d.sync += sent.eq(f.marker_sent)
        with m.If(sent & ~completed):
            m.d.sync += [in_flight.eq(in_flight + 1), f.none_in_flight.eq(0)]
        with m.Elif(completed & ~sent):
            m.d.sync += [in_flight.eq(in_flight - 1), f.none_in_flight.eq(in_flight == 1)]
        # the bank's increments are registers: its pending adders start at flip-flops
        m.d.sync += f.tally["steps"].eq(completed)
        m.d.comb += f.tally["steps_sent"].eq(sent)

    # ---- checks ------------------------------------------------------------------------------

    def _verdict(self, m, f):
        """The frame's status from its fields alone (registers only, nothing changes yet):
        ``UNKNOWN_COMMAND``, ``BAD_TAG``, ``BAD_LENGTH``, ``BAD_ADDRESS`` or ``OK``. The address
        range's count is registered in ``CHECK``, its end in ``CHECK_SUM``, its comparison and
        the other arguments' checks in ``CHECK_RANGE``, every command's checks side by side in
        ``CHECK_FIELDS``, the frame's command's picked from them with the one-hot command flags
        in ``CHECK_PICK``; ``VERDICT`` ranks them.

        The registers of the last three stages are loaded in every cycle, not only in their
        state: each is read only in the state after its own, where it holds what it was loaded
        with in its state (one cycle each, and their operands do not change from ``CHECK_SUM``
        on). No decoding of the executor's state lies in front of them."""
        info, layers = self.info, self.info.layers
        n_layers, wbytes, length = len(layers), f.wbytes, f.length
        a, s = f.weights_args, f.state_args
        # the layers named, registered in DECODE (the arguments are the receiver's registers):
        # the weight format and the range's limit are looked up from flip-flops
        f.sel = Signal(range(max(2, n_layers)), name="layer_sel")
        f.state_sel = Signal.like(f.sel, name="state_layer_sel")
        f.sel_next = Mux(below(a.layer, n_layers), a.layer, 0)[:len(f.sel)]
        f.state_sel_next = Mux(below(s.layer, n_layers), s.layer, 0)[:len(f.sel)]
        f.depth_of = Array(Const(ly.depth) for ly in layers)
        f.n_of = Array(Const(ly.n) for ly in layers)
        # the one address range a command names (weight words or neurons), first + count, and its
        # layer's limit. Every limit is below 2^B (B = ``range_bits``), so the range fits when the
        # fields' bits from B up are 0 (``range_high`` clear) and the sum of their low B bits is
        # at most the limit: a carry chain of B + 1 bits, not 17. The count is registered in
        # CHECK, the sum and the high bits in CHECK_SUM, the compare's halves in CHECK_RANGE
        # beside the checks of the other arguments, which CHECK_FIELDS then ANDs with ``fits``
        f.range_bits = max(max(ly.depth, ly.n) for ly in layers).bit_length()
        f.range_count = Signal(16)
        f.range_end = Signal(f.range_bits + 1)
        f.range_limit = Signal(f.range_bits)
        f.range_high = Signal()
        f.range_fits = _HalvesLE(f.range_end, f.range_limit, "fits")
        fits = ~f.range_high & f.range_fits.value
        m.d.sync += f.range_fits.load
        max_items = MAX_PAYLOAD >> f.wshift
        # the arguments' checks, each registered alone (a 16-bit field against a constant, as
        # plain logic: a carry chain from the arguments was the UP5K's longest path), ANDed per
        # command in CHECK_FIELDS
        terms = {
            "layer": below(a.layer, n_layers), "lane": below(a.lane, info.lanes),
            "count": a.count != 0, "count_max": below(a.count, max_items + 1),
            "state_layer": below(s.layer, n_layers), "state_count": s.count != 0,
            "state_count_max": below(s.count, MAX_PAYLOAD // STATE_RECORD_BYTES + 1),
            "param": below(f.param_args.index, info.n_params),
        }
        term_good = {name: Signal(name=f"arg_ok_{name}", reset_less=True) for name in terms}
        m.d.sync += [term_good[name].eq(term) for name, term in terms.items()]
        # per command: its length check, its arguments' checks, and whether its range must fit
        checks = {
            Command.INFO: (length == 0, ()),
            Command.WRITE_WEIGHTS: (~below(length, nbytes(WEIGHTS_ARGS) + wbytes)
                                    & ((length & (wbytes - 1)) == 0),
                                    ("layer", "lane"), True),
            Command.READ_WEIGHTS: (length == nbytes(READ_WEIGHTS_ARGS),
                                   ("layer", "lane", "count", "count_max"), True),
            Command.READ_STATE: (length == nbytes(READ_STATE_ARGS),
                                 ("state_layer", "state_count", "state_count_max"), True),
            Command.WRITE_PARAM: (length == nbytes(WRITE_PARAM_ARGS), ("param",)),
            Command.READ_PARAMS: (length == 0, ()),
            Command.RUN: ((length != 0) & ~length[0], ()),
            Command.READ_OUTPUT: (length == nbytes(READ_OUTPUT_ARGS), ()),
            Command.READ_COUNTERS: (length == 0, ()),
            Command.CLEAR: (length == 0, ()),
        }
        if self.learning:
            checks[Command.LEARN] = ((length != 0) & ~length[0], ())
        tag_ok = f.rx.rep_tag_ok  # a register of the receiver's, compared as the tag arrived
        # each command's length check, registered, then (in CHECK_FIELDS) only for the frame's
        # command (the one-hot command flags are set in DECODE), its address checks likewise,
        # so CHECK_PICK's picks are ORs of registers alone
        cmd_is = f.cmd_is
        length_early = {command: Signal(name=f"length_is_{command.name.lower()}",
                                        reset_less=True) for command in checks}
        length_good = {command: Signal(name=f"length_ok_{command.name.lower()}",
                                       reset_less=True) for command in checks}
        address_good = {command: Signal(name=f"address_ok_{command.name.lower()}",
                                        reset_less=True) for command in checks}
        for command, (length_ok, names, *ranged) in checks.items():
            good = [term_good[name] for name in names] + ([fits] if ranged else [])
            m.d.sync += [length_early[command].eq(length_ok),
                         length_good[command].eq(cmd_is[command] & length_early[command]),
                         address_good[command].eq(Cat(cmd_is[command], *good).all())]
        # the frame's command's checks, picked in CHECK_PICK (registered: the pick is an OR of
        # a dozen terms), then ranked
        known, tag_bad, length_fits, address_fits = (
            Signal(name=f"check_{name}", reset_less=True)
            for name in ("known", "tag_bad", "length", "address"))
        # the command flags hold still from DECODE on: their ORs take a level of registers
        m.d.sync += [
            known.eq(_any_of_stable(m, (cmd_is[c] for c in checks), "is_known")),
            tag_bad.eq(_any_of_stable(m, (cmd_is[c] for c in checks if c is not Command.INFO),
                                      "is_tagged") & ~tag_ok),
            length_fits.eq(_any_of(length_good.values())),
            address_fits.eq(_any_of(address_good.values())),
        ]
        verdict = Signal(Status)
        with m.If(~known):
            m.d.comb += verdict.eq(Status.UNKNOWN_COMMAND)
        with m.Elif(tag_bad):
            m.d.comb += verdict.eq(Status.BAD_TAG)
        with m.Elif(~length_fits):
            m.d.comb += verdict.eq(Status.BAD_LENGTH)
        with m.Elif(~address_fits):
            m.d.comb += verdict.eq(Status.BAD_ADDRESS)
        with m.Else():
            m.d.comb += verdict.eq(Status.OK)
        return verdict

    def _word_checks(self, m, f):
        """The payload words as the reader assembles them, and ``word_bad``: the word does not
        fit its layer's weight format, is not an input index or marker (``RUN``), or is no
        ``LEARN`` word of this design."""
        layers, word = self.info.layers, f.reader.word
        m.d.comb += [f.event_word.eq(word[16:32]), f.weight_word.eq(word[32 - 8 * f.wbytes:32])]
        # a weight fits its layer's format when it is the sign extension of its low bits: no
        # compare, no carry chain after the frame buffer's output
        weight_in_range = Array(~overflows(f.weight_word, ly.weight_width) for ly in layers)[f.sel]
        event_in_range = below(f.event_word, layers[0].n_in) | (f.event_word == EVENT_MARKER)
        learn_in_range = f.decoder.in_range if self.learning else Const(1, 1)
        f.word_bad = Mux(f.is_learn, ~learn_in_range,
                         Mux(f.cmd_is[Command.RUN], ~event_in_range, ~weight_in_range))

    # ---- response items ----------------------------------------------------------------------

    def _items(self, m, f):
        """``item_byte`` and ``item_bytes``: the next byte of item ``k`` of the frame's
        response and its size, and the core's host-access ports that address it.

        Each kind of item has a source register, loaded in ``LOAD_REG``, whose byte ``index``
        the serializer pulls (:mod:`.response_serializer`). Words read from memories are loaded
        straight from the memory's output, with no logic between: a block RAM's clock-to-output
        time leaves no room for logic behind it at the ECP5's clock rates."""
        info, k, a, s = self.info, f.k, f.weights_args, f.state_args
        is_read_state = f.cmd_is[Command.READ_STATE]
        level = f.obuf.level
        params = [f.weights_id, self.leds, *([self.lfsr] if self.learning else [])]
        assert len(params) == info.n_params
        # counter k: the bank's (read from LOAD on; its value holds as busy falls, when
        # LOAD_WAIT leaves, and in the cycle after, when LOAD_REG loads it) or one of the
        # registers beside it
        live = {"output_level": level, "trials": self.trials}
        assert set(live) | set(BANKED) == set(COUNTER_NAMES)
        # k's decoding is registered: k holds still from SEND through LOAD_REG, so the selects
        # are k's by LOAD and the ``word`` that LOAD_REG loads is item k
        k4 = k[:(len(COUNTER_NAMES) - 1).bit_length()]
        # decoded in every cycle: no reset (on the iCE40 it would be a LUT level in front of
        # the reset pins these constant tables map to)
        f.k_banked = Signal(reset_less=True)
        f.k_bank_addr = Signal(range(len(BANKED)), reset_less=True)
        picks = {name: Signal(name=f"pick_{name}", reset_less=True) for name in live}
        m.d.sync += [
            f.k_banked.eq(Array(Const(name in BANKED, 1) for name in COUNTER_NAMES)[k4]),
            f.k_bank_addr.eq(Array(Const(BANKED.index(name) if name in BANKED else 0,
                                         range(len(BANKED))) for name in COUNTER_NAMES)[k4]),
            *(pick.eq(k4 == COUNTER_NAMES.index(name)) for name, pick in picks.items()),
        ]
        counter = Mux(f.k_banked, f.bank.value,
                      _any_of(Mux(picks[name], value, 0) for name, value in live.items()))
        run_reply = Signal(RUN_REPLY)
        m.d.comb += [run_reply.accepted.eq(f.accepted), run_reply.buffered.eq(level[:16])]
        # the 32-bit items that are no memory's output share one source: counter k, parameter
        # k or the RUN / LEARN reply, selected from registers (k's decoding, the bank's value,
        # the one-hot command flags) straight into the source's register
        cmd_is = f.cmd_is
        param = Array(params)[k[:(len(params) - 1).bit_length()]]
        word = Mux(cmd_is[Command.READ_COUNTERS], counter,
                   Mux(cmd_is[Command.READ_PARAMS], param, run_reply.as_value()))
        state = self.r_state
        record = Signal(STATE_RECORD)
        m.d.comb += [record.i.eq(state.i), record.u.eq(state.u), record.b.eq(state.b),
                     record.s.eq(state.s)]
        # signed: a weight narrower than its B bytes is sign-extended on the wire, as written
        sources = {
            "word": (Signal(32), word),
            "state": (Signal(STATE_RECORD.size), record.as_value()),
            "weight": (Signal(signed(8 * f.wbytes)), self.r_weight),
            "output": (f.obuf.data, None),  # the output buffer's own register (``load``)
            "rom": (Signal.like(f.rom_rd.data), f.rom_rd.data),
        }
        # loaded with a clock enable: a memory's output reaches its register through no logic
        # of the link's
        with m.If(f.fsm_load_reg):
            m.d.sync += [register.eq(value) for register, value in sources.values()
                         if value is not None]
        m.d.comb += f.obuf.load.eq(f.fsm_load_reg)
        index = f.serializer.index

        def byte(name, register):
            """Byte ``index`` of ``register``: its only byte, or ``index`` of its bytes as a
            register (the serializer reads it a cycle after ``index`` moves)."""
            count = len(register) // 8
            if count == 1:
                return register[:8]
            picked = Signal(8, name=f"byte_of_{name}")
            m.d.sync += picked.eq(Array(register.word_select(j, 8) for j in range(count))[
                index[:(count - 1).bit_length()]])
            return picked

        byte_of = {name: byte(name, register) for name, (register, _) in sources.items()}
        # each command's source and item size; the serializer's next byte is byte ``index`` of
        # the command's source: an AND-OR over the sources' bytes of flags registered from the
        # one-hot command flags (all low while the header is sent)
        f.items = {
            Command.INFO: ("rom", 1),
            Command.READ_WEIGHTS: ("weight", f.wbytes),
            Command.READ_STATE: ("state", STATE_RECORD_BYTES),
            Command.READ_PARAMS: ("word", 4),
            Command.READ_COUNTERS: ("word", 4),
            Command.READ_OUTPUT: ("output", 2),
            Command.RUN: ("word", nbytes(RUN_REPLY)),
            Command.LEARN: ("word", nbytes(RUN_REPLY)),
        }
        sends = {name: Signal(name=f"sends_{name}") for name in sources}
        m.d.sync += [flag.eq(~f.in_header & _any_of(cmd_is[c] for c, (source, _)
                                                    in f.items.items() if source == name))
                     for name, flag in sends.items()]
        m.d.comb += [
            f.item_byte.eq(_any_of(Mux(flag, byte_of[name], 0) for name, flag in sends.items())),
            f.item_bytes.eq(_any_of(Mux(cmd_is[c], size, 0)
                                    for c, (_, size) in f.items.items())),
            f.rom_rd.addr.eq(k),
            self.w_layer.eq(a.layer), self.w_lane.eq(a.lane), self.w_addr.eq(a.addr + k),
            self.w_data.eq(f.weight_word),
            self.events.payload.addr.eq(f.event_word),
            self.events.payload.marker.eq(f.event_word == EVENT_MARKER),
        ]
        # read addresses are registered: item k is read from LOAD on, and k has been stable for a
        # whole byte time by then; the address's base is the frame's first index (set in
        # DECODE), so the adder's carry chain starts at registers
        m.d.sync += [
            self.r_layer.eq(Mux(is_read_state, s.layer, a.layer)),
            self.r_lane.eq(Mux(is_read_state, 0, a.lane)),
            self.r_addr.eq(f.first + k),
        ]

    # ---- the executor's states -----------------------------------------------------------------

    def _accept_states(self, m, f, verdict):
        """``IDLE`` takes a verdict from the receiver and ``DECODE`` decodes its command;
        ``CHECK`` … ``VERDICT`` check the frame;
        ``DISPATCH`` refuses it (``IN_TRIAL``, ``NO_NETWORK``) or sends it on: to the pre-scan,
        to the quiet wait, or straight to the response."""
        rx, cmd_is, a, s, cmd = f.rx, f.cmd_is, f.weights_args, f.state_args, f.cmd
        # a WRITE_PARAM of the LFSR, from flags (read in CHECK)
        writes_lfsr = Const(0, 1)
        if self.learning:
            writes_lfsr = cmd_is[Command.WRITE_PARAM] & f.param_is[Param.LFSR]
        # where the words of a payload start: after WRITE_WEIGHTS' arguments
        f.payload_start = Mux(f.is_events, 0, nbytes(WEIGHTS_ARGS))
        with m.State("IDLE"), m.If(rx.rep_valid):
            # the verdict's fields are only registered here; DECODE decodes the registers, so no
            # path runs from the receiver's state into the executor's decoding
            m.d.sync += [
                f.waiting.eq(0),
                cmd.eq(rx.rep_cmd), f.seq.eq(rx.rep_seq), f.status.eq(rx.rep_status),
                f.owns_buffer.eq(rx.rep_status == Status.OK),
            ]
            m.next = "DECODE"
        with m.State("DECODE"):
            # the frame's indices restart here, from the executor's state alone: in IDLE their
            # reset would hang on the receiver's handshake, across the device
            m.d.sync += [f.clear_k, f.count.eq(0), f.accepted.eq(0), f.bad_seen.eq(0),
                         f.bad_word.eq(0)]
            m.d.comb += [f.reader.restart.eq(1),
                         f.reader.start.eq(Mux(cmd == Command.WRITE_WEIGHTS,
                                               nbytes(WEIGHTS_ARGS), 0))]
            # ``is_events`` from the command itself: the flags it is made of are set here
            events = (cmd == Command.RUN) | ((cmd == Command.LEARN) if self.learning else 0)
            o_max = f.output_args.max_count
            m.d.sync += [
                f.most.eq(Mux(below(o_max, MAX_PAYLOAD // 2), o_max, MAX_PAYLOAD // 2)),
                f.first.eq(Mux(cmd == Command.READ_STATE, s.neuron, a.addr)),
                f.sel.eq(f.sel_next), f.state_sel.eq(f.state_sel_next),
                f.payload_words.eq(Mux(events, f.length >> 1,
                                       (f.length - nbytes(WEIGHTS_ARGS)) >> f.wshift)),
                *(flag.eq(cmd == command) for command, flag in cmd_is.items()),
            ]
            with m.If(f.status == Status.OK):
                m.next = "CHECK"
            with m.Else():
                m.next = "RESPOND"
        with m.State("CHECK"):
            is_state = f.cmd_is[Command.READ_STATE]
            # registered here so that the item counter's restart in VERDICT is a copy of
            # registers
            m.d.sync += [
                # the command's classes, from its flags (set in DECODE), not from compares of
                # the command byte
                f.needs_quiet.eq(cmd_is[Command.WRITE_WEIGHTS] | cmd_is[Command.READ_WEIGHTS]
                                 | cmd_is[Command.READ_STATE] | cmd_is[Command.CLEAR]
                                 | writes_lfsr | cmd_is[Command.LEARN]),
                f.trial_blocks.eq(cmd_is[Command.RUN] | cmd_is[Command.WRITE_WEIGHTS]
                                  | cmd_is[Command.CLEAR] | writes_lfsr),
                f.no_words.eq(f.payload_words == 0),
                f.range_count.eq(Mux(f.cmd_is[Command.WRITE_WEIGHTS], f.payload_words,
                                     Mux(is_state, s.count, a.count))),
                f.range_limit.eq(Mux(is_state, f.n_of[f.state_sel], f.depth_of[f.sel])),
            ]
            m.next = "CHECK_SUM"
        with m.State("CHECK_SUM"):
            low = f.range_bits
            m.d.sync += [f.range_end.eq(f.first[:low] + f.range_count[:low]),
                         f.range_high.eq((f.first[low:] != 0) | (f.range_count[low:] != 0))]
            m.next = "CHECK_RANGE"
        # the checks' registers are loaded in every cycle (see _verdict); these states give
        # each its cycle
        with m.State("CHECK_RANGE"):
            m.next = "CHECK_FIELDS"
        with m.State("CHECK_FIELDS"):
            m.next = "CHECK_PICK"
        with m.State("CHECK_PICK"):
            m.next = "VERDICT"
        # the verdict's OK as a flag of its own: DISPATCH's choices (and the CLEAR window's
        # flag among them) start at a flip-flop, not at a compare of the status register
        verdict_ok = Signal()
        with m.State("VERDICT"):
            m.d.sync += [f.status.eq(verdict), verdict_ok.eq(verdict == Status.OK),
                         f.word_size.eq(Mux(f.is_events, 2, f.wbytes)), *f.restart_words]
            m.next = "DISPATCH"
        with m.State("DISPATCH"):
            with m.If(~verdict_ok):
                m.next = "RESPOND"
            with m.Elif(f.in_trial & f.trial_blocks):
                m.next = "REFUSE_IN_TRIAL"
            with m.Elif(f.is_events & f.no_network):
                m.next = "REFUSE_NO_NETWORK"
            with m.Elif(cmd_is[Command.WRITE_WEIGHTS] | f.is_events):
                m.next = "PRESCAN"
            with m.Else():
                m.d.sync += f.flushing.eq(cmd_is[Command.CLEAR])
                m.next = "QUIET"

    def _act_states(self, m, f):
        """``PRESCAN`` reads every payload word and remembers a bad one; ``QUIET`` waits for
        the core (and the learning units) to finish what was sent; then one state per command
        that acts: ``WRITE_WEIGHTS``, ``RUN``, ``LEARN``, ``WRITE_PARAM``, ``CLEARING``; a refusal
        (``REFUSE_BUSY`` …) writes its status."""
        cmd_is, reader, full = f.cmd_is, f.reader, f.obuf.full
        # two registers: no step in flight and the trials' compare, then with ``idle``; quiet is
        # a cycle or two late, which is safe: no step or trial is sent while the executor waits
        # for it, and the counts only move towards quiet (a buffer that is full meanwhile is BUSY)
        caught_up, quiet = Signal(), Signal()
        m.d.sync += [caught_up.eq(f.none_in_flight & (self.trials == f.trials_sent)),
                     quiet.eq(self.idle & caught_up)]
        next_word = [reader.take.eq(1)]  # with the statements that move k on
        with m.State("PRESCAN"):
            # a word's checks go into one flip-flop (``bad_word``), gathered a cycle later
            # (``bad_seen``) and acted on once the scan is done, so the compares that start at
            # the frame buffer's output feed neither the status nor the state registers
            m.d.sync += [f.bad_word.eq(0), f.bad_seen.eq(f.bad_seen | f.bad_word)]
            with m.If(f.k_done & (f.bad_seen | f.bad_word)):
                m.next = "REFUSE_BAD_VALUE"
            with m.Elif(f.k_done):
                m.d.comb += [reader.restart.eq(1), reader.start.eq(f.payload_start)]
                m.d.sync += [f.clear_k, *f.restart_words]
                m.next = "QUIET"
            with m.Elif(reader.full):
                m.d.comb += next_word
                m.d.sync += [*f.advance, f.bad_word.eq(f.word_bad)]
            with m.Else():
                m.d.comb += reader.want.eq(1)
        with m.State("QUIET"):
            with m.If(~f.needs_quiet | quiet):
                # one state per command that acts: no command decoding in their paths
                with m.If(cmd_is[Command.WRITE_WEIGHTS]):
                    m.next = "WRITE_WEIGHTS"
                with m.Elif(cmd_is[Command.RUN]):
                    m.next = "RUN"
                if self.learning:
                    with m.Elif(f.is_learn):
                        m.next = "LEARN"
                with m.Elif(cmd_is[Command.WRITE_PARAM]):
                    m.next = "WRITE_PARAM"
                with m.Elif(cmd_is[Command.CLEAR]):
                    m.d.sync += self.clear.eq(1)  # during CLEARING
                    m.next = "CLEARING"
                with m.Else():
                    m.next = "RESPOND"
            with m.Elif(full & ~cmd_is[Command.CLEAR]):  # CLEAR drops outputs: never BUSY
                m.next = "REFUSE_BUSY"
        with m.State("WRITE_WEIGHTS"):
            with m.If(f.k_done):
                m.next = "RESPOND"
            with m.Elif(reader.full):
                m.d.comb += [self.w_en.eq(1), *next_word]
                m.d.sync += f.advance
            with m.Else():
                m.d.comb += reader.want.eq(1)

        def push_words(sink, on_push=lambda: None):
            """The body of RUN and LEARN: each u16 word of the payload into ``sink``."""
            with m.If(f.k_done):
                m.next = "RESPOND"
            with m.Elif(reader.full):
                m.d.comb += sink.valid.eq(1)
                with m.If(sink.ready):
                    m.d.comb += next_word
                    m.d.sync += [*f.advance, f.accepted.eq(f.accepted_next)]
                    m.d.comb += f.marker_sent.eq(f.event_word == EVENT_MARKER)
                    on_push()
                with m.Elif(full):
                    m.next = "REFUSE_BUSY"
            with m.Else():
                m.d.comb += reader.want.eq(1)

        def trial_bookkeeping():
            with m.If(f.decoder.trial_end):
                m.d.sync += [f.in_trial.eq(0), f.trials_sent.eq(f.trials_sent + 1)]
            with m.Else():
                m.d.sync += f.in_trial.eq(1)

        with m.State("RUN"):
            push_words(self.events)
        if self.learning:
            with m.State("LEARN"):
                push_words(self.commands, trial_bookkeeping)
        # the parameter registers' enables are a state and a flip-flop (``param_is``)
        p, param_is = f.param_args, f.param_is
        with m.State("WRITE_PARAM"):
            with m.If(param_is[Param.WEIGHTS_ID]):
                m.d.sync += f.weights_id.eq(p.value)
            with m.Elif(param_is[Param.LEDS]):
                m.d.sync += self.leds.eq(p.value)
            if self.learning:
                with m.Elif(param_is[Param.LFSR]):
                    m.d.comb += self.lfsr_w_en.eq(1)
            m.next = "RESPOND"
        # the core's idle, registered: it is the layers' phases and the step's state, which
        # would otherwise lead into this FSM's next state and the output buffer's enables
        core_was_idle = Signal()
        m.d.sync += core_was_idle.eq(self.idle)
        with m.State("CLEARING"):  # the core takes clear in this cycle, its layers leave idle
            m.d.sync += self.clear.eq(0)
            m.next = "CLEAR_SETTLE"
        with m.State("CLEAR_SETTLE"):  # core_was_idle is CLEARING's idle: not yet the clear's
            m.next = "CLEAR_WAIT"
        with m.State("CLEAR_WAIT"), m.If(core_was_idle):
            m.d.comb += f.obuf.clear.eq(1)  # the output buffer is emptied
            m.d.sync += f.flushing.eq(0)
            m.next = "RESPOND"
        # a refusal found in a state above is written in a state of its own, a cycle later: the
        # status register's enable is then an OR of states, not of every condition that refuses
        for code in (Status.IN_TRIAL, Status.NO_NETWORK, Status.BAD_VALUE, Status.BUSY):
            with m.State(f"REFUSE_{code.name}"):
                m.d.sync += f.status.eq(code)
                m.next = "RESPOND"

    def _respond_states(self, m, f):
        """``RESPOND`` counts the frame and sizes the response; ``LENGTH`` and ``LENGTH_SUM``
        register its payload bytes; ``HEADER`` loads the header into the serializer; then, item
        by item, ``LOAD`` … ``LATCH`` read item ``k`` while ``SEND`` waits for the serializer;
        ``CRC`` and ``CRC_SEND`` end the frame."""
        cmd, count, serializer = f.cmd, f.count, f.serializer
        is_read_output = f.cmd_is[Command.READ_OUTPUT]
        # min(most, level) of the previous cycle, as before, picked with a compare registered a
        # cycle earlier (the compare's carry chain into the pick's reset was the longest path
        # from the output buffer): from DECODE, which sets ``most``, to the reply, the level
        # grows by one a cycle at most (a push) and never falls (this frame pops, later), so
        # ``most ≤ level`` of the cycle before says which of the two is the smaller now
        most_le_level = _HalvesLE(f.most, f.obuf.level, "most_le_level")
        available = Signal(16)
        m.d.sync += [*most_le_level.load,
                     available.eq(Mux(most_le_level.value, f.most, f.obuf.level))]
        items = Signal(16)
        item_counts = {
            Command.INFO: f.rom_items, Command.READ_WEIGHTS: f.weights_args.count,
            Command.READ_STATE: f.state_args.count, Command.READ_PARAMS: self.info.n_params,
            Command.READ_COUNTERS: len(COUNTER_NAMES), Command.READ_OUTPUT: available,
            Command.RUN: 1, Command.LEARN: 1,
        }
        with m.State("RESPOND"):
            with m.If(f.status == Status.OK):
                # the one-hot command flags pick the count (an AND-OR, not a decoder of ``cmd``)
                m.d.comb += items.eq(_any_of(Mux(f.cmd_is[command], value, 0)
                                             for command, value in item_counts.items()))
            with m.Elif((f.status == Status.BUSY) & f.is_events):
                m.d.comb += items.eq(1)  # the RUN reply: how many events were accepted
            # counted from registers, a cycle later (the bank's adders start at flip-flops);
            # the response reads the counters from LOAD, three states on
            m.d.sync += [f.tally["frames_ok"].eq(f.status == Status.OK),
                         f.tally["frames_rejected"].eq(f.status != Status.OK)]
            m.d.sync += [count.eq(items), f.clear_k]
            m.next = "LENGTH"
        # the payload length, count × item size, as count's shifts by the size's bits (each
        # kept where the frame's command has that bit in its item size, a flag registered from
        # the command's): sums of two in LENGTH, their sum in LENGTH_SUM, registered before
        # HEADER uses it
        size_bits = Signal(max(size for _, size in f.items.values()).bit_length())
        m.d.sync += [size_bits[bit].eq(_any_of(f.cmd_is[c] for c, (_, size) in f.items.items()
                                               if (size >> bit) & 1))
                     for bit in range(len(size_bits))]
        shifted = [Mux(size_bits[bit], count << bit, 0) for bit in range(len(size_bits))]
        shifted += [Const(0, 1)] * (len(shifted) % 2)
        halves = [Signal(16, name=f"resp_len_{j}") for j in range(len(shifted) // 2)]
        with m.State("LENGTH"):
            m.d.sync += [half.eq(shifted[2 * j] + shifted[2 * j + 1])
                         for j, half in enumerate(halves)]
            m.next = "LENGTH_SUM"
        with m.State("LENGTH_SUM"):
            m.d.sync += f.resp_len.eq(sum(halves[1:], halves[0]))
            m.next = "HEADER"
        head = Signal(RESPONSE_HEAD)
        m.d.comb += [head.length.eq(f.resp_len), head.command.eq(cmd), head.seq.eq(f.seq),
                     head.status.eq(f.status)]
        # the serializer's next byte: byte ``index`` of the header (a register, like the items'
        # bytes: the serializer reads it a cycle after ``index`` moves), or the item's next byte
        header = Cat(Const(SYNC, 8), head)
        header_byte = Signal(8)
        m.d.sync += header_byte.eq(Array(header.word_select(j, 8)
                                         for j in range(RESPONSE_HEADER))[serializer.index])
        m.d.comb += serializer.data.eq(Mux(f.in_header, header_byte, 0) | f.item_byte)
        with m.State("HEADER"):
            m.d.comb += [serializer.load.eq(1), serializer.begin.eq(1),
                         serializer.size.eq(RESPONSE_HEADER)]
            m.d.sync += [*f.restart_items, f.in_header.eq(1)]
            m.next = "SEND"
        with m.State("SEND"), m.If(serializer.empty):
            with m.If(f.k_done):
                m.next = "CRC"
            with m.Else():
                m.d.sync += f.reading_out.eq(is_read_output)
                m.next = "LOAD"
        with m.State("LOAD"):  # addresses of item k are driven from here on
            # a counter of the bank is read in a slot of its own, a few cycles
            m.d.comb += [f.bank.read.eq(f.cmd_is[Command.READ_COUNTERS] & f.k_banked),
                         f.bank.addr.eq(f.k_bank_addr)]
            m.next = "LOAD_WAIT"
        with m.State("LOAD_WAIT"), m.If(~f.bank.busy):  # the memories' read data
            m.next = "LOAD_REG"
        with m.State("LOAD_REG"):  # ... which the item's source register loads
            m.d.comb += f.fsm_load_reg.eq(1)
            m.next = "CAPTURE"
        item_reg_bytes = Signal.like(f.item_bytes)
        with m.State("CAPTURE"):  # the item's size is registered
            m.d.sync += [item_reg_bytes.eq(f.item_bytes), f.reading_out.eq(0)]
            m.next = "LATCH"
        with m.State("LATCH"):
            m.d.comb += [f.obuf.pop.eq(is_read_output), serializer.load.eq(1),
                         serializer.size.eq(item_reg_bytes)]
            m.d.sync += [*f.advance, f.in_header.eq(0)]
            m.next = "SEND"
        with m.State("CRC"):
            m.d.comb += serializer.finish.eq(1)
            m.next = "CRC_SEND"
        with m.State("CRC_SEND"), m.If(serializer.empty):
            m.d.sync += [f.exec_done.eq(f.owns_buffer), f.owns_buffer.eq(0), f.waiting.eq(1)]
            m.next = "IDLE"
