"""A bounded fuzzer of ``spikeforge`` argument combinations (issue 17, item 8).

Subcommands and their options come from the real parser (each command module's
``add_arguments``); values are drawn from one pool of hostile text: numbers out of range,
negative, zero, huge, not numbers, empty, missing files, directories, files of the wrong kind,
paths under a file. Each combination runs in-process through :func:`spikeforge.cli.main.main` in
a fresh working folder, and must end with status 0 or 2, never an exception or a traceback, and
leave the folder exactly as it was unless it succeeded (then only its ``--out`` is new).

Commands that would start long work once their arguments are valid (training, co-simulation,
builds, benchmarks, the demo, learning, a served board, a conversion) are fuzzed only with at
least one value their parser refuses, so they must stop at parse time with status 2. Commands
that run quickly (``info``, ``compile``, ``import``, ``eval``, ``deploy``, ``run``) are run to
the end whatever the values. ``make test`` runs a few dozen examples; ``-m slow`` many more.
"""

import argparse
import contextlib
import importlib
import io
import os
import tempfile
from pathlib import Path

import nir
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.cli.main import COMMANDS, main
from spikeforge.model import Layer, LayerParams, Network, RateEncoding, save_network

#: commands whose valid arguments start work too long for a test: fuzzed with refused values only
LONG = frozenset({"train", "convert", "cosim", "build", "explore", "learn", "board", "bench",
                  "demo"})

#: hostile text for any option value (paths are relative to the fresh working folder)
VALUES = (
    "0", "-1", "1", "2", "3", "4", "8", "-7", "65536", "99999999999999999999999", "1e3",
    "0.5", "-0.5", "1e308", "1e999", "nan", "inf", "-inf", "0x10", " 3", "x", "", "-",
    "net.sfn", "missing.sfn", "adir", "notes.txt", "empty.sfn", "spikes.npy", "adir/new",
    "notes.txt/sub", "fresh", "fresh/deeper/out", "fresh.sfn", "model.nir", "digits", "randman",
    "generic", "icebreaker", "eprop", "euler", "exact", "snntorch", "zero",
)

#: what a positional file argument is given
FILES = ("net.sfn", "model.nir", "missing.sfn", "adir", "notes.txt", "empty.sfn", "spikes.npy",
         "wrong.npy", "notes.txt/sub")


def _parser_actions(name):
    """The argparse actions of subcommand ``name``, built by its own ``add_arguments``."""
    module = importlib.import_module(f"spikeforge.cli.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"spikeforge {name}")
    module.add_arguments(parser)
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


ACTIONS = {name: _parser_actions(name) for name in COMMANDS}


def _refused(action, value):
    """Whether the parser refuses ``value`` for ``action`` (its type or its choices)."""
    if len(value) > 1 and value.startswith("-") and not _negative_number(value):
        return True  # read as an option: "expected one argument"
    if action.type is not None:
        try:
            converted = action.type(value)
        except (argparse.ArgumentTypeError, TypeError, ValueError):
            return True
    else:
        converted = value
    return action.choices is not None and converted not in action.choices


def _checks_values(action):
    """An option whose refusals do not depend on the working folder (no path checks)."""
    path_types = {"existing_file", "new_file", "new_folder", "output_folder", "spikes_file"}
    return (bool(action.option_strings) and action.nargs != 0
            and getattr(action.type, "__name__", "") not in path_types
            and any(_refused(action, v) for v in VALUES))


def _negative_number(text):
    import re

    return re.fullmatch(r"-\d+|-\d*\.\d+", text) is not None


def _layout(root):
    """Every path under ``root`` with its size: what a failed command must leave unchanged."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0)
            for p in root.rglob("*")}


def _populate(root):
    rng = np.random.default_rng(0)
    layer = Layer(LayerParams(4, 3, theta=40), rng.integers(-60, 60, (3, 4)), name="out")
    save_network(Network((layer,), RateEncoding(4, 8), name="fuzz"), root / "net.sfn")
    (root / "adir").mkdir()
    (root / "notes.txt").write_text("not a network\n")
    (root / "empty.sfn").write_bytes(b"")
    np.save(root / "spikes.npy", (rng.random((2, 4, 4)) < 0.5).astype(np.uint8))
    np.save(root / "wrong.npy", rng.random(3))  # neither samples nor spikes of 4 inputs
    np.save(root / "twos.npy", np.full((2, 4, 4), 2, np.uint8))  # spike values other than 0, 1
    nodes = {
        "input": nir.Input({"input": np.array([4])}),
        "fc": nir.Linear(weight=rng.integers(-3, 4, (3, 4)).astype(float)),
        "lif": nir.LIF(tau=np.full(3, 2e-4), r=np.full(3, 2.0), v_leak=np.zeros(3),
                       v_threshold=np.full(3, 3.5)),
        "output": nir.Output({"output": np.array([3])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    nir.write(str(root / "model.nir"), nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))


#: plausible values by validator, so that many combinations get past the parser
PLAUSIBLE = {
    "integer": ("1", "2", "4", "8", "16"), "int": ("0", "1", "3", "-2"),
    "number": ("0.5", "1", "2", "0.01"), "float": ("0.5", "2", "10"),
    "existing_file": ("net.sfn", "model.nir"),
    "spikes_file": ("spikes.npy", "wrong.npy", "twos.npy", "digits"),
    "new_file": ("fresh.sfn", "fresh/deeper/out.sfn"), "new_folder": ("fresh", "fresh/deeper/out"),
    "output_folder": ("fresh", "adir"),
}

#: device ports (no device answers: a regular file, a directory, a refused socket, bad URLs)
PORTS = ("notes.txt", "adir", "socket://127.0.0.1:1", "socket://x", "rfc2217://x:1",
         "hwgrep://none-such")


def _value(draw, action):
    """A value for ``action``: often a plausible one, else anything from the hostile pool."""
    kind = getattr(action.type, "__name__", "")
    plausible = tuple(action.choices or ()) or PLAUSIBLE.get(kind, ())
    if action.dest == "port" and action.type is None:
        plausible = PORTS
    if plausible and kind not in PLAUSIBLE:  # choices: keep those the type accepts
        plausible = tuple(str(v) for v in plausible)
    if plausible and draw(st.integers(0, 3)) > 0:
        return draw(st.sampled_from(plausible))
    return draw(st.sampled_from(VALUES))


@st.composite
def invocations(draw):
    """``(command, argv)``: a subcommand, its positionals and a random set of its options."""
    name = draw(st.sampled_from(sorted(COMMANDS)))
    actions = ACTIONS[name]
    argv = [name]
    for action in actions:
        if not action.option_strings:
            if draw(st.integers(0, 9)) > 0:  # positional: usually given, sometimes missing
                argv.append(draw(st.sampled_from(("net.sfn", "model.nir") * 3 + FILES)))
            continue
        if not (action.required or draw(st.integers(0, 3)) == 0):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
            continue
        count = draw(st.integers(1, 3)) if action.nargs in ("+", "*") else 1
        argv += [flag, *(_value(draw, action) for _ in range(count))]
    if name in LONG:  # one refused value, so the command stops at parse time
        action = draw(st.sampled_from([a for a in actions if _checks_values(a)]))
        value = draw(st.sampled_from([v for v in VALUES if _refused(action, v)]))
        argv += [action.option_strings[0], value]
    return name, argv


def _check(name, argv):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _populate(root)
        before = _layout(root)
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(root)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = main(argv)
        finally:
            os.chdir(cwd)
        stderr = err.getvalue()
        assert "Traceback" not in stderr, (argv, stderr)
        after = _layout(root)
        if name in LONG:
            assert status == 2, (argv, status, stderr)
        else:
            assert status in (0, 2), (argv, status, stderr)
        if status != 0:
            assert stderr.strip(), (argv, "refused without a message")
            assert after == before, (argv, sorted(set(after) ^ set(before)))
        else:
            new = set(after) - set(before)
            outs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--out"]
            assert all(any(p == o or p.startswith(f"{o}/") or o.startswith(f"{p}/")
                           for o in outs) for p in new), (argv, new)
            changed = {p for p in before if after.get(p) != before[p]}
            assert changed <= set(outs), (argv, changed)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(invocations())
def test_random_arguments_end_cleanly(invocation):
    _check(*invocation)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invocations())
def test_many_random_arguments_end_cleanly(invocation):
    _check(*invocation)


def test_the_fuzzer_reaches_every_command():
    """Every subcommand of the real parser is drawn from, and each command started long work
    can be refused at parse time by some value of the pool."""
    assert set(ACTIONS) == set(COMMANDS)
    for name in LONG:
        assert any(_checks_values(a) for a in ACTIONS[name]), name
