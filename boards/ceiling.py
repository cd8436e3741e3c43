r"""The device's own ceiling: the Fmax of a block-RAM read that lands in a flip-flop.

A design whose block RAMs are read in one cycle cannot clock faster than the path from a block
RAM's clock to a register's input, however little logic it has. :class:`BlockRAMReadProbe` is
that path and nothing else: a 256-word ROM in block RAM read every cycle at the address of a
Johnson counter (a shift register with one inverter, so no adder's carry chain is slower than the
read), its word going straight into a register (no logic between), in a reset-less clock domain
driven by the board's clock pin (the platform's power-on reset timer would otherwise be the
critical path). :func:`measure_ceiling` builds it with the boards' own flow (YoWASP Yosys and
nextpnr, the board's toolchain overrides) and reads nextpnr's Fmax and critical path.

On the ECP5 a ``DP16KD`` has an output register (``REGMODE = "OUTREG"``: two-cycle reads). Yosys
does not put a register that follows a read port into it (the register stays a fabric flip-flop),
so ``output_register=True`` instantiates the primitive with it. The iCE40's ``SB_RAM40_4K`` has
none. Measured (``python benchmarks/boards.py``, ``docs/boards.md``): the ECP5-85F's one-cycle
read tops out near 150 MHz (5.6 ns clock to data, 1 ns routing), under the 160 MHz goal, while
with the output register the block RAM is no longer on the critical path.
"""

from pathlib import Path

from amaranth.hdl import (
    Cat,
    ClockDomain,
    ClockSignal,
    Const,
    Elaboratable,
    Instance,
    Module,
    Signal,
)
from amaranth.lib.memory import Memory

from ..hdl.weight_bram import dp16kd_initvals
from .build import configure_yowasp, critical_path, parse_nextpnr_log

__all__ = ["BlockRAMReadProbe", "measure_ceiling"]

#: words and width of the probe's ROM: one block RAM on both families
DEPTH, WIDTH = 256, 16
#: DP16KD: 18-bit words, the address in ``AD[13:4]`` (at this width ``AD[3:0]`` hold no address)
_DP16KD_WIDTH, _DP16KD_LOW_ADDRESS_BIT = 18, 4


def _contents():
    """Words that keep every bit of the ROM live (no constant output bit to optimize away)."""
    return [(word * 0x9E37 + 0x5A5A) % (1 << WIDTH) for word in range(DEPTH)]


class BlockRAMReadProbe(Elaboratable):
    """A ROM in block RAM read every cycle into a register, their XOR on the board's first LED.

    Parameters
    ----------
    output_register : bool
        ECP5 only: read through the ``DP16KD``'s output register (two cycles to data).
    """

    def __init__(self, output_register=False):
        self.output_register = bool(output_register)

    def elaborate(self, platform):
        if self.output_register and platform.family != "ecp5":
            raise ValueError(f"only the ECP5's DP16KD has an output register, not the "
                             f"{platform.family}'s block RAM")
        m = Module()
        clock = platform.request(platform.default_clk, dir="i")
        m.domains.sync = ClockDomain(reset_less=True)
        m.d.comb += ClockSignal().eq(clock.i)
        address = Signal(range(DEPTH))
        word, landed = Signal(WIDTH), Signal(WIDTH)
        m.d.sync += address.eq(Cat(~address[-1], address[:-1]))  # Johnson counter
        if self.output_register:
            m.submodules.rom = self._dp16kd_outreg(address, word)
        else:
            rom = m.submodules.rom = Memory(shape=WIDTH, depth=DEPTH, init=_contents())
            port = rom.read_port()
            m.d.comb += [port.addr.eq(address), word.eq(port.data)]
        m.d.sync += landed.eq(word)
        m.d.comb += platform.request("led", 0).o.eq(landed.xor())
        return m

    @staticmethod
    def _dp16kd_outreg(address, word):
        """``DP16KD`` port A as an 18-bit ROM with ``REGMODE_A = "OUTREG"``; port B unused."""
        init = {f"p_INITVAL_{index:02X}": Const(value, 320)
                for index, value in enumerate(dp16kd_initvals(_contents(), _DP16KD_WIDTH))}
        ports = {}
        for bit in range(14):
            high = bit - _DP16KD_LOW_ADDRESS_BIT
            ports[f"i_ADA{bit}"] = address[high] if 0 <= high < len(address) else Const(0)
            ports[f"i_ADB{bit}"] = Const(0)
        for bit in range(_DP16KD_WIDTH):
            ports[f"i_DIA{bit}"] = ports[f"i_DIB{bit}"] = Const(0)
            if bit < WIDTH:
                ports[f"o_DOA{bit}"] = word[bit]
        for bit in range(3):
            ports[f"i_CSA{bit}"] = ports[f"i_CSB{bit}"] = Const(0)
        return Instance(
            "DP16KD", p_DATA_WIDTH_A=_DP16KD_WIDTH, p_DATA_WIDTH_B=_DP16KD_WIDTH,
            p_REGMODE_A="OUTREG", p_REGMODE_B="NOREG", p_WRITEMODE_A="NORMAL",
            p_WRITEMODE_B="NORMAL", p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
            p_GSR="DISABLED", p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC", **init,
            i_CLKA=ClockSignal(), i_CEA=Const(1), i_OCEA=Const(1), i_WEA=Const(0),
            i_RSTA=Const(0), i_CLKB=ClockSignal(), i_CEB=Const(0), i_OCEB=Const(0),
            i_WEB=Const(0), i_RSTB=Const(0), **ports)


def measure_ceiling(platform, out_dir, *, output_register=False, seed=1):
    """Build :class:`BlockRAMReadProbe` for ``platform`` in ``out_dir`` with nextpnr ``seed``,
    asking for the board's ``target_mhz``. Returns ``{"fmax_mhz", "source", "clock_to_out_ns",
    "logic_ns", "routing_ns", "block_ram_source"}``: the critical path's first cell and its
    clock-to-output time, and whether that cell is the block RAM."""
    configure_yowasp()
    out_dir = Path(out_dir)
    platform.build(BlockRAMReadProbe(output_register), name="probe", build_dir=str(out_dir),
                   do_program=False, **platform.toolchain_overrides(platform.target_mhz, seed))
    timing = (out_dir / "probe.tim").read_text()
    fmax, _ = parse_nextpnr_log(timing)
    critical = critical_path(timing)
    if not fmax or critical is None:
        raise RuntimeError(f"nextpnr reported no Fmax or critical path in {out_dir / 'probe.tim'}")
    return {"fmax_mhz": min(fmax.values()), "source": critical["source"],
            "clock_to_out_ns": critical["clock_to_out_ns"], "logic_ns": critical["logic_ns"],
            "routing_ns": critical["routing_ns"],
            "block_ram_source": critical["source"].split(".")[0] == "rom"}
