"""What the benchmark scripts share: the ``--json`` and ``--out`` arguments that
``spikeforge bench`` runs them with, and writing their JSON result.

The scripts run as ``python benchmarks/<name>.py``, which puts this folder first on ``sys.path``
(a test that imports one inserts it the same way), so they import this module as ``common``.
"""

import json
import statistics
from pathlib import Path

__all__ = ["add_output_arguments", "write_result"]


def add_output_arguments(parser):
    """``--json`` and ``--out FILE``, the arguments :func:`write_result` takes."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--out", default=None, help="also write the JSON object to this file")


def write_result(result, out=None, as_json=False, **options):
    """Write ``result`` as JSON (indent 1, ``options`` for :func:`json.dumps`, e.g. ``default``
    or ``sort_keys``) to the file ``out`` when given, making its folder, and print it on stdout
    when ``as_json`` (the ``--out`` and ``--json`` arguments every benchmark takes)."""
    text = json.dumps(result, indent=1, **options)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
    if as_json:
        print(text)


def median_build(build, seeds):
    """Build once per nextpnr seed (``build(seed)``, seeds 1..``seeds``): the report of the
    median-Fmax seed, with the median Fmax, every seed's Fmax and their spread. Fmax depends on
    placement luck, so one seed's number is not the design's."""
    reports = [build(seed) for seed in range(1, seeds + 1)]
    fmaxes = [r["fmax_mhz"] for r in reports]
    median = sorted(reports, key=lambda r: r["fmax_mhz"])[(len(reports) - 1) // 2]
    return {**median, "fmax_mhz": statistics.median(fmaxes), "fmax_seeds": fmaxes,
            "fmax_spread_mhz": [min(fmaxes), max(fmaxes)]}
