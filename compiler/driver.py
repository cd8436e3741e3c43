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
from .resources import FitError, weight_words

__all__ = ["FitError", "compile_network", "compile_source", "connectivity_row", "formats"]


def connectivity_row(layer) -> dict | None:
    """How ``layer``'s inputs reach its neurons, for the report: the input map ``(C, H, W)``,
    the pooling window, the pooled map, the convolution (``out_channels``, ``kernel``,
    ``stride``, ``padding``; None for dense weights over the map) and the output map (None
    when dense); for a residual join, ``join``: its ``source`` layer (-1: the input), pooling
    and stride. None for a layer without a connectivity (dense over a flat input)."""
    conn = layer.connectivity
    if conn is None:
        return None
    row = {"input_shape": list(conn.input_shape), "pool": conn.pool,
           "pooled_shape": list(conn.pooled_shape),
           "conv": None if conn.conv is None else conn.conv.to_dict(),
           "output_shape": None if conn.output_shape is None else list(conn.output_shape)}
    if layer.shortcut is not None:
        join = layer.shortcut.connectivity
        row["join"] = {"source": layer.shortcut.source, "input_shape": list(join.input_shape),
                       "pool": join.pool, "stride": join.conv.stride}
    return row


def formats(network):
    """Per layer: kind, sizes, the integer formats of W, I, U (and b), the connectivity
    (:func:`connectivity_row`) and the weight words (:func:`~.resources.weight_words`):
    ``weight_words_stored`` (a kernel as a kernel), ``weight_words_held`` (what the layer's core
    holds: the kernel of a convolution, a pooled dense layer unrolled) and
    ``weight_words_unrolled`` (the layer as a dense one)."""
    rows = []
    for index, layer in enumerate(network.layers):
        p = layer.params
        words = weight_words(layer)
        row = {"layer": layer.name or f"layer{index}", "kind": p.kind.name.lower(),
               "n_in": p.n_in, "n": p.n, "recurrent": p.recurrent, "bias": p.bias,
               "k_syn": p.k_syn.to_json(), "k_mem": p.k_mem.to_json(), "theta": p.theta,
               "theta_reset": p.reset_amount, "input_shift": p.input_shift,
               "same_step_recurrence": p.same_step_recurrence, "reset": p.reset.name.lower(),
               "weight": f"s{p.weight_format.width}",
               "current": f"s{p.current_format.width}", "potential": f"s{p.potential_format.width}"}
        if p.kind.name == "ALIF":
            row["trace"] = f"u{p.trace_format.width}"
        row.update(connectivity=connectivity_row(layer), weight_words_stored=words["stored"],
                   weight_words_held=words["held"], weight_words_unrolled=words["unrolled"])
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
                   "luts_available": report["allocation"]["luts_available"], "dsps": 0,
                   **{f"weight_words_{kind}": report["allocation"][f"weight_words_{kind}"]
                      for kind in ("stored", "held", "unrolled")}},
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
