"""``spikeforge compile``: a network file to a design folder (Verilog, memory images, report).

The source goes through its registered front end (a ``.sfn`` network file; a ``.nir`` graph is
imported with the default discretization, ``spikeforge import`` gives every option), then the
passes (fuse, quantize, ranges, allocate, schedule) and the emitter. Nothing is written unless
all of them succeed.
"""

from .common import CommandError, emit_json, existing_file, integer, log, new_folder, number

__all__ = ["MAX_SAMPLES", "add_arguments", "run"]

#: most ``--samples``: the prediction is already stable, and more only costs time and memory
MAX_SAMPLES = 4096


def add_arguments(parser):
    from spikeforge.compiler.targets import TARGETS

    parser.add_argument("netfile", type=existing_file("network file"),
                        help="network file (.sfn), or any source a front end reads")
    parser.add_argument("--target", choices=sorted(TARGETS), default="generic")
    parser.add_argument("--lanes", type=integer(1), default=1,
                        help="parallel lanes P (divides each n)")
    parser.add_argument("--out", required=True, type=new_folder,
                        help="design folder to create (must not exist)")
    parser.add_argument("--samples", type=integer(1, MAX_SAMPLES), default=16,
                        help="test samples whose cycles per inference are predicted "
                             f"(1..{MAX_SAMPLES})")
    parser.add_argument("--decay-tolerance", type=number(above=0), default=None,
                        help="NIR sources: largest relative error of each fitted decay d = dt/τ "
                             "(default: 1 %% where --max-decay-terms reach it, else the closest)")
    parser.add_argument("--max-decay-terms", type=integer(1, 4), default=4,
                        help="NIR sources: most shift terms per decay (default 4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _network(path, args):
    """The lowered network of ``path``, and the front end's report (a NIR graph's decays)."""
    from spikeforge.compiler.frontends import frontend_for, load
    from spikeforge.compiler.ir import graph_to_network
    from spikeforge.compiler.passes import LOWERING, Options, run_passes

    options = {}
    if frontend_for(path).name == "nir":
        options = {"decay_tolerance": args.decay_tolerance,
                   "max_decay_terms": args.max_decay_terms}
    graph, front = load(path, **options)
    return graph_to_network(run_passes(graph, Options(), LOWERING)[0]), front


def run(args):
    from pathlib import Path

    from spikeforge.compiler import Options, compile_source
    from spikeforge.model import NetworkFileError

    from .cosim import stimulus

    if args.samples < 1:
        raise CommandError(f"--samples must be at least 1, not {args.samples}")
    if Path(args.out).exists():
        raise CommandError(f"{args.out} exists; choose a new --out folder or remove it")
    try:
        options = Options(target=args.target, lanes=args.lanes)
        network, front = _network(args.netfile, args)
        x, source = stimulus(network, args.samples, None, 0, 0.2)
        log(args, f"compile for {args.target}, {args.lanes} lane(s); latency from {source}")
        options = Options(target=args.target, lanes=args.lanes, inputs=x)
        _, report = compile_source(network, options, out=args.out)
    except (NetworkFileError, FileExistsError, ValueError) as exc:  # FitError is a ValueError
        raise CommandError(str(exc)) from None
    except OSError as exc:  # a full disk, a folder that became unwritable: nothing was left
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    report.update(stimulus=source, netfile=str(args.netfile), source_frontend=front)
    if args.json:
        emit_json(report)
        return 0
    alloc, timing = report["allocation"], report["schedule"]
    available = alloc["bram_blocks_available"]
    luts = alloc["luts_available"]
    print(f"{args.out}: {len(report['files'])} files for {args.target} ({args.lanes} lanes)")
    print(f"  block RAM: {alloc['bram_blocks']} blocks"
          f"{f' of {available}' if available else ''} ({alloc['bram_bits']} bits); "
          f"LUT4 ≈ {alloc['luts_estimate']}{f' of {luts}' if luts else ''}; DSP: 0")
    print(f"  cycles per inference ({timing['samples']} samples × {timing['steps']} steps): "
          f"mean {timing['cycles_per_inference_mean']:.0f}, max "
          f"{timing['cycles_per_inference_max']} (bounds {timing['cycles_per_inference_min']}"
          f"..{timing['cycles_per_inference_max_bound']})")
    layers = front.get("layers")  # a NIR graph: the decays it was given (a .sfn: a count)
    for layer in layers if isinstance(layers, list) else []:
        for decay in layer["decays"].values():
            print(f"  {layer['nodes'][-1]}: {decay['field']} {decay['tau_steps']:.4g} steps → "
                  f"d = {decay['terms']}, τ {decay['realized_tau_steps']:.4g} steps "
                  f"({decay['tau_relative_error']:+.2%})")
    ranges = report["ranges"]
    print(f"  ranges: accumulators cannot overflow; saturation "
          f"{'impossible (proved)' if ranges['saturation_free'] else 'possible (see report)'}")
    return 0
