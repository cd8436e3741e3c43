"""The board-independent top: UART, host link and network core, with ``rx``/``tx``/``leds`` pins.

With a learning configuration the core is a :class:`~spikeforge.hdl.learning_core.LearningCore`
(its network core serves the link between trials) and the link accepts ``LEARN`` frames.

A board top (:mod:`spikeforge.boards`) adds the clock, the reset and the pins; the co-simulation
(:mod:`spikeforge.sim.cosim_device`) drives ``rx`` and reads ``tx`` of this very component, so
the bytes a board would see are what the tests exercise.

The state registers of the FSMs here (the UART receiver's, the link's receiver and executor)
are in a clock domain of their own, :data:`FSM_DOMAIN`: the ``sync`` clock with a reset in the
first two cycles after configuration (and from a cycle into ``sync``'s reset, where the board
has one, to two cycles after it). Nothing
else is: a reset costs logic in front of every register it reaches. With it, synthesis may
re-encode these FSMs (one-hot, :data:`~spikeforge.boards.yosys.RECODE_FSMS`) on a board whose
``sync`` domain has no reset of its own (the ECP5's global set/reset only loads initial values,
which a re-encoded state register has not).
"""

from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import DEFAULT_LINK, LED_BITS, design_info
from ..model.fingerprint import NO_NETWORK, weights_fingerprint
from .events import EventLayout
from .host_link import HostLink
from .learning_core import LearningCore
from .learning_events import CommandLayout
from .network_core import NetworkCore
from .skid_buffer import SkidBuffer
from .uart import UARTReceiver, UARTTransmitter, check_divisor
from .weight_spram import has_spram

__all__ = ["FSM_DOMAIN", "LinkTop", "core_fifo_depths"]

#: the clock domain of the FSM state registers: ``sync``'s clock, reset after configuration
FSM_DOMAIN = "fsm"


def core_fifo_depths(network):
    """The event FIFO depths of the core behind the link, the least the core allows: one whole
    input step (``n_in`` events and its marker) and two output entries (the link's own output
    buffer holds the rest)."""
    return {"output_depth": 2, "input_depth": network.n_in + 1}


class LinkTop(wiring.Component):
    """A :class:`~spikeforge.hdl.network_core.NetworkCore` behind a UART host link.

    Parameters
    ----------
    network : spikeforge.model.Network
        The network the bitstream is built for (its weights are the initial memory contents).
    lanes : int
        Synaptic lanes per layer.
    divisor : int
        Clock cycles per UART bit.
    timeout : int or None
        Receiver silence timeout in cycles; default 2,000 bit times (200 bytes), at most 2**24.
    link : LinkConfig
    learning : LearningConfig or None
        On-chip learning units (:mod:`spikeforge.model.learning`), or none.
    spram_weights : iterable of (int, int)
        ``(layer, lane)`` weight memories held in SPRAM on an iCE40 UP5K
        (:func:`spikeforge.compiler.resources.spram_plan`; with learning units, of layers
        that do not learn). Such a bitstream starts with no network (``NO_NETWORK``) until
        one is deployed.

    Ports
    -----
    rx : In(1), init 1; tx : Out(1), init 1
        The serial line (8N1, idle high).
    leds : Out(LED_BITS)
        The low bits of the ``LEDS`` parameter.
    busy : Out(1)
        The link is receiving or executing a frame.
    """

    def __init__(self, network, *, lanes=1, divisor, timeout=None, link=DEFAULT_LINK,
                 learning=None, spram_weights=()):
        self.divisor = check_divisor(divisor)
        self.timeout = timeout if timeout is not None else min(200 * 10 * divisor, 1 << 24)
        self.info = design_info(network, lanes, link, learning)
        self.weights_id = weights_fingerprint(network)  # the memories' initial contents
        depths = core_fifo_depths(network)
        if learning is None:
            self.core = NetworkCore(network, lanes=lanes, host_access=True,
                                    spram_weights=spram_weights, **depths)
        else:
            self.core = LearningCore(network, learning, lanes=lanes, link=True,
                                     spram_weights=spram_weights, **depths)
        # the most end-of-step words the link can have sent whose steps the core has not
        # completed: every entry between them may hold one (the register slices of
        # ``elaborate``, two each; the core's entries in front of its first layer,
        # ``NetworkCore.input_entries``), and one step runs
        slices = 1 if learning is None else 2  # to_core (and to_learning)
        network_core = self.core if learning is None else self.core.core
        self.steps_in_flight = 2 * slices + network_core.input_entries + 1
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(LED_BITS),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        # the FSMs' domain: reset by one flip-flop, 1 from configuration and through ``sync``'s
        # reset (its initial value, which that reset restores), 0 two cycles after either
        # (``started`` is 0 until a cycle after them). One register drives these resets, not
        # the OR of two: on the UP5K ``sync``'s reset reaches every register of the design, and
        # its OR with ``started`` was a LUT level in front of the FSMs' next states
        m.domains.fsm = ClockDomain(FSM_DOMAIN, local=True)
        started = Signal()
        fsm_reset = Signal(init=1)
        m.d.sync += [started.eq(1), fsm_reset.eq(~started)]
        m.d.comb += [ClockSignal(FSM_DOMAIN).eq(ClockSignal("sync")),
                     ResetSignal(FSM_DOMAIN).eq(fsm_reset)]
        core = m.submodules.core = self.core
        # SPRAM starts empty: a design with weights there has no network until one is deployed
        in_spram = has_spram(platform) and bool(getattr(self.core, "spram_weights", ()))
        network_core = core if isinstance(core, NetworkCore) else core.core
        # the link's counters take the two SPRAMs a UP5K leaves free when its weights do not
        link = m.submodules.link = HostLink(
            self.info, timeout=self.timeout,
            weights_id=NO_NETWORK if in_spram else self.weights_id,
            increment_maxima=network_core.increment_maxima,
            counter_storage="spram" if has_spram(platform) and not in_spram else "memory",
            steps_in_flight=self.steps_in_flight, fsm_domain=FSM_DOMAIN)
        urx = m.submodules.uart_rx = UARTReceiver(divisor=self.divisor, fsm_domain=FSM_DOMAIN)
        utx = m.submodules.uart_tx = UARTTransmitter(divisor=self.divisor)
        m.d.comb += [
            urx.rx.eq(self.rx), self.tx.eq(utx.tx),
            self.leds.eq(link.leds), self.busy.eq(link.busy),
        ]
        # a received byte reaches the link's receiver one cycle late, from registers (the
        # link's, which hold its SYNC compare beside it)
        m.d.comb += [link.rx_byte.eq(urx.data), link.rx_valid.eq(urx.valid)]
        wiring.connect(m, link.tx, utx.i)
        # register slices: the link's frame decoding and the core's FIFO flags meet only at
        # registers (they were the longest paths of a board)
        to_core = m.submodules.to_core = SkidBuffer(EventLayout)
        wiring.connect(m, link.events, to_core.i)
        wiring.connect(m, to_core.o, core.i_events)
        from_core = m.submodules.from_core = SkidBuffer(EventLayout)
        wiring.connect(m, core.o_events, from_core.i)
        wiring.connect(m, from_core.o, link.outputs)
        m.d.comb += [core.clear.eq(link.clear), link.idle.eq(core.idle)]
        m.d.comb += link.step_parity.eq(network_core.steps[0])
        for name, increment in network_core.increments.items():
            m.d.comb += getattr(link, f"{name}_increment").eq(increment)
        if isinstance(core, LearningCore):
            to_learning = m.submodules.to_learning = SkidBuffer(CommandLayout)
            wiring.connect(m, link.commands, to_learning.i)
            wiring.connect(m, to_learning.o, core.i_cmd)
            m.d.comb += [link.trials.eq(core.trials), link.lfsr.eq(core.lfsr),
                         core.lfsr_w_en.eq(link.lfsr_w_en), core.lfsr_w_data.eq(link.lfsr_w_data)]
        for name in ("w_en", "w_layer", "w_lane", "w_addr", "w_data", "r_layer", "r_lane",
                     "r_addr"):
            m.d.comb += getattr(core, name).eq(getattr(link, name))
        m.d.comb += [link.r_weight.eq(core.r_weight), link.r_state.eq(core.r_state)]
        return m
