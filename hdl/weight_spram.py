"""A layer's weight memory in the UltraPlus SPRAM: the iCE40 UP5K's megabit for weights.

The UP5K has 30 block RAMs of 4 kbit (120 kbit) and four single-port RAMs of 256 kbit
(``SB_SPRAM256KA``, 16384 × 16, one read *or* one write a cycle, nibble write masks). A weight
memory is read by the synaptic engine while the layer runs and written or read by the host only
while the core is quiet (``docs/host_protocol.md``: ``WRITE_WEIGHTS`` and ``READ_WEIGHTS`` wait
for it), so one port serves it: the address is the host's on a write cycle and the reader's on
every other.

Weights are packed ``16 / s`` to a 16-bit word, ``s`` the nibble-aligned slot of the weight width
(4 bits for widths up to 4, 8 up to 8, 16 up to 16): weight ``a`` is slot ``a mod (16/s)`` of
word ``a div (16/s)``, words ``16384 c … 16384 c + 16383`` in SPRAM ``c``. A write sets the slot's
nibbles only (``MASKWREN``); a read takes the word one cycle after the address, like a block
RAM's read port, and the slot and SPRAM are chosen by the address of that cycle, registered.

SPRAM has no initial contents in the bitstream: a design that holds weights here starts with
none (the link reports ``NO_NETWORK``) until ``spikeforge deploy`` writes them. On any platform
without SPRAM (simulation, the ECP5) the same component is the block-RAM ``Memory`` it replaces,
initialized with the weights.
"""

import math

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["SPRAM_DEPTH", "WeightSPRAM", "has_spram", "spram_blocks", "spram_slot"]

SPRAM_DEPTH = 16384  #: words of one ``SB_SPRAM256KA``
SPRAM_WIDTH = 16  #: bits of a word


def has_spram(platform):
    """Whether ``platform`` is an iCE40 UltraPlus whose SPRAM this design uses."""
    return getattr(platform, "device", None) == "iCE40UP5K"


def spram_slot(width):
    """The nibble-aligned slot a ``width``-bit weight takes in a 16-bit word; ``None`` above 16."""
    for slot in (4, 8, 16):
        if width <= slot:
            return slot
    return None


def spram_blocks(depth, width):
    """SPRAMs a ``depth × width`` weight memory takes (``None`` if wider than a word)."""
    slot = spram_slot(width)
    if slot is None:
        return None
    return math.ceil(math.ceil(depth / (SPRAM_WIDTH // slot)) / SPRAM_DEPTH)


class WeightSPRAM(wiring.Component):
    """``depth`` signed weights of ``width`` bits: SPRAM on an UltraPlus, block RAM elsewhere.

    Ports
    -----
    r_addr : In(range(depth)); r_data : Out(signed(width))
        ``r_data`` is the weight at the previous cycle's ``r_addr`` (any cycle without a write).
    w_en : In(1); w_addr : In(range(depth)); w_data : In(signed(width))
        Write ``w_data`` at ``w_addr`` this cycle (only while nothing reads).
    """

    def __init__(self, *, width, depth, init):
        if spram_slot(width) is None:
            raise ValueError(f"an SPRAM word holds weights of at most {SPRAM_WIDTH} bits, "
                             f"not {width}")
        self.width, self.depth, self.init = width, depth, list(init)
        super().__init__({"r_addr": In(range(depth)), "r_data": Out(signed(width)),
                          "w_en": In(1), "w_addr": In(range(depth)), "w_data": In(signed(width))})

    def elaborate(self, platform):
        m = Module()
        if not has_spram(platform):
            mem = m.submodules.mem = Memory(shape=signed(self.width), depth=self.depth,
                                            init=self.init, attrs={"no_rw_check": 1})
            rd, wr = mem.read_port(), mem.write_port()
            m.d.comb += [rd.addr.eq(self.r_addr), self.r_data.eq(rd.data),
                         wr.en.eq(self.w_en), wr.addr.eq(self.w_addr), wr.data.eq(self.w_data)]
            return m
        slot = spram_slot(self.width)
        per_word = SPRAM_WIDTH // slot
        slot_bits = per_word.bit_length() - 1  # low address bits that pick the slot
        chips = spram_blocks(self.depth, self.width)
        addr = Signal(range(self.depth))
        m.d.comb += addr.eq(Mux(self.w_en, self.w_addr, self.r_addr))
        word = addr[slot_bits:]
        chip_bits = max(0, len(word) - 14)
        which = Signal(max(1, chip_bits))  # the SPRAM and slot a read's data comes from
        sub = Signal(max(1, slot_bits))
        if chip_bits:
            m.d.sync += which.eq(word[14:])
        if slot_bits:
            m.d.sync += sub.eq(addr[:slot_bits])
        data_in = Cat(*[self.w_data.as_unsigned(), Const(0, slot - self.width)] * per_word)
        mask = Signal(4)  # the slot's nibbles
        nibbles = slot // 4
        m.d.comb += mask.eq(Const((1 << nibbles) - 1, 4) << (addr[:slot_bits] * nibbles)
                            if slot_bits else 0b1111)
        address = Signal(14)
        m.d.comb += address.eq(word[:14])
        outputs = []
        for chip in range(chips):
            data_out = Signal(SPRAM_WIDTH, name=f"spram_{chip}_out")
            chosen = (word[14:] == chip) if chip_bits else Const(1)
            m.submodules[f"spram_{chip}"] = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=address, i_DATAIN=data_in, i_MASKWREN=mask,
                i_WREN=self.w_en & chosen, i_CHIPSELECT=1, i_CLOCK=ClockSignal("sync"),
                i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1, o_DATAOUT=data_out)
            outputs.append(data_out)
        word_out = Signal(SPRAM_WIDTH)
        with m.Switch(which):
            for chip, data_out in enumerate(outputs):
                with m.Case(chip):
                    m.d.comb += word_out.eq(data_out)
        with m.Switch(sub):
            for index in range(per_word):
                with m.Case(index):
                    m.d.comb += self.r_data.eq(word_out[index * slot:][:self.width].as_signed())
        return m

