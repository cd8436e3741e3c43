"""``spikeforge import``: a NIR graph (snnTorch, Norse, ...) to a network file.

Every approximation of the import (a decay off its wanted τ, rounded weights, a rounded reset
amount, a state that may saturate, an exporter quirk that is not reproduced exactly, the floor of
the decays) is printed as a ``warning:`` line on stderr, with or without ``--json``; the report's
``"exact"`` is true only when there is none (docs/nir.md, "What is exact").
"""

import sys

from .common import CommandError, emit_json, existing_file, integer, log, new_file, number

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("model", type=existing_file("NIR file"), help="NIR file (.nir, HDF5)")
    parser.add_argument("--out", required=True, type=new_file, help="network file to write (.sfn)")
    parser.add_argument("--dt", type=number(above=0), default=None,
                        help="time step in seconds (default 1e-4, snnTorch's export convention; "
                             "1e-3 with --quirks norse, Norse's)")
    parser.add_argument("--method", choices=["euler", "exact"], default="euler",
                        help="discretization of the decays (default euler)")
    parser.add_argument("--decay-tolerance", type=number(above=0), default=None,
                        help="largest relative error of each decay d = dt/τ, e.g. 0.01 (1 %%); "
                             "default: 1 %% where --max-decay-terms reach it, else the closest "
                             "decay they allow, with a warning")
    parser.add_argument("--max-decay-terms", type=integer(1, 4), default=4,
                        help="most shift terms per decay, 1..4 (default 4; 1 is the version 1 "
                             "contract)")
    parser.add_argument("--weight-bits", type=integer(2, 32), default=None,
                        help="quantize weights to this many bits (default: keep integer weights "
                             "exactly, refuse others)")
    parser.add_argument("--reset", choices=["zero", "subtract", "subtract-same-step"],
                        default="zero",
                        help="zero: NIR's reset to v_reset; subtract: snnTorch's default; "
                             "subtract-same-step: snnTorch reset_delay=False (docs/nir.md)")
    parser.add_argument("--quirks", choices=["snntorch", "norse"], default=None,
                        help="reproduce what this exporter's own simulation does where it "
                             "differs from the NIR spec (docs/nir.md)")
    parser.add_argument("--state-bits", type=integer(4, 32), default=None,
                        help="width of I and U (default: chosen per layer, at least 16)")
    parser.add_argument("--fraction-bits", type=integer(0, 31), default=None,
                        help="fractional bits f of the state (default: chosen from the state "
                             "bounds)")
    parser.add_argument("--steps", type=integer(1), default=32, help="time steps per sample")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _decay_text(decay):
    return (f"{decay['field']} {decay['tau_steps']:.4g} steps → d = {decay['terms']} "
            f"({decay['n_terms']} term{'s' if decay['n_terms'] > 1 else ''}), τ "
            f"{decay['realized_tau_steps']:.4g} steps ({decay['tau_relative_error']:+.2%})")


def warn(report) -> None:
    """Every approximation of an import report as a ``warning:`` line on stderr."""
    for line in report["warnings"] + report["floor_warnings"]:
        print(f"warning: {line}", file=sys.stderr)


def run(args):
    from spikeforge.compiler.frontends.nir import NIRImportError, import_nir
    from spikeforge.model import save_network

    try:
        network, report = import_nir(args.model, dt=args.dt, method=args.method,
                                     weight_bits=args.weight_bits, reset=args.reset,
                                     steps=args.steps, quirks=args.quirks,
                                     state_bits=args.state_bits,
                                     decay_tolerance=args.decay_tolerance,
                                     max_decay_terms=args.max_decay_terms,
                                     fraction_bits=args.fraction_bits)
    except (NIRImportError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    save_network(network, args.out)
    report["out"] = str(args.out)
    warn(report)
    if args.json:
        emit_json(report)
        return 0
    log(args, f"{args.model} → {args.out} (dt {report['dt']:g} s, {args.method})")
    for layer in report["layers"]:
        decays = "; ".join(_decay_text(d) for d in layer["decays"].values())
        print(f"  {'/'.join(layer['nodes'])}: {layer['kind']} θ={layer['theta']} "
              f"reset {layer['reset']} f={layer['input_shift']} W {layer['weight_format']} "
              f"U {layer['state_format']} (rounding ≤ {layer['weight_rounding_max_error']:.3g})"
              f" {decays or 'no decay'}")
    verdict = ("exact: every spike equals the exporter's own simulation" if report["exact"] else
               "parameters exact; the decays' floors can move a spike (see warnings)"
               if report["parameters_exact"] else
               f"approximate: {len(report['warnings'])} warning(s) above")
    print(f"  {verdict}")
    return 0
