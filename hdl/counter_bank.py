r"""Event counters in one RAM: ``N`` 32-bit counters that cost one adder, not ``N``.

A 32-bit counter in flip-flops costs 32 logic cells on an iCE40 (a LUT, a carry and a flip-flop
per bit), and reading one of sixteen costs a 16-way selection of 32 bits as well: the link's
fourteen counters were about 670 of the UP5K's 5,280 logic cells. Here each counter ``c`` is a
word of a RAM plus a small *pending* register :math:`p_c` that sums its increments
:math:`\delta_c(t)` in flip-flops; a flush moves :math:`p_c` into the word:

.. math::

    \text{RAM}[c] \leftarrow \text{RAM}[c] + p_c, \qquad p_c \leftarrow \delta_c(t)

in a slot of four cycles (read; the word registered; the sum registered; written; with SPRAM
storage the word is not registered, the SPRAM's output holding it through the slot, and the sum
takes the two middle cycles, its low and high bits), one RAM port, one 32-bit adder and one
selection of a pending register for all counters. The counter's value at the slot's first cycle
:math:`t_0` is exactly :math:`\text{RAM}[c] + p_c(t_0)`, the sum of its increments before
:math:`t_0` — what a flip-flop counter holds at :math:`t_0`.

Slots visit the counters round-robin. A read (``read`` with ``addr``) is a flush of that counter
in the next free slot, whose sum is ``value`` as ``busy`` falls and in the cycle after (the sum
register itself, not a copy: the next slot's sum replaces it a cycle later, and a reader loads
its own register in that window); a read slot is always followed by a round-robin one, so every
counter is flushed at least once every ``2N`` slots. At reset the RAM (SPRAM has no initial
contents) is cleared by one round of slots that write 0 and take nothing. A counter is therefore
flushed at least every :math:`B = 12N + 8` cycles, and a pending register of :math:`\lceil
\log_2 (B\,\delta_{max} + 1) \rceil` bits never overflows (:attr:`pending_cycles`).

Storage: the link's single-port :class:`~spikeforge.hdl.link_ram.BufferRAM` — two of 16 bits
side by side, each an UltraPlus SPRAM, where a UP5K design leaves them free
(``storage="spram"``), else one of 32 bits (block RAM or LUT RAM, simulation).
"""

from amaranth.hdl import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .link_ram import BufferRAM

__all__ = ["CounterBank"]


class CounterBank(wiring.Component):
    """``len(maxima)`` 32-bit counters; counter ``c`` adds ``increment_c`` (at most
    ``maxima[c]``) every cycle.

    Ports
    -----
    increment_<c> : In(range(maxima[c] + 1))
        Counter ``c``'s increment this cycle.
    read : In(1); addr : In(range(N))
        Read counter ``addr`` (only while not ``busy``).
    busy : Out(1)
        A read is under way (high from the cycle after ``read``).
    value : Out(32)
        The counter read, in the cycle ``busy`` falls and the one after.
    """

    def __init__(self, maxima, *, storage="memory"):
        maxima = tuple(maxima)
        if not maxima or any(not isinstance(x, int) or x < 1 for x in maxima):
            raise ValueError(f"maxima must be positive integers, not {maxima!r}")
        if storage not in ("memory", "spram"):
            raise ValueError(f"storage must be 'memory' or 'spram', not {storage!r}")
        self.maxima = maxima
        self.storage = storage
        #: the most cycles between two flushes of a counter (and from reset to the first)
        self.pending_cycles = 12 * len(maxima) + 8
        members = {f"increment_{c}": In(range(top + 1)) for c, top in enumerate(maxima)}
        members.update({"read": In(1), "addr": In(range(len(maxima))), "busy": Out(1),
                        "value": Out(32)})
        super().__init__(members)

    @property
    def increments(self):
        return [getattr(self, f"increment_{c}") for c in range(len(self.maxima))]

    def elaborate(self, platform):
        m = Module()
        n = len(self.maxima)
        # the pending counts keep their reset: the cycle counter's increment is 1 while the
        # design is held in reset, and the round that would take it does not run then
        pending = [Signal(range(top * self.pending_cycles + 1), name=f"pending_{c}")
                   for c, top in enumerate(self.maxima)]
        phase = Signal(2)  # the slot's cycle: read, data, sum, write
        current = Signal(range(n))  # the counter of this slot
        next_rr = Signal(range(n), init=1 % n)  # the next counter in round-robin order
        clearing = Signal(init=1)  # the first round: write 0, take nothing
        serving = Signal()  # this slot answers a read
        wanted = Signal()  # a read waits for its slot
        wanted_addr = Signal(range(n))
        taken = Signal(max(len(p) for p in pending))
        total = Signal(32)
        m.d.sync += phase.eq(phase + 1)
        m.d.comb += [self.busy.eq(wanted), self.value.eq(total)]
        with m.If(self.read):
            m.d.sync += [wanted.eq(1), wanted_addr.eq(self.addr)]

        take = (phase == 0) & ~clearing
        for c, (p, increment) in enumerate(zip(pending, self.increments, strict=True)):
            with m.If(take & (current == c)):
                m.d.sync += p.eq(increment)
            with m.Else():
                m.d.sync += p.eq(p + increment)
        with m.If(take):
            m.d.sync += taken.eq(Array(pending)[current])

        r_data = Signal(32)
        write = phase == 3
        self._storage(m, current, write, total, r_data)
        # the bits the sum's first cycle covers with SPRAM storage (below)
        split = max(len(taken), 12)
        if self.storage == "spram" and split <= 16:
            # the SPRAM's output holds the word through phase 2 (the address does not move
            # within a slot) and needs no register of its own before the adder: the UP5K's logic
            # cells, not its clock, are what is short there. The sum takes two cycles: the low
            # bits with the pending count in phase 1 (its carry registered), the rest, plus the
            # carry, in phase 2. The low part is the shorter carry chain: ``taken`` reaches it
            # from beside the pending registers, across the die from the SPRAM (5 ns on the UP5K)
            carry = Signal()
            with m.If(phase == 1):
                low = r_data[:split] + taken
                m.d.sync += [total[:split].eq(Mux(clearing, 0, low[:split])),
                             carry.eq(low[split])]
            with m.If(phase == 2):
                m.d.sync += total[split:].eq(Mux(clearing, 0, r_data[split:] + carry))
        else:
            data = Signal(32)
            with m.If(phase == 1):  # a block RAM's output leaves no room for an adder behind it
                m.d.sync += data.eq(r_data)
            with m.If(phase == 2):
                m.d.sync += total.eq(Mux(clearing, 0, data + taken))
        with m.If(write):
            with m.If(serving):
                m.d.sync += wanted.eq(0)
            # a read is served by the slot after a round-robin one, never two in a row
            with m.If(wanted & ~serving & ~clearing):
                m.d.sync += [current.eq(wanted_addr), serving.eq(1)]
            with m.Else():
                m.d.sync += [current.eq(next_rr), serving.eq(0),
                             next_rr.eq(Mux(next_rr == n - 1, 0, next_rr + 1))]
                with m.If(clearing & (current == n - 1)):
                    m.d.sync += clearing.eq(0)
        return m

    def _storage(self, m, address, write, w_data, r_data):
        """One port at ``address`` (:class:`~spikeforge.hdl.link_ram.BufferRAM`): read every
        cycle but a write's, ``r_data`` the word read in the previous cycle. ``"spram"``: two
        16-bit halves, each an SPRAM on a UP5K; ``"memory"``: one 32-bit word."""
        halves = 2 if self.storage == "spram" else 1
        width = 32 // halves
        for half in range(halves):
            ram = m.submodules[f"words_{half}"] = BufferRAM(width=width,
                                                            depth=max(2, len(self.maxima)))
            m.d.comb += [ram.addr.eq(address), ram.w_en.eq(write),
                         ram.w_data.eq(w_data.word_select(half, width)),
                         r_data.word_select(half, width).eq(ram.r_data)]
