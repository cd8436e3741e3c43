"""Co-simulation speed: Verilator driven by the compiled C++ harness against the cocotb testbench,
in the same run, and the whole digits test set on the RTL.

The design is the digits-sized core of ``benchmarks/boards.py`` (64 → 128 → 10, 8-bit weights,
P = 1; random weights with a fixed seed unless ``--netfile`` gives a trained network) fed with
the rate-coded scikit-learn digits test samples (16 levels, 32 steps: about 80,000 clock cycles
per sample). Each path runs ``spikeforge.sim.cosim.cosim_report``, so every figure includes the
comparison with the reference model (every spike, state and step cycle count; a mismatch fails
the benchmark). Build time is left out (a design is built once and cached).

Rows: the C++ harness's simulated cycles per second against the goal of 10⁶ and against the
cocotb path (ratio); the seconds to co-simulate and compare all 360 test samples against the
goal of 60 s.

    python benchmarks/cosim_speed.py [--json] [--out FILE] [--quick] [--netfile X.sfn]
                                     [--cocotb-samples 2]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_output_arguments, write_result

from boards import digits_sized  # the boards benchmark's network

GOAL_CYCLES_PER_SECOND = 1_000_000
GOAL_TEST_SET_SECONDS = 60.0


def timed_report(network, x, harness):
    """``(report, seconds)``: co-simulation and comparison, the build left out."""
    from spikeforge.sim.cosim import cosim_report

    cosim_report(network, x[:1], "verilator", harness=harness)  # build (or find) the design
    start = time.perf_counter()
    report = cosim_report(network, x, "verilator", harness=harness)
    seconds = time.perf_counter() - start - report["build_seconds"]
    if report["mismatches"] or report["cycle_mismatches"]:
        raise SystemExit(f"{harness}: {report['mismatches']} mismatches, "
                         f"{report['cycle_mismatches']} cycle mismatches")
    return report, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="20 test samples, not all 360")
    parser.add_argument("--netfile", help="a trained digits network instead of random weights")
    parser.add_argument("--cocotb-samples", type=int, default=2,
                        help="test samples through the (slow) cocotb path")
    args = parser.parse_args(argv)
    if args.cocotb_samples < 1:
        parser.error(f"--cocotb-samples must be at least 1, not {args.cocotb_samples}")
    from spikeforge.datasets import load_dataset
    from spikeforge.model import load_network

    network = load_network(args.netfile) if args.netfile else digits_sized()
    data = load_dataset("digits", steps=network.steps)
    count = 20 if args.quick else len(data.y_test)
    x = data.spikes("test", np.arange(count))

    fast, fast_seconds = timed_report(network, x, "c++")
    slow, slow_seconds = timed_report(network, x[:args.cocotb_samples], "cocotb")
    fast_rate = fast["cycles_measured"] / fast_seconds
    slow_rate = slow["cycles_measured"] / slow_seconds
    summary = [
        {"metric": "Verilator, C++ harness, cycles/s (comparison included)",
         "value": round(fast_rate), "unit": "cycles/s", "versus": "cocotb testbench, same run",
         "versus_value": round(slow_rate), "ratio": fast_rate / slow_rate,
         "limit": GOAL_CYCLES_PER_SECOND, "meets": fast_rate >= GOAL_CYCLES_PER_SECOND},
        {"metric": f"{count} digits test samples co-simulated and compared",
         "value": round(fast_seconds, 2), "unit": "s", "versus": "goal (all 360)",
         "versus_value": GOAL_TEST_SET_SECONDS, "ratio": None,
         "limit": GOAL_TEST_SET_SECONDS,
         "meets": fast_seconds <= GOAL_TEST_SET_SECONDS if count == 360 else None},
    ]
    result = {"benchmark": "cosim_speed", "network": network.name, "samples": count,
              "cycles": fast["cycles_measured"], "cocotb_samples": args.cocotb_samples,
              "cocotb_cycles": slow["cycles_measured"], "summary": summary}
    write_result(result, args.out, args.json)
    if not args.json:
        for row in summary:
            ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}x"
            print(f"{row['metric']:<58} {row['value']:>12} {row['unit']:<9} "
                  f"{row['versus']} {row['versus_value']} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
