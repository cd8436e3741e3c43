"""Co-simulate a network's generated Verilog with cocotb on Verilator or Icarus.

:func:`cosimulate` generates the Verilog of a :class:`~spikeforge.hdl.network_core.NetworkCore`
(with probes), builds it once per design (cached by the hash of the Verilog text), runs the
testbench :mod:`spikeforge.sim.cocotb_network_tb` through ``cocotb_tools.runner`` and returns a
:class:`~spikeforge.sim.probe_records.HardwareTrace`.
"""

import hashlib
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..hdl.verilog import TOP, generate_verilog
from ..link.memory_layout import probe_layers
from ..toolchain import ToolMissing, build_lock, cache_dir, configure_verilator, missing_reason
from .probe_records import assemble, layer_records

__all__ = ["SIMULATORS", "cache_dir", "cosimulate", "generate_verilog"]

SIMULATORS = ("verilator", "icarus")


def _build(sim, sources, build_args=(), includes=(), top=TOP):
    """Build ``sources`` ({file name: Verilog text}, top module ``top``) once per design, under
    a lock so that processes asking for one design at once build it once; return (runner,
    folder)."""
    from cocotb_tools.runner import get_runner

    text = "\n".join(f"// {name}\n{body}" for name, body in sorted(sources.items()))
    digest = hashlib.sha256(
        f"{sim}\n{build_args}\n{includes}\n{top}\n{text}".encode()).hexdigest()[:16]
    build_dir = cache_dir() / f"{sim}-{digest}"
    stamp = build_dir / "built.ok"
    runner = get_runner(sim)
    with build_lock(build_dir):
        fresh = not stamp.exists()
        build_dir.mkdir(parents=True, exist_ok=True)
        paths = [build_dir / name for name in sources]
        if fresh:
            for path, body in zip(paths, sources.values(), strict=True):
                path.write_text(body)
        args = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-lint", "-O2"] if sim == "verilator" else []
        # build() also primes the runner for test(); on a cached design it finds nothing to do
        runner.build(sources=paths, hdl_toplevel=top, build_dir=build_dir,
                     build_args=[*args, *build_args], includes=list(includes), always=fresh,
                     log_file=build_dir / "build.log", timescale=("1ns", "1ps"))
        stamp.write_text("ok\n")
    return runner, build_dir


def _cycle_bound(network, x, lanes):
    from ..hdl.schedule import schedules

    return int(sum(s.cycles.sum() for s in schedules(network, x, lanes)))


def cosimulate(network, spikes, sim="verilator", lanes=1, consumer_gap=0, sources=None,
               build_args=(), includes=(), max_cycles=None):
    """Run ``spikes`` (batch, T, n_in) through the network's Verilog on ``sim``.

    ``sources`` ({file name: Verilog text}, top module ``spikeforge_top`` with probes) replaces
    the generated RTL, e.g. a post-synthesis netlist and its cell library
    (:mod:`spikeforge.sim.netlist`); ``build_args`` and include folders ``includes`` go to the
    simulator's build. The testbench gives up after ``max_cycles`` clock cycles
    (default: four times what the schedule model predicts, scaled by the consumer gap).

    Returns ``(trace, timing)``: a :class:`~spikeforge.sim.probe_records.HardwareTrace` and a
    dict with build and run seconds.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    reason = missing_reason(sim)
    if reason:
        raise ToolMissing(reason)
    if sim == "verilator":
        configure_verilator()
    x = np.asarray(spikes, dtype=np.uint8)
    if x.ndim == 2:
        x = x[None]
    start = time.perf_counter()
    if sources is None:
        rtl = generate_verilog(network, lanes=lanes)
        if sim == "icarus":
            from .netlist import lower_processes

            rtl = lower_processes(rtl)
        sources = {f"{TOP}.v": rtl}
    runner, build_dir = _build(sim, sources, tuple(build_args), tuple(map(str, includes)))
    built = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spikeforge-cosim-") as tmp:
        folder = Path(tmp)
        if max_cycles is None:  # generous: the schedule model predicts the real count exactly
            max_cycles = 4 * (1 + consumer_gap) * _cycle_bound(network, x, lanes) + 10_000
        ports = len(probe_layers(network, lanes))
        np.savez(folder / "stimulus.npz", x=x, n_ports=ports,
                 consumer_gap=consumer_gap, max_cycles=max_cycles)
        results = folder / "results.xml"
        runner.test(test_module="spikeforge.sim.cocotb_network_tb", hdl_toplevel=TOP,
                    build_dir=build_dir, test_dir=folder, results_xml=str(results),
                    extra_env={"SPIKEFORGE_COSIM_DIR": str(folder)},
                    log_file=folder / "sim.log")
        failures = ET.parse(results).getroot().iter("failure")
        if any(True for _ in failures) or not (folder / "raw.npz").exists():
            log = (folder / "sim.log").read_text()[-3000:] if (folder / "sim.log").exists() else ""
            raise RuntimeError(f"the {sim} testbench failed:\n{log}")
        raw = np.load(folder / "raw.npz")
        records = layer_records(network, lanes, [raw[f"records{k}"] for k in range(ports)])
        counters = dict(zip(raw["counter_names"].tolist(), raw["counter_values"].tolist(),
                            strict=True))
        trace = assemble(network, x.shape[0], x.shape[1], records,
                         [tuple(e) for e in raw["outputs"].tolist()], raw["step_cycles"], counters)
    done = time.perf_counter()
    cycles = counters.get("cycles", 0)
    return trace, {"build_seconds": built - start, "run_seconds": done - built,
                   "cycles_per_second": cycles / max(done - built, 1e-9)}
