"""The top level of a board: the link top on the board's clock, UART pins and LEDs.

The clock is the board's oscillator (iCEBreaker 12 MHz, ULX3S 25 MHz) as the ``sync`` domain;
Amaranth's vendor platforms add the power-on reset (iCE40: a reset held for the first cycles
after configuration; ECP5: the global set/reset). nextpnr reports how fast the design could be
clocked (``fmax_mhz`` of :func:`spikeforge.boards.build.build_bitstream`); a PLL to run it faster
is left out on purpose, so the UART divisor stays exact.
"""

from amaranth.build import ResourceError
from amaranth.hdl import Elaboratable, Module

from ..hdl.link_top import LinkTop
from ..link.protocol import DEFAULT_LINK

__all__ = ["BoardTop", "uart_divisor"]


def uart_divisor(clock_hz, baud):
    """Clock cycles per UART bit; the baud rate error must stay under 2 %."""
    divisor = round(clock_hz / baud)
    if divisor < 4 or abs(clock_hz / divisor - baud) / baud > 0.02:
        raise ValueError(
            f"a {clock_hz / 1e6:g} MHz clock cannot make {baud} baud within 2 % "
            f"(divisor {divisor})")
    return divisor


class BoardTop(Elaboratable):
    """A :class:`~spikeforge.hdl.link_top.LinkTop` wired to ``uart`` 0 and the user LEDs
    (``spram_weights``: the weight memories held in SPRAM on an iCE40 UP5K,
    :func:`spikeforge.compiler.resources.spram_plan`)."""

    def __init__(self, network, *, clock_hz, lanes=1, baud=115200, link=DEFAULT_LINK,
                 learning=None, spram_weights=()):
        self.divisor = uart_divisor(clock_hz, baud)
        self.baud = baud
        self.spram_weights = frozenset(spram_weights)
        self.top = LinkTop(network, lanes=lanes, divisor=self.divisor, link=link,
                           learning=learning, spram_weights=spram_weights,
                           timeout=min(int(clock_hz // 20), 1 << 24))  # 50 ms of silence

    @property
    def info(self):
        return self.top.info

    def elaborate(self, platform):
        m = Module()
        top = m.submodules.top = self.top
        uart = platform.request("uart", 0)
        m.d.comb += [top.rx.eq(uart.rx.i), uart.tx.o.eq(top.tx)]
        for index in range(8):
            try:
                led = platform.request("led", index)
            except ResourceError:
                break
            m.d.comb += led.o.eq(top.leds[index])
        return m
