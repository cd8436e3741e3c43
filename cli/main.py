"""``spikeforge SUBCOMMAND``: one entry point, one module per subcommand.

Each subcommand lives in ``spikeforge/cli/<name>.py`` (the ``cli/`` folder) and defines
``add_arguments(parser)`` and ``run(args) -> int``. Commands that report take ``--json`` (one
JSON object on stdout, nothing else there); commands that write take ``--out PATH``.
"""

import argparse
import importlib
import sys

from spikeforge.cli.common import CommandError

__all__ = ["COMMANDS", "main"]

#: subcommand → (module, one-line help)
COMMANDS = {
    "train": ("train", "train a fixed-point SNN with surrogate gradients; writes a network file"),
    "eval": ("evaluate", "float and integer accuracy, torch-vs-reference agreement"),
    "info": ("info", "print a network file"),
    "import": ("import_nir", "import a NIR graph (snnTorch, Norse, ...) into a network file"),
    "convert": ("convert", "convert a ReLU ANN to an IF SNN with Spike-Norm"),
    "compile": ("compile", "lower a network file to Verilog, memory images and a report"),
    "cosim": ("cosim", "co-simulate the hardware against the reference model"),
    "build": ("build", "build a bitstream for a board"),
    "deploy": ("deploy", "load a network's weights into a running device"),
    "run": ("run_device", "run inference on a device"),
    "learn": ("learn", "on-chip learning (e-prop, SuperSpike) against the reference"),
    "bench": ("bench", "every benchmark in one table"),
    "demo": ("demo", "the end-to-end demo on built-in data"),
}


def _load(name):
    module_name, _ = COMMANDS[name]
    try:
        return importlib.import_module(f"spikeforge.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"spikeforge.cli.{module_name}":
            return None
        raise


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
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
    args, extra = parser.parse_known_args(argv)
    module = modules.get(args.command)
    if module is None:
        print(f"spikeforge {args.command}: this command is not built yet", file=sys.stderr)
        return 2
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(module.run(args) or 0)
    except CommandError as exc:
        print(f"spikeforge {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
