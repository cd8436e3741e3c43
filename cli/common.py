"""Helpers every subcommand shares: JSON output, loading a network file with a clean error, and
argument validators checked at parse time.

A validator is an argparse ``type=``: it converts the text or raises
``argparse.ArgumentTypeError``, which argparse prints as ``argument --epochs: must be an integer
>= 1, not 0`` with the usage line and exit status 2, before anything is loaded or written.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

__all__ = [
    "CommandError",
    "add_data_arguments",
    "add_split_arguments",
    "data_file",
    "dataset_arg",
    "emit_json",
    "existing_file",
    "integer",
    "load_network_arg",
    "log",
    "new_file",
    "new_folder",
    "number",
    "output_folder",
    "spikes_file",
]


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def emit_json(obj) -> None:
    """Print ``obj`` as the one JSON object on stdout."""
    from ..compiler.emit import json_value

    json.dump(obj, sys.stdout, indent=1, sort_keys=True, default=json_value, ensure_ascii=False)
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


def integer(lo=None, hi=None):
    """An ``int`` in ``lo..hi`` (either bound may be None)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be an integer {_range(lo, hi)}, not {value}")
        return value

    parse.__name__ = "integer"
    return parse


def number(lo=None, hi=None, *, above=None):
    """A finite ``float`` in ``lo..hi``, or ``> above`` (a strict lower bound)."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
        bad = (not math.isfinite(value) or (above is not None and value <= above)
               or (lo is not None and value < lo) or (hi is not None and value > hi))
        if bad:
            limits = f"> {above:g}" if above is not None else _range(lo, hi)
            if above is not None and hi is not None:
                limits += f" and <= {hi:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {limits}, not {text}")
        return value

    parse.__name__ = "number"
    return parse


def _range(lo, hi):
    if lo is not None and hi is not None:
        return f"in {lo:g}..{hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def existing_file(what="file"):
    """A path that is an existing, readable regular file (not a directory)."""

    def parse(text):
        path = Path(text)
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a directory, not a {what}")
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"{text}: no such {what}")
        if not os.access(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"{text}: the {what} is not readable")
        return text

    parse.__name__ = "existing_file"
    return parse


def data_file(text):
    """An existing ``.npz`` spike dataset (its contents are checked when it is loaded)."""
    existing_file("spike dataset file (.npz)")(text)
    if not text.endswith(".npz"):
        raise argparse.ArgumentTypeError(f"{text}: expected a .npz spike dataset (see "
                                         "docs/data.md: x_train, y_train, x_test, y_test, ...)")
    return text


def add_data_arguments(parser, *, split_options=False):
    """``--data FILE.npz`` (users' own spike dataset); with ``split_options`` also how to split
    and bin it (:func:`add_split_arguments`), which the network file then remembers."""
    parser.add_argument("--data", type=data_file, default=None, metavar="FILE.npz",
                        help="your own spike dataset (docs/data.md)")
    if split_options:
        add_split_arguments(parser)


def add_split_arguments(parser):
    """``--test-fraction`` and ``--time-bin``: how a ``.npz`` of x, y or event lists is split
    and binned."""
    parser.add_argument("--test-fraction", type=number(above=0), default=0.2,
                        help="x, y or event lists: share of test samples (default 0.2)")
    parser.add_argument("--time-bin", type=number(above=0), default=None,
                        help="event lists: time span of one step, in the unit of events_time")


def dataset_arg(network, data):
    """The dataset to run ``network`` on (``--data``, else what its metadata names), or None;
    a :class:`CommandError` saying what does not fit."""
    from spikeforge.datasets import SpikeFileError, dataset_of

    try:
        return dataset_of(network, data)
    except SpikeFileError as exc:
        raise CommandError(f"argument --data: {exc}") from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _creatable(text, path):
    """The nearest existing ancestor of ``path`` is a writable directory."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create {text}: {parent} is not writable")


def new_file(text):
    """A file to write (replaced if it exists): not a directory, and creatable."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    _creatable(text, path)
    return text


def new_folder(text):
    """A folder to create, which must not exist yet."""
    path = Path(text)
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text} exists; choose a new folder or remove it")
    _creatable(text, path)
    return text


def output_folder(text):
    """A folder to write into: an existing writable directory, or one that can be created."""
    path = Path(text)
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text} is not writable")
        return text
    _creatable(text, path)
    return text


def spikes_file(text):
    """``digits``, an existing ``.npz`` spike dataset or ``.npy`` file (its contents are checked
    against the network later)."""
    if text == "digits":
        return text
    existing_file("file of samples or spikes (.npy, .npz)")(text)
    if not text.endswith((".npy", ".npz")):
        raise argparse.ArgumentTypeError(f"{text}: expected 'digits', a .npz spike dataset "
                                         "(docs/data.md) or a .npy file (np.save of samples "
                                         "(batch, n_in) or spikes (batch, T, n_in))")
    return text


