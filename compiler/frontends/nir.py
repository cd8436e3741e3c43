r"""Front end for NIR graphs (snnTorch, Norse, ...): continuous-time nodes to IR nodes.

Supported: a chain ``Input → (Affine | Linear)+ → neuron → … → Output`` whose neurons are
``LIF``, ``CubaLIF``, ``IF``, ``LI`` or ``CubaLI`` (``LI``/``CubaLI`` only last); a spiking
neuron may have recurrent weights (``neuron → Affine/Linear → the same neuron``, as snnTorch's
``RSynaptic``/``RLeaky`` export), which become a :class:`~spikeforge.compiler.ir.Recurrent`
node. Convolutional networks (:class:`_Maps`): ``Conv2d`` weight nodes, ``SumPool2d`` and
``AvgPool2d`` between a neuron (or the Input) and the next weight node, and ``Flatten`` before
an ``Affine``/``Linear``, as in ``Input → Conv2d → LIF → SumPool2d → Conv2d → LIF → AvgPool2d →
Flatten → Linear → LIF → Output``; each layer gets a :class:`~spikeforge.model.Connectivity`.
Residual blocks: a neuron (or a 3-d Input) may also feed a *skip path* (pools, then at most one
1×1 ``Conv2d`` without padding, or nothing: the identity) into a later neuron whose own weights
are a ``Conv2d``; the neuron sums both (NIR's rule for two edges into a node), and its layer
gets a :class:`~spikeforge.model.Shortcut` (:func:`_join`). Every other node, another branch,
another cycle, a shape that does not chain or a parameter the contract cannot express is
refused with a :class:`NIRImportError` naming the node and what is supported.

Discretization (:mod:`spikeforge.model.discretize`, ``docs/nir.md``), with time step ``dt``:

* decays: ``k_syn`` from ``tau_syn``, ``k_mem`` from ``tau_mem`` (``tau`` for ``LIF``/``LI``),
  :math:`d = dt/\tau` (``euler``) or :math:`1 - e^{-dt/\tau}` (``exact``), fitted by the
  fewest shift terms (``max_decay_terms``) within ``decay_tolerance`` of :math:`d`; ``LIF``
  and ``LI`` have no synaptic filter (``k_syn = 0``), ``IF`` no leak. The terms, the wanted and
  realized τ and the errors are reported per layer;
* input gains fold into the last weight node of the layer: forward Euler gives
  :math:`v[n+1] = (1-d_{mem})\,v[n] + d_{mem}\,(v_{leak} + r\,I)` and
  :math:`I[n+1] = (1-d_{syn})\,I[n] + d_{syn}\,w_{in}\,W x`, so :math:`W_{eff} = g\,W` with
  :math:`g = (d_{syn} w_{in})(d_{mem} r)` (``CubaLIF``), :math:`d\,r` (``LIF``, ``LI``), ``r``
  (``IF``), from the exact :math:`d` (a gain within float32 rounding of a power of two is that
  power); :math:`d_{mem} v_{leak}` is a bias (``LIF``/``LI``; refused for ``CubaLIF``);
* threshold: the peers fire when :math:`v > v_{th}`: the neuron node gets ``theta = v_th`` with
  ``compare = ">"`` and ``theta_reset = v_th``; the quantize pass makes them
  :math:`\lfloor S\,v_{th} \rfloor + 1` and :math:`S\,v_{th}` at the state scale :math:`S`
  (weights' scale times :math:`2^f`, ``f`` fractional bits);
* reset (``RESETS``): NIR's rule is "set to ``v_reset``" (``reset="zero"``, which needs
  ``v_reset = 0``); snnTorch's default is a subtraction at the next update (``"subtract"``);
  within the step of the spike (snnTorch ``reset_delay=False``, Norse's ``reset_subtract``)
  the subtraction decays with the membrane (``subtract_before_leak``); snnTorch's
  ``Synaptic``, ``RLeaky`` and ``RSynaptic`` with ``reset_mechanism="zero"`` set the membrane
  to 0 and drop that step's input (``clear``). ``quirks`` (``QUIRKS``)
  reproduce an exporter's own simulation or refuse what the contract cannot express;
* timing: the contract computes :math:`U[n+1]` from :math:`I[n]`, so each layer delays its
  spikes by two steps against snnTorch's and Norse's update order; a recurrent layer has
  ``same_step_recurrence``, so it sees its own spikes with snnTorch's ``RLeaky``/``RSynaptic``
  timing; a skip path has no such delay, so a join's skip arrives two steps per skipped layer
  ahead of its main path (reported, and a warning).

The graph this returns has float weights and thresholds; :func:`import_nir` runs the fuse and
quantize passes and returns the network.
"""

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...model import Connectivity, NeuronKind, Readout, ResetMode, Shortcut
from ...model import Conv2d as ConvSpec
from ...model.decay import MAX_TERMS, Decay
from ...model.discretize import DEFAULT_TOLERANCE, METHODS, DecayFitError, discretize
from ...model.encoding import SpikeEncoding
from ..ir import IF, LI, LIF, Affine, Graph, Input, Output, Recurrent, graph_to_network
from .registry import register

__all__ = ["DEFAULT_DT", "NEURONS", "QUIRKS", "RESETS", "SUPPORTED", "NIRImportError",
           "import_nir", "nir_to_graph", "read_nir"]

#: NIR neuron node → (spikeforge kind, has a synaptic filter)
NEURONS = {"LIF": (NeuronKind.LIF, False), "CubaLIF": (NeuronKind.LIF, True),
           "IF": (NeuronKind.IF, False), "LI": (NeuronKind.LI, False),
           "CubaLI": (NeuronKind.LI, True)}
WEIGHTS = ("Affine", "Linear")
CONVOLUTIONS = ("Conv2d",)
POOLS = ("SumPool2d", "AvgPool2d")
SHAPES = ("Flatten",)
SUPPORTED = ("Input, Affine, Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, LIF, CubaLIF, IF, "
             "LI, CubaLI, Output")

#: exporters whose NIR (or whose simulation) differs from the NIR specification
QUIRKS = {
    None: "none: the graph follows the NIR specification",
    "snntorch": "snnTorch 0.9-1.0: as the specification, but Synaptic, RLeaky and RSynaptic "
                "with reset_mechanism='zero' set the membrane to 0, dropping the step's input "
                "(the clearing reset); "
                "with --reset subtract-same-step (reset_delay=False) the import notes snnTorch's "
                "double subtraction",
    "norse": "Norse 1.1 writes tau as dt/tau_inv (that is dt·tau): tau is divided by dt; its "
             "CubaLIF adds input to the current with gain 1 (w_in = 1/d_syn in NIR's terms); "
             "its reset_subtract (LIFBoxCell) subtracts within the step (--reset subtract "
             "becomes subtract_before_leak)",
}

#: --reset → what the exporter does (the contract's mode depends on the quirks, docs/nir.md)
RESETS = {
    "zero": "NIR's reset to v_reset = 0 (snnTorch Leaky reset_mechanism='zero', Norse)",
    "subtract": "snnTorch's default: the threshold is subtracted at the next update "
                "(reset_delay=True); with --quirks norse, Norse's reset_subtract",
    "subtract-same-step": "the threshold is subtracted in the step of the spike, so it decays "
                          "with the membrane (snnTorch reset_delay=False)",
}

#: the time step assumed when none is given, per quirks
DEFAULT_DT = {None: 1e-4, "snntorch": 1e-4, "norse": 1e-3}

#: relative difference below which a decay or gain is the exporter's exactly (float32 rounding)
EXACT_RELATIVE = 2.0**-20
#: time constants longer than this many steps are reported as implausible (a wrong dt?)
PLAUSIBLE_STEPS = 1000


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
    """Node names from Input to Output, refusing branches, cycles and unknown nodes; the
    recurrent weight node of each neuron that has one; and the residual skip paths
    (:func:`_skip`), ``{join neuron: (source, [skip path nodes])}``."""
    nodes, edges = graph.nodes, list(graph.edges)
    if not nodes:
        raise NIRImportError("the NIR graph has no nodes")
    for src, dst in edges:
        for name in (src, dst):
            if name not in nodes:
                raise NIRImportError(f"edge ({src!r}, {dst!r}) names a node {name!r} that the "
                                     "graph does not have")
    for name, node in nodes.items():
        if node is None:
            raise NIRImportError(
                f"node {name!r} is empty (None): the exporter wrote no NIR node for that module "
                "(Norse 1.1's to_nir does so for torch.nn.Flatten); export a graph whose every "
                f"node is one of {SUPPORTED}")
        if _kind(node) not in ("Input", "Output", *WEIGHTS, *CONVOLUTIONS, *POOLS, *SHAPES,
                               *NEURONS):
            raise NIRImportError(f"node {name!r} is a {_kind(node)}, which spikeforge does not "
                                 f"support (supported: {SUPPORTED})")
    inputs = [n for n, node in nodes.items() if _kind(node) == "Input"]
    if len(inputs) != 1:
        names = f" ({', '.join(inputs)})" if inputs else ""
        raise NIRImportError(f"the graph needs exactly one Input node, it has {len(inputs)}"
                             f"{names}")
    succ, pred = {}, {}
    for src, dst in edges:
        succ.setdefault(src, []).append(dst)
        pred.setdefault(dst, []).append(src)
    order, seen, recurrent, skips, current = [], set(), {}, {}, inputs[0]
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
        if len(nxt) == 2 and _kind(nodes[current]) in (*NEURONS, "Input"):
            found = [_skip(nodes, succ, pred, branch) for branch in nxt]
            if None not in found:  # both branches could skip: the shorter one does
                if len(found[0]) == len(found[1]):
                    raise NIRImportError(
                        f"node {current!r} feeds two paths of {len(found[0])} nodes to "
                        f"{found[0][-1]!r} ({', '.join(nxt)}): which one is the residual skip "
                        "is ambiguous; give the layer's own Conv2d a neuron of its own path")
                found[int(len(found[1]) > len(found[0]))] = None
            if sum(path is not None for path in found) == 1:  # one skip path, one main path
                path = next(p for p in found if p is not None)
                join = path[-1]
                if join in skips:
                    raise NIRImportError(f"node {join!r} joins two skip paths ({skips[join][0]!r}"
                                         f" and {current!r}); one residual join per layer is "
                                         "supported")
                skips[join] = (current, path[:-1])
                seen.update(path[:-1])
                nxt = [branch for branch, p in zip(nxt, found, strict=True) if p is None]
        if len(nxt) > 1:
            raise NIRImportError(f"node {current!r} feeds {len(nxt)} nodes ({', '.join(nxt)}); "
                                 "only chains and residual blocks are supported: a neuron (or "
                                 "the Input) may feed the next layer and one skip path (pools "
                                 "and at most one 1×1 Conv2d) to a later neuron, as in a ResNet "
                                 "block; other branches are not")
        if not nxt:
            break
        current = nxt[0]
    if _kind(nodes[order[-1]]) != "Output":
        raise NIRImportError(f"the chain from the Input ends at {order[-1]!r}, not at an Output")
    unused = sorted(set(nodes) - seen)
    if unused:
        raise NIRImportError(f"nodes not on the Input → Output chain: {', '.join(unused)}")
    for join, (source, _) in skips.items():
        if len(pred.get(join, [])) != 2:
            raise NIRImportError(f"node {join!r} joins the skip path from {source!r} but has "
                                 f"{len(pred.get(join, []))} inputs, not 2 (the layer's weights "
                                 "and the skip path)")
    return order, recurrent, skips


def _skip(nodes, succ, pred, first):
    """The skip path starting at node ``first``: its nodes up to and including the neuron it
    joins, or None when this branch is not one (it holds a weight node other than a 1×1
    Conv2d, or a neuron before a neuron with two inputs). A skip path is pools and 1×1 Conv2d
    nodes, each with one input and one output, ending at a neuron with two inputs."""
    path, current = [], first
    while True:
        node = nodes[current]
        kind = _kind(node)
        if kind in NEURONS:
            return [*path, current] if len(pred.get(current, [])) == 2 else None
        if kind not in (*POOLS, *CONVOLUTIONS) or len(succ.get(current, [])) != 1 or len(
                pred.get(current, [])) != 1:
            return None
        if kind in CONVOLUTIONS and np.shape(node.weight)[-2:] != (1, 1):
            return None
        path.append(current)
        current = succ[current][0]


def _values(name, node, field):
    raw = getattr(node, field, None)
    if raw is None:
        raise NIRImportError(f"node {name!r}: {_kind(node)} has no {field}")
    values = np.asarray(raw, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise NIRImportError(f"node {name!r}: {field} must be finite numbers, not {values}")
    return values


def _scalar(name, node, field):
    """A per-layer scalar from a NIR per-neuron parameter (all neurons must agree)."""
    values = _values(name, node, field)
    distinct = np.unique(np.float32(values))
    if distinct.size > 1:
        raise NIRImportError(
            f"layer {name!r} has {distinct.size} distinct values of {field} ({values.min():g} .. "
            f"{values.max():g}); a spikeforge layer shares one value (snnTorch learn_beta/"
            f"learn_threshold or Norse per-neuron parameters give one per neuron): export one "
            f"{field} per layer")
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


def _finite_weight(where, values, ndim, expected):
    """A node's weight as a float64 array of ``ndim`` dimensions with finite values, else a
    :class:`NIRImportError` starting with ``where`` that names ``expected`` (the shape's
    meaning)."""
    try:
        weight = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise NIRImportError(f"{where}: weight is not numeric") from None
    if weight.ndim != ndim:
        raise NIRImportError(f"{where}: weight must be {expected}, not shape {weight.shape}")
    if not np.all(np.isfinite(weight)):
        raise NIRImportError(f"{where}: weight holds NaN or infinite values")
    return weight


def _weights(name, node):
    """``(W, b)`` of an Affine/Linear node as float arrays, checked."""
    weight = _finite_weight(f"node {name!r}", node.weight, 2, "a matrix (out, in)")
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


def _shape_text(shape):
    return "×".join(map(str, shape))


def _square(name, node, field, value, default=None):
    """An integer from a NIR size field (an int, or a (height, width) pair that must agree)."""
    if value is None:
        if default is None:
            raise NIRImportError(f"node {name!r} ({_kind(node)}) has no {field}")
        return default
    values = np.asarray(value).ravel()
    if values.size not in (1, 2) or not np.issubdtype(values.dtype, np.number) \
            or not np.all(values == np.rint(values)):
        raise NIRImportError(f"node {name!r} ({_kind(node)}): {field} {value!r} must be an "
                             "integer or a (height, width) pair of integers")
    if values.size == 2 and values[0] != values[1]:
        raise NIRImportError(
            f"node {name!r} ({_kind(node)}): {field} {tuple(int(v) for v in values)} is not "
            f"square: spikeforge supports only the same {field} in height and width")
    return int(values[0])


def _input_map(name, node):
    """The ``(C, H, W)`` spike map a NIR Input declares, or None for any other shape."""
    shape = (getattr(node, "input_type", None) or {}).get("input")
    if shape is None:
        return None
    shape = np.asarray(shape).ravel()
    return tuple(int(v) for v in shape) if shape.size == 3 else None


def _pool_window(name, node):
    """``(window, gain)`` of a ``SumPool2d`` (gain 1) or ``AvgPool2d`` (gain 1/window²)."""
    kind = _kind(node)
    window = _square(name, node, "kernel_size", node.kernel_size)
    stride = _square(name, node, "stride", node.stride, default=window)
    padding = _square(name, node, "padding", node.padding, default=0)
    if window < 1:
        raise NIRImportError(f"node {name!r} ({kind}): kernel_size {window} must be positive")
    if stride != window:
        raise NIRImportError(
            f"node {name!r} ({kind}): stride {stride} differs from kernel_size {window}: only "
            "non-overlapping pooling (stride = kernel_size) is supported, which is an address "
            "map in the hardware; export the pool with stride = kernel_size")
    if padding != 0:
        raise NIRImportError(
            f"node {name!r} ({kind}): padding {padding} is not supported (padding 0 only: the "
            "map's last partial window is dropped, as torch does without padding)")
    if kind == "SumPool2d":
        return window, 1.0
    area = window * window
    if area & (area - 1):
        raise NIRImportError(
            f"node {name!r} (AvgPool2d): kernel_size {window} averages {area} cells, not a "
            f"power of two, so its 1/{area} is not exact in binary fixed point; use a window of "
            "1, 2, 4, 8, … or a SumPool2d with the 1/window² folded into the next weights")
    return window, 1.0 / area


def _conv_fields(name, node, shape):
    """``(weight, bias, Conv2d spec)`` of a NIR ``Conv2d`` reading the (pooled) ``shape``."""
    weight = _finite_weight(f"node {name!r} (Conv2d)", node.weight, 4,
                            "(out channels, in channels, kernel height, kernel width)")
    c_out, c_in, kh, kw = weight.shape
    if kh != kw:
        raise NIRImportError(f"node {name!r} (Conv2d): weight has a {kh}×{kw} kernel, which is "
                             "not square: spikeforge supports K×K kernels only")
    stride = _square(name, node, "stride", node.stride, default=1)
    dilation = _square(name, node, "dilation", getattr(node, "dilation", 1), default=1)
    if dilation != 1:
        raise NIRImportError(f"node {name!r} (Conv2d): dilation {dilation} is not supported "
                             "(dilation 1 only)")
    groups = getattr(node, "groups", 1)
    if groups is not None and int(np.asarray(groups).ravel()[0]) != 1:
        raise NIRImportError(f"node {name!r} (Conv2d): groups {int(np.asarray(groups).ravel()[0])}"
                             " is not supported (groups 1 only: every output channel reads every "
                             "input channel)")
    padding = node.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same" and stride == 1 and kh % 2 == 1:
            padding = (kh - 1) // 2
        else:
            raise NIRImportError(
                f"node {name!r} (Conv2d): padding {padding!r} with a {kh}×{kh} kernel and "
                f"stride {stride} cannot be mapped: spikeforge pads every side equally; "
                "'valid' and 'same' (stride 1, odd kernel) are mapped, otherwise give the "
                "padding as a number")
    padding = _square(name, node, "padding", padding, default=0)
    if c_in != shape[0]:
        raise NIRImportError(
            f"node {name!r} (Conv2d): weight reads {c_in} input channels but its input map "
            f"{_shape_text(shape)} has {shape[0]}: the shapes do not chain")
    declared = getattr(node, "input_shape", None)
    if declared is not None:
        declared = np.asarray(declared).ravel()
        if declared.size != 2 or tuple(int(v) for v in declared) != tuple(shape[1:]):
            raise NIRImportError(
                f"node {name!r} (Conv2d): input_shape {tuple(int(v) for v in declared)} but "
                f"its input map is {_shape_text(shape)} (channels×height×width, after any "
                "pooling): the shapes do not chain")
    bias = getattr(node, "bias", None)
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64).ravel()
        if bias.size not in (1, c_out) or not np.all(np.isfinite(bias)):
            raise NIRImportError(f"node {name!r} (Conv2d): bias must be {c_out} finite numbers "
                                 f"(one per output channel), not {bias.size}")
        bias = np.broadcast_to(bias, (c_out,)).copy()
        if not np.any(bias):
            bias = None
    try:
        spec = ConvSpec(int(c_out), int(kh), stride, padding)
    except (TypeError, ValueError) as exc:
        raise NIRImportError(f"node {name!r} (Conv2d): {exc}") from None
    return weight, bias, spec


class _Maps:
    r"""The spike map between layers while a NIR chain is read: the ``(C, H, W)`` map the last
    neuron (or the Input) produced, the pooling since (windows multiply: two sum pools of
    :math:`p_1` and :math:`p_2` are one of :math:`p_1 p_2`, since
    :math:`\lfloor\lfloor H/p_1\rfloor/p_2\rfloor = \lfloor H/(p_1 p_2)\rfloor`; average gains
    multiply too) and whether a ``Flatten`` came. The next weight node consumes them into its
    :class:`~spikeforge.model.Connectivity`."""

    def __init__(self, name, node, n_in):
        self.shape, self.size, self.source = _input_map(name, node), n_in, name
        self.flat, self.pooled, self.consumed = self.shape is None, None, None

    def _where(self):
        return f"the {_shape_text(self.shape)} map of {self.source!r}"

    @property
    def current(self):
        """The map's shape after the pooling so far."""
        p = self.pooled["window"] if self.pooled else 1
        return self.shape[0], self.shape[1] // p, self.shape[2] // p

    def pool(self, name, node):
        kind = _kind(node)
        if self.shape is None:
            raise NIRImportError(
                f"node {name!r} ({kind}) pools a (channels, height, width) spike map but its "
                f"input from {self.source!r} is a flat vector: pooling needs a Conv2d layer's "
                "neurons or an Input with a 3-d shape")
        if self.flat:
            raise NIRImportError(f"node {name!r} ({kind}) comes after a Flatten: pool "
                                 f"{self._where()} before flattening it")
        window, gain = _pool_window(name, node)
        before = self.pooled or {"nodes": [], "kinds": [], "window": 1, "gain": 1.0}
        pooled = {"nodes": [*before["nodes"], name], "kinds": [*before["kinds"], kind],
                  "window": before["window"] * window, "gain": before["gain"] * gain}
        try:
            Connectivity(self.shape, pooled["window"])
        except ValueError as exc:
            raise NIRImportError(f"node {name!r} ({kind}) on {self._where()}: {exc}") from None
        self.pooled = pooled

    def flatten(self, name, node):
        if self.flat:
            raise NIRImportError(
                f"node {name!r} is a Flatten, which spikeforge does not support here: its input "
                f"from {self.source!r} is already a flat vector; a Flatten must flatten a "
                "(channels, height, width) map (a Conv2d layer's neurons, a pool or a 3-d Input) "
                "before an Affine/Linear")
        declared = (getattr(node, "input_type", None) or {}).get("input")
        current = list(self.current)
        shape = current if declared is None else [int(v) for v in np.asarray(declared).ravel()]
        if int(np.prod(shape)) != int(np.prod(current)):
            pooled = f" pooled to {_shape_text(current)}" if self.pooled else ""
            raise NIRImportError(f"node {name!r} (Flatten): input_type {shape} but its input is "
                                 f"{self._where()}{pooled}: the shapes do not chain")
        rank = len(shape)
        start, end = int(node.start_dim), int(node.end_dim)
        start, end = start + rank if start < 0 else start, end + rank if end < 0 else end
        out = [*shape[:start], int(np.prod(shape[start:end + 1])), *shape[end + 1:]]
        if sum(1 for v in out if v > 1) > 1:
            raise NIRImportError(
                f"node {name!r} (Flatten): start_dim {node.start_dim}, end_dim {node.end_dim} "
                f"turn {shape} into {out}, not a flat vector: spikeforge needs the whole map "
                "flattened (start_dim 0, end_dim -1 without the batch dimension, as snnTorch's "
                "export with ignore_dims=[0] writes)")
        self.flat = True

    def _consume(self, conn):
        self.consumed = None if self.pooled is None else dict(self.pooled)
        self.shape, self.flat, self.pooled = None, True, None
        return conn

    def convolution(self, name, node, first):
        """``(Connectivity, weight × pool gain, bias)`` of a ``Conv2d`` node."""
        shape = self.shape
        if shape is not None and self.flat:
            raise NIRImportError(f"node {name!r} (Conv2d) comes after a Flatten: a "
                                 f"convolution reads {self._where()}, so remove the Flatten")
        if shape is None:
            declared = getattr(node, "input_shape", None)
            if not first or declared is None:
                raise NIRImportError(
                    f"node {name!r} (Conv2d) reads a (channels, height, width) map but "
                    f"{self.source!r} gives a flat vector"
                    + (": a convolution can follow a Conv2d layer, a pool or the Input"
                       if not first else " and the Conv2d has no input_shape: declare the "
                       "Input's shape as (channels, height, width)"))
            c_in = int(np.asarray(node.weight).shape[1])
            shape = (c_in, *(int(v) for v in np.asarray(declared).ravel()))
            if len(shape) != 3 or (self.size is not None and int(np.prod(shape)) != self.size):
                raise NIRImportError(
                    f"node {name!r} (Conv2d) reads a {_shape_text(shape)} map but the Input "
                    f"declares {self.size} values: the shapes do not chain")
            self.shape = shape
        pool = self.pooled["window"] if self.pooled else 1
        gain = self.pooled["gain"] if self.pooled else 1.0
        weight, bias, spec = _conv_fields(name, node, self.current)
        try:
            conn = Connectivity(shape, pool, spec)
        except ValueError as exc:
            raise NIRImportError(f"node {name!r} (Conv2d) on {self._where()}: {exc}") from None
        return self._consume(conn), weight * gain, bias

    def dense(self, name, weight):
        """``(Connectivity or None, weight × pool gain, inputs expected or None)`` of an
        ``Affine``/``Linear`` node."""
        if self.shape is not None and not self.flat:
            raise NIRImportError(
                f"{'the pooled' if self.pooled else 'the'} {_shape_text(self.current)} map of "
                f"{self.source!r} reaches the weight node {name!r} without a Flatten: add a "
                "Flatten (torch.nn.Flatten) before it")
        if self.pooled is None:
            expected = self.size if self.shape is None else int(np.prod(self.shape))
            self._consume(None)
            return None, weight, expected
        conn = Connectivity(self.shape, self.pooled["window"])
        if weight.shape[1] != conn.weight_shape(weight.shape[0])[1]:
            raise NIRImportError(
                f"node {name!r} takes {weight.shape[1]} inputs but {self._where()} pooled by "
                f"{conn.pool} ({_shape_text(conn.pooled_shape)}) has "
                f"{int(np.prod(conn.pooled_shape))}: the shapes do not chain")
        gain = self.pooled["gain"]
        return self._consume(conn), weight * gain, None

    def check_no_pool(self, name, node):
        if self.pooled is not None:
            raise NIRImportError(
                f"pooling {', '.join(map(repr, self.pooled['nodes']))} must be followed by a "
                f"weight node (Conv2d, Affine, Linear), not {name!r} ({_kind(node)})")

    def layer_row(self, conn):
        """The report's ``connectivity`` and ``pool`` of the layer that consumed the map."""
        if conn is None:
            return {"connectivity": None, "pool": self.consumed}
        row = conn.to_dict()
        row.update(input_shape=list(conn.input_shape), pool=conn.pool,
                   pooled_shape=list(conn.pooled_shape),
                   output_shape=None if conn.output_shape is None else list(conn.output_shape))
        return {"connectivity": row, "pool": self.consumed}

    def neuron(self, name, n, conn):
        """The map a layer of ``n`` neurons named ``name`` produces (a convolution's output)."""
        self.shape = None if conn is None else conn.output_shape
        self.flat, self.size, self.source = self.shape is None, n, name
        self.pooled = self.consumed = None

class _Fit(NamedTuple):
    """The discretization options every layer shares."""

    dt: float
    method: str
    quirks: str | None
    tolerance: float
    max_terms: int
    max_shift: int


def _decay(name, node, field, fit):
    """The :class:`~spikeforge.model.discretize.Discretized` decay of ``node.field``."""
    tau = _scalar(name, node, field)
    if fit.quirks == "norse":
        tau /= fit.dt
    tolerance = DEFAULT_TOLERANCE if fit.tolerance is None else fit.tolerance
    try:
        return discretize(tau, fit.dt, fit.method, tolerance=tolerance,
                          max_terms=fit.max_terms, max_shift=fit.max_shift, what=field)
    except DecayFitError as exc:
        if fit.tolerance is not None:  # asked for: a tolerance the budget cannot meet
            raise NIRImportError(f"node {name!r}: {exc}") from None
        return _decay_best(name, tau, field, fit)  # the default: the closest, with a warning
    except ValueError as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None


def _decay_best(name, tau, field, fit):
    try:
        return discretize(tau, fit.dt, fit.method, tolerance=DEFAULT_TOLERANCE,
                          max_terms=fit.max_terms, max_shift=fit.max_shift, what=field,
                          closest=True)
    except ValueError as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None


def _decay_row(field, disc, dt):
    row = disc.to_dict()
    row.update(field=field, tau_steps=disc.tau / dt, realized_tau_steps=disc.realized_tau / dt,
               exact=abs(disc.d_relative_error) <= EXACT_RELATIVE)
    return row


def _snap(gain):
    """``(gain, snapped)``: a gain within float32 rounding of a power of two becomes it."""
    if gain > 0:
        power = 2.0 ** round(math.log2(gain))
        if abs(gain / power - 1) <= EXACT_RELATIVE:
            return power, gain != power
    return gain, False


def _reset_mode(name, kind_name, filtered, recurrent, reset, quirks, node):
    """``(ResetMode, notes)``: what the exporter's reset means in the contract, or a refusal."""
    if reset == "zero":
        if getattr(node, "v_reset", None) is not None and _scalar(name, node, "v_reset") != 0:
            raise NIRImportError(
                f"node {name!r}: v_reset = {_scalar(name, node, 'v_reset'):g}: the contract "
                "resets to 0 (v_reset = 0); a nonzero reset potential cannot be imported. "
                "Export with v_reset = 0 or use a subtract reset")
        if quirks == "snntorch" and (filtered or recurrent):
            # Synaptic, RLeaky and RSynaptic set the membrane to 0 on the step after a spike,
            # dropping that step's input too (Leaky keeps it): exactly the clearing reset
            return ResetMode.CLEAR, []
        return ResetMode.ZERO, []
    if reset == "subtract-same-step":
        return ResetMode.SUBTRACT_BEFORE_LEAK, []
    if quirks == "norse":
        if filtered:
            raise NIRImportError(
                f"node {name!r}: Norse's LIFCell (CubaLIF) resets to v_reset only; "
                "--reset subtract applies to LIFBoxCell (LIF) with reset_subtract: use "
                "--reset zero")
        return ResetMode.SUBTRACT_BEFORE_LEAK, []  # Norse subtracts within the step
    return ResetMode.SUBTRACT, []


def _neuron(name, node, n, fit, reset, last, recurrent):
    """``(IR neuron node, gain, constant drive, report row)`` of NIR neuron ``node``."""
    kind_name = _kind(node)
    kind, filtered = NEURONS[kind_name]
    if kind is NeuronKind.LI and not last:
        raise NIRImportError(f"node {name!r} is a non-spiking {kind_name}: only the last layer "
                             "can be a readout")
    for field in ("tau", "tau_mem", "tau_syn", "v_threshold", "r", "w_in", "v_leak",
                  "v_reset"):
        shape = np.asarray(getattr(node, field, 0) if getattr(node, field, None) is not None
                           else 0).shape
        if shape not in ((), (1,), (n,)) and int(np.prod(shape)) != n:
            raise NIRImportError(f"node {name!r}: {field} has shape {shape} but the weights "
                                 f"before it have {n} outputs")
    decays, k_syn, k_mem, notes = {}, 0, 0, []
    if filtered:
        syn = _decay(name, node, "tau_syn", fit)
        decays["syn"], k_syn = _decay_row("tau_syn", syn, fit.dt), syn.decay
    if kind is not NeuronKind.IF:
        mem = _decay(name, node, "tau_mem" if filtered else "tau", fit)
        decays["mem"], k_mem = _decay_row("tau_mem" if filtered else "tau", mem, fit.dt), \
            mem.decay
    gain = _scalar(name, node, "r")
    d_mem = 1.0
    if filtered:
        w_in = _scalar(name, node, "w_in")
        d_syn = 1 - syn.factor
        if fit.quirks == "norse":
            w_in /= d_syn
        gain *= d_syn * w_in  # the input path is exact
    if kind is not NeuronKind.IF:
        d_mem = 1 - mem.factor
        gain *= d_mem
    gain, snapped = _snap(gain)
    drive = 0.0
    if kind is not NeuronKind.IF and getattr(node, "v_leak", None) is not None:
        v_leak = _scalar(name, node, "v_leak")
        if v_leak != 0 and filtered:
            raise NIRImportError(
                f"node {name!r}: v_leak = {v_leak:g} on a {kind_name}: the contract's only "
                "constant input (the bias) passes through the synaptic filter, so a resting "
                "potential cannot be imported exactly; export with v_leak = 0")
        drive = d_mem * v_leak  # Euler: v += d (v_leak - v) + d r I
    reset_mode, notes = (ResetMode.ZERO, []) if kind is NeuronKind.LI else _reset_mode(
        name, kind_name, filtered, recurrent, reset, fit.quirks, node)
    try:
        if kind is NeuronKind.LI:
            neuron = LI(n, k_syn=k_syn, k_mem=k_mem, name=name)
            theta = None
        else:
            theta = _scalar(name, node, "v_threshold")
            cls = IF if kind is NeuronKind.IF else LIF
            extra = {} if kind is NeuronKind.IF else {"k_mem": k_mem}
            neuron = cls(n, k_syn=k_syn, theta=theta, compare=">", reset=reset_mode,
                         theta_reset=theta if reset_mode.subtracts else None,
                         same_step_recurrence=recurrent, name=name, **extra)
    except (TypeError, ValueError) as exc:
        raise NIRImportError(f"node {name!r}: {exc}") from None
    row = {"kind": kind.name, "nir_kind": kind_name, "k_syn": Decay.of(k_syn).to_json(),
           "k_mem": Decay.of(k_mem).to_json(), "threshold_nir": theta, "gain": gain,
           "gain_snapped": snapped, "leak_drive": drive, "reset": reset_mode.name.lower(),
           "same_step_recurrence": recurrent, "decays": decays, "notes": notes}
    return neuron, gain, drive, row


def _options(dt, method, reset, quirks, steps, tolerance, max_terms):
    if quirks not in QUIRKS:
        raise NIRImportError(f"quirks must be one of {', '.join(map(str, QUIRKS))}, not "
                             f"{quirks!r}")
    if reset not in RESETS:
        raise NIRImportError(f"reset must be one of {', '.join(RESETS)}, not {reset!r}")
    if method not in METHODS:
        raise NIRImportError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not (isinstance(dt, int | float) and not isinstance(dt, bool) and dt > 0
            and np.isfinite(dt)):
        raise NIRImportError(f"dt must be a positive number of seconds, not {dt!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise NIRImportError(f"steps must be a positive integer, not {steps!r}")
    if tolerance is not None and not (isinstance(tolerance, int | float)
                                      and not isinstance(tolerance, bool) and tolerance > 0
                                      and not math.isnan(tolerance)):
        raise NIRImportError(f"decay tolerance must be a positive fraction of d (0.01 is 1 %), "
                             f"not {tolerance!r}")
    if isinstance(max_terms, bool) or not isinstance(max_terms, int) \
            or not 1 <= max_terms <= MAX_TERMS:
        raise NIRImportError(f"max decay terms must be an integer in 1..{MAX_TERMS}, not "
                             f"{max_terms!r}")


def _accepts(source):
    return type(source).__name__ == "NIRGraph" and type(source).__module__.startswith("nir")


@register("nir", suffixes=(".nir", ".h5", ".hdf5"), accepts=_accepts,
          options=("dt", "method", "reset", "quirks", "steps", "name", "decay_tolerance",
                   "max_decay_terms", "max_shift"),
          describes=".nir files and nir.NIRGraph (snnTorch, Norse, ...)")
def nir_to_graph(graph, *, dt=None, method="euler", reset="zero", quirks=None, steps=32,
                 name="nir", decay_tolerance=None, max_decay_terms=MAX_TERMS,
                 max_shift=31):
    """``(ir_graph, report)`` of ``graph`` (a ``nir.NIRGraph`` or a path): float weights and
    thresholds, decays already fitted (see the module for the rule). ``dt`` ``None`` is
    :data:`DEFAULT_DT` of the quirks (1e-4 s, Norse's 1e-3 s, with a warning).
    ``decay_tolerance`` ``None`` is 1 % of d where ``max_decay_terms`` reach it and the closest
    decay they allow elsewhere (its error is a warning); a tolerance given and not met within
    the term budget is an error."""
    if isinstance(graph, str | Path):
        graph = read_nir(graph)
    warnings, given = [], dt is not None
    if dt is None:
        dt = DEFAULT_DT[quirks] if quirks in DEFAULT_DT else DEFAULT_DT[None]
        if quirks == "norse":
            warnings.append(f"dt not given: assuming {dt:g} s, Norse's export default; a graph "
                            "exported with another dt needs --dt (a wrong dt changes every "
                            "time constant by its square)")
    _options(dt, method, reset, quirks, steps, decay_tolerance, max_decay_terms)
    if given and quirks == "norse" and dt != DEFAULT_DT["norse"]:
        warnings.append(f"--quirks norse with dt = {dt:g} s: Norse writes tau as dt·tau with the "
                        f"dt of its export (default {DEFAULT_DT['norse']:g} s), so every tau/dt "
                        "scales with the square of a wrong dt; make sure the graph was exported "
                        f"with dt = {dt:g} s")
    fit = _Fit(dt, method, quirks, decay_tolerance, max_decay_terms, max_shift)
    order, loops, skips = _chain(graph)
    nodes = graph.nodes
    body = order[1:-1]
    ir_nodes, rows, group, size = [], [], [], None
    n_in = _size(order[0], nodes[order[0]], "input")
    neurons = [n for n in body if _kind(nodes[n]) in NEURONS]
    maps = _Maps(order[0], nodes[order[0]], n_in)
    produced = {order[0]: (-1, maps.shape)}  # what a skip path can start from: layer, map
    for name in body:
        node = nodes[name]
        if _kind(node) in (*POOLS, *SHAPES, *CONVOLUTIONS):
            if group:
                raise NIRImportError(
                    f"node {name!r} ({_kind(node)}) follows the weight node {group[-1][0]!r} "
                    "without a neuron between them: a Conv2d needs its own neuron node after "
                    "it, and a pool or Flatten goes between a neuron (or the Input) and the next "
                    "weight node")
            if _kind(node) in POOLS:
                maps.pool(name, node)
                continue
            if _kind(node) in SHAPES:
                maps.flatten(name, node)
                continue
            conn, weight, bias = maps.convolution(name, node, first=not rows)
            group.append((name, weight, bias, conn))
            size = conn.neurons()
            continue
        if _kind(node) in WEIGHTS:
            weight, bias = _weights(name, node)
            conn, weight, expected = maps.dense(name, weight)
            if group and (conn is not None or group[-1][3] is not None):
                raise NIRImportError(
                    f"node {name!r} follows the weight node {group[-1][0]!r} and one of them "
                    "reads a pooled or convolved map: composing them is not a convolution, so "
                    "it is not supported; put a neuron node between them")
            expected = size if group else expected
            if expected is not None and weight.shape[1] != expected:
                before = "the Input declares" if size is None else "the node before has"
                raise NIRImportError(f"node {name!r} takes {weight.shape[1]} inputs but {before} "
                                     f"{expected}")
            group.append((name, weight, bias, conn))
            size = weight.shape[0]
            continue
        maps.check_no_pool(name, node)
        if not group:
            raise NIRImportError(f"node {name!r} ({_kind(node)}) must follow an Affine or Linear "
                                 "node: spikeforge layers are weights then neurons")
        if name in loops and NEURONS[_kind(node)][0] is NeuronKind.LI:
            raise NIRImportError(f"node {name!r} is a non-spiking readout: it cannot have "
                                 "recurrent weights")
        conn = group[-1][3]
        if name in loops and conn is not None and conn.conv is not None:
            raise NIRImportError(f"node {name!r} has recurrent weights {loops[name]!r} but its "
                                 f"input is the convolution {group[-1][0]!r}: a convolutional "
                                 "layer cannot have recurrent weights")
        neuron, gain, drive, row = _neuron(name, node, size, fit, reset,
                                           last=name == neurons[-1], recurrent=name in loops)
        join = None
        if name in skips:
            join = _join(name, skips[name], produced, nodes, conn, len(rows))
            row["join"] = join.row
        if join is not None and join.row["steps_ahead"]:
            warnings.append(
                f"node {name!r} joins the skip path from {join.row['source']!r}: the skip's "
                f"spikes reach it {join.row['steps_ahead']} steps ahead of the main path's (each "
                "layer delays its spikes by two steps, a skip path does not), so its timing "
                "differs from a same-step simulation of the graph; rate-coded networks "
                "(ANN→SNN) tolerate it")
        for index, (wname, weight, bias, wconn) in enumerate(group):
            last = index == len(group) - 1
            scale = gain if last else 1.0  # the gain folds into the last
            if join is not None and last and join.bias is not None:  # the skip's Conv2d bias
                bias = join.bias if bias is None else bias + join.bias
            if last and drive:
                channels = size if wconn is None else wconn.bias_shape(size)[0]
                bias = (0 if bias is None else bias * gain) + np.full(channels, drive)
            elif bias is not None:
                bias = bias * scale
            extra = {}
            if join is not None and last:  # the skip adds to the sum the gain scales
                extra = dict(shortcut=join.shortcut, shortcut_weight=join.kernel * gain)
            ir_nodes.append(Affine(weight * scale, bias, name=wname, connectivity=wconn,
                                   **extra))
        if name in loops:
            rname = loops[name]
            rec, rbias = _weights(rname, nodes[rname])
            if rec.shape != (size, size):
                raise NIRImportError(f"recurrent weights {rname!r} have shape {rec.shape}, not "
                                     f"{(size, size)}")
            if rbias is not None:  # a constant current, like the input bias
                last = ir_nodes[-1]
                bias = rbias * gain if last.bias is None else last.bias + rbias * gain
                ir_nodes[-1] = Affine(last.weight, bias, name=last.name,
                                      connectivity=last.connectivity)
            ir_nodes.append(Recurrent(rec * gain, name=rname))
        if quirks == "snntorch" and row["reset"] == "subtract_before_leak":
            layer_nodes = ir_nodes[-len(group) - (name in loops):]
            row["notes"].extend(_double_reset(layer_nodes, row, neuron))
        ir_nodes.append(neuron)
        rows.append({"nodes": [g[0] for g in group] + [name], "recurrent": loops.get(name),
                     **row, **maps.layer_row(conn)})
        maps.neuron(name, size, conn)
        produced[name] = (len(rows) - 1, maps.shape)
        group = []
    if group:
        raise NIRImportError(f"weights {group[-1][0]!r} must be followed by a neuron node "
                             f"({', '.join(NEURONS)})")
    maps.check_no_pool(order[-1], nodes[order[-1]])
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
    return ir, {"dt": dt, "method": method, "reset": reset, "quirks": quirks,
                "decay_tolerance": decay_tolerance, "max_decay_terms": max_decay_terms,
                "layers": rows, "warnings": warnings}


class _Join(NamedTuple):
    """A residual join read from a skip path: the layer's :class:`~spikeforge.model.Shortcut`,
    its 1×1 kernel (pool gain folded in, the neuron's input gain not yet), the skip Conv2d's
    bias per channel (or None) and the report's row."""

    shortcut: Shortcut
    kernel: np.ndarray
    bias: np.ndarray | None
    row: dict


def _join(name, skip, produced, nodes, conn, layer_index):
    """The :class:`_Join` of neuron ``name``, whose convolution ``conn`` the skip path
    ``(source, path)`` adds to; ``layer_index`` is the joining layer's."""
    source, path = skip
    index, shape = produced[source]
    if shape is None:
        raise NIRImportError(f"the skip path from {source!r} to {name!r} starts at a flat "
                             "vector: a residual join adds a (channels, height, width) map (a "
                             "Conv2d layer's neurons, or an Input with a 3-d shape)")
    if conn is None or conn.conv is None:
        raise NIRImportError(f"node {name!r} joins the skip path from {source!r} but its own "
                             "weights are not a Conv2d: a residual join adds a map to a "
                             "convolution's map")
    window, gain, conv_node = 1, 1.0, None
    for node_name in path:
        node = nodes[node_name]
        if conv_node is not None:
            raise NIRImportError(f"node {node_name!r} ({_kind(node)}) follows the skip path's "
                                 f"Conv2d {conv_node!r}: a skip path is pools, then at most one "
                                 "1×1 Conv2d")
        if _kind(node) in POOLS:
            pool, pool_gain = _pool_window(node_name, node)
            window, gain = window * pool, gain * pool_gain
        else:
            conv_node = node_name
    pooled = (shape[0], shape[1] // window, shape[2] // window)
    bias, stride = None, 1
    if conv_node is None:  # an identity skip: the map added as it is
        kernel = np.eye(pooled[0]).reshape(pooled[0], pooled[0], 1, 1)
    else:
        kernel, bias, spec = _conv_fields(conv_node, nodes[conv_node], pooled)
        if spec.kernel != 1 or spec.padding:
            raise NIRImportError(f"node {conv_node!r} (Conv2d) on the skip path to {name!r} has "
                                 f"a {spec.kernel}×{spec.kernel} kernel and padding "
                                 f"{spec.padding}: a skip path's convolution is 1×1 without "
                                 "padding (a projection)")
        stride = spec.stride
    try:
        shortcut = Shortcut(index, Connectivity(shape, window, ConvSpec(kernel.shape[0], 1,
                                                                        stride, 0)))
    except ValueError as exc:
        raise NIRImportError(f"the skip path from {source!r} to {name!r}: {exc}") from None
    joined = shortcut.connectivity.output_shape
    if joined != conn.output_shape:
        raise NIRImportError(f"the skip path from {source!r} gives a {_shape_text(joined)} map "
                             f"but the convolution of {name!r} gives "
                             f"{_shape_text(conn.output_shape)}: the shapes do not join")
    row = {"source": source, "source_layer": index, "nodes": list(path), "pool": window,
           "stride": stride, "identity": conv_node is None,
           "steps_ahead": 2 * (layer_index - index - 1)}
    return _Join(shortcut, kernel * gain, bias, row)


def _double_reset(ir_nodes, row, neuron):
    r"""snnTorch with ``reset_delay=False`` fires at step t on
    :math:`\beta m_{t-1} + x_t > v_{th}(1 + r_t)`, :math:`r_t = [m_{t-1} > v_{th}]`: a membrane
    still above threshold after its reset doubles the next threshold. The contract's
    subtraction before the leak is that rule with :math:`r_t = 0`, which holds whenever the
    largest drive :math:`x_{max}` (all excitatory inputs and recurrent spikes, plus the bias; for
    ``CubaLIF`` its steady state :math:`x_{max}/d_{syn}`) is at most :math:`(1 + d_{mem})\,v_{th}`:
    then :math:`m_{t-1} \le v_{th}` after every reset. Returns the note when that is not proved."""
    layer = [n for n in ir_nodes if isinstance(n, Affine)]
    weight, bias = layer[-1].dense_weight, layer[-1].dense_bias
    for affine in reversed(layer[:-1]):  # plain Affines only: a connectivity is never composed
        bias = None if affine.bias is None else weight @ affine.bias + (
            0 if bias is None else bias)
        weight = weight @ affine.weight
    drive = np.maximum(weight, 0).sum(1) + (0 if bias is None else np.maximum(bias, 0))
    if isinstance(ir_nodes[-1], Recurrent):
        drive = drive + np.maximum(ir_nodes[-1].weight, 0).sum(1)
    if "syn" in row["decays"]:
        drive = drive / (1 - row["decays"]["syn"]["realized_factor"])
    d_mem = 1 - row["decays"]["mem"]["realized_factor"] if "mem" in row["decays"] else 0.0
    limit = (1 + d_mem) * float(neuron.theta)
    largest = float(drive.max())
    row["double_reset_free"] = largest <= limit
    if largest <= limit:
        return []
    return [f"snnTorch with reset_delay=False subtracts the threshold twice when the membrane "
            f"is still above it after a reset; that needs a drive above (1 + d)·v_th = "
            f"{limit:.4g}, and this layer's can reach {largest:.4g}: the import subtracts once, "
            "so such steps can differ"]


def _floor_error(row, steps):
    """A bound, in units of the exporter's potential, on how far the contract's membrane can
    drift from the exact update because every decay term floors (< 1 unit of ``2^-f`` each,
    per step): e_I <= m_syn / d_syn, e_U <= (m_mem + e_I) / d_mem."""
    def per_step(terms):
        decay = Decay.of(terms)
        return 0 if all(k == 0 for _, k in decay.terms) else len(decay.terms), float(decay.d)

    m_syn, d_syn = per_step(row["k_syn"])
    m_mem, d_mem = per_step(row["k_mem"]) if row["kind"] != "IF" else (0, 0.0)
    e_i = 0.0 if m_syn == 0 else m_syn / d_syn
    e_u = (m_mem + e_i) / d_mem if d_mem > 0 else e_i * steps
    return e_u / row["state_scale"]


def _warnings(report, weight_bits, steps):
    """Every approximation of the import, one line each; and the floor lines apart."""
    lines, floor_lines = list(report["warnings"]), []
    dt = report["dt"]
    for row in report["layers"]:
        label = f"layer {row['nodes'][-1]!r}"
        for decay in row["decays"].values():
            if not decay["exact"]:
                lines.append(
                    f"{label}: {decay['field']} = {decay['tau']:.6g} s ({decay['tau_steps']:.4g} "
                    f"steps) is realized as d = {decay['terms']} ({decay['n_terms']} term(s)), "
                    f"τ = {decay['realized_tau_steps']:.4g} steps "
                    f"({decay['tau_relative_error']:+.2%})")
            if decay["tau_steps"] > PLAUSIBLE_STEPS:
                lines.append(f"{label}: {decay['field']} is {decay['tau_steps']:.4g} steps of "
                             f"dt = {dt:g} s: the neuron barely leaks and its input gain is "
                             "tiny; is --dt the step the graph was exported with?")
        lines.extend(f"{label}: {text}" for text in row["approximations"] + row["notes"])
        if weight_bits is None and row["gain_snapped"]:
            row["notes"].append("gain snapped to a power of two (float32 rounding)")
        if row["max_abs_weight"] >= 2**24:
            lines.append(f"{label}: weights reach {row['max_abs_weight']:.4g} >= 2^24: the "
                         "exporter's float32 sums round, the contract's do not")
        error = _floor_error(row, steps)
        row["floor_error_bound"] = error
        if error > 0:
            relative = error / row["threshold_nir"] if row["threshold_nir"] else None
            floor_lines.append(
                f"{label}: each decay floors at 2^-{row['input_shift']} of a unit: the state "
                f"stays within ±{error:.3g} of the exact update"
                f"{f' ({relative:.2%} of v_th)' if relative else ''}; a spike can move only "
                "when the exporter's membrane comes that close to its threshold")
    return lines, floor_lines


def import_nir(graph, *, dt=None, method="euler", weight_bits=None, reset="zero", steps=32,
               state_bits=None, name="nir", quirks=None, decay_tolerance=None,
               max_decay_terms=MAX_TERMS, fraction_bits=None):
    """Import ``graph`` (a ``nir.NIRGraph`` or a path); returns ``(network, report)``.

    Runs :func:`nir_to_graph`, then the fuse and quantize passes. ``report`` holds, per layer,
    the NIR nodes, the fitted decays (terms, realized τ, errors), the gain, the scales and the
    weight rounding error; ``warnings``, one line per approximation (``exact`` is true only
    when there is none: then every spike equals the exporter's own simulation), and
    ``floor_warnings``, the bound on what the decays' floors can move.
    """
    from ..passes import LOWERING, Options, QuantizeError, run_passes

    try:
        options = Options(weight_bits=weight_bits, state_bits=state_bits,
                          fraction_bits=fraction_bits)
    except ValueError as exc:
        raise NIRImportError(str(exc)) from None
    max_shift = (state_bits or 32) - 1
    ir, report = nir_to_graph(graph, dt=dt, method=method, reset=reset, quirks=quirks,
                              steps=steps, name=name, decay_tolerance=decay_tolerance,
                              max_decay_terms=max_decay_terms, max_shift=max_shift)
    try:
        lowered, passes = run_passes(ir, options, LOWERING)
        network = graph_to_network(lowered)
    except QuantizeError as exc:
        gains = ", ".join(f"{row['nodes'][-1]}: {row['gain']:.6g}" for row in report["layers"])
        raise NIRImportError(f"{exc} (gains g folded into the weights, from dt/τ, r and w_in: "
                             f"{gains})") from None
    except ValueError as exc:
        raise NIRImportError(f"the imported network is not valid: {exc}") from None
    for row, quantized, layer in zip(report["layers"], passes["quantize"]["layers"],
                                     network.layers, strict=True):
        row.update({k: v for k, v in quantized.items() if k != "nodes"},
                   nodes=quantized["nodes"])
        weights = [layer.weight] + ([] if layer.recurrent is None else [layer.recurrent])
        row["max_abs_weight"] = max(float(np.abs(w).max()) for w in weights) / row["scale"]
        if row.get("pool") is not None:  # an average's 1/window² is exact iff nothing rounded
            row["pool"]["exact"] = row["weight_rounding_max_error"] == 0
    lines, floor_lines = _warnings(report, weight_bits, steps)
    report.update(warnings=lines, floor_warnings=floor_lines, latency=[2] * len(report["layers"]),
                  parameters_exact=not lines, exact=not lines and not floor_lines,
                  weight_bits=weight_bits, fused=passes["fuse"]["fused"],
                  passes=passes["passes"])
    return network, report
