"""``spikeforge bench``: every benchmark of ``benchmarks/`` in one table, each number next to the
peer or limit it is compared with.

Each benchmark is a script ``benchmarks/<name>.py`` that takes ``--json --out FILE`` and writes a
JSON object whose ``summary`` is a list of rows::

    {"metric": str, "value": number, "unit": str,
     "versus": str | None,          # the peer or limit it is compared with
     "versus_value": number | None, # the peer's value, in the same run
     "ratio": number | None,        # value / versus_value
     "limit": number | None,        # the bar: on the ratio, or on the value when ratio is None
     "meets": bool | None}

The scripts run one after another in fresh processes (no benchmark disturbs another's timing),
their JSON is kept in ``--out`` and the table is printed (or, with ``--json``, one object).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

from .common import CommandError, emit_json, log

__all__ = ["BENCHMARKS", "add_arguments", "benchmarks_folder", "run"]

#: name → (arguments of the full run, arguments of a ``--quick`` run)
BENCHMARKS = {
    "train_throughput": ([], ["--epochs", "1"]),
    "accuracy_bits": ([], ["--epochs", "3"]),
    "cnn_digits": ([], ["--quick"]),
    "throughput": ([], ["--steps", "2"]),
    "cosim_speed": ([], ["--quick", "--cocotb-samples", "1"]),
    "ann_conversion": ([], ["--quick"]),
    "nir_digits": ([], ["--quick"]),
    "nir_fidelity": ([], ["--quick"]),
    "nir_recurrent_randman": ([], ["--quick"]),
    "boards": ([], ["--quick"]),
    "learning": ([], ["--quick"]),
    "learning_resources": ([], []),
    "explore_scaling": ([], ["--quick"]),
}


def add_arguments(parser):
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs (fewer epochs and steps): a smoke test, not numbers")
    parser.add_argument("--out", default="reports/bench", help="folder for each benchmark's JSON")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def benchmarks_folder() -> Path:
    """``benchmarks/`` of the source checkout (benchmarks are not part of the wheel)."""
    folder = Path(__file__).resolve().parent.parent / "benchmarks"
    if not folder.is_dir():
        raise CommandError(
            "benchmarks/ is not next to this installation; run spikeforge bench from a source "
            "checkout installed with pip install -e ."
        )
    return folder


def run(args):
    folder = benchmarks_folder()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BENCHMARKS)
    results, failures = {}, {}
    for name in names:
        script = folder / f"{name}.py"
        if not script.exists():
            failures[name] = f"benchmarks/{name}.py is not built yet"
            log(args, f"  {name:<18} missing")
            continue
        full, quick = BENCHMARKS[name]
        target = out / f"{name}.json"
        argv = [sys.executable, str(script), "--json", "--out", str(target),
                *(quick if args.quick else full)]
        log(args, f"  {name:<18} running ...")
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True)
        seconds = time.monotonic() - start
        if not target.exists():
            failures[name] = f"exit status {proc.returncode}: {proc.stderr.strip()[-1500:]}"
            log(args, f"  {name:<18} failed  {seconds:6.1f} s")
            continue
        results[name] = json.loads(target.read_text())
        log(args, f"  {name:<18} done    {seconds:6.1f} s")
    rows = [{"benchmark": name, **row} for name, result in results.items()
            for row in result.get("summary", [])]
    report = {"quick": args.quick, "rows": rows, "failures": failures,
              "files": {name: str(out / f"{name}.json") for name in results}}
    (out / "bench.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    if args.json:
        emit_json(report)
    else:
        print(table(rows))
        for name, why in failures.items():
            print(f"not run: {name}: {why}")
    # a goal that is not met is a number to read, not a failure of the command
    return 1 if failures else 0


def _number(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows) -> str:
    """The one table: metric, value, what it is compared with, ratio, met or not."""
    head = ("benchmark", "metric", "value", "versus", "ratio", "bar", "met")
    body = [
        (r["benchmark"], r["metric"], f"{_number(r['value'])} {r.get('unit') or ''}".strip(),
         f"{r.get('versus') or '—'}"
         + (f" ({_number(r['versus_value'])})" if r.get("versus_value") is not None else ""),
         _number(r.get("ratio")), _number(r.get("limit")),
         {True: "yes", False: "no", None: "—"}[r.get("meets")])
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line("-" * w for w in widths), *map(line, body)])
