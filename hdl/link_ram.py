"""A single-port RAM for the link's buffers: UltraPlus SPRAM on an iCE40 UP5K, block RAM elsewhere.

The iCE40 UP5K has only 30 block RAMs (4 kbit each), which the network core needs, but also four
256-kbit single-port RAMs (``SB_SPRAM256KA``, 16384 × 16) that Yosys does not infer. The link's
frame and output buffers are single-port by construction (one user at a time), so on that device
they are SPRAM instances; on any other platform (ECP5, simulation) they are an
``amaranth.lib.memory.Memory`` with one read and one write port at the same address.

Read latency is one cycle in both: ``r_data`` holds ``mem[addr]`` of the previous cycle (undefined
after a write cycle).

With ``registered``, ``r_data`` is a register the user loads (``r_load``) from that word, the
register its user would otherwise keep: on the ECP5 it is the block RAM's own output register
(:class:`~spikeforge.hdl.weight_bram.WeightBRAM`), so the word leaves the block 0.97 ns after
the clock instead of the 5.6 ns a ``DP16KD`` read without it takes (``boards/ceiling.py``), the
ECP5's longest path once nothing else is; elsewhere a flip-flop behind the read port. The same
values in the same cycles either way.
"""

from amaranth.hdl import ClockSignal, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .weight_bram import WeightBRAM, registered_block_ram

__all__ = ["BufferRAM", "uses_spram"]


def uses_spram(platform, width, depth):
    """Whether a ``width`` × ``depth`` buffer becomes an SPRAM on ``platform``."""
    return (getattr(platform, "device", None) == "iCE40UP5K" and width <= 16
            and depth <= 16384)


class BufferRAM(wiring.Component):
    """``depth`` words of ``width`` bits, one port.

    Ports
    -----
    addr : In(range(depth))
    w_en : In(1)
        Write ``w_data`` at ``addr`` this cycle.
    w_data : In(width)
    r_data : Out(width)
        The word at the previous cycle's ``addr``; with ``registered``, the word at the ``addr``
        of the cycle before the last one with ``r_load`` high (held in between).
    r_load : In(1)
        With ``registered``: load ``r_data``.
    """

    def __init__(self, *, width, depth, registered=False):
        if not isinstance(width, int) or not 1 <= width <= 64:
            raise ValueError(f"width must be an integer in 1..64, not {width!r}")
        if not isinstance(depth, int) or not 2 <= depth <= 65536:
            raise ValueError(f"depth must be an integer in 2..65536, not {depth!r}")
        self.width = width
        self.depth = depth
        self.registered = bool(registered)
        super().__init__({"addr": In(range(depth)), "w_en": In(1), "w_data": In(width),
                          "r_data": Out(width),
                          **({"r_load": In(1)} if registered else {})})

    def elaborate(self, platform):
        m = Module()
        if self.registered and registered_block_ram(platform, self.depth):
            bram = m.submodules.mem = WeightBRAM(width=self.width, depth=self.depth, init=[])
            m.d.comb += [bram.r_addr.eq(self.addr), bram.w_addr.eq(self.addr),
                         bram.w_en.eq(self.w_en), bram.w_data.eq(self.w_data),
                         bram.r_load.eq(self.r_load), self.r_data.eq(bram.r_data)]
            return m
        read = Signal(self.width)
        if self.registered:
            with m.If(self.r_load):
                m.d.sync += self.r_data.eq(read)
        else:
            m.d.comb += self.r_data.eq(read)
        if uses_spram(platform, self.width, self.depth):
            address, data_in, data_out = Signal(14), Signal(16), Signal(16)
            m.d.comb += [address.eq(self.addr), data_in.eq(self.w_data)]
            m.submodules.spram = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=address,
                i_DATAIN=data_in, i_MASKWREN=0b1111, i_WREN=self.w_en, i_CHIPSELECT=1,
                i_CLOCK=ClockSignal("sync"), i_STANDBY=0, i_SLEEP=0,
                i_POWEROFF=1, o_DATAOUT=data_out)
            m.d.comb += read.eq(data_out)
            return m
        mem = m.submodules.mem = Memory(shape=self.width, depth=self.depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        m.d.comb += [wr.addr.eq(self.addr), wr.data.eq(self.w_data), wr.en.eq(self.w_en),
                     rd.addr.eq(self.addr), read.eq(rd.data)]
        return m
