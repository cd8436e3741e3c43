"""``spikeforge compile``: a network file to a design folder (Verilog, memory images, report)."""

from .common import CommandError, emit_json, load_network_arg, log

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    from spikeforge.compiler.targets import TARGETS

    parser.add_argument("netfile", help="network file (.sfn)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="generic")
    parser.add_argument("--lanes", type=int, default=1, help="parallel lanes P (divides each n)")
    parser.add_argument("--out", required=True, help="design folder to create (must not exist)")
    parser.add_argument("--samples", type=int, default=16,
                        help="test samples whose cycles per inference are predicted")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from spikeforge.compiler.emit import compile_network
    from spikeforge.compiler.resources import FitError

    from .cosim import stimulus

    network = load_network_arg(args.netfile)
    if args.samples < 1:
        raise CommandError(f"--samples must be at least 1, not {args.samples}")
    x, source = stimulus(network, args.samples, None, 0, 0.2)
    log(args, f"compile for {args.target}, {args.lanes} lane(s); latency from {source}")
    try:
        report = compile_network(network, args.target, args.lanes, args.out, inputs=x,
                                 netfile=args.netfile)
    except (FitError, FileExistsError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    report["stimulus"] = source
    if args.json:
        emit_json(report)
        return 0
    alloc, timing = report["allocation"], report["schedule"]
    available = alloc["bram_blocks_available"]
    print(f"{args.out}: {len(report['files'])} files for {args.target} ({args.lanes} lanes)")
    print(f"  block RAM: {alloc['bram_blocks']} blocks"
          f"{f' of {available}' if available else ''} ({alloc['bram_bits']} bits), DSP: 0")
    print(f"  cycles per inference ({timing['samples']} samples × {timing['steps']} steps): "
          f"mean {timing['cycles_per_inference_mean']:.0f}, max "
          f"{timing['cycles_per_inference_max']}")
    return 0
