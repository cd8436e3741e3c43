r"""The network core alone on a board: the Fmax its own paths allow, with no host link beside it.

A board build puts the core behind the UART host link, and its critical paths fall in either.
:class:`CoreAloneProbe` tells the core's share from the link's: the same
:class:`~spikeforge.hdl.network_core.NetworkCore` as the build's (the build's lanes, its SPRAM
plan, the link's FIFO depths and host access ports), with every input port driven by a register
and every output port landing in one. A maximal-length shift register with XOR feedback
(:math:`s_{t+1} = (s_t \ll 1) \mid \bigoplus_{k \in T} s_t[k - 1]`, taps :math:`T` of
Xilinx XAPP052: 128, 126, 101, 99 for 128 bits) gives the inputs new pseudo-random values every
cycle, through a register of their own (the
core's ``clear`` one cycle in 256, the AND of eight bits, registered); the outputs are
registered, then folded four to one by a pipelined XOR tree, one LUT level a stage, onto the
first LED. So no port of the core is constant or unobserved (nothing of it is optimized away)
and no path of the probe's own is more than one LUT deep: the probe's Fmax is the core's. The
stimulus keeps no protocol (the core need not even run a step with it); paths do not depend on
it, and a host that kept the protocol would be logic in front of the core's ports.

:func:`measure_core_alone` builds it with the boards' own flow (the toolchain overrides, the
collision relaxation and the YoWASP tools of :func:`~spikeforge.boards.build.build_bitstream`)
and reports nextpnr's Fmax, the critical path and the netlist's logic depth. Measured with
``python benchmarks/boards.py --core-alone`` (``docs/boards.md``).
"""

from pathlib import Path

from amaranth.hdl import Cat, Elaboratable, Module, Signal, Value
from amaranth.lib.wiring import In

from ..compiler.resources import spram_plan
from ..compiler.targets import get_target
from ..hdl.link_top import core_fifo_depths
from ..hdl.network_core import COUNTERS, NetworkCore
from .build import build_plan, configure_yowasp, critical_path, parse_nextpnr_log
from .logic_depth import logic_levels

__all__ = ["CoreAloneProbe", "measure_core_alone"]

#: the core's outputs a board build leaves unconnected, so Yosys removes them: its 32-bit
#: counters (the link counts the :attr:`~spikeforge.hdl.network_core.NetworkCore.increments` in
#: a RAM of its own; of ``steps`` only the parity) and the last step's cycle count
UNUSED_BY_BOARDS = frozenset(COUNTERS) | {"step_cycles"}

#: feedback taps (1-based) of maximal-length shift registers by length (Xilinx XAPP052); the
#: shortest that holds the core's input bits and the clear's eight is used
_TAPS = {128: (128, 126, 101, 99), 256: (256, 254, 251, 246), 512: (512, 510, 507, 504)}


def _xor_tree(m, bits):
    """One bit: the XOR of ``bits``, four at a time, a register after every stage."""
    level = list(bits)
    while len(level) > 1:
        folded = []
        for first in range(0, len(level), 4):
            stage = Signal(name=f"xor_{len(level)}_{first}")
            m.d.sync += stage.eq(Cat(*level[first:first + 4]).xor())
            folded.append(stage)
        level = folded
    return level[0]


class CoreAloneProbe(Elaboratable):
    """``network``'s core as :func:`~spikeforge.boards.build.build_bitstream` builds it for
    ``board``, its ports between registers (the module docstring). ``led`` is the folded
    outputs, on the first LED of a platform (and a plain signal without one: simulation)."""

    def __init__(self, network, board, *, lanes=1):
        spram = spram_plan(network, lanes, get_target(board), None)
        self.core = NetworkCore(network, lanes=lanes, host_access=True, spram_weights=spram,
                                **core_fifo_depths(network))
        self.led = Signal()

    def observed(self):
        """``(inputs, outputs)``: name → value of the core's ports the probe drives and
        observes, those a board build connects (``clear`` is driven apart). The build's host
        link takes the step's parity and the per-cycle counter increments, which it counts in a
        RAM of its own, not the core's 32-bit counters (:data:`UNUSED_BY_BOARDS`)."""
        core = self.core
        inputs, outputs = {}, {}
        for path, member, value in core.signature.flatten(core):
            if path == ("clear",) or path[0] in UNUSED_BY_BOARDS:
                continue
            name = ".".join(str(part) for part in path)
            (inputs if member.flow == In else outputs)[name] = Value.cast(value)
        outputs["steps[0]"] = core.steps[0]
        outputs.update({f"{name}_increment": value for name, value in core.increments.items()})
        return inputs, outputs

    def elaborate(self, platform):
        m = Module()
        core = m.submodules.core = self.core
        inputs, outputs = (list(ports.values()) for ports in self.observed())
        width = sum(len(value) for value in inputs)
        length = min((n for n in _TAPS if n >= width + 8), default=None)
        if length is None:
            raise ValueError(f"the core has {width} input bits; the probe drives at most "
                             f"{max(_TAPS) - 8}")
        lfsr = Signal(length, init=1)
        feedback = Cat(lfsr[tap - 1] for tap in _TAPS[length]).xor()
        m.d.sync += lfsr.eq(Cat(feedback, lfsr[:-1]))
        driven, clear = Signal(width), Signal()
        m.d.sync += [driven.eq(lfsr[:width]), clear.eq(lfsr[-8:].all())]
        m.d.comb += [Cat(*inputs).eq(driven), core.clear.eq(clear)]
        landed = Signal(sum(len(value) for value in outputs))
        m.d.sync += landed.eq(Cat(*outputs))
        m.d.comb += self.led.eq(_xor_tree(m, landed))
        if platform is not None:
            m.d.comb += platform.request("led", 0).o.eq(self.led)
        return m


def measure_core_alone(network, platform, out_dir, *, lanes=1, seed=1):
    """Build :class:`CoreAloneProbe` for ``platform`` in ``out_dir`` with nextpnr ``seed``.

    Returns ``{"fmax_mhz", "utilization", "logic_levels", "critical"}``: nextpnr's Fmax and
    cell counts, the netlist's :func:`~spikeforge.boards.logic_depth.logic_levels` and the
    critical path (:func:`~spikeforge.boards.build.critical_path`)."""
    configure_yowasp()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = "core"
    plan, _ = build_plan(platform, CoreAloneProbe(network, platform.board, lanes=lanes), name,
                         seed=seed)
    plan.execute_local(str(out))
    timing = (out / f"{name}.tim").read_text()
    fmax, utilization = parse_nextpnr_log(timing)
    critical = critical_path(timing)
    if not fmax or critical is None:
        raise RuntimeError(f"nextpnr reported no Fmax or critical path in {out / name}.tim")
    return {"fmax_mhz": min(fmax.values()), "utilization": utilization,
            "logic_levels": logic_levels(out / f"{name}.json", name), "critical": critical}
