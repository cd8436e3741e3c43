"""``spikeforge SUBCOMMAND``: one entry point, one module per subcommand.

Each subcommand lives in ``spikeforge/cli/<name>.py`` (the ``cli/`` folder) and defines
``add_arguments(parser)`` and ``run(args) -> int``. Commands that report take ``--json`` (one
JSON object on stdout, nothing else there); commands that write take ``--out PATH``.

Arguments are validated as they are parsed (the validators of :mod:`.common`). Ctrl-C and
SIGTERM unwind the command like an exception, so every ``finally``/``except BaseException``
that removes a temporary file or staging folder runs, then print one line (exit status 130 or
143), never a traceback.
"""

import argparse
import importlib
import signal
import sys
import threading

from spikeforge.cli.common import CommandError

__all__ = ["COMMANDS", "Terminated", "main"]

#: subcommand → (module, one-line help)
COMMANDS = {
    "train": ("train", "train a fixed-point SNN with surrogate gradients; writes a network file"),
    "eval": ("evaluate", "float and integer accuracy, torch-vs-reference agreement"),
    "info": ("info", "print a network file"),
    "data": ("data", "check and describe your own spike dataset (.npz)"),
    "import": ("import_nir", "import a NIR graph (snnTorch, Norse, ...) into a network file"),
    "convert": ("convert", "convert a ReLU ANN to an IF SNN with Spike-Norm"),
    "compile": ("compile", "lower a network file to Verilog, memory images and a report"),
    "cosim": ("cosim", "co-simulate the hardware against the reference model"),
    "build": ("build", "build a bitstream for a board"),
    "explore": ("explore", "design-space exploration: lanes × weight bits × boards × seeds"),
    "deploy": ("deploy", "load a network's weights into a running device"),
    "run": ("run_device", "run inference on a device"),
    "learn": ("learn", "on-chip learning (e-prop, SuperSpike) against the reference"),
    "board": ("board", "serve a co-simulated board on a local socket (no hardware needed)"),
    "bench": ("bench", "every benchmark in one table"),
    "demo": ("demo", "the end-to-end demo on built-in data"),
}


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that clean-up code runs as for Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def _load(name):
    module_name, _ = COMMANDS[name]
    try:
        return importlib.import_module(f"spikeforge.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"spikeforge.cli.{module_name}":
            return None
        raise


def main(argv=None) -> int:
    """Run one subcommand; Ctrl-C and SIGTERM end it with one line and status 130 or 143."""
    argv = sys.argv[1:] if argv is None else argv
    name = next((a for a in argv if not a.startswith("-")), "")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(f"spikeforge {name}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"spikeforge {name}: terminated", file=sys.stderr)
        return 143
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _status(exit_request: SystemExit) -> int:
    code = exit_request.code
    return code if isinstance(code, int) else 0 if code is None else 2


def _main(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Bit-exact spiking neural networks from PyTorch and NIR to FPGA hardware.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Only the requested subcommand's module is imported (torch and amaranth are slow to load).
    wanted = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            modules[name] = _load(name)
            if modules[name] is not None:
                modules[name].add_arguments(sp)
    try:  # a refused argument prints usage and the reason; main returns its status (2)
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:
        return _status(exc)
    module = modules.get(args.command)
    if module is None:
        print(f"spikeforge {args.command}: this command is not built yet", file=sys.stderr)
        return 2
    if extra:
        try:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as exc:
            return _status(exc)
    try:
        return int(module.run(args) or 0)
    except CommandError as exc:
        print(f"spikeforge {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
