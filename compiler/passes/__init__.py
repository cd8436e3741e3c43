"""Lowering passes, in the order they run (:data:`PASSES`).

1. :class:`Fuse`: consecutive ``Affine`` nodes become one (exact, before rounding);
2. :class:`Quantize`: integer weights, thresholds and formats, per-layer rounding error;
3. :class:`CheckRanges`: the accumulators cannot overflow; ``I``/``U`` bounds and whether
   saturation can happen;
4. :class:`Allocate`: memories and lanes on the target; :class:`~..resources.FitError` if not
   fitting;
5. :class:`SchedulePass`: cycle-exact latency per step and per inference.

:data:`LOWERING` (fuse, quantize) is what ``spikeforge import`` runs before writing a network
file; ``spikeforge compile`` runs all of :data:`PASSES`.
"""

from .allocate import Allocate
from .base import Options, Pass
from .fuse import Fuse, FuseError
from .quantize import Quantize, QuantizeError
from .ranges import CheckRanges
from .schedule import SchedulePass

__all__ = ["LOWERING", "PASSES", "Allocate", "CheckRanges", "Fuse", "FuseError", "Options", "Pass",
           "Quantize", "QuantizeError", "Schedule", "run_passes"]

PASSES = (Fuse, Quantize, CheckRanges, Allocate, SchedulePass)
LOWERING = (Fuse, Quantize)


def run_passes(graph, options=None, passes=PASSES, report=None):
    """Run ``passes`` (classes, in order) on ``graph``; returns ``(graph, report)`` where
    ``report`` has one section per pass and ``"passes"``, their names in order."""
    options = options or Options()
    report = {} if report is None else report
    report.setdefault("passes", [])
    for cls in passes:
        step = cls()
        graph = step.run(graph, options, report)
        report["passes"].append(step.name)
    return graph, report
