"""``spikeforge explore NETFILE --out DIR``: lanes × weight bits × boards × seeds, each point
requantized, co-simulated, estimated and built, on Ray or a process pool (docs/explore.md).

Writes ``DIR/explore.json`` (every point's figures), ``DIR/explore.md`` (the table),
``DIR/pareto.png`` and ``DIR/points/`` (the cache a rerun resumes from). The exit status is 0
unless every point failed.
"""

import argparse
import sys

from .common import (
    CommandError,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
    log,
    output_folder,
)
from .progress import Progress

__all__ = ["add_arguments", "run"]


def comma_list(item, what):
    """A comma-separated list of ``item`` values (an argparse type), duplicates dropped."""

    def parse(text):
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of {what}, "
                                             f"not {text!r}")
        values = [item(part) for part in parts]
        return list(dict.fromkeys(values))

    parse.__name__ = "comma_list"
    return parse


def board_name(text):
    from spikeforge.boards import BOARDS

    if text not in BOARDS:
        raise argparse.ArgumentTypeError(f"unknown board {text!r}: choose from "
                                         f"{', '.join(sorted(BOARDS))}")
    return text


def add_arguments(parser):
    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument("--out", required=True, type=output_folder,
                        help="folder for explore.json, explore.md, pareto.png and the cache")
    parser.add_argument("--lanes", type=comma_list(integer(1, 256), "lane counts"), default=[1],
                        help="lane counts, e.g. 1,2,4 (default 1)")
    parser.add_argument("--weight-bits", type=comma_list(integer(2, 16), "weight widths"),
                        default=None,
                        help="weight widths, e.g. 4,8 (default: the network's own)")
    parser.add_argument("--boards", type=comma_list(board_name, "boards"),
                        default=["icebreaker"],
                        help="boards, e.g. icebreaker,ulx3s-85f (default icebreaker)")
    parser.add_argument("--seeds", type=integer(1, 100), default=1,
                        help="nextpnr placement seeds per design, 1..N (default 1)")
    parser.add_argument("--samples", type=integer(1), default=1,
                        help="test samples co-simulated per point (default 1)")
    parser.add_argument("--no-build", action="store_true",
                        help="requantize, co-simulate and estimate only; no bitstreams")
    parser.add_argument("--workers", type=integer(1, 4096), default=None,
                        help="parallel workers (default: the CPUs here; with --address, the "
                        "most points in flight on the cluster)")
    parser.add_argument("--address", default=None, metavar="HOST:PORT",
                        help="join this Ray cluster (`ray start --head` prints it) instead of "
                        "starting a local Ray instance")
    parser.add_argument("--engine", choices=["ray", "pool"], default=None,
                        help="Ray tasks or a local process pool (default: ray when installed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from pathlib import Path

    from spikeforge.sim.engine import EngineError, check_address
    from spikeforge.sim.explore import explore

    if args.address is not None:
        if args.engine == "pool":
            raise CommandError(f"--address {args.address} joins a Ray cluster; it does not go "
                               "with --engine pool (leave out one of them)")
        try:
            check_address(args.address)  # before any work: an address nobody answers at
        except EngineError as exc:
            raise CommandError(str(exc)) from None
    network = load_network_arg(args.netfile)  # a bad file is refused before anything runs
    build = not args.no_build
    if not build and args.seeds > 1:
        log(args, "--no-build: --seeds does not apply (the seed is nextpnr's placement seed)")
    size = (len(args.lanes) * len(args.weight_bits or [0]) * len(args.boards)
            * (args.seeds if build else 1))
    log(args, f"exploring {network.name}: {size} point(s) into {args.out}")
    with Progress(args, size, "explore", "point") as bar:
        def say(message):
            if bar.enabled:
                bar.bar.write(message, file=sys.stderr)
            else:
                log(args, message)

        try:
            result = explore(args.netfile, args.out, lanes=args.lanes,
                             weight_bits=args.weight_bits, boards=args.boards, seeds=args.seeds,
                             samples=args.samples, build=build, workers=args.workers,
                             address=args.address, engine=args.engine, progress=bar, log=say)
        except EngineError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write {args.out}: {exc}") from None
    from spikeforge.viz.pareto import pareto_plot

    out = Path(args.out)
    plot = pareto_plot(result, out / "pareto.png")
    files = {"json": str(out / "explore.json"), "table": str(out / "explore.md"),
             "plot": str(plot), "points": str(out / "points")}
    points = result["points"]
    if args.json:
        emit_json({"points": points, "engine": result["engine"], "workers": result["workers"],
                   "cached": result["cached"], "computed": result["computed"],
                   "failed": result["failed"], "seconds": result["seconds"], "files": files})
    else:
        print((out / "explore.md").read_text(), end="")
        print(f"\n{len(points)} point(s), {result['cached']} cached, {result['failed']} failed; "
              f"wrote {files['json']}, {files['table']}, {files['plot']}")
    return 1 if points and result["failed"] == len(points) else 0
