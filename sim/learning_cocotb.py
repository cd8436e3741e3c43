"""Co-simulate a :class:`~spikeforge.hdl.learning_core.LearningCore`'s Verilog with cocotb on
Verilator (or Icarus): build once per design (cached), stream every trial's commands through
:mod:`spikeforge.sim.learning_tb`, return per-trial results in the shape of
:func:`spikeforge.sim.learning_amaranth.simulate_learning`."""

import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..link.memory_layout import lane_depth
from ..model.learning import rows_of
from ..toolchain import ToolMissing, configure_verilator, missing_reason
from .cocotb_runner import TOP, _build
from .learning_compare import lane_words_to_rows, records_to_traces, trial_commands

__all__ = ["cosimulate_learning", "learning_verilog"]


def learning_verilog(network, config, lanes=1, probe=True) -> str:
    from amaranth.back import verilog

    from ..hdl.learning_core import LearningCore

    core = LearningCore(network, config, lanes=lanes, probe=probe)
    return verilog.convert(core, name=TOP, emit_src=False)


def cosimulate_learning(network, config, spikes, targets, learn, *, sim="verilator", lanes=1,
                        traces=True, readback=None):
    """Run the trials on ``sim``; returns ``(results, timing)``. ``readback`` (per trial, default
    all) says after which trials the weights are read back; the others' ``weights`` are None."""
    reason = missing_reason(sim)
    if reason:
        raise ToolMissing(reason)
    if sim == "verilator":
        configure_verilator()
    start = time.perf_counter()
    rtl = learning_verilog(network, config, lanes=lanes, probe=traces)
    if sim == "icarus":
        from .netlist import lower_processes

        rtl = lower_processes(rtl)
    runner, build_dir = _build(sim, {f"{TOP}.v": rtl})
    built = time.perf_counter()
    x = np.asarray(spikes)
    words, bounds = [], [0]
    for b in range(x.shape[0]):
        words += trial_commands(x[b], targets[b], learn[b])
        bounds.append(len(words))
    layers = list(config.layers)
    depth = [lane_depth(network.layers[i], lanes) for i in layers]
    with tempfile.TemporaryDirectory(prefix="spikeforge-learn-") as tmp:
        folder = Path(tmp)
        np.savez(folder / "stimulus.npz", words=np.asarray(words, np.int64),
                 bounds=np.asarray(bounds, np.int64), layers=np.asarray(layers, np.int64),
                 lanes=lanes, depth=np.asarray(depth, np.int64), n_out=network.n_out,
                 traces=traces, readback=np.asarray(
                     [True] * x.shape[0] if readback is None else readback, bool))
        results_xml = folder / "results.xml"
        runner.test(test_module="spikeforge.sim.learning_tb", hdl_toplevel=TOP,
                    build_dir=build_dir, test_dir=folder, results_xml=str(results_xml),
                    extra_env={"SPIKEFORGE_COSIM_DIR": str(folder)}, log_file=folder / "sim.log")
        failed = any(True for _ in ET.parse(results_xml).getroot().iter("failure"))
        if failed or not (folder / "raw.npz").exists():
            log = (folder / "sim.log").read_text()[-3000:] if (folder / "sim.log").exists() else ""
            raise RuntimeError(f"the {sim} learning testbench failed:\n{log}")
        raw = dict(np.load(folder / "raw.npz"))
    results = []
    units = len(layers)
    for t in range(x.shape[0]):
        result = {"counts": raw["counts"][t], "weights": {}}
        for k, index in enumerate(layers):
            layer = network.layers[index]
            words = raw[f"weights{t * units + k}"]
            if words.size == 0:
                result["weights"] = None
                continue
            rows = lane_words_to_rows(layer, lanes, words)
            result["weights"][index] = rows[:, :rows_of(layer, config)]
        if traces:
            result["traces"] = {
                index: records_to_traces(raw[f"records{t * units + k}"],
                                         network.layers[index].params.n,
                                         rows_of(network.layers[index], config))
                for k, index in enumerate(layers)}
        results.append(result)
    done = time.perf_counter()
    return results, {"build_seconds": built - start, "run_seconds": done - built}
