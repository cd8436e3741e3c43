"""``spikeforge import``: a NIR graph (snnTorch, Norse, ...) to a network file."""

from .common import CommandError, emit_json, log

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("model", help="NIR file (.nir, HDF5)")
    parser.add_argument("--out", required=True, help="network file to write (.sfn)")
    parser.add_argument("--dt", type=float, default=1e-4,
                        help="time step in seconds (default 1e-4, snnTorch's export convention)")
    parser.add_argument("--method", choices=["euler", "exact"], default="euler",
                        help="discretization of the decays (default euler)")
    parser.add_argument("--weight-bits", type=int, default=None,
                        help="quantize weights to this many bits (default: keep integer weights "
                             "exactly, refuse others)")
    parser.add_argument("--reset", choices=["zero", "subtract"], default="zero",
                        help="zero: NIR's reset to v_reset; subtract: snnTorch's default")
    parser.add_argument("--quirks", choices=["norse"], default=None,
                        help="undo a known exporter deviation from the NIR spec (docs/nir.md)")
    parser.add_argument("--state-bits", type=int, default=None,
                        help="width of I and U (default: chosen per layer, at least 16)")
    parser.add_argument("--steps", type=int, default=32, help="time steps per sample")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
    from spikeforge.model import save_network

    try:
        network, report = import_nir(args.model, dt=args.dt, method=args.method,
                                     weight_bits=args.weight_bits, reset=args.reset,
                                     steps=args.steps, quirks=args.quirks,
                                     state_bits=args.state_bits)
    except (NIRImportError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    save_network(network, args.out)
    report["out"] = str(args.out)
    if args.json:
        emit_json(report)
        return 0
    log(args, f"{args.model} → {args.out} (dt {args.dt:g} s, {args.method})")
    for layer in report["layers"]:
        errors = ", ".join(f"τ_{k} {d['tau']:.3g} s → k={d['shift']} "
                           f"({d['tau_relative_error']:+.1%})" for k, d in layer["decays"].items())
        print(f"  {'/'.join(layer['nodes'])}: {layer['kind']} θ={layer['theta']} "
              f"W {layer['weight_format']} (rounding ≤ {layer['weight_rounding_max_error']:.3g})"
              f" {errors or 'no decay'}")
    return 0
