"""What the on-chip learning units cost on both boards' FPGAs: Yosys synthesis of the learning
demo's network (digits 64 → 64 LIF → 10 LIF readout) as a plain ``NetworkCore`` and as a
``LearningCore`` with SuperSpike on the readout, side by side.

Cells after ``synth_ice40 -noabc`` (UP5K: ``SB_LUT4``, ``SB_RAM40_4K``, ``SB_MAC16``) and after
``synth_ecp5`` with the same LUT mapping (ECP5-85F: ``LUT4``, ``DP16KD``, ``MULT18X18D``;
carries are ``CCU2C`` cells, not counted); the learning cost is the difference, and the bar is
zero DSP cells. Yosys's built-in LUT mapping replaces ABC9, which in the WebAssembly Yosys stops
without a message on these designs, so the LUT counts are pessimistic. These are synthesis
numbers, not place and route (the boards' top level does not carry the learning command stream
yet); nextpnr's numbers for the inference core are in ``benchmarks/boards.py``.

    python benchmarks/learning_resources.py [--json] [--out FILE]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from spikeforge.boards.yosys import SYNTH_NOABC

FAMILIES = {
    "ice40 (icebreaker)": (SYNTH_NOABC["ice40"].format(top="top"), "SB_LUT4", "SB_RAM40_4K",
                           "SB_MAC16", 5280, 30),
    "ecp5 (ulx3s-85f)": (SYNTH_NOABC["ecp5"].format(top="top"), "LUT4", "DP16KD", "MULT18X18D",
                         83640, 208),
}


def _cells(stat, name):
    found = re.findall(rf"^\s+{name}\s+(\d+)\s*$|^\s+(\d+)\s+.*\b{name}\b", stat, re.MULTILINE)
    return sum(int(a or b) for a, b in found)


def synthesize(core, script, folder):
    from amaranth.back import rtlil
    from spikeforge.sim.toolchain import yosys_command

    (folder / "design.il").write_text(rtlil.convert(core, name="top"))
    done = subprocess.run([*yosys_command(), "-q", "-p",
                           f"read_rtlil design.il; {script}; tee -o stat.txt stat"],
                          cwd=folder, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError((done.stdout + done.stderr)[-2000:])
    return (folder / "stat.txt").read_text()


def measure():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from learning import demo_network
    from spikeforge.hdl.learning_core import LearningCore
    from spikeforge.hdl.network_core import NetworkCore
    from spikeforge.model.learning import LearningConfig

    network, _ = demo_network(0)
    config = LearningConfig.create(network, "superspike", learning_rate=2.0 ** -21)
    rows = []
    for family, (script, lut, ram, dsp, luts, rams) in FAMILIES.items():
        row = {"family": family, "lut_cell": lut, "ram_cell": ram, "dsp_cell": dsp,
               "luts_available": luts, "rams_available": rams}
        for label, make in (("inference", lambda: NetworkCore(network, host_access=True)),
                            ("learning", lambda: LearningCore(network, config))):
            with tempfile.TemporaryDirectory() as tmp:
                stat = synthesize(make(), script, Path(tmp))
            row[label] = {"luts": _cells(stat, lut), "rams": _cells(stat, ram),
                          "dsps": _cells(stat, dsp)}
        row["learning_extra_luts"] = row["learning"]["luts"] - row["inference"]["luts"]
        row["learning_extra_rams"] = row["learning"]["rams"] - row["inference"]["rams"]
        rows.append(row)
    return {
        "benchmark": "learning_resources", "network": "digits 64 -> 64 LIF -> 10 LIF",
        "rule": "superspike on the readout", "rows": rows,
        "summary": [
            {"metric": f"learning units, {r['family']}: extra LUTs / RAMs",
             "value": f"{r['learning_extra_luts']} / {r['learning_extra_rams']}",
             "unit": "", "versus": "inference core alone",
             "versus_value": f"{r['inference']['luts']} / {r['inference']['rams']}",
             "ratio": round(r["learning"]["luts"] / max(1, r["inference"]["luts"]), 2),
             "limit": None, "meets": None}
            for r in rows
        ] + [
            {"metric": f"DSP cells with learning, {r['family']}", "value": r["learning"]["dsps"],
             "unit": "", "versus": "bar: 0", "versus_value": 0, "ratio": None, "limit": 0,
             "meets": r["learning"]["dsps"] == 0}
            for r in rows
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=None, help="write the JSON here too")
    parser.add_argument("--quick", action="store_true", help="accepted for spikeforge bench")
    args = parser.parse_args(argv)
    result = measure()
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{'family':<20} {'core':<10} {'LUTs':>7} {'RAMs':>5} {'DSPs':>5}")
        for r in result["rows"]:
            for label in ("inference", "learning"):
                c = r[label]
                print(f"{r['family']:<20} {label:<10} {c['luts']:>7} {c['rams']:>5} "
                      f"{c['dsps']:>5}")
    return 0 if all(r["learning"]["dsps"] == 0 for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
