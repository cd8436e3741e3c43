r"""A UART, 8 data bits, no parity, one stop bit (8N1), LSB first, ``divisor`` clocks per bit.

Baud rate :math:`= f_{clk} / \mathrm{divisor}`; e.g. 12 MHz / 104 ≈ 115,385 baud (+0.16 %).
amaranth-stdio, which has one, is not published on PyPI, so this one is ours.

The receiver synchronizes ``rx`` with two flip-flops, waits half a bit after the falling edge
of the start bit, checks that the line is still low, then samples each data bit and the stop bit
one bit period apart (in the middle of each bit). A byte whose stop bit is low is dropped and
counted as a framing error. The transmitter sends start bit, eight data bits, stop bit.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTReceiver", "UARTTransmitter", "check_divisor"]


def check_divisor(divisor):
    if isinstance(divisor, bool) or not isinstance(divisor, int) or not 4 <= divisor < (1 << 20):
        raise ValueError(f"divisor must be an integer in 4..{(1 << 20) - 1}, not {divisor!r}")
    return divisor


class UARTReceiver(wiring.Component):
    """Bytes from the serial line ``rx``.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.
    fsm_domain : str
        The clock domain of the FSM's state register (on ``sync``'s clock).

    Ports
    -----
    rx : In(1), init 1
        The line (idle high); asynchronous, synchronized here.
    data : Out(8)
        The last byte received.
    valid : Out(1)
        High for one cycle when ``data`` holds a new byte (no backpressure: a UART cannot wait).
    framing_error : Out(1)
        High for one cycle when a byte's stop bit was low (the byte is dropped).
    """

    def __init__(self, *, divisor, fsm_domain="sync"):
        self.divisor = check_divisor(divisor)
        self.fsm_domain = fsm_domain
        super().__init__({"rx": In(1, init=1), "data": Out(8), "valid": Out(1),
                          "framing_error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        s1 = Signal(init=1)
        line = Signal(init=1)
        m.d.sync += [s1.eq(self.rx), line.eq(s1)]
        timer = Signal(range(d))
        # ``expired``: the timer reached 0 since it was last loaded, a register kept beside it
        # (every value loaded is at least 1), so no compare of the count is in front of the
        # FSM. The timer counts down in every cycle it is not loaded (past 0 it wraps, and
        # ``expired`` holds), so it has no enable: a load is the only condition in front of it
        # and reaches its data inputs, not the logic blocks' shared enable
        expired = Signal(init=1)
        loading = Signal()
        loaded = Signal.like(timer)
        m.d.sync += [timer.eq(Mux(loading, loaded, timer - 1)),
                     expired.eq(~loading & (expired | (timer == 1)))]

        def load(value):
            m.d.comb += [loading.eq(1), loaded.eq(value)]

        bit = Signal(range(10))
        shift = Signal(8)
        with m.FSM(domain=self.fsm_domain):
            with m.State("IDLE"), m.If(~line):
                load(d // 2 - 1)
                m.next = "START"
            with m.State("START"), m.If(expired):
                with m.If(line):  # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    load(d - 1)
                    m.d.sync += bit.eq(0)
                    m.next = "DATA"
            with m.State("DATA"), m.If(expired):
                load(d - 1)
                m.d.sync += [shift.eq(Cat(shift[1:], line)), bit.eq(bit + 1)]
                with m.If(bit == 7):
                    m.next = "STOP"
            with m.State("STOP"), m.If(expired):
                with m.If(line):
                    m.d.comb += self.valid.eq(1)
                with m.Else():
                    m.d.comb += self.framing_error.eq(1)
                m.next = "IDLE"
        m.d.comb += self.data.eq(shift)
        return m


class UARTTransmitter(wiring.Component):
    """Bytes onto the serial line ``tx``.

    Ports
    -----
    i : In(stream of 8 bits)
        Bytes to send; ``ready`` while the transmitter is idle.
    tx : Out(1), init 1
        The line (idle high).
    """

    def __init__(self, *, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        bits = Signal(range(11))
        shift = Signal(10, init=0x3FF)
        # ``bits == 0`` and ``timer == 0`` as registers kept beside their counts (as the
        # receiver's ``expired``): no compare in front of the shift register's enable
        idle = Signal(init=1)
        expired = Signal()
        m.d.comb += [self.tx.eq(shift[0]), self.i.ready.eq(idle)]
        with m.If(idle), m.If(self.i.valid):
            m.d.sync += [shift.eq(Cat(Const(0, 1), self.i.payload, Const(1, 1))),
                         bits.eq(10), idle.eq(0), timer.eq(d - 1), expired.eq(0)]
        with m.Elif(~expired):
            m.d.sync += [timer.eq(timer - 1), expired.eq(timer == 1)]
        with m.Else():
            m.d.sync += [shift.eq(Cat(shift[1:], Const(1, 1))), bits.eq(bits - 1),
                         idle.eq(bits == 1), timer.eq(d - 1), expired.eq(0)]
        return m
