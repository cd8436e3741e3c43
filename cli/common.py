"""Helpers every subcommand shares: JSON output, loading a network file with a clean error."""

import json
import sys

__all__ = ["CommandError", "emit_json", "load_network_arg", "log"]


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def emit_json(obj) -> None:
    """Print ``obj`` as the one JSON object on stdout."""
    json.dump(obj, sys.stdout, indent=1, sort_keys=True, default=_default, ensure_ascii=False)
    sys.stdout.write("\n")


def log(args, message) -> None:
    """Progress for humans: on stderr, so ``--json`` keeps stdout clean."""
    print(message, file=sys.stderr, flush=True)


def load_network_arg(path):
    from spikeforge.model import NetworkFileError, load_network

    try:
        return load_network(path)
    except NetworkFileError as exc:
        raise CommandError(str(exc)) from None


def _default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
