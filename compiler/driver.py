"""The compiler from end to end: a source through its front end, the passes in order, and the
design folder.

::

    source ──front end──► IR graph ──fuse, quantize, ranges, allocate, schedule──► network
                                                                   └──emit──► design folder

:func:`compile_source` takes anything a front end reads (a network file, a ``Network``, a NIR
graph, a ReLU MLP with its calibration options); :func:`compile_network` is the same for a
:class:`~spikeforge.model.Network`.
"""

from .emit import emit_design
from .frontends import load
from .ir import graph_to_network
from .passes import PASSES, Options, run_passes
from .resources import FitError

__all__ = ["FitError", "compile_network", "compile_source", "formats"]


def formats(network):
    """Per layer: kind, sizes and the integer formats of W, I, U (and b)."""
    rows = []
    for index, layer in enumerate(network.layers):
        p = layer.params
        row = {"layer": layer.name or f"layer{index}", "kind": p.kind.name.lower(),
               "n_in": p.n_in, "n": p.n, "recurrent": p.recurrent, "bias": p.bias,
               "k_syn": p.k_syn.to_json(), "k_mem": p.k_mem.to_json(), "theta": p.theta,
               "theta_reset": p.reset_amount, "input_shift": p.input_shift,
               "same_step_recurrence": p.same_step_recurrence, "reset": p.reset.name.lower(),
               "weight": f"s{p.weight_format.width}",
               "current": f"s{p.current_format.width}", "potential": f"s{p.potential_format.width}"}
        if p.kind.name == "ALIF":
            row["trace"] = f"u{p.trace_format.width}"
        rows.append(row)
    return rows


def compile_source(source, options=None, out=None, frontend=None, **frontend_options):
    """Compile ``source``; with ``out``, emit the design folder. Returns ``(network, report)``.

    Any error (front end, pass, fit, emit) leaves no ``out`` folder behind.
    """
    options = options or Options()
    graph, front = load(source, frontend=frontend, **frontend_options)
    report = {"frontend": front, "target": options.target.to_dict(), "lanes": options.lanes}
    graph, report = run_passes(graph, options, PASSES, report)
    network = graph_to_network(graph)
    schedule = report["schedule"]
    report.update(
        network=network.name, formats=formats(network),
        resources={"bram_blocks": report["allocation"]["bram_blocks"],
                   "bram_blocks_available": report["allocation"]["bram_blocks_available"],
                   "luts_estimate": report["allocation"]["luts_estimate"],
                   "luts_available": report["allocation"]["luts_available"], "dsps": 0},
        cycles_per_inference=schedule.get("cycles_per_inference"),
        cycles_per_inference_bounds=[schedule["cycles_per_inference_min"],
                                     schedule["cycles_per_inference_max_bound"]])
    if out is not None:
        emit_design(network, report, out, options.lanes)
    return network, report


def compile_network(network, target="generic", lanes=1, out=None, inputs=None, netfile=None):
    """:func:`compile_source` of a :class:`~spikeforge.model.Network`; returns the report."""
    options = Options(target=target, lanes=lanes, inputs=inputs)
    _, report = compile_source(network, options, out=None)
    if netfile is not None:
        report["netfile"] = str(netfile)
    if out is not None:
        emit_design(network, report, out, lanes)
    return report
