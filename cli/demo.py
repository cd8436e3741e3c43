"""``spikeforge demo``: the whole journey on built-in data, one line per stage with its time.

Train a digits network → evaluate it (float, int8, torch ↔ reference) → compile it → co-simulate
it on the Amaranth simulator, Verilator and Icarus against the reference → build the iCEBreaker
bitstream, and write a report directory (``report.json``, ``report.md``, plots).

Each stage runs the same CLI command a user would (``spikeforge <cmd> ... --json``) and keeps its
JSON, so the demo exercises exactly what the README documents.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .common import CommandError, emit_json, log

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--out", default="reports/demo", help="report directory (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: train's)")
    parser.add_argument("--skip-build", action="store_true", help="skip the bitstream stage")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def _stage(name, argv, out_dir, results, optional=False):
    """Run ``spikeforge <argv> --json``; record its JSON and wall time under ``name``."""
    start = time.monotonic()
    cmd = [sys.executable, "-m", "spikeforge.cli.main", *argv, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    elapsed = time.monotonic() - start
    (out_dir / "logs").mkdir(exist_ok=True)
    (out_dir / "logs" / f"{name}.log").write_text(proc.stderr)
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
        if optional:
            log(None, f"  {name:<10} skipped ({elapsed:6.1f} s): {message[0]}")
            results[name] = {"skipped": message[0], "seconds": elapsed}
            return None
        raise CommandError(f"stage {name!r} failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    data["seconds"] = round(elapsed, 2)
    results[name] = data
    log(None, f"  {name:<10} done    ({elapsed:6.1f} s)")
    return data


def run(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    netfile = out / "digits.sfn"
    results = {}
    log(args, f"spikeforge demo → {out}/")
    train = ["train", "--dataset", "digits", "--out", str(netfile)]
    if args.epochs is not None:
        train += ["--epochs", str(args.epochs)]
    _stage("train", train, out, results)
    _stage("eval", ["eval", str(netfile), "--dataset", "digits"], out, results)
    _stage("compile", ["compile", str(netfile), "--target", "icebreaker", "--lanes", "2",
                       "--out", str(out / "compiled")], out, results, optional=True)
    for sim in ("amaranth", "verilator", "icarus"):
        _stage(f"cosim-{sim}", ["cosim", str(netfile), "--sim", sim, "--samples", "4",
                                "--lanes", "2"], out, results, optional=True)
    if not args.skip_build:
        _stage("build", ["build", str(netfile), "--board", "icebreaker", "--out",
                         str(out / "icebreaker")], out, results, optional=True)
    (out / "report.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.json:
        emit_json(results)
    else:
        print(f"report: {out / 'report.json'}")
    return 0
