r"""Front end for NIR graphs (snnTorch, Norse, ...): continuous-time nodes to IR nodes.

Supported: a chain ``Input → (Affine | Linear)+ → neuron → … → Output`` whose neurons are
``LIF``, ``CubaLIF``, ``IF``, ``LI`` or ``CubaLI`` (``LI``/``CubaLI`` only last); a spiking
neuron may have recurrent weights (``neuron → Affine/Linear → the same neuron``, as snnTorch's
``RSynaptic``/``RLeaky`` export), which become a :class:`~spikeforge.compiler.ir.Recurrent`
node. Every other node, a branch, another cycle, a shape that does not chain or a parameter the
contract cannot express is refused with a :class:`NIRImportError` naming the node and what is
supported.

Discretization (:mod:`spikeforge.compiler.discretize`, ``docs/nir.md``), with time step ``dt``:

* decays: ``k_syn`` from ``tau_syn``, ``k_mem`` from ``tau_mem`` (``tau`` for ``LIF``/``LI``),
  :math:`k = \operatorname{round}(\log_2(1/d))` with :math:`d = dt/\tau` (``euler``) or
  :math:`1 - e^{-dt/\tau}` (``exact``); ``LIF`` and ``LI`` have no synaptic filter
  (``k_syn = 0``), ``IF`` no leak. The wanted and realized factors are reported per layer;
* input gains fold into the last weight node of the layer: forward Euler gives
  :math:`v[n+1] = (1-d_{mem})\,v[n] + d_{mem}\,r\,I` and
  :math:`I[n+1] = (1-d_{syn})\,I[n] + d_{syn}\,w_{in}\,W x`, so :math:`W_{eff} = g\,W` with
  :math:`g = (d_{syn} w_{in})(d_{mem} r)` (``CubaLIF``), :math:`d\,r` (``LIF``, ``LI``), ``r``
  (``IF``). Only the decay is rounded to a shift; the gain keeps its exact value;
* threshold: the peers fire when :math:`v > v_{th}`: the neuron node gets ``theta = v_th`` with
  ``compare = ">"`` and the quantize pass makes it :math:`\lfloor s\,v_{th} \rfloor + 1`;
* reset: NIR's rule is "set to ``v_reset``" (``reset="zero"``, which needs ``v_reset = 0``);
  snnTorch's default is reset by subtraction, which NIR cannot express: ``reset="subtract"``;
* timing: the contract computes :math:`U[n+1]` from :math:`I[n]`, so each layer delays its
  spikes by two steps against snnTorch's and Norse's update order; a recurrent layer sees its own
  spikes one step later than snnTorch's ``RSynaptic`` does.

The graph this returns has float weights and thresholds; :func:`import_nir` runs the fuse and
quantize passes and returns the network.
"""

from pathlib import Path

import numpy as np

from ...model import NeuronKind, Readout, ResetMode
from ...model.encoding import SpikeEncoding
from ..discretize import METHODS, discretize
from ..ir import IF, LI, LIF, Affine, Graph, Input, Output, Recurrent
from .registry import register

__all__ = ["NEURONS", "QUIRKS", "SUPPORTED", "NIRImportError", "import_nir", "nir_to_graph",
           "read_nir"]

#: NIR neuron node → (spikeforge kind, has a synaptic filter)
NEURONS = {"LIF": (NeuronKind.LIF, False), "CubaLIF": (NeuronKind.LIF, True),
           "IF": (NeuronKind.IF, False), "LI": (NeuronKind.LI, False),
           "CubaLI": (NeuronKind.LI, True)}
WEIGHTS = ("Affine", "Linear")
SUPPORTED = "Input, Affine, Linear, LIF, CubaLIF, IF, LI, CubaLI, Output"

#: exporters whose NIR differs from the NIR specification, and how it is undone
QUIRKS = {
    None: "none: the graph follows the NIR specification",
    "norse": "Norse 1.1 writes tau as dt/tau_inv (that is dt·tau): tau is divided by dt; and its "
             "CubaLIF adds input to the current with gain 1 (w_in = 1/d_syn in NIR's terms)",
}


class NIRImportError(ValueError):
    """A NIR graph spikeforge cannot import, with what is wrong and what is supported."""


def read_nir(path):
    """Read a NIR file (HDF5) with a clear error for a missing or malformed file."""
    import nir

    path = Path(path)
    if not path.is_file():
        raise NIRImportError(f"{path}: no such NIR file")
    try:
        return nir.read(str(path))
    except Exception as exc:  # h5py and nir raise many kinds; all mean "not a NIR graph"
        raise NIRImportError(
            f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from None


def _kind(node):
    return type(node).__name__


def _chain(graph):
    """Node names from Input to Output, refusing branches, cycles and unknown nodes; and the
    recurrent weight node of each neuron that has one."""
    nodes, edges = graph.nodes, list(graph.edges)
    if not nodes:
        raise NIRImportError("the NIR graph has no nodes")
    for src, dst in edges:
        for name in (src, dst):
            if name not in nodes:
                raise NIRImportError(f"edge ({src!r}, {dst!r}) names a node {name!r} that the "
                                     "graph does not have")
    for name, node in nodes.items():
        if _kind(node) not in ("Input", "Output", *WEIGHTS, *NEURONS):
            raise NIRImportError(f"node {name!r} is a {_kind(node)}, which spikeforge does not "
                                 f"support (supported: {SUPPORTED})")
    inputs = [n for n, node in nodes.items() if _kind(node) == "Input"]
    if len(inputs) != 1:
        names = f" ({', '.join(inputs)})" if inputs else ""
        raise NIRImportError(f"the graph needs exactly one Input node, it has {len(inputs)}"
                             f"{names}")
    succ = {}
    for src, dst in edges:
        succ.setdefault(src, []).append(dst)
    order, seen, recurrent, current = [], set(), {}, inputs[0]
    while True:
        if current in seen:
            raise NIRImportError(f"node {current!r} is reached twice: a cycle that is not a "
                                 "neuron's own recurrent weights (neuron → Affine/Linear → the "
                                 "same neuron) is not supported")
        seen.add(current)
        order.append(current)
        nxt = succ.get(current, [])
        if _kind(nodes[current]) in NEURONS:
            loops = [n for n in nxt if _kind(nodes[n]) in WEIGHTS
                     and succ.get(n) == [current] and n not in seen]
            if len(loops) > 1:
                raise NIRImportError(f"node {current!r} has {len(loops)} recurrent weight nodes "
                                     f"({', '.join(loops)}); one is supported")
            if loops:
                recurrent[current] = loops[0]
                seen.add(loops[0])
                nxt = [n for n in nxt if n != loops[0]]
        if len(nxt) > 1:
            raise NIRImportError(f"node {current!r} feeds {len(nxt)} nodes ({', '.join(nxt)}); "
                                 "only chains are supported")
        if not nxt:
            break
        current = nxt[0]
    if _kind(nodes[order[-1]]) != "Output":
        raise NIRImportError(f"the chain from the Input ends at {order[-1]!r}, not at an Output")
    unused = sorted(set(nodes) - seen)
    if unused:
        raise NIRImportError(f"nodes not on the Input → Output chain: {', '.join(unused)}")
    return order, recurrent


def _scalar(name, node, field):
    """A per-layer scalar from a NIR per-neuron parameter (all neurons must agree)."""
    raw = getattr(node, field, None)
    if raw is None:
        raise NIRImportError(f"node {name!r}: {_kind(node)} has no {field}")
    values = np.asarray(raw, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise NIRImportError(f"node {name!r}: {field} must be finite numbers, not {values}")
    if not np.allclose(values, values[0], rtol=1e-9, atol=0):
        raise NIRImportError(
            f"node {name!r}: {field} differs between neurons ({values.min():g} .. "
            f"{values.max():g}); a spikeforge layer shares one value: use one {field} per layer")
    return float(values[0])


def _size(name, node, key):
    """The number of channels a NIR Input/Output declares (product of its shape)."""
    types = getattr(node, "input_type" if key == "input" else "output_type", None) or {}
    shape = types.get(key)
    if shape is None:
        return None
    shape = np.asarray(shape).ravel()
    if shape.size == 0 or np.any(shape < 1):
        raise NIRImportError(f"node {name!r}: {key} shape {shape.tolist()} is not a positive shape")
    return int(np.prod(shape))


def _weights(name, node):
    """``(W, b)`` of an Affine/Linear node as float arrays, checked."""
    try:
        weight = np.asarray(node.weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise NIRImportError(f"node {name!r}: weight is not numeric") from None
    if weight.ndim != 2:
        raise NIRImportError(f"node {name!r}: weight must be a matrix (out, in), not shape "
                             f"{weight.shape}")
    if not np.all(np.isfinite(weight)):
        raise NIRImportError(f"node {name!r}: weight holds NaN or infinite values")
    bias = None
    if _kind(node) == "Affine" and node.bias is not None:
        bias = np.asarray(node.bias, dtype=np.float64).ravel()
        if bias.size not in (1, weight.shape[0]):
            raise NIRImportError(f"node {name!r}: bias has {bias.size} values for "
                                 f"{weight.shape[0]} outputs")
        if not np.all(np.isfinite(bias)):
            raise NIRImportError(f"node {name!r}: bias holds NaN or infinite values")
        bias = np.broadcast_to(bias, (weight.shape[0],)).copy()
        if not np.any(bias):
            bias = None
    return weight, bias


def _decay(name, node, field, dt, method, quirks):
    tau = _scalar(name, node, field)
    if quirks == "norse":
        tau /= dt
    try:
        return discretize(tau, dt, method, tolerance=float('inf'), max_terms=1, max_shift=31,
                          what=field)
    except ValueError as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None


def _neuron(name, node, n, dt, method, reset, quirks, last):
    """``(IR neuron node, gain, report row)`` of NIR neuron ``node`` with ``n`` neurons."""
    kind_name = _kind(node)
    kind, filtered = NEURONS[kind_name]
    if kind is NeuronKind.LI and not last:
        raise NIRImportError(f"node {name!r} is a non-spiking {kind_name}: only the last layer "
                             "can be a readout")
    shape = np.asarray(getattr(node, "r", 0)).shape
    if shape not in ((), (1,), (n,)):
        raise NIRImportError(f"node {name!r} has parameters of shape {shape} but the weights "
                             f"before it have {n} outputs")
    gain = _scalar(name, node, "r")
    for field in ("v_leak", "v_reset"):
        if getattr(node, field, None) is not None and _scalar(name, node, field) != 0:
            raise NIRImportError(f"node {name!r}: {field} must be 0 (the contract's rest and "
                                 "reset potential); shift the threshold instead")
    decays, k_syn, k_mem = {}, 0, 0
    if filtered:
        syn = _decay(name, node, "tau_syn", dt, method, quirks)
        w_in = _scalar(name, node, "w_in")
        if quirks == "norse":
            w_in /= 1 - syn.factor
        decays["syn"], k_syn = syn, syn.shift
        gain *= (1 - syn.factor) * w_in  # the input path is exact
    if kind is not NeuronKind.IF:
        mem = _decay(name, node, "tau_mem" if filtered else "tau", dt, method, quirks)
        decays["mem"], k_mem = mem, mem.shift
        gain *= 1 - mem.factor
    reset_mode = ResetMode.SUBTRACT if reset == "subtract" else ResetMode.ZERO
    try:
        if kind is NeuronKind.LI:
            neuron = LI(n, k_syn=k_syn, k_mem=k_mem, reset=reset_mode, name=name)
            theta = None
        else:
            theta = _scalar(name, node, "v_threshold")
            cls = IF if kind is NeuronKind.IF else LIF
            extra = {} if kind is NeuronKind.IF else {"k_mem": k_mem}
            neuron = cls(n, k_syn=k_syn, theta=theta, compare=">", reset=reset_mode, name=name,
                         **extra)
    except (TypeError, ValueError) as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None
    row = {"kind": kind.name, "k_syn": k_syn, "k_mem": k_mem, "threshold_nir": theta,
           "gain": gain, "decays": {k: d.to_dict() for k, d in decays.items()}}
    return neuron, gain, row


def _options(dt, method, reset, quirks, steps):
    if quirks not in QUIRKS:
        raise NIRImportError(f"quirks must be one of {', '.join(map(str, QUIRKS))}, not "
                             f"{quirks!r}")
    if reset not in ("zero", "subtract"):
        raise NIRImportError(f"reset must be 'zero' or 'subtract', not {reset!r}")
    if method not in METHODS:
        raise NIRImportError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not (isinstance(dt, int | float) and not isinstance(dt, bool) and dt > 0
            and np.isfinite(dt)):
        raise NIRImportError(f"dt must be a positive number of seconds, not {dt!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise NIRImportError(f"steps must be a positive integer, not {steps!r}")


def _accepts(source):
    return type(source).__name__ == "NIRGraph" and type(source).__module__.startswith("nir")


@register("nir", suffixes=(".nir", ".h5", ".hdf5"), accepts=_accepts,
          options=("dt", "method", "reset", "quirks", "steps", "name"),
          describes=".nir files and nir.NIRGraph (snnTorch, Norse, ...)")
def nir_to_graph(graph, *, dt=1e-4, method="euler", reset="zero", quirks=None, steps=32,
                 name="nir"):
    """``(ir_graph, report)`` of ``graph`` (a ``nir.NIRGraph`` or a path): float weights and
    thresholds, decays already shifts (see the module for the rule)."""
    if isinstance(graph, str | Path):
        graph = read_nir(graph)
    _options(dt, method, reset, quirks, steps)
    order, loops = _chain(graph)
    nodes = graph.nodes
    body = order[1:-1]
    ir_nodes, rows, group, size = [], [], [], None
    n_in = _size(order[0], nodes[order[0]], "input")
    neurons = [n for n in body if _kind(nodes[n]) in NEURONS]
    for name in body:
        node = nodes[name]
        if _kind(node) in WEIGHTS:
            weight, bias = _weights(name, node)
            expected = size if size is not None else n_in
            if expected is not None and weight.shape[1] != expected:
                before = "the Input declares" if size is None else "the node before has"
                raise NIRImportError(f"node {name!r} takes {weight.shape[1]} inputs but {before} "
                                     f"{expected}")
            group.append((name, weight, bias))
            size = weight.shape[0]
            continue
        if not group:
            raise NIRImportError(f"node {name!r} ({_kind(node)}) must follow an Affine or Linear "
                                 "node: spikeforge layers are weights then neurons")
        neuron, gain, row = _neuron(name, node, size, dt, method, reset, quirks,
                                    last=name == neurons[-1])
        for index, (wname, weight, bias) in enumerate(group):
            scale = gain if index == len(group) - 1 else 1.0  # the gain folds into the last
            ir_nodes.append(Affine(weight * scale, None if bias is None else bias * scale,
                                   name=wname))
        if name in loops:
            rname = loops[name]
            rec, rbias = _weights(rname, nodes[rname])
            if rec.shape != (size, size):
                raise NIRImportError(f"recurrent weights {rname!r} have shape {rec.shape}, not "
                                     f"{(size, size)}")
            if neuron.kind is NeuronKind.LI:
                raise NIRImportError(f"node {name!r} is a non-spiking readout: it cannot have "
                                     "recurrent weights")
            if rbias is not None:  # a constant current, like the input bias
                last = ir_nodes[-1]
                bias = rbias * gain if last.bias is None else last.bias + rbias * gain
                ir_nodes[-1] = Affine(last.weight, bias, name=last.name)
            ir_nodes.append(Recurrent(rec * gain, name=rname))
        ir_nodes.append(neuron)
        rows.append({"nodes": [g[0] for g in group] + [name], "recurrent": loops.get(name),
                     **row})
        group = []
    if group:
        raise NIRImportError(f"weights {group[-1][0]!r} must be followed by a neuron node "
                             f"({', '.join(NEURONS)})")
    if not rows:
        raise NIRImportError("the graph has no layer (Affine/Linear followed by a neuron)")
    n_out = _size(order[-1], nodes[order[-1]], "output")
    if n_out is not None and n_out != size:
        raise NIRImportError(f"node {order[-1]!r} declares {n_out} outputs but the last layer "
                             f"has {size} neurons")
    first = next(n for n in ir_nodes if isinstance(n, Affine))
    readout = Readout.MEMBRANE_MAX if isinstance(ir_nodes[-1], LI) else Readout.SPIKE_COUNT
    metadata = {"source": "nir", "dt": dt, "method": method, "reset": reset, "quirks": quirks}
    ir = Graph((Input(first.n_in, SpikeEncoding(steps), name=order[0]), *ir_nodes,
                Output(readout, name=order[-1])), name, metadata)
    return ir, {"dt": dt, "method": method, "reset": reset, "quirks": quirks, "layers": rows}


def import_nir(graph, *, dt=1e-4, method="euler", weight_bits=None, reset="zero", steps=32,
               state_bits=None, name="nir", quirks=None):
    """Import ``graph`` (a ``nir.NIRGraph`` or a path); returns ``(network, report)``.

    Runs :func:`nir_to_graph`, then the fuse and quantize passes. ``report`` holds, per layer,
    the NIR nodes, the shifts with their decay errors, the gain, the scale and the weight
    rounding error (0 when exact).
    """
    from ..passes import LOWERING, Options, QuantizeError, run_passes

    ir, report = nir_to_graph(graph, dt=dt, method=method, reset=reset, quirks=quirks,
                              steps=steps, name=name)
    try:
        options = Options(weight_bits=weight_bits, state_bits=state_bits)
    except ValueError as exc:
        raise NIRImportError(str(exc)) from None
    try:
        lowered, passes = run_passes(ir, options, LOWERING)
        network = lowered.to_network()
    except QuantizeError as exc:
        raise NIRImportError(str(exc)) from None
    except ValueError as exc:
        raise NIRImportError(f"the imported network is not valid: {exc}") from None
    for row, quantized in zip(report["layers"], passes["quantize"]["layers"], strict=True):
        row.update({k: v for k, v in quantized.items() if k != "nodes"},
                   nodes=quantized["nodes"])
    report.update(exact=passes["quantize"]["exact"], weight_bits=weight_bits,
                  fused=passes["fuse"]["fused"], passes=passes["passes"])
    return network, report
