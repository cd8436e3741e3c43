"""One entry point for co-simulation: run a network on the Amaranth simulator, Verilator or
Icarus, compare every step with the reference model and the schedule model, and summarize."""

import time

import numpy as np

from ..hdl.schedule import schedule
from ..model import run
from .probe_records import compare

__all__ = ["HARNESSES", "SIMS", "cosim_report", "default_harness", "hardware_trace"]

SIMS = ("amaranth", "verilator", "icarus")
#: how a Verilog simulator is driven: a compiled C++ loop (:mod:`.verilator_fast`, Verilator
#: RTL only) or the cocotb testbench (:mod:`.cocotb_network_tb`, every simulator and netlist)
HARNESSES = ("c++", "cocotb")


def default_harness(sim, netlist=None):
    """The C++ harness for Verilator on the RTL, cocotb otherwise (``None`` for Amaranth)."""
    if sim == "amaranth":
        return None
    return "c++" if sim == "verilator" and netlist is None else "cocotb"


def hardware_trace(network, spikes, sim, lanes=1, consumer_gap=0, netlist=None, harness=None,
                   progress=None):
    """``(trace, timing)`` of ``spikes`` (batch, T, n_in) on simulator ``sim``; with ``netlist``
    (``"ice40"`` or ``"ecp5"``) the Yosys post-synthesis netlist of that family is simulated
    instead of the RTL. ``harness`` (:data:`HARNESSES`) defaults to :func:`default_harness`;
    the C++ harness calls ``progress(done, total)`` as samples finish."""
    harness = harness or default_harness(sim, netlist)
    if sim == "amaranth" and harness is not None:
        raise ValueError(f"the Amaranth simulator runs the design itself, with no {harness} "
                         "harness: leave --harness out")
    if harness == "c++" and default_harness(sim, netlist) != "c++":
        raise ValueError(f"the C++ harness runs Verilator on the RTL only; {sim}"
                         f"{f' with the {netlist} netlist' if netlist else ''} runs with cocotb")
    if netlist is not None:
        if sim == "amaranth":
            raise ValueError("a netlist runs on verilator or icarus, not on the Amaranth simulator")
        from .cocotb_runner import cosimulate
        from .netlist import netlist_build

        return cosimulate(network, spikes, sim=sim, lanes=lanes, consumer_gap=consumer_gap,
                          **netlist_build(network, netlist, sim, lanes))
    if sim == "amaranth":
        from .amaranth_sim import simulate_network

        start = time.perf_counter()
        trace = simulate_network(network, spikes, lanes=lanes, consumer_gap=consumer_gap)
        seconds = time.perf_counter() - start
        cycles = trace.counters.get("cycles", 0)
        return trace, {"build_seconds": 0.0, "run_seconds": seconds,
                       "cycles_per_second": cycles / max(seconds, 1e-9)}
    if harness == "c++":
        from .verilator_fast import fast_cosimulate

        return fast_cosimulate(network, spikes, lanes=lanes, consumer_gap=consumer_gap,
                               progress=progress)
    from .cocotb_runner import cosimulate

    return cosimulate(network, spikes, sim=sim, lanes=lanes, consumer_gap=consumer_gap)


def cosim_report(network, spikes, sim, lanes=1, consumer_gap=0, netlist=None, harness=None,
                 progress=None):
    """Co-simulate and compare; returns a JSON-ready dict (see ``spikeforge cosim``)."""
    x = np.asarray(spikes, dtype=np.uint8)
    if x.ndim == 2:
        x = x[None]
    expected = run(network, x)
    harness = harness or default_harness(sim, netlist)
    hw, timing = hardware_trace(network, x, sim, lanes, consumer_gap, netlist, harness, progress)
    compared, mismatches, first = compare(expected, hw)
    predicted = np.stack([schedule(network, x[b], lanes).cycles for b in range(len(x))])
    measured = np.asarray(hw.step_cycles)
    cycle_mismatches = int((predicted != measured).sum())
    sched = [schedule(network, x[b], lanes) for b in range(len(x))]
    synops = int(sum(s.synops.sum() for s in sched))
    total_cycles = int(predicted.sum())
    neuron_steps = int(sum(ly.params.n for ly in network.layers) * x.shape[0] * x.shape[1])
    counters = dict(hw.counters)
    return {
        "sim": sim,
        "harness": harness,
        "design": f"{netlist} netlist" if netlist else "RTL",
        "lanes": lanes,
        "samples": int(x.shape[0]),
        "steps": int(x.shape[0] * x.shape[1]),
        "neuron_steps_compared": neuron_steps,
        "values_compared": compared,
        "mismatches": mismatches,
        "first_mismatch": first,
        "probe_order_ok": bool(hw.probe_order_ok),
        "cycles": int(measured.sum()),
        "cycles_per_sample": measured.sum(axis=1).astype(int).tolist(),
        "cycles_predicted": total_cycles,
        "cycles_measured": int(measured.sum()),
        "cycle_mismatches": cycle_mismatches,
        "synaptic_operations": synops,
        "synops_counter": counters.get("synops"),
        "sop_per_lane_per_cycle": synops / (lanes * total_cycles) if total_cycles else 0.0,
        "counters": counters,
        "unresolved_counters": sorted(k for k, v in counters.items() if v == -1),
        **{k: round(v, 3) for k, v in timing.items()},
    }
