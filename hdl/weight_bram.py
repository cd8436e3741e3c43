"""A layer's weight memory read in two cycles: on the ECP5, block RAM with its output register.

An ECP5 ``DP16KD`` read without its output register takes 5.6-5.8 ns from clock to data on the
ULX3S's speed grade, most of a cycle (``boards/ceiling.py``: 149.8 MHz with nothing after it);
with the output register (``REGMODE = "OUTREG"``) data comes a cycle later, 0.97 ns after the
clock, and the block RAM leaves the critical path (486.6 MHz). The synaptic engine already
registers every weight it reads (``weight_<lane>``, its stage-2 operand and the host's
read-back), so the block RAM's own output register can be that register: no cycle of a step
moves. Yosys does not fold a register that follows a read port into the ``DP16KD`` (it stays a
fabric flip-flop, ``REGMODE`` stays ``NOREG``), so on the ECP5 this component instantiates the
primitives itself, tiled as Yosys's ``memory_libmap`` tiles the memory it would infer (fewest
blocks, then the deepest aspect: a width split needs no multiplexer behind the blocks) and with
the contents in the layout of Yosys's ``brams_map_16kd.v`` (``tests/hdl/test_weight_bram.py``
compares both on every aspect ratio). Port A writes (the host's weight writes, the learning
units' updates), port B reads.

Elsewhere (simulation, the iCE40, memories small enough for the ECP5 build to put in LUT RAM:
``lut_ram_words`` of the platform) it is a :class:`~amaranth.lib.memory.Memory` read port
followed by a register: the same values in the same cycles. The link's frame and output buffers
are read through it too (:class:`~spikeforge.hdl.link_ram.BufferRAM` with ``registered``), their
users' registers loaded with ``r_load`` (the output register's clock enable).
"""

import math

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["DP16KD_ASPECTS", "WeightBRAM", "dp16kd_initvals", "dp16kd_tiling",
           "registered_block_ram"]

#: (depth, data width) of the ``DP16KD``'s true-dual-port configurations
DP16KD_ASPECTS = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18))
_ROWS, _ROW_BITS = 1024, 18  #: the block as 1024 rows of 18 bits (16 data, 2 parity)
_INITVALS, _ROWS_PER_INITVAL, _INITVAL_SLOT = 64, 16, 20  #: ``INITVAL_00 … 3F``, 20-bit slots


def registered_block_ram(platform, depth):
    """Whether a ``depth``-word memory is an ECP5 block RAM read through its output register:
    on an ECP5 platform, above the ``lut_ram_words`` its build leaves to LUT RAM."""
    return (getattr(platform, "family", None) == "ecp5"
            and depth > getattr(platform, "lut_ram_words", 0))


def dp16kd_tiling(depth, width):
    """``(block depth, block width)`` of the ``DP16KD`` aspect ratio that holds ``depth × width``
    in the fewest blocks, the deepest of those (no multiplexer behind a width split)."""
    return min(DP16KD_ASPECTS,
               key=lambda a: (math.ceil(depth / a[0]) * math.ceil(width / a[1]), -a[0]))


def _row_bit(aspect_width, bit):
    """Where bit ``bit`` of a row's packed data sits in its 18 bits: at 9 and 18 bits a word
    is a whole 9-bit byte; narrower words fill the 8 data bits of each byte, skipping its
    parity bit."""
    return bit if aspect_width in (9, 18) else bit + bit // 8


def dp16kd_initvals(words, aspect_width):
    """``INITVAL_00 … INITVAL_3F`` (320-bit integers) of a block holding ``words`` (unsigned,
    at most the aspect's depth) at ``aspect_width`` bits: row ``r`` of 18 bits is bits
    ``20 (r mod 16) …`` of ``INITVAL_{r div 16}``; word ``a`` of ``b`` bits is slot ``a mod k``
    of row ``a div k``, ``k = 18 // b`` at 9 and 18 bits, ``16 // b`` narrower."""
    per_row = (_ROW_BITS if aspect_width in (9, 18) else 16) // aspect_width
    rows = [0] * _ROWS
    for address, word in enumerate(words):
        for bit in range(aspect_width):
            if word >> bit & 1:
                rows[address // per_row] |= 1 << _row_bit(
                    aspect_width, (address % per_row) * aspect_width + bit)
    values = []
    for index in range(_INITVALS):
        value = 0
        for slot in range(_ROWS_PER_INITVAL):
            value |= rows[index * _ROWS_PER_INITVAL + slot] << (slot * _INITVAL_SLOT)
        values.append(value)
    return values


class WeightBRAM(wiring.Component):
    """``depth`` signed weights of ``width`` bits, read in two cycles.

    Ports
    -----
    r_addr : In(range(depth)); r_data : Out(signed(width))
        ``r_data`` is the weight at ``r_addr`` of two cycles before, from a register (with no
        write to that address in the cycle between).
    r_load : In(1, init=1)
        The register's enable: it loads in a cycle with ``r_load`` high (the word at the
        address of the cycle before) and holds otherwise (the ``DP16KD``'s ``OCEB``).
    w_en : In(1); w_addr : In(range(depth)); w_data : In(signed(width))
        Write ``w_data`` at ``w_addr`` this cycle (with ``writable``; else a ROM).
    """

    def __init__(self, *, width, depth, init, writable=True):
        self.width, self.depth, self.init = width, depth, [int(v) for v in init]
        self.writable = bool(writable)
        super().__init__({"r_addr": In(range(depth)), "r_data": Out(signed(width)),
                          "r_load": In(1, init=1),
                          "w_en": In(1), "w_addr": In(range(depth)), "w_data": In(signed(width))})

    def elaborate(self, platform):
        m = Module()
        if registered_block_ram(platform, self.depth):
            self._dp16kd_blocks(m)
            return m
        # no read meets a write where its data is used (the layer's contract), so Yosys need
        # not build collision logic in front of the block RAM (``no_rw_check``)
        mem = m.submodules.mem = Memory(shape=signed(self.width), depth=self.depth,
                                        init=self.init, attrs={"no_rw_check": 1})
        rd = mem.read_port()
        m.d.comb += rd.addr.eq(self.r_addr)
        with m.If(self.r_load):
            m.d.sync += self.r_data.eq(rd.data)
        if self.writable:  # a ROM has no write port (the build maps ROMs and RAMs apart)
            wr = mem.write_port()
            m.d.comb += [wr.en.eq(self.w_en), wr.addr.eq(self.w_addr), wr.data.eq(self.w_data)]
        return m

    def _dp16kd_blocks(self, m):
        """The memory as ``DP16KD`` blocks with ``REGMODE_B = "OUTREG"``: blocks side by side
        hold a word's bits, blocks in a column consecutive address ranges (the column's block
        is chosen behind the output registers by the read address of two cycles before)."""
        block_depth, block_width = dp16kd_tiling(self.depth, self.width)
        columns = math.ceil(self.width / block_width)
        rows = math.ceil(self.depth / block_depth)
        low_bit = (block_depth - 1).bit_length()  # address bits within a block
        used_bits = min(low_bit, len(self.r_addr))  # fewer in a memory shallower than a block
        # the address sits at the top of AD[13:0]; at 18 bits AD[1:0] are the byte enables
        pin_shift = 14 - low_bit
        unsigned_init = [v & ((1 << self.width) - 1) for v in self.init]
        row_data = []
        for row in range(rows):
            words = unsigned_init[row * block_depth:(row + 1) * block_depth]
            in_row = (self.w_addr >> low_bit) == row if rows > 1 else Const(1)
            pieces = []
            for column in range(columns):
                low = column * block_width
                bits = min(block_width, self.width - low)
                init = dp16kd_initvals([(w >> low) & ((1 << bits) - 1) for w in words],
                                       block_width)
                data_out = Signal(bits, name=f"dp16kd_{row}_{column}_q")
                ports = {}
                for pin in range(14):
                    bit = pin - pin_shift
                    ports[f"i_ADA{pin}"] = self.w_addr[bit] if 0 <= bit < used_bits else Const(0)
                    ports[f"i_ADB{pin}"] = self.r_addr[bit] if 0 <= bit < used_bits else Const(0)
                write = self.w_en & in_row if self.writable else Const(0)
                if block_width == 18:  # both byte enables, as Yosys's mapping drives them
                    ports["i_ADA0"] = ports["i_ADA1"] = write
                for pin in range(18):
                    ports[f"i_DIA{pin}"] = (self.w_data.as_unsigned()[low + pin] if pin < bits
                                            else Const(0))
                    ports[f"i_DIB{pin}"] = Const(0)
                    if pin < bits:
                        ports[f"o_DOB{pin}"] = data_out[pin]
                for pin in range(3):
                    ports[f"i_CSA{pin}"] = ports[f"i_CSB{pin}"] = Const(0)
                m.submodules[f"dp16kd_{row}_{column}"] = Instance(
                    "DP16KD",
                    p_DATA_WIDTH_A=block_width, p_DATA_WIDTH_B=block_width,
                    p_REGMODE_A="NOREG", p_REGMODE_B="OUTREG",
                    p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL",
                    p_CSDECODE_A="0b000", p_CSDECODE_B="0b000", p_GSR="DISABLED",
                    p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
                    **{f"p_INITVAL_{i:02X}": Const(v, 320) for i, v in enumerate(init)},
                    i_CLKA=ClockSignal(), i_CEA=Const(1), i_OCEA=Const(1),
                    i_WEA=write, i_RSTA=Const(0),
                    i_CLKB=ClockSignal(), i_CEB=Const(1), i_OCEB=self.r_load,
                    i_WEB=Const(0), i_RSTB=Const(0), **ports)
                pieces.append(data_out)
            row_data.append(Cat(*pieces))
        if rows == 1:
            m.d.comb += self.r_data.eq(row_data[0])
            return
        # which row a read's data comes from: its address's high bits, two cycles later
        high = self.r_addr >> low_bit
        high_1, high_2 = Signal.like(high), Signal.like(high)
        m.d.sync += high_1.eq(high)
        with m.If(self.r_load):
            m.d.sync += high_2.eq(high_1)
        with m.Switch(high_2):
            for row, data_row in enumerate(row_data):
                with m.Case(row):
                    m.d.comb += self.r_data.eq(data_row)
