"""``spikeforge build NETFILE --board BOARD --out DIR``: a bitstream, and what nextpnr reports."""

from .common import (
    CommandError,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
    log,
    output_folder,
)
from .learn import add_learning_options, learning_config
from .progress import Progress

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    from spikeforge.boards import BOARDS

    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument("--board", required=True, choices=sorted(BOARDS))
    parser.add_argument("--out", required=True, type=output_folder,
                        help="build folder (bitstream, logs, report)")
    parser.add_argument("--lanes", type=integer(1), default=1, help="synaptic lanes per layer")
    parser.add_argument("--baud", type=integer(1), default=115200, help="UART baud rate")
    learning = parser.add_argument_group(
        "on-chip learning", "with --rule the bitstream gets learning units and the LEARN command "
        "(`spikeforge learn --port` then needs the same options)")
    add_learning_options(learning, required=False)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from spikeforge.boards import board_platform
    from spikeforge.boards.build import STAGES, build_bitstream
    from spikeforge.toolchain import ToolMissing

    network = load_network_arg(args.netfile)
    learning = None if args.rule is None else learning_config(network, args)
    platform = board_platform(args.board)
    _check_fit(network, args, learning)
    what = "" if learning is None else f" with {args.rule} learning units"
    log(args, f"building {network.name}{what} for {args.board} ({platform.device}) in "
        f"{args.out} ...")
    try:
        with Progress(args, len(STAGES), f"build {args.board}", "stage") as bar:
            report = build_bitstream(network, platform, args.out, lanes=args.lanes,
                                     baud=args.baud, learning=learning, progress=bar)
    except (ToolMissing, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    if args.json:
        emit_json(report)
        return 0
    used = ", ".join(f"{name} {u['used']}/{u['total']}" for name, u in
                     sorted(report["utilization"].items()) if u["used"])
    print(f"{report['bitstream']} ({report['bitstream_bytes']} bytes) for {report['board']}: "
          f"Fmax {report['fmax_mhz']:.1f} MHz (clock {report['clock_mhz']:g} MHz), "
          f"{report['dsp']} DSP; {used}")
    print(f"design hash {report['design_hash']}, UART {report['baud']} baud")
    if not report["weights_at_boot"]:
        held = ", ".join(f"{w['layer']} lane {w['lane']}" for w in report["spram_weights"])
        print(f"weights of {held} are in SPRAM, which a bitstream cannot initialize: the board "
              "starts with no network; run `spikeforge deploy` before `spikeforge run`")
    return 0


def _check_fit(network, args, learning):
    """Refuse, before anything is synthesized or written, a network whose memories or logic
    the compiler's estimate says the board cannot hold (the same check as ``compile``)."""
    from spikeforge.compiler.resources import FitError, check_fit
    from spikeforge.compiler.targets import get_target

    try:
        check_fit(network, args.lanes, get_target(args.board), learning)
    except FitError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:  # lanes that do not divide a layer, a residual join
        raise CommandError(str(exc)) from None
