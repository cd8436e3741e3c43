"""Emit a design folder from a compiled network: Verilog, memory images, the network file and
``report.json``, all or nothing.

Files:

* ``spikeforge_top.v``: the :class:`~spikeforge.hdl.network_core.NetworkCore`, Verilog from
  Amaranth (module ``spikeforge_top``);
* ``spikeforge_top.vlt``: the Verilator lint waivers, each justified (``verilator --lint-only
  -Wall spikeforge_top.vlt spikeforge_top.v`` is clean);
* ``mem/<layer>_lane<p>_weights.hex``: each lane's weight memory, one word per line at the
  address :func:`~spikeforge.link.memory_layout.weight_address` gives, two's complement hex
  (``$readmemh``; the Verilog already holds them as initial values); ``mem/<layer>_bias.hex``
  for layers with a bias. State memories start at zero and have no image;
* ``network.sfn``: the network compiled; ``report.json``: the report.

The folder is written under a temporary name beside ``out``
(``.<out name>.<pid>.<random>.staging``) and renamed at the end, so an error at any point leaves
no ``out`` behind (and an existing ``out`` is never touched): the staging folder is removed on any
exception (Ctrl-C and the CLI's SIGTERM included); one left by a process killed outright (SIGKILL,
power loss) is removed by the next emit to the same ``out``, once that process no longer exists.
"""

import glob
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..hdl.verilog import TOP, generate_verilog
from ..link.memory_layout import lane_weights
from ..model import save_network
from ..model.netfile import _alive

__all__ = ["LINT_WAIVERS", "STAGING", "TOP", "emit_design", "json_value", "memory_images",
           "remove_orphans"]


#: suffix of the temporary folder a design is written into before it is renamed to ``out``
STAGING = ".staging"

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


def waiver_file():
    """The ``.vlt`` file: one justified ``lint_off`` per waived rule."""
    lines = ["`verilator_config", "// Lint waivers for Amaranth-generated Verilog, each justified:"]
    for rule, why in LINT_WAIVERS.items():
        lines += [f"// {rule}: {why}", f"lint_off -rule {rule}"]
    return "\n".join(lines) + "\n"


def memory_images(network, lanes):
    """``{relative path: (text, description)}`` of every memory initialization image."""
    images = {}
    for index, layer in enumerate(network.layers):
        name = layer.name or f"layer{index}"
        width = layer.params.weight_format.width
        for lane, words in enumerate(lane_weights(layer, lanes)):
            images[f"mem/{name}_lane{lane}_weights.hex"] = (
                "".join(f"{_hex(w, width)}\n" for w in words),
                {"layer": name, "memory": "weights", "lane": lane, "depth": len(words),
                 "width": width})
        if layer.bias is not None:
            cw = layer.params.current_format.width
            bias = (layer.bias if layer.connectivity is None  # one word per neuron (a
                    else layer.connectivity.expand_bias(layer.bias))  # channel's, repeated)
            images[f"mem/{name}_bias.hex"] = (
                "".join(f"{_hex(c, cw)}\n" for c in bias),
                {"layer": name, "memory": "bias", "lane": None, "depth": len(bias),
                 "width": cw})
    return images


def emit_design(network, report, out, lanes):
    """Write the design folder ``out`` (which must not exist); returns the list of files and
    adds it to ``report["files"]``."""

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new --out folder or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=STAGING,
                                    dir=out.parent))
    try:
        (staging / f"{TOP}.v").write_text(generate_verilog(network, lanes=lanes, probe=False))
        (staging / f"{TOP}.vlt").write_text(waiver_file())
        (staging / "mem").mkdir()
        images = memory_images(network, lanes)
        for path, (text, _) in images.items():
            (staging / path).write_text(text)
        save_network(network, staging / "network.sfn")
        files = [f"{TOP}.v", f"{TOP}.vlt", *images, "network.sfn", "report.json"]
        report.update(files=files, memory_images=[{"file": p, **d} for p, (_, d) in images.items()],
                      lint_waivers=LINT_WAIVERS, top=TOP)
        (staging / "report.json").write_text(json.dumps(report, indent=1, default=json_value))
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return files


def remove_orphans(out) -> list[Path]:
    """Remove the staging folders of earlier emits to ``out`` whose process has died (killed
    before it could clean up); those of live processes, or of a pid that cannot be tested, are
    left. Returns the folders removed."""
    out = Path(out)
    removed = []
    for staging in out.parent.glob(f".{glob.escape(out.name)}.*{STAGING}"):
        pid = staging.name[len(out.name) + 2:].split(".", 1)[0]
        if staging.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def json_value(value):
    """``value`` as JSON can hold it (``json.dumps(default=json_value)``): numpy scalars and
    arrays as numbers and lists, anything else as its text."""
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
