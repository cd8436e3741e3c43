r"""NIR graphs (snnTorch, Norse, ...) to a spikeforge :class:`~spikeforge.model.Network`.

Supported: a chain ``Input → (Affine | Linear) → neuron → (Affine | Linear) → neuron … →
Output`` whose neurons are ``LIF``, ``CubaLIF``, ``IF``, ``LI`` or ``CubaLI`` (``LI``/``CubaLI``
only last); a spiking neuron may have recurrent weights (``neuron → Affine/Linear → the same
neuron``, as snnTorch's ``RSynaptic``/``RLeaky`` export). Every other node, a branch, another
cycle or a parameter the contract cannot express is refused with an error naming the node.

Recurrent timing: the contract adds :math:`V s[n]` to :math:`I[n+1]`, the layer's spikes of
the previous update; snnTorch's ``RSynaptic`` adds the spikes of its previous step, which in the
contract's two-step-delayed time base is one step later. Recurrent imports are therefore the same
network with one more step of recurrent delay, not a spike-exact twin.

Discretization (see :mod:`spikeforge.compiler.discretize` and ``docs/nir.md``):

* decays: ``k_syn`` from ``tau_syn``, ``k_mem`` from ``tau_mem`` (``tau`` for ``LIF``/``LI``);
  ``LIF`` and ``LI`` have no synaptic filter (``k_syn = 0``), ``IF`` no leak (``k_mem = 0``);
* input gains fold into the weights: forward Euler gives
  :math:`v[n+1] = (1-d_{mem})\,v[n] + (dt\,r/\tau_{mem})\,I` and
  :math:`I[n+1] = (1-d_{syn})\,I[n] + (dt\,w_{in}/\tau_{syn})\,W x`, so the effective weight is
  :math:`W_{eff} = g\,W` with :math:`g = (dt\,w_{in}/\tau_{syn})(dt\,r/\tau_{mem})` (``CubaLIF``),
  :math:`dt\,r/\tau` (``LIF``, ``LI``), ``r`` (``IF``: :math:`v[n+1] = v[n] + r\,I`); with
  ``method="exact"`` each :math:`dt/\tau` becomes :math:`1 - e^{-dt/\tau}` (zero-order hold).
  Only the decay is rounded to a shift; the input gain keeps its exact value;
  the bias of an ``Affine`` is scaled the same way;
* integers: one scale ``s`` per layer multiplies its effective weights, bias and threshold
  (spikes are binary, so scaling a layer's potentials changes nothing downstream).
  ``weight_bits=None`` keeps ``s = 1`` and requires integer-valued effective weights (exact
  import); otherwise ``s`` maps the layer's largest magnitude to the format's maximum and weights
  are rounded to nearest (the error is reported per layer);
* threshold: the peers fire when :math:`v > v_{th}`; on integers that is
  :math:`U \ge \lfloor s\,v_{th} \rfloor + 1 = \theta` (the reset by subtraction removes
  :math:`\theta`, which differs from :math:`s\,v_{th}` by less than one unit);
* reset: NIR's rule is "set to ``v_reset``" (``reset="zero"``, which needs ``v_reset = 0``);
  snnTorch's default is reset by subtraction, which NIR cannot express: pass
  ``reset="subtract"`` for those models;
* timing: the contract computes :math:`U[n+1]` from :math:`I[n]`, so each layer delays its
  spikes by one step per state (two for a ``CubaLIF``) against snnTorch's update order.
"""

import math
from pathlib import Path

import numpy as np

from ..model import IntFormat, Layer, LayerParams, Network, NeuronKind, Readout, ResetMode
from ..model.encoding import SpikeEncoding
from .discretize import decay_shift

__all__ = ["NEURONS", "NIRImportError", "import_nir", "read_nir"]

#: NIR neuron node → (spikeforge kind, has a synaptic filter)
NEURONS = {"LIF": (NeuronKind.LIF, False), "CubaLIF": (NeuronKind.LIF, True),
           "IF": (NeuronKind.IF, False), "LI": (NeuronKind.LI, False),
           "CubaLI": (NeuronKind.LI, True)}
WEIGHTS = ("Affine", "Linear")
SUPPORTED = "Input, Affine, Linear, LIF, CubaLIF, IF, LI, CubaLI, Output"


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


def _chain(graph):
    """Node names from Input to Output, refusing branches, cycles and unknown nodes."""
    nodes, edges = graph.nodes, list(graph.edges)
    for src, dst in edges:
        for name in (src, dst):
            if name not in nodes:
                raise NIRImportError(f"edge ({src!r}, {dst!r}) names a node {name!r} that the "
                                     "graph does not have")
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in ("Input", "Output", *WEIGHTS, *NEURONS):
            raise NIRImportError(f"node {name!r} is a {kind}, which spikeforge does not support "
                                 f"(supported: {SUPPORTED})")
    inputs = [n for n, node in nodes.items() if type(node).__name__ == "Input"]
    if len(inputs) != 1:
        raise NIRImportError(f"the graph needs exactly one Input node, it has {len(inputs)}")
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
        if type(nodes[current]).__name__ in NEURONS:
            # recurrent weights: a weight node whose only successor is this neuron node
            loops = [n for n in nxt if type(nodes[n]).__name__ in WEIGHTS
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
    if type(nodes[order[-1]]).__name__ != "Output":
        raise NIRImportError(f"the chain from the Input ends at {order[-1]!r}, not at an Output")
    unused = sorted(set(nodes) - seen)
    if unused:
        raise NIRImportError(f"nodes not on the Input → Output chain: {', '.join(unused)}")
    return [(name, nodes[name]) for name in order], recurrent


def _scalar(name, node, field):
    """A per-layer scalar from a NIR per-neuron parameter (all neurons must agree)."""
    values = np.asarray(getattr(node, field), dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise NIRImportError(f"node {name!r}: {field} must be finite numbers, not {values}")
    if not np.allclose(values, values[0], rtol=1e-9, atol=0):
        raise NIRImportError(
            f"node {name!r}: {field} differs between neurons ({values.min():g} .. "
            f"{values.max():g}); a spikeforge layer shares one value: use one {field} per layer")
    return float(values[0])


def _fuse(body):
    """The fuse pass: consecutive weight nodes with no neuron between them become one affine
    map, :math:`W = W_2 W_1`, :math:`b = W_2 b_1 + b_2` (exact in real numbers; the result is
    quantized once). The fused node is named ``a+b``."""
    import nir

    fused = []
    for name, node in body:
        if fused and type(node).__name__ in WEIGHTS and type(fused[-1][1]).__name__ in WEIGHTS:
            prev_name, prev = fused.pop()
            w1, w2 = np.asarray(prev.weight, np.float64), np.asarray(node.weight, np.float64)
            if w2.ndim != 2 or w1.ndim != 2 or w2.shape[1] != w1.shape[0]:
                raise NIRImportError(f"weights {prev_name!r} ({w1.shape}) and {name!r} "
                                     f"({w2.shape}) cannot be fused: shapes do not chain")
            bias = np.zeros(w2.shape[0])
            if hasattr(prev, "bias"):
                bias += w2 @ np.broadcast_to(np.asarray(prev.bias, np.float64).ravel(),
                                             (w1.shape[0],))
            if hasattr(node, "bias"):
                bias += np.asarray(node.bias, np.float64).ravel()
            fused.append((f"{prev_name}+{name}", nir.Affine(weight=w2 @ w1, bias=bias)))
        else:
            fused.append((name, node))
    return fused


def _layers(chain):
    """Pairs (weight node, neuron node) in order, after the fuse pass."""
    body = _fuse(chain[1:-1])
    pairs = []
    for i in range(0, len(body), 2):
        (wname, wnode), rest = body[i], body[i + 1:i + 2]
        if type(wnode).__name__ not in WEIGHTS:
            raise NIRImportError(f"node {wname!r} ({type(wnode).__name__}) must follow an Affine "
                                 "or Linear node: spikeforge layers are weights then neurons")
        if not rest or type(rest[0][1]).__name__ not in NEURONS:
            raise NIRImportError(f"weights {wname!r} must be followed by a neuron node "
                                 f"({', '.join(NEURONS)})")
        pairs.append((body[i], rest[0]))
    if not pairs:
        raise NIRImportError("the graph has no layer (Affine/Linear followed by a neuron)")
    return pairs


def _decay(name, node, field, dt, method, quirks=None):
    tau = _scalar(name, node, field)
    if quirks == "norse":
        tau /= dt
    try:
        return decay_shift(tau, dt, method, what=field)
    except ValueError as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None


def _width(max_abs, minimum):
    return max(minimum, int(max_abs).bit_length() + 1)


#: exporters whose NIR differs from the NIR specification, and how it is undone
QUIRKS = {
    None: "none: the graph follows the NIR specification",
    "norse": "Norse 1.1 writes tau as dt/tau_inv (that is dt·tau): tau is divided by dt; and its "
             "CubaLIF adds input to the current with gain 1 (w_in = 1/d_syn in NIR's terms)",
}


def import_nir(graph, *, dt=1e-4, method="euler", weight_bits=None, reset="zero", steps=32,
               state_bits=None, name="nir", quirks=None):
    """Import ``graph`` (a ``nir.NIRGraph`` or a path); returns ``(network, report)``.

    ``quirks`` undoes a known exporter deviation from the NIR specification (:data:`QUIRKS`).

    ``report`` holds, per layer, the NIR nodes, the shifts with their decay errors, the gain,
    the scale and the weight rounding error (0 when exact).
    """
    if isinstance(graph, (str, Path)):
        graph = read_nir(graph)
    if quirks not in QUIRKS:
        raise NIRImportError(f"quirks must be one of {', '.join(map(str, QUIRKS))}, not "
                             f"{quirks!r}")
    if reset not in ("zero", "subtract"):
        raise NIRImportError(f"reset must be 'zero' or 'subtract', not {reset!r}")
    chain, loops = _chain(graph)
    pairs = _layers(chain)
    staged, previous_n = [], None
    for index, ((wname, wnode), (nname, nnode)) in enumerate(pairs):
        weight = np.asarray(wnode.weight, dtype=np.float64)
        if weight.ndim != 2:
            raise NIRImportError(f"node {wname!r}: weight must be a matrix (out, in), not shape "
                                 f"{weight.shape}")
        if previous_n is not None and weight.shape[1] != previous_n:
            raise NIRImportError(f"node {wname!r} takes {weight.shape[1]} inputs but the layer "
                                 f"before has {previous_n} neurons")
        bias = None
        if type(wnode).__name__ == "Affine":
            bias = np.asarray(wnode.bias, dtype=np.float64).ravel()
            if bias.size not in (1, weight.shape[0]):
                raise NIRImportError(f"node {wname!r}: bias has {bias.size} values for "
                                     f"{weight.shape[0]} outputs")
            bias = np.broadcast_to(bias, (weight.shape[0],)).copy()
            if not np.any(bias):
                bias = None
        kind_name = type(nnode).__name__
        kind, filtered = NEURONS[kind_name]
        if kind is NeuronKind.LI and index != len(pairs) - 1:
            raise NIRImportError(f"node {nname!r} is a non-spiking {kind_name}: only the last "
                                 "layer can be a readout")
        shape = np.asarray(nnode.r).shape
        if shape not in ((), (1,), (weight.shape[0],)):
            raise NIRImportError(f"node {nname!r} has parameters of shape {shape} but its "
                                 f"weights {wname!r} have {weight.shape[0]} outputs")
        r = _scalar(nname, nnode, "r")
        for field in ("v_leak", "v_reset"):
            if getattr(nnode, field, None) is not None and _scalar(nname, nnode, field) != 0:
                raise NIRImportError(f"node {nname!r}: {field} must be 0 (the contract's rest and "
                                     "reset potential); shift the threshold instead")
        decays, gain, k_syn, k_mem = {}, r, 0, 0
        if filtered:
            syn = _decay(nname, nnode, "tau_syn", dt, method, quirks)
            w_in = _scalar(nname, nnode, "w_in")
            if quirks == "norse":
                w_in /= 1 - syn.factor
            decays["syn"], k_syn = syn, syn.shift
            gain *= (1 - syn.factor) * w_in  # the input path is exact
        if kind is not NeuronKind.IF:
            mem = _decay(nname, nnode, "tau_mem" if filtered else "tau", dt, method, quirks)
            decays["mem"], k_mem = mem, mem.shift
            gain *= 1 - mem.factor
        theta = None if kind is NeuronKind.LI else _scalar(nname, nnode, "v_threshold")
        n_in = weight.shape[1]
        if nname in loops:  # recurrent weights V (n × n) join W for scaling and rounding
            rnode = graph.nodes[loops[nname]]
            rec = np.asarray(rnode.weight, dtype=np.float64)
            if rec.shape != (weight.shape[0],) * 2:
                raise NIRImportError(f"recurrent weights {loops[nname]!r} have shape {rec.shape}, "
                                     f"not {(weight.shape[0],) * 2}")
            if kind is NeuronKind.LI:
                raise NIRImportError(f"node {nname!r} is a non-spiking readout: it cannot have "
                                     "recurrent weights")
            if type(rnode).__name__ == "Affine" and np.any(rnode.bias):
                extra = np.broadcast_to(np.asarray(rnode.bias, np.float64).ravel(),
                                        (weight.shape[0],))
                bias = extra.copy() if bias is None else bias + extra
            weight = np.hstack([weight, rec])
        staged.append(dict(index=index, nodes=(wname, nname), kind=kind, k_syn=k_syn,
                           k_mem=k_mem, weight=weight * gain, n_in=n_in,
                           bias=None if bias is None else bias * gain, theta=theta,
                           decays=decays, gain=gain))
        previous_n = weight.shape[0]
    if weight_bits is not None:
        fmt = IntFormat(int(weight_bits))
        for s in staged:
            largest = float(np.abs(s["weight"]).max())
            if largest == 0:
                raise NIRImportError(f"every weight of {s['nodes'][0]!r} is zero: nothing to "
                                     "quantize")
            s["scale"] = fmt.max / largest
    layers, report = [], []
    for s in staged:
        scale = s.get("scale", 1.0)
        scaled = s["weight"] * scale
        weight = np.rint(scaled)  # NIR parameters are often float32: integers up to 1e-6
        if weight_bits is None and not np.allclose(scaled, weight, rtol=1e-6, atol=1e-6):
            worst = float(np.abs(scaled - weight).max())
            raise NIRImportError(
                f"layer {s['nodes'][0]!r}: effective weights (gain {s['gain']:g} × W) are not "
                f"integers (off by up to {worst:.3g}); pass weight_bits (--weight-bits 8) to "
                "quantize them")
        bias = None if s["bias"] is None else np.rint(s["bias"] * scale)
        theta = 1 if s["theta"] is None else math.floor(s["theta"] * scale + 1e-9) + 1
        if theta < 1:
            raise NIRImportError(f"node {s['nodes'][1]!r}: v_threshold {s['theta']:g} gives an "
                                 f"integer threshold {theta} < 1; thresholds must be positive")
        w_width = _width(np.abs(weight).max(), 2 if weight_bits is None else int(weight_bits))
        fan_in = weight.shape[1]
        rounding = float(np.abs(scaled - weight).max())
        weight, rec = weight[:, :s["n_in"]], weight[:, s["n_in"]:]
        bound_bits = w_width + max(1, fan_in.bit_length()) + s["k_syn"] + s["k_mem"] + 1
        state = state_bits or min(32, max(16, bound_bits, int(theta).bit_length() + 2))
        params = LayerParams(
            n_in=weight.shape[1], n=weight.shape[0], kind=s["kind"], k_syn=s["k_syn"],
            k_mem=s["k_mem"], theta=int(theta), recurrent=rec.size > 0,
            reset=ResetMode.SUBTRACT if reset == "subtract" else ResetMode.ZERO,
            bias=bias is not None, weight_format=IntFormat(w_width),
            current_format=IntFormat(state), potential_format=IntFormat(state))
        layers.append(Layer(params, weight.astype(np.int64),
                            recurrent=rec.astype(np.int64) if rec.size else None,
                            bias=None if bias is None else bias.astype(np.int64),
                            name=s["nodes"][1]))
        report.append({
            "nodes": list(s["nodes"]), "kind": s["kind"].name, "k_syn": s["k_syn"],
            "recurrent": loops.get(s["nodes"][1]),
            "k_mem": s["k_mem"], "theta": int(theta),
            "threshold_nir": s["theta"], "gain": s["gain"],
            "decays": {k: d.to_dict() for k, d in s["decays"].items()},
            "weight_rounding_max_error": rounding,
            "weight_format": f"s{w_width}", "state_format": f"s{state}", "scale": scale,
        })
    readout = Readout.MEMBRANE_MAX if layers[-1].params.kind is NeuronKind.LI \
        else Readout.SPIKE_COUNT
    metadata = {"source": "nir", "dt": dt, "method": method, "reset": reset, "quirks": quirks}
    network = Network(tuple(layers), SpikeEncoding(steps), readout, name=name, metadata=metadata)
    return network, {"dt": dt, "method": method, "reset": reset, "quirks": quirks,
                     "exact": weight_bits is None,
                     "layers": report}
