"""Bitstreams for both boards from the YoWASP tools: Fmax, utilization and DSP count.

A digits-sized network (64 → 128 → 10, 8-bit weights, 16-bit I and U; random weights with a
fixed seed unless ``--netfile`` gives a trained one) is built with the board top (network core,
UART host link) for the iCEBreaker (iCE40 UP5K) and the ULX3S (ECP5-85F). nextpnr is asked for
the bar's frequency and reports the Fmax it reached. Bars: UP5K 0 DSP and Fmax >= 40 MHz,
ECP5-85F Fmax >= 120 MHz. ``--quick`` builds an 8 → 12 → 4 network instead (a smoke test).

    python benchmarks/boards.py [--json] [--out FILE] [--quick] [--netfile X.sfn]
                                [--boards icebreaker,ulx3s-85f] [--build-dir DIR]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

BARS = {"icebreaker": 40.0, "ulx3s-85f": 120.0}
LUTS = {"icebreaker": "ICESTORM_LC", "ulx3s-85f": "TRELLIS_COMB"}
BRAMS = {"icebreaker": "ICESTORM_RAM", "ulx3s-85f": "DP16KD"}


def digits_sized(n_in=64, n_hidden=128, n_out=10, seed=0):
    from spikeforge.model import Layer, LayerParams, Network, RateEncoding

    rng = np.random.default_rng(seed)
    hidden = Layer(LayerParams(n_in, n_hidden), rng.integers(-128, 128, (n_hidden, n_in)),
                   name="hidden")
    out = Layer(LayerParams(n_hidden, n_out), rng.integers(-128, 128, (n_out, n_hidden)),
                name="out")
    return Network((hidden, out), RateEncoding(steps=32, levels=16),
                   name=f"random-{n_in}-{n_hidden}-{n_out}")


def _rows(board, report):
    bar = BARS[board]
    util = report["utilization"]
    rows = [
        {"metric": f"{board} Fmax", "value": report["fmax_mhz"], "unit": "MHz",
         "versus": f"bar {bar:g} MHz", "versus_value": bar,
         "ratio": report["fmax_mhz"] / bar, "limit": 1.0,
         "meets": report["fmax_mhz"] >= bar},
        {"metric": f"{board} DSP blocks", "value": report["dsp"], "unit": "blocks",
         "versus": "multiplier-free", "versus_value": 0, "ratio": None, "limit": 0,
         "meets": report["dsp"] == 0},
    ]
    for label, cell in (("logic cells", LUTS[board]), ("block RAMs", BRAMS[board])):
        used = util.get(cell, {"used": 0, "total": 0})
        rows.append({"metric": f"{board} {label}", "value": used["used"], "unit": cell,
                     "versus": "device total", "versus_value": used["total"],
                     "ratio": used["used"] / used["total"] if used["total"] else None,
                     "limit": 1.0, "meets": used["used"] <= used["total"]})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--out", help="also write the JSON object to this file")
    parser.add_argument("--quick", action="store_true", help="a small network (smoke test)")
    parser.add_argument("--netfile", help="build this network file instead")
    parser.add_argument("--boards", default="icebreaker,ulx3s-85f")
    parser.add_argument("--build-dir", help="keep the builds here (default: a temporary folder)")
    args = parser.parse_args(argv)

    from spikeforge.boards import board_platform
    from spikeforge.boards.build import build_bitstream

    if args.netfile:
        from spikeforge.model import load_network

        network = load_network(args.netfile)
    elif args.quick:
        network = digits_sized(8, 12, 4)
    else:
        network = digits_sized()
    boards = [b for b in args.boards.split(",") if b]
    result = {"network": network.name, "quick": args.quick,
              "shape": [network.n_in] + [ly.params.n for ly in network.layers], "boards": {},
              "summary": []}
    with tempfile.TemporaryDirectory(prefix="spikeforge-boards-") as tmp:
        root = Path(args.build_dir or tmp)
        for board in boards:
            print(f"building {network.name} for {board} ...", file=sys.stderr, flush=True)
            report = build_bitstream(network, board_platform(board), root / board)
            result["boards"][board] = report
            result["summary"] += _rows(board, report)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        for row in result["summary"]:
            print(f"{row['metric']:<28} {row['value']:>10} {row['unit']:<14} "
                  f"{row['versus']} {'ok' if row['meets'] else 'BELOW BAR'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
