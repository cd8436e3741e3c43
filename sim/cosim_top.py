"""The co-simulated board: the board-independent top plus a host-side UART, in one design.

``CosimTop`` holds a :class:`~spikeforge.hdl.link_top.LinkTop` (what a board top wraps) and, on
the other end of its serial line, a second UART of the same divisor with a byte FIFO each way.
A testbench (:mod:`spikeforge.sim.cosim_tb`) pushes the bytes the host driver sent into
``h_tx`` and reads the device's bytes from ``h_rx``: every byte crosses the device's ``rx`` and
``tx`` pins bit by bit, as on a board, while the testbench wakes once per byte, not per bit.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ..hdl.link_top import LinkTop
from ..hdl.uart import UARTReceiver, UARTTransmitter
from ..link.protocol import DEFAULT_LINK, LED_BITS

__all__ = ["FIFO_DEPTH", "CosimTop"]

#: Bytes each way between the testbench and the serial line.
FIFO_DEPTH = 2048


class CosimTop(wiring.Component):
    """``LinkTop`` with a host-side UART twin.

    Ports
    -----
    h_tx : In(stream of 8 bits)
        Bytes from the host, onto the device's ``rx`` line.
    h_tx_level : Out(range(FIFO_DEPTH + 1))
        Bytes waiting to go onto the line.
    h_rx : Out(stream of 8 bits)
        Bytes the device sent on its ``tx`` line.
    h_rx_level : Out(range(FIFO_DEPTH + 1))
    line_busy : Out(1)
        A byte is on the line in either direction, or the link is busy.
    leds : Out(LED_BITS)
    """

    def __init__(self, network, *, lanes=1, divisor=4, timeout=None, link=DEFAULT_LINK,
                 learning=None, spram_weights=()):
        self.top = LinkTop(network, lanes=lanes, divisor=divisor, timeout=timeout, link=link,
                           learning=learning, spram_weights=spram_weights)
        self.divisor = divisor
        super().__init__({
            "h_tx": In(stream.Signature(8)), "h_tx_level": Out(range(FIFO_DEPTH + 1)),
            "h_rx": Out(stream.Signature(8)), "h_rx_level": Out(range(FIFO_DEPTH + 1)),
            "line_busy": Out(1), "leds": Out(LED_BITS),
        })

    @property
    def info(self):
        return self.top.info

    def elaborate(self, platform):
        m = Module()
        top = m.submodules.top = self.top
        host_tx = m.submodules.host_tx = UARTTransmitter(divisor=self.divisor)
        host_rx = m.submodules.host_rx = UARTReceiver(divisor=self.divisor)
        to_line = m.submodules.to_line = SyncFIFOBuffered(width=8, depth=FIFO_DEPTH)
        from_line = m.submodules.from_line = SyncFIFOBuffered(width=8, depth=FIFO_DEPTH)
        m.d.comb += [
            to_line.w_data.eq(self.h_tx.payload), to_line.w_en.eq(self.h_tx.valid),
            self.h_tx.ready.eq(to_line.w_rdy), self.h_tx_level.eq(to_line.level),
            host_tx.i.payload.eq(to_line.r_data), host_tx.i.valid.eq(to_line.r_rdy),
            to_line.r_en.eq(host_tx.i.ready),
            top.rx.eq(host_tx.tx), host_rx.rx.eq(top.tx),
            from_line.w_data.eq(host_rx.data), from_line.w_en.eq(host_rx.valid),
            self.h_rx.payload.eq(from_line.r_data), self.h_rx.valid.eq(from_line.r_rdy),
            from_line.r_en.eq(self.h_rx.ready), self.h_rx_level.eq(from_line.level),
            self.line_busy.eq(~host_tx.i.ready | ~host_tx.tx | ~top.tx | top.busy
                              | to_line.r_rdy),
            self.leds.eq(top.leds),
        ]
        return m
