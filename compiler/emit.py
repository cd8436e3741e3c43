"""Compile a network file for a target: passes in order, then emit a design folder.

Passes (:data:`PASSES`, run in this order, each adding its section to ``report.json``):

1. ``ranges``: the accumulator width each layer needs so that no sum of one step can overflow
   (saturation then happens only where the contract says, in the update);
2. ``allocate``: memories and lanes on the target, refused with :class:`FitError` when the block
   RAM does not suffice (:mod:`spikeforge.compiler.resources`);
3. ``schedule``: cycle-exact latency per step and per inference for the given inputs, from
   :func:`spikeforge.hdl.schedule.schedule` (the co-simulation checks it against the RTL).

Emitted, into a folder that appears only when everything succeeded:

* ``spikeforge_top.v``: the network core, Verilog from Amaranth;
* ``spikeforge_top.vlt``: the Verilator lint waivers, each justified (``verilator --lint-only
  -Wall spikeforge_top.vlt spikeforge_top.v`` is clean);
* ``mem/<layer>_lane<p>_weights.hex``: weight memory images, one word per line, two's complement
  hex (``$readmemh`` format; the Verilog already holds them as initial values);
* ``network.sfn``: the network file compiled; ``report.json``: formats, memories, resources,
  cycles.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..hdl.arith import accumulator_width
from ..hdl.memory_layout import lane_weights
from ..hdl.schedule import schedule
from ..model import save_network
from .resources import FitError, check_fit
from .targets import get_target

__all__ = ["LINT_WAIVERS", "PASSES", "FitError", "compile_network"]

PASSES = ("ranges", "allocate", "schedule")

#: Verilator lint rules waived for Amaranth's Verilog, with the reason for each
LINT_WAIVERS = {
    "UNUSEDSIGNAL": "Amaranth names every signal of a struct or port even where only some bits "
                    "are read (e.g. the marker bit of an event, unused counter bits)",
    "WIDTHEXPAND": "Yosys writes signed additions and comparisons of mixed widths; Verilog "
                   "sign-extends them exactly as the Amaranth expression means",
    "PROCASSINIT": "registers carry their reset value as an initial value and are also assigned "
                   "in a process: how Yosys writes Amaranth's `init=`",
    "CASEINCOMPLETE": "decoders are written as casez without default; the value assigned before "
                      "the case is kept for unmatched cases, as intended",
    "DECLFILENAME": "the module is named spikeforge_top whatever the file is called",
    "ASCRANGE": "Amaranth writes zero-width signals as [-1:0] (e.g. the word address of a lane "
                "memory that holds one neuron, Q = 1); nothing reads them",
}


def _hex(value, width):
    return format(int(value) & ((1 << width) - 1), f"0{(width + 3) // 4}x")


def _waiver_file():
    lines = ["`verilator_config", "// Lint waivers for Amaranth-generated Verilog, each justified:"]
    for rule, why in LINT_WAIVERS.items():
        lines += [f"// {rule}: {why}", f"lint_off -rule {rule}"]
    return "\n".join(lines) + "\n"


def compile_network(network, target="generic", lanes=1, out=None, inputs=None, netfile=None):
    """Run the passes and, with ``out``, emit the design folder; returns the report dict.

    ``inputs`` (batch, T, n_in) spike trains give the predicted cycles per inference. Any error
    leaves no ``out`` folder behind.
    """
    from ..sim.cocotb_runner import generate_verilog

    tgt = get_target(target)
    ranges = [{"layer": ly.name or f"layer{i}", "accumulator_bits": accumulator_width(ly.params),
               "weight_format": f"s{ly.params.weight_format.width}",
               "current_format": f"s{ly.params.current_format.width}",
               "potential_format": f"s{ly.params.potential_format.width}",
               "k_syn": ly.params.k_syn, "k_mem": ly.params.k_mem, "theta": ly.params.theta,
               "kind": ly.params.kind.name, "reset": ly.params.reset.name.lower()}
              for i, ly in enumerate(network.layers)]
    allocation = check_fit(network, lanes, tgt)  # also checks that lanes divide every layer
    timing = None
    if inputs is not None:
        x = np.asarray(inputs, dtype=np.uint8)
        per_sample = [int(schedule(network, sample, lanes).cycles.sum()) for sample in x]
        timing = {"samples": len(per_sample), "steps": int(x.shape[1]),
                  "cycles_per_inference": per_sample,
                  "cycles_per_inference_mean": float(np.mean(per_sample)),
                  "cycles_per_inference_max": int(max(per_sample))}
    report = {"target": tgt.to_dict(), "lanes": lanes, "passes": list(PASSES),
              "ranges": ranges, "allocation": allocation, "schedule": timing,
              "lint_waivers": LINT_WAIVERS, "top": "spikeforge_top"}
    if out is None:
        return report
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new --out folder or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (staging / "spikeforge_top.v").write_text(generate_verilog(network, lanes=lanes,
                                                                   probe=False))
        (staging / "spikeforge_top.vlt").write_text(_waiver_file())
        (staging / "mem").mkdir()
        images = []
        for index, layer in enumerate(network.layers):
            width = layer.params.weight_format.width
            for lane, words in enumerate(lane_weights(layer, lanes)):
                name = f"mem/{layer.name or f'layer{index}'}_lane{lane}_weights.hex"
                (staging / name).write_text("".join(f"{_hex(w, width)}\n" for w in words))
                images.append(name)
        save_network(network, staging / "network.sfn")
        report["files"] = ["spikeforge_top.v", "spikeforge_top.vlt", *images, "network.sfn",
                           "report.json"]
        if netfile is not None:
            report["netfile"] = str(netfile)
        (staging / "report.json").write_text(json.dumps(report, indent=1, default=int))
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
