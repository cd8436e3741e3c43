"""What the on-chip learning units cost on both boards' FPGAs: Yosys synthesis of the learning
demo's network (digits 64 → 64 LIF → 10 LIF readout) as a plain ``NetworkCore`` and as a
``LearningCore`` with SuperSpike on the readout, side by side.

Cells after ``synth_ice40 -noabc`` (UP5K: ``SB_LUT4``, ``SB_RAM40_4K``, ``SB_MAC16``) and after
``synth_ecp5`` with the same LUT mapping (ECP5-85F: ``LUT4``, ``DP16KD``, ``MULT18X18D``;
carries are ``CCU2C`` cells, not counted); the learning cost is the difference, and the bar is
zero DSP cells. Yosys's built-in LUT mapping replaces ABC9, which in the WebAssembly Yosys stops
without a message on the bare learning core, so these LUT counts are pessimistic.

Then the real thing: each board's bitstream (UART, host link with ``LEARN``, core) built with
and without learning units by :func:`spikeforge.boards.build.build_bitstream` (the boards' own
flow, ABC9 included), with nextpnr's utilization and Fmax; a board that cannot hold the design
is reported with the build's own error. A learning bitstream is placed with ``--seeds`` nextpnr
seeds (default 3) and its median Fmax is compared with the goal (ECP5: 100 MHz); on the UP5K
the goal is that it fits.
``--synth-only`` (or ``--quick``) skips these builds (about 10 minutes).

    python benchmarks/learning_resources.py [--json] [--out FILE] [--synth-only] [--seeds 3]
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import add_output_arguments, median_build, write_result
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
    from spikeforge.toolchain import yosys_command

    (folder / "design.il").write_text(rtlil.convert(core, name="top"))
    done = subprocess.run([*yosys_command(), "-q", "-p",
                           f"read_rtlil design.il; {script}; tee -o stat.txt stat"],
                          cwd=folder, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError((done.stdout + done.stderr)[-2000:])
    return (folder / "stat.txt").read_text()


#: board → (logic cell, block RAM cell) in nextpnr's utilization table
BOARD_CELLS = {"icebreaker": ("ICESTORM_LC", "ICESTORM_RAM"),
               "ulx3s-85f": ("TRELLIS_COMB", "DP16KD")}


#: the learning bitstream's Fmax goal on the ECP5 (median of the seeds)
LEARNING_GOAL_MHZ = {"ulx3s-85f": 100}
#: boards whose learning bitstream must fit (the UP5K: its weights that do not learn in SPRAM)
MUST_FIT = ("icebreaker",)


def placed(network, config, seeds=3):
    """Bitstreams of every board with and without learning units: nextpnr's numbers. A
    learning bitstream that fits is placed with ``seeds`` nextpnr seeds and reports the median
    Fmax with every seed's (the others, one seed: the default)."""
    from spikeforge.boards import board_platform
    from spikeforge.boards.build import BoardCapacityError, build_bitstream

    rows = []
    for board, (lut, ram) in BOARD_CELLS.items():
        row = {"board": board, "lut_cell": lut, "ram_cell": ram}
        for label, learning in (("inference", None), ("learning", config)):
            def build(seed, board=board, learning=learning):
                with tempfile.TemporaryDirectory() as tmp:
                    return build_bitstream(network, board_platform(board), tmp,
                                           learning=learning, seed=seed)
            try:
                report = (build(None) if learning is None or seeds == 1
                          else median_build(build, seeds))
            except BoardCapacityError as exc:
                row[label] = {"fits": False, "error": str(exc)}
                continue
            used = report["utilization"]
            row[label] = {"fits": True, "fmax_mhz": report["fmax_mhz"],
                          "luts": used[lut]["used"], "luts_available": used[lut]["total"],
                          "rams": used[ram]["used"], "rams_available": used[ram]["total"],
                          "dsps": report["dsp"], "seconds": report["seconds"],
                          "fmax_seeds": report.get("fmax_seeds")}
        rows.append(row)
    return rows


def measure(place=True, seeds=3):
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
    boards = placed(network, config, seeds) if place else []
    return {
        "benchmark": "learning_resources", "network": "digits 64 -> 64 LIF -> 10 LIF",
        "boards": boards,
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
        ] + [
            {"metric": f"bitstream with learning units, {b['board']}: Fmax / DSP",
             "value": (f"{b['learning']['fmax_mhz']:.1f} MHz / {b['learning']['dsps']}"
                       if b["learning"]["fits"] else "does not fit"),
             "unit": "", "versus": "without learning units",
             "versus_value": (f"{b['inference']['fmax_mhz']:.1f} MHz / "
                              f"{b['inference']['dsps']}" if b["inference"]["fits"] else "-"),
             "ratio": None, "limit": 0, "meets": b["learning"].get("dsps", 0) == 0}
            for b in boards
        ] + [
            {"metric": f"bitstream with learning units, {b['board']}: Fmax (median of seeds)",
             "value": b["learning"]["fmax_mhz"] if b["learning"]["fits"] else None,
             "unit": "MHz", "versus": "goal", "versus_value": LEARNING_GOAL_MHZ[b["board"]],
             "ratio": None, "limit": LEARNING_GOAL_MHZ[b["board"]],
             "meets": (b["learning"]["fits"]
                       and b["learning"]["fmax_mhz"] >= LEARNING_GOAL_MHZ[b["board"]])}
            for b in boards if b["board"] in LEARNING_GOAL_MHZ
        ] + [
            {"metric": f"bitstream with learning units fits {b['board']}: LC / block RAM",
             "value": (f"{b['learning']['luts']} / {b['learning']['rams']}"
                       if b["learning"]["fits"] else "does not fit"),
             "unit": "", "versus": "device",
             "versus_value": (f"{b['learning']['luts_available']} / "
                              f"{b['learning']['rams_available']}"
                              if b["learning"]["fits"] else "-"),
             "ratio": None, "limit": None, "meets": b["learning"]["fits"]}
            for b in boards if b["board"] in MUST_FIT
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="synthesis only (spikeforge bench)")
    parser.add_argument("--synth-only", action="store_true",
                        help="skip the placed and routed board builds")
    parser.add_argument("--seeds", type=int, default=3,
                        help="nextpnr seeds of a learning bitstream; the median Fmax is reported "
                             "(default 3)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, not {args.seeds}")
    result = measure(place=not (args.quick or args.synth_only), seeds=args.seeds)
    write_result(result, args.out, args.json)
    if not args.json:
        print(f"{'family':<20} {'core':<10} {'LUTs':>7} {'RAMs':>5} {'DSPs':>5}")
        for r in result["rows"]:
            for label in ("inference", "learning"):
                c = r[label]
                print(f"{r['family']:<20} {label:<10} {c['luts']:>7} {c['rams']:>5} "
                      f"{c['dsps']:>5}")
        if result["boards"]:
            print(f"\n{'board (placed)':<20} {'core':<10} {'LUTs':>13} {'RAMs':>9} {'DSPs':>5} "
                  f"{'Fmax MHz':>9}")
        for b in result["boards"]:
            for label in ("inference", "learning"):
                c = b[label]
                if not c["fits"]:
                    print(f"{b['board']:<20} {label:<10} does not fit: {c['error']}")
                    continue
                seeds = (f"  (seeds: {', '.join(f'{f:.1f}' for f in c['fmax_seeds'])})"
                         if c.get("fmax_seeds") else "")
                print(f"{b['board']:<20} {label:<10} {c['luts']:>6}/{c['luts_available']:<6} "
                      f"{c['rams']:>4}/{c['rams_available']:<4} {c['dsps']:>5} "
                      f"{c['fmax_mhz']:>9.1f}{seeds}")
    dsps = [r["learning"]["dsps"] for r in result["rows"]]
    dsps += [b["learning"]["dsps"] for b in result["boards"] if b["learning"]["fits"]]
    return 0 if all(d == 0 for d in dsps) else 1


if __name__ == "__main__":
    sys.exit(main())
