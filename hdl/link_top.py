"""The board-independent top: UART, host link and network core, with ``rx``/``tx``/``leds`` pins.

A board top (:mod:`spikeforge.boards`) adds the clock, the reset and the pins; the co-simulation
(:mod:`spikeforge.host.cosim_device`) drives ``rx`` and reads ``tx`` of this very component, so
the bytes a board would see are what the tests exercise.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..host.protocol import DEFAULT_LINK, design_info
from .events import EventLayout
from .host_link import CORE_COUNTERS, HostLink
from .network_core import NetworkCore
from .skid_buffer import SkidBuffer
from .uart import UARTReceiver, UARTTransmitter, check_divisor

__all__ = ["LinkTop"]


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

    Ports
    -----
    rx : In(1), init 1; tx : Out(1), init 1
        The serial line (8N1, idle high).
    leds : Out(8)
        The low bits of the ``LEDS`` parameter.
    busy : Out(1)
        The link is receiving or executing a frame.
    """

    def __init__(self, network, *, lanes=1, divisor, timeout=None, link=DEFAULT_LINK):
        self.divisor = check_divisor(divisor)
        self.timeout = timeout if timeout is not None else min(200 * 10 * divisor, 1 << 24)
        self.info = design_info(network, lanes, link)
        self.core = NetworkCore(network, lanes=lanes, host_access=True,
                                output_depth=2, input_depth=network.n_in + 1)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(8),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        core = m.submodules.core = self.core
        link = m.submodules.link = HostLink(self.info, timeout=self.timeout)
        urx = m.submodules.uart_rx = UARTReceiver(divisor=self.divisor)
        utx = m.submodules.uart_tx = UARTTransmitter(divisor=self.divisor)
        m.d.comb += [
            urx.rx.eq(self.rx), self.tx.eq(utx.tx),
            self.leds.eq(link.leds[:8]), self.busy.eq(link.busy),
        ]
        # a received byte reaches the link one cycle late, from registers
        m.d.sync += [link.rx_byte.eq(urx.data), link.rx_valid.eq(urx.valid)]
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
        for index, name in enumerate(CORE_COUNTERS):
            m.d.comb += link.counters[index].eq(getattr(core, name))
        for name in ("w_en", "w_layer", "w_lane", "w_addr", "w_data", "r_layer", "r_lane",
                     "r_addr"):
            m.d.comb += getattr(core, name).eq(getattr(link, name))
        m.d.comb += [link.r_weight.eq(core.r_weight), link.r_state.eq(core.r_state)]
        return m
