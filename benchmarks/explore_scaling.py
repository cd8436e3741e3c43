"""How ``spikeforge explore`` scales with workers: the same 12 points on 1 and on 2 Ray workers.

The network (64 → 32 → 12, seeded random weights, the digits test set for accuracy; or
``--netfile``) is explored over lanes 1, 2, 4 × weight bits 3, 4, 6, 8 on the iCEBreaker:
twelve designs, each requantized, run on the 360 test samples, co-simulated on Verilator and
(with ``--build``) placed and routed. Every run starts from nothing: a new output folder and a
new simulator cache (``SPIKEFORGE_CACHE``), so no run reuses another's Verilator models or
points. The goal is a speedup of at least 1.7 on 2 workers. ``--quick`` explores 4 points.
The machine's load average before each run is reported: other work on the CPUs slows the
parallel run more than the serial one.

    python benchmarks/explore_scaling.py [--json] [--out FILE] [--build] [--quick]
                                         [--workers 1,2] [--engine ray|pool] [--netfile X.sfn]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import add_output_arguments, write_result

GOAL = 1.7


def scaling_network():
    """64 → 32 → 12 (every layer divisible by 1, 2 and 4 lanes), 8-bit seeded weights, rate
    coded over 16 steps, evaluated on digits (labels 0..9 of its 12 outputs)."""
    from spikeforge.model import Layer, LayerParams, Network, RateEncoding

    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(64, 32, theta=96), rng.integers(-64, 128, (32, 64)),
                   name="hidden")
    out = Layer(LayerParams(32, 12, theta=64), rng.integers(-64, 128, (12, 32)), name="out")
    return Network((hidden, out), RateEncoding(steps=16, levels=16), name="scaling-64-32-12",
                   metadata={"dataset": "digits"})


def one_run(netfile, workers, engine, build, lanes, bits, root):
    """Explore from scratch on ``workers``: (seconds, the machine's load average before, the
    result)."""
    from spikeforge.sim.explore import explore

    folder = Path(tempfile.mkdtemp(prefix=f"w{workers}-", dir=root))
    os.environ["SPIKEFORGE_CACHE"] = str(folder / "cache")  # cold simulator builds
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = explore(netfile, folder / "out", lanes=lanes, weight_bits=bits,
                     boards=["icebreaker"], seeds=1, samples=1, build=build, workers=workers,
                     engine=engine, log=lambda message: print(message, file=sys.stderr))
    return time.perf_counter() - start, load, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_output_arguments(parser)
    parser.add_argument("--build", action="store_true", help="build every bitstream too")
    parser.add_argument("--quick", action="store_true", help="4 points instead of 12")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (1,2)")
    parser.add_argument("--engine", choices=["ray", "pool"], default="ray")
    parser.add_argument("--netfile", help="explore this network file instead")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    if not counts or min(counts) < 1 or counts[0] != 1:
        parser.error(f"--workers must start with 1 (the reference), not {args.workers!r}")
    lanes, bits = ([1, 2], [4, 8]) if args.quick else ([1, 2, 4], [3, 4, 6, 8])
    saved = os.environ.get("SPIKEFORGE_CACHE")
    runs = []
    with tempfile.TemporaryDirectory(prefix="spikeforge-explore-scaling-") as tmp:
        root = Path(tmp)
        netfile = args.netfile
        if netfile is None:
            from spikeforge.model import save_network

            netfile = root / "scaling.sfn"
            save_network(scaling_network(), netfile)
        try:
            for workers in counts:
                print(f"exploring on {workers} {args.engine} worker(s) ...", file=sys.stderr,
                      flush=True)
                seconds, load, result = one_run(netfile, workers, args.engine, args.build,
                                                lanes, bits, root)
                runs.append({"workers": workers, "engine": result["engine"],
                             "points": len(result["points"]), "failed": result["failed"],
                             "seconds": round(seconds, 1), "load_before": round(load, 2),
                             "figures": [
                                 {k: p[k] for k in ("lanes", "weight_bits", "status",
                                                    "accuracy", "cycles_per_inference")}
                                 for p in result["points"]]})
        finally:
            if saved is None:
                os.environ.pop("SPIKEFORGE_CACHE", None)
            else:
                os.environ["SPIKEFORGE_CACHE"] = saved
    base = runs[0]["seconds"]
    for run in runs:
        run["speedup"] = round(base / run["seconds"], 2)
    same = all(run["figures"] == runs[0]["figures"] for run in runs)
    summary = [{"metric": f"explore speedup, {run['workers']} {args.engine} workers",
                "value": run["speedup"], "unit": "×",
                "versus": f"1 worker ({base:.0f} s; {run['seconds']:.0f} s here)",
                "versus_value": 1.0, "ratio": run["speedup"], "limit": GOAL,
                "meets": run["speedup"] >= GOAL} for run in runs[1:]]
    summary.append({"metric": "same figures on every worker count", "value": int(same),
                    "unit": "bool", "versus": None, "versus_value": None, "ratio": None,
                    "limit": 1, "meets": same})
    result = {"network": str(args.netfile or "scaling-64-32-12"), "build": args.build,
              "lanes": lanes, "weight_bits": bits, "runs": runs, "same_figures": same,
              "goal": GOAL, "summary": summary}
    write_result(result, args.out, args.json, sort_keys=True)
    if not args.json:
        print(f"{'workers':>7} {'engine':>6} {'points':>6} {'failed':>6} {'seconds':>8} "
              f"{'speedup':>7} {'load before':>11}")
        for run in runs:
            print(f"{run['workers']:>7} {run['engine']:>6} {run['points']:>6} "
                  f"{run['failed']:>6} {run['seconds']:>8.1f} {run['speedup']:>7.2f} "
                  f"{run['load_before']:>11.2f}")
        print(f"goal: >= {GOAL}x on 2 workers; same figures on every run: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
