r"""NIR fidelity: does an imported network fire when the network it came from fires?

Two measurements, one script.

**Random NIR graphs against the NIR specification.** Random ``Input → Affine → LIF|CubaLIF
(→ Affine → LIF|CubaLIF) → Output`` graphs, recurrent or not, with per-layer time constants
τ/dt log-uniform in [2, 1000], random thresholds, ``r``, ``w_in`` and float weights, are driven by
random spike trains (``--steps`` ≥ 1,000). The reference is :func:`simulate_nir`, a float64
simulation of the same graph at the same ``dt`` written here from the NIR specification in
forward-Euler form, with :math:`d = dt/\tau`:

.. math::

    I_n &= I_{n-1} + d_{syn}\,(-I_{n-1} + w_{in}\,x_n) \quad (\texttt{CubaLIF};
           \ \texttt{LIF}: I_n = x_n)\\
    v_n &= v_{n-1} + d_{mem}\,(v_{leak} - v_{n-1} + r\,I_n) - v_{th}\,s_{n-1}\,[\text{subtract}]\\
    s_n &= v_n > v_{th}, \qquad v_n \leftarrow v_{reset} \text{ if } s_n\ [\text{zero}],
    \qquad v_n \leftarrow v_n - v_{th} \text{ if } s_n\ [\text{subtract-same-step}]

where :math:`x_n = W s^{in}_n + b + V s_{n-1} + b_V` (the recurrent term only for a layer with its
own recurrent weights; a spike of step :math:`n-1` drives step :math:`n`). This is the order of
snnTorch and Norse (current, then membrane from the new current, then fire, within one step).
``zero`` is NIR's reset (to ``v_reset = 0``); ``subtract`` and ``subtract-same-step`` are the
variants the importer offers (``reset="subtract"``: the threshold is removed at the next update,
not decayed, as snnTorch does by default; ``"subtract-same-step"``: removed in the step of the
spike, so it decays with the membrane). The graphs cycle through the resets the importer has.

Timing: the importer documents a latency of two steps per layer against this order
(``docs/nir.md``, "Timing"): layer ``l``'s spike of step ``n`` is compared with index
``n + latency_l − 1`` of ``spikeforge.model.run(...).spikes[l]`` (whose index ``n`` holds the
spikes of step ``n + 1``), ``latency_l = 2(l + 1)`` unless the import report states its own
``latency`` per layer. The network gets the extra steps as zero input.

Each graph is imported with ``import_nir(..., weight_bits=8)`` once with one-term decays
(``max_decay_terms=1``) and once with the importer's default multi-term decays, and run with
``spikeforge.model.run``. Figures, over every output neuron of every graph and input:

* **within ±1**: spikes matched one-to-one within one step (greedy in time) over
  :math:`\sum_i \max(n^{ref}_i, n^{ours}_i)`, so missing and extra spikes both count against;
* **same step**: the same with no tolerance;
* **counts within ±1**: the share of neurons whose spike count differs by at most one.

The same graphs imported with 16-bit weights are reported beside (a diagnostic: what is left
is the decays' error, not the weights' rounding).

Goals (issue 15): multi-term ≥ 95 % within ±1 and counts within ±1 on ≥ 95 % of neurons. An
importer without multi-term decays (no ``max_decay_terms`` option) is reported as such.

**Peer fidelity.** snnTorch ``Leaky``/``Synaptic``/``RLeaky``/``RSynaptic`` and Norse
``LIFCell`` (exported as ``CubaLIF``) / ``LIFBoxCell`` (``LIF``) networks with integer weights,
integer thresholds, exact-shift decays (β = 1 − 2^−k), each reset the model has (snnTorch's
``reset_delay=False`` is ``subtract-same-step``), one and two layers, are
exported with the library's own exporter, imported (``--quirks norse`` and ``dt = 1 ms`` for
Norse, ``dt = 1e-4`` for snnTorch) and compared with the library's own simulation on random
input: the share of spikes (every layer) at the same step, one table row per
model/reset/layers. Goal ≥ 99.5 %.

    python benchmarks/nir_fidelity.py [--json] [--out FILE] [--graphs N] [--steps T] [--seed S]
                                      [--peer-nets N] [--no-peers] [--quick]
"""

import argparse
import inspect
import sys
import time

import numpy as np
from common import add_output_arguments, write_result

GOAL_WITHIN_ONE = 0.95
GOAL_COUNTS = 0.95
GOAL_PEER = 0.995
DT = 1e-3
TAU_STEPS = (2.0, 1000.0)
LATENCY_PER_LAYER = 2  # docs/nir.md, "Timing"
#: resets the float simulation models
RESETS = ("zero", "subtract", "subtract-same-step")


# --------------------------------------------------------------------------------------------
# The importer under test


def importer_options():
    """What :func:`import_nir` offers: ``{"multi_term": bool, "resets": [str]}``."""
    from spikeforge.compiler.frontends import nir as frontend

    params = inspect.signature(frontend.import_nir).parameters
    resets = [r for r in RESETS if r in getattr(frontend, "RESETS", ("zero", "subtract"))]
    return {"multi_term": "max_decay_terms" in params, "resets": resets}


def import_graph(graph, *, steps, multi_term, reset="zero", dt=DT, quirks=None,
                 weight_bits=8):
    """``(network, report)`` from ``import_nir``; ``multi_term=False`` asks for one-term decays
    (``max_decay_terms=1``), ``True`` for the importer's default."""
    from spikeforge.compiler.frontends.nir import import_nir

    extra = {}
    if not multi_term and importer_options()["multi_term"]:
        extra.update(max_decay_terms=1, decay_tolerance=float("inf"))  # the nearest shift
    return import_nir(graph, dt=dt, weight_bits=weight_bits, reset=reset, steps=steps,
                      quirks=quirks, **extra)


def latencies(report, layers):
    """Per layer, the steps between an input spike of step ``n`` and the layer's spike of that
    step in the peer's order: the report's ``latency`` if the importer states one (an int per
    layer or a list), else the documented two steps per layer."""
    stated = report.get("latency") if isinstance(report, dict) else None
    if isinstance(stated, int | float):
        return [int(stated) * (i + 1) for i in range(layers)]
    if isinstance(stated, list | tuple) and len(stated) == layers:
        return [int(v) for v in np.cumsum(stated)]
    return [LATENCY_PER_LAYER * (i + 1) for i in range(layers)]


def run_aligned(network, report, x):
    """Every layer's spikes (batch, T, n) of ``network`` on ``x`` (batch, T, n_in), aligned to
    the peer's steps by the importer's latency."""
    from spikeforge.model import run

    layers = len(network.layers)
    lat = latencies(report, layers)
    batch, steps, n_in = x.shape
    padded = np.concatenate([x, np.zeros((batch, max(lat), n_in), x.dtype)], axis=1)
    trace = run(network, padded)
    return [s[:, lat[i] - 1:lat[i] - 1 + steps].astype(np.uint8)
            for i, s in enumerate(trace.spikes)]


# --------------------------------------------------------------------------------------------
# Comparing spike trains


def match_counts(ref, ours, tolerance):
    """``(matched, denominator, counts_within_one, neurons)`` of two spike arrays (batch, T, n):
    spikes matched one-to-one within ``tolerance`` steps per neuron (greedy in time, optimal
    for intervals on a line), over the sum of ``max(n_ref, n_ours)`` per neuron."""
    ref, ours = np.asarray(ref), np.asarray(ours)
    if ref.shape != ours.shape:
        raise ValueError(f"spike arrays differ in shape: {ref.shape} vs {ours.shape}")
    count_ref, count_ours = ref.sum(axis=1), ours.sum(axis=1)
    denominator = int(np.maximum(count_ref, count_ours).sum())
    within = int((np.abs(count_ref.astype(np.int64) - count_ours) <= 1).sum())
    if tolerance == 0:
        matched = int(np.logical_and(ref, ours).sum())
        return matched, denominator, within, count_ref.size
    matched = 0
    for b in range(ref.shape[0]):
        for i in range(ref.shape[2]):
            a, c = np.flatnonzero(ref[b, :, i]), np.flatnonzero(ours[b, :, i])
            p = q = 0
            while p < len(a) and q < len(c):
                if abs(int(a[p]) - int(c[q])) <= tolerance:
                    matched, p, q = matched + 1, p + 1, q + 1
                elif a[p] < c[q]:
                    p += 1
                else:
                    q += 1
    return matched, denominator, within, count_ref.size


def share(numerator, denominator):
    return 1.0 if denominator == 0 else numerator / denominator


# --------------------------------------------------------------------------------------------
# The float64 NIR simulation (from the specification)


def _kind(node):
    return type(node).__name__


def nir_layers(graph):
    """The layers of a chain graph: a list of dicts with ``W``, ``b``, ``V``, ``bV`` and the
    neuron node, following edges from the Input (one recurrent weight node per neuron)."""
    nodes, succ = graph.nodes, {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
    current = next(n for n, node in nodes.items() if _kind(node) == "Input")
    layers, pending, seen = [], None, set()
    while True:
        seen.add(current)
        node, nxt = nodes[current], list(succ.get(current, []))
        if _kind(node) in ("Affine", "Linear"):
            bias = getattr(node, "bias", None)
            pending = (np.asarray(node.weight, np.float64),
                       None if bias is None else np.asarray(bias, np.float64))
        elif _kind(node) in ("LIF", "CubaLIF"):
            loops = [n for n in nxt if succ.get(n) == [current] and n not in seen]
            layer = {"W": pending[0], "b": pending[1], "neuron": node, "V": None, "bV": None}
            if loops:
                rec = nodes[loops[0]]
                layer["V"] = np.asarray(rec.weight, np.float64)
                bias = getattr(rec, "bias", None)
                layer["bV"] = None if bias is None else np.asarray(bias, np.float64)
                seen.add(loops[0])
                nxt.remove(loops[0])
            layers.append(layer)
        elif _kind(node) not in ("Input", "Output"):
            raise ValueError(f"the float NIR simulation does not model {_kind(node)} nodes")
        if not nxt:
            return layers
        current = nxt[0]


def _param(node, field, n, default=None):
    value = getattr(node, field, None)
    if value is None:
        if default is None:
            raise ValueError(f"{_kind(node)} has no {field}")
        value = default
    return np.broadcast_to(np.asarray(value, np.float64).ravel(), (n,)).copy()


def round_weights(layers, bits):
    """``layers`` (of :func:`nir_layers`) with ``W`` and ``V`` rounded to signed ``bits``-bit
    integers times one scale per layer, ``max(|W|, |V|) / (2^(bits−1) − 1)``: the rounding an
    import at ``bits``-bit weights cannot avoid, with nothing else changed."""
    rounded = []
    for layer in layers:
        mats = [m for m in (layer["W"], layer["V"]) if m is not None]
        scale = max(float(np.abs(m).max()) for m in mats) / (2 ** (bits - 1) - 1) or 1.0
        rounded.append({**layer, **{key: None if layer[key] is None
                                    else np.round(layer[key] / scale) * scale
                                    for key in ("W", "V")}})
    return rounded


def simulate_nir(graph, x, dt, reset="zero", weight_bits=None):
    """Every layer's spikes (batch, T, n) of NIR ``graph`` on input spikes ``x`` (batch, T,
    n_in), float64 forward Euler at ``dt`` (see the module docstring for the equations);
    ``weight_bits`` first rounds the weights (:func:`round_weights`)."""
    layers = nir_layers(graph)
    if weight_bits is not None:
        layers = round_weights(layers, weight_bits)
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    states, params, out = [], [], []
    for layer in layers:
        node, n = layer["neuron"], layer["W"].shape[0]
        cuba = _kind(node) == "CubaLIF"
        tau_mem = _param(node, "tau_mem" if cuba else "tau", n)
        params.append({
            "cuba": cuba, "d_mem": dt / tau_mem,
            "d_syn": dt / _param(node, "tau_syn", n) if cuba else None,
            "w_in": _param(node, "w_in", n, 1.0) if cuba else None,
            "r": _param(node, "r", n, 1.0), "v_leak": _param(node, "v_leak", n, 0.0),
            "v_th": _param(node, "v_threshold", n),
            "v_reset": _param(node, "v_reset", n, 0.0)})
        states.append({"i": np.zeros((batch, n)), "v": np.zeros((batch, n)),
                       "s": np.zeros((batch, n))})
        out.append(np.zeros((batch, steps, n), np.uint8))
    for t in range(steps):
        s_in = x[:, t]
        for index, (layer, p, st) in enumerate(zip(layers, params, states, strict=True)):
            drive = s_in @ layer["W"].T
            if layer["b"] is not None:
                drive = drive + layer["b"]
            if layer["V"] is not None:
                drive = drive + st["s"] @ layer["V"].T
                if layer["bV"] is not None:
                    drive = drive + layer["bV"]
            if p["cuba"]:
                st["i"] = st["i"] + p["d_syn"] * (-st["i"] + p["w_in"] * drive)
                current = st["i"]
            else:
                current = drive
            v = st["v"] + p["d_mem"] * (p["v_leak"] - st["v"] + p["r"] * current)
            if reset == "subtract":
                v = v - p["v_th"] * st["s"]
            s = (v > p["v_th"]).astype(np.float64)
            if reset == "zero":
                v = np.where(s > 0, p["v_reset"], v)
            elif reset == "subtract-same-step":
                v = v - p["v_th"] * s
            st["v"], st["s"] = v, s
            out[index][:, t] = s
            s_in = s
    return out


# --------------------------------------------------------------------------------------------
# Random NIR graphs


def _neuron_node(rng, kind, n, dt):
    """A NIR LIF/CubaLIF node with per-layer τ/dt log-uniform in [2, 1000], random v_th, r,
    w_in (all neurons of the layer share them: per-neuron values are another question)."""
    import nir

    full = lambda v: np.full(n, float(v))  # noqa: E731
    tau = lambda: dt * float(np.exp(rng.uniform(*np.log(TAU_STEPS))))  # noqa: E731
    v_th, r = rng.uniform(0.5, 4.0), rng.uniform(0.5, 2.0)
    if kind == "LIF":
        return nir.LIF(tau=full(tau()), r=full(r), v_leak=full(0), v_threshold=full(v_th),
                       v_reset=full(0))
    return nir.CubaLIF(tau_syn=full(tau()), tau_mem=full(tau()), r=full(r), v_leak=full(0),
                       v_threshold=full(v_th), v_reset=full(0), w_in=full(rng.uniform(0.5, 2)))


def _gain(node):
    """Steady-state membrane per unit of constant drive: ``r`` (LIF) or ``r·w_in``."""
    r = float(np.asarray(node.r).ravel()[0])
    return r * (float(np.asarray(node.w_in).ravel()[0]) if _kind(node) == "CubaLIF" else 1.0)


def _weights(rng, node, n_out, n_in, rate):
    """Float weights whose mean drive puts the steady membrane at 0.4–2.5 thresholds, with
    per-synapse spread of both signs."""
    v_th = float(np.asarray(node.v_threshold).ravel()[0])
    level = rng.uniform(0.4, 2.5, (n_out, 1))
    spread = rng.normal(0, 2.0, (n_out, n_in))
    return v_th * (level + spread) / (max(rate, 0.01) * n_in * _gain(node))


def random_graph(rng, dt=DT, steps=1000, n_in=20, hidden=16, n_out=10, x=None):
    """``(graph, description)``: a random one- or two-layer LIF/CubaLIF chain, a recurrent
    layer or not; layer weights are scaled to the input rate (measured for layer 2 with the
    float simulation of layer 1 on ``x``)."""
    import nir

    layers = int(rng.integers(1, 3))
    kinds = [str(rng.choice(["LIF", "CubaLIF"])) for _ in range(layers)]
    recurrent = bool(rng.random() < 0.5)
    rec_layer = int(rng.integers(0, layers)) if recurrent else None
    sizes = [n_in, *([hidden] if layers == 2 else []), n_out]
    rate = float(np.mean(x)) if x is not None else 0.1
    nodes = {"input": nir.Input({"input": np.array([n_in])})}
    edges, prev = [], "input"
    for i, kind in enumerate(kinds):
        neuron = _neuron_node(rng, kind, sizes[i + 1], dt)
        w = _weights(rng, neuron, sizes[i + 1], sizes[i], rate)
        nodes[f"fc{i}"] = nir.Affine(weight=w, bias=np.zeros(sizes[i + 1]))
        nodes[f"lif{i}"] = neuron
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        if i == rec_layer:
            v_th = float(np.asarray(neuron.v_threshold).ravel()[0])
            v = rng.normal(-0.2, 0.6, (sizes[i + 1],) * 2) * v_th / (sizes[i + 1] ** 0.5
                                                                       * _gain(neuron))
            nodes[f"rec{i}"] = nir.Linear(weight=v)
            edges += [(f"lif{i}", f"rec{i}"), (f"rec{i}", f"lif{i}")]
        prev = f"lif{i}"
        if x is not None and i + 1 < layers:  # the next layer's input rate, measured
            partial = nir.NIRGraph(nodes={**nodes, "output": nir.Output(
                {"output": np.array([sizes[i + 1]])})}, edges=[*edges, (prev, "output")],
                type_check=False)
            rate = float(np.mean(simulate_nir(partial, x, dt)[-1]))
    nodes["output"] = nir.Output({"output": np.array([n_out])})
    edges.append((prev, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    taus = [{k: round(float(np.asarray(getattr(nodes[f"lif{i}"], k)).ravel()[0]) / dt, 2)
             for k in ("tau", "tau_syn", "tau_mem") if hasattr(nodes[f"lif{i}"], k)}
            for i in range(layers)]
    return graph, {"layers": layers, "kinds": kinds, "recurrent_layer": rec_layer,
                   "tau_steps": taus}


#: the float64 simulation with 8-bit-rounded weights and nothing else changed: the most any
#: 8-bit import can reach (a diagnostic beside the variants)
CEILING = "float64, 8-bit weights"

#: variant → (multi-term decays, weight bits); the 16-bit ones separate the decay's error from
#: the weights' rounding (a diagnostic, not a goal)
VARIANTS = {"1-term": (False, 8), "multi-term": (True, 8), "1-term, 16-bit": (False, 16),
            "multi-term, 16-bit": (True, 16)}


def fidelity_random(graphs, steps, seed, batch=2, variants=tuple(VARIANTS)):
    """The random-graph measurement: per variant (:data:`VARIANTS`) the pooled figures and one
    row per graph; multi-term variants only where the importer has them."""
    options = importer_options()
    variants = {v: VARIANTS[v] for v in variants if options["multi_term"] or not VARIANTS[v][0]}
    rng = np.random.default_rng(seed)
    totals = {v: np.zeros(6, np.int64) for v in [*variants, CEILING]}
    rows, errors = [], {v: [] for v in [*variants, CEILING]}
    for g in range(graphs):
        reset = options["resets"][g % len(options["resets"])]
        rate = rng.uniform(0.02, 0.2)
        x = (rng.random((batch, steps, 20)) < rate).astype(np.uint8)
        graph, desc = random_graph(rng, steps=steps, x=x)
        ref = simulate_nir(graph, x, DT, reset)[-1]
        row = {"graph": g, "reset": reset, "input_rate": round(rate, 3), **desc,
               "reference_spikes": int(ref.sum())}
        rounded = simulate_nir(graph, x, DT, reset, weight_bits=8)[-1]
        exact, near = match_counts(ref, rounded, 0), match_counts(ref, rounded, 1)
        totals[CEILING] += [exact[0], near[0], near[1], near[2], near[3], int(rounded.sum())]
        row[CEILING] = {"within_one": round(share(near[0], near[1]), 4)}
        for variant, (multi, bits) in variants.items():
            try:
                network, report = import_graph(graph, steps=steps, multi_term=multi, reset=reset,
                                               weight_bits=bits)
            except ValueError as exc:
                errors[variant].append(f"graph {g}: {exc}")
                row[variant] = {"error": str(exc)}
                continue
            ours = run_aligned(network, report, x)[-1]
            exact = match_counts(ref, ours, 0)
            near = match_counts(ref, ours, 1)
            totals[variant] += [exact[0], near[0], near[1], near[2], near[3], int(ours.sum())]
            row[variant] = {"same_step": round(share(exact[0], exact[1]), 4),
                            "within_one": round(share(near[0], near[1]), 4),
                            "counts_within_one": round(share(near[2], near[3]), 4),
                            "spikes": int(ours.sum()),
                            "exact_claimed": bool(report.get("exact"))}
        rows.append(row)
    pooled = {}
    for variant, t in totals.items():
        same, near, denominator, within, neurons, spikes = (int(v) for v in t)
        pooled[variant] = {"same_step": share(same, denominator),
                           "within_one": share(near, denominator),
                           "counts_within_one": share(within, neurons),
                           "output_spikes": spikes, "neurons": neurons,
                           "import_errors": len(errors[variant]), "errors": errors[variant][:5]}
    return {"importer": options, "variants": pooled, "graphs": rows}


# --------------------------------------------------------------------------------------------
# Peer fidelity (snnTorch, Norse)

PEER_MODELS = ("snntorch.Leaky", "snntorch.Synaptic", "snntorch.RLeaky", "snntorch.RSynaptic",
               "norse.LIFCell", "norse.LIFBoxCell")
#: resets each model offers: Norse's LIFCell resets to v_reset only; "subtract-same-step" is
#: snnTorch's reset_delay=False (its RSynaptic cannot run that way with init_hidden=True)
PEER_RESETS = ({m: ("zero", "subtract") for m in PEER_MODELS}
               | {m: ("zero", "subtract", "subtract-same-step")
                  for m in ("snntorch.Leaky", "snntorch.Synaptic", "snntorch.RLeaky")}
               | {"norse.LIFCell": ("zero",)})


def _peer_helpers():
    """The snnTorch/Norse simulation helpers of the NIR import tests (one implementation)."""
    from spikeforge.tests.compiler.test_nir_import import norse_spikes, snntorch_spikes

    return snntorch_spikes, norse_spikes


def snntorch_run(net, x):
    """Every layer's spikes of snnTorch's own simulation of ``net`` on ``x``, from rest.

    The test helper resets with ``reset_hidden``, which leaves the recurrent cells' previous
    spikes (``RLeaky``/``RSynaptic`` keep ``spk`` from the last run, e.g. training); every
    cell's ``reset_mem`` clears them first."""
    snntorch_spikes, _ = _peer_helpers()
    for module in net:
        if hasattr(module, "reset_mem"):
            module.reset_mem()
    return snntorch_spikes(net, x)


def peer_network(model, reset, layers, rng, sizes=(12, 10, 6)):
    """``(modules, graph, import options)``: a peer network with integer weights, integer
    thresholds and decays 1 − 2^−k, exported with the library's own exporter."""
    import torch

    sizes = (sizes[0], sizes[-1]) if layers == 1 else sizes[:layers + 1]
    ks = [(int(rng.integers(1, 5)), int(rng.integers(1, 5))) for _ in range(layers)]
    thetas = [int(rng.integers(2, 7)) for _ in range(layers)]
    framework, cell = model.split(".")
    mods = []
    if framework == "snntorch":
        import snntorch as snn
        from snntorch.export_nir import export_to_nir

        for i in range(layers):
            n, (k_syn, k_mem) = sizes[i + 1], ks[i]
            lin = torch.nn.Linear(sizes[i], n, bias=False)
            lin.weight.data = torch.tensor(rng.integers(-2, 4, (n, sizes[i])), dtype=torch.float32)
            vec = lambda v, n=n: torch.full((n,), float(v))  # noqa: E731
            common = dict(beta=vec(1 - 2.0**-k_mem), threshold=vec(thetas[i]), init_hidden=True,
                          reset_mechanism="zero" if reset == "zero" else "subtract",
                          reset_delay=reset != "subtract-same-step")
            if cell in ("Synaptic", "RSynaptic"):
                common["alpha"] = vec(1 - 2.0**-k_syn)
            if cell.startswith("R"):
                neuron = getattr(snn, cell)(linear_features=n, all_to_all=True, **common)
                neuron.recurrent.weight.data = torch.tensor(rng.integers(-2, 2, (n, n)),
                                                            dtype=torch.float32)
                neuron.recurrent.bias.data.zero_()
            else:
                neuron = getattr(snn, cell)(**common)
            mods += [lin, neuron]
        net = torch.nn.Sequential(*mods)
        graph = export_to_nir(net, torch.zeros(sizes[0]))
        return net, graph, {"dt": 1e-4, "quirks": _quirks("snntorch")}
    import norse.torch as norse
    from norse.torch.functional.reset import reset_subtract, reset_value

    dt = 1e-3
    for i in range(layers):
        n, (k_syn, k_mem) = sizes[i + 1], ks[i]
        lin = torch.nn.Linear(sizes[i], n, bias=False)
        # the membrane integrates d_mem·i: weights 2^k_mem·m make the drive an integer m
        w = rng.integers(-2, 4, (n, sizes[i])) * 2.0**k_mem
        lin.weight.data = torch.tensor(w, dtype=torch.float32)
        inv = lambda k: torch.tensor(2.0**-k / dt)  # noqa: E731
        if cell == "LIFCell":
            p = norse.LIFParameters(tau_syn_inv=inv(k_syn), tau_mem_inv=inv(k_mem),
                                    v_th=torch.tensor(float(thetas[i])),
                                    v_reset=torch.tensor(0.0), v_leak=torch.tensor(0.0))
            neuron = norse.LIFCell(p)
        else:
            p = norse.LIFBoxParameters(tau_mem_inv=inv(k_mem),
                                       v_th=torch.tensor(float(thetas[i])),
                                       v_reset=torch.tensor(0.0), v_leak=torch.tensor(0.0),
                                       reset_method=reset_subtract if reset == "subtract"
                                       else reset_value)
            neuron = norse.LIFBoxCell(p)
        mods += [lin, neuron]
    graph = norse.to_nir(norse.SequentialState(*mods), torch.zeros(1, sizes[0]), dt=dt)
    return mods, graph, {"dt": dt, "quirks": _quirks("norse")}


def _quirks(framework):
    """The importer's quirks name for ``framework`` if it has one (``QUIRKS``), else None."""
    from spikeforge.compiler.frontends.nir import QUIRKS

    return framework if framework in QUIRKS else None


def peer_case(model, reset, layers, seed, steps, batch=2):
    """Spikes of every layer: the library's own simulation against the import. Returns the
    counts and what the importer said (``exact``, errors)."""
    rng = np.random.default_rng(seed)
    net, graph, opts = peer_network(model, reset, layers, rng)
    _, norse_spikes = _peer_helpers()
    n_in = net[0].in_features
    x = (rng.random((batch, steps, n_in)) < 0.3).astype(np.uint8)
    peer = (snntorch_run if model.startswith("snntorch") else norse_spikes)(net, x)
    result = {"model": model, "reset": reset, "layers": layers, "seed": seed,
              "peer_spikes": int(sum(p.sum() for p in peer))}
    try:
        network, report = import_graph(graph, steps=steps, multi_term=True, reset=reset,
                                       weight_bits=None, **opts)
    except ValueError as exc:
        return {**result, "refused": str(exc), "same": 0, "denominator": 0, "warnings": []}
    ours = run_aligned(network, report, x)
    same = denominator = 0
    for mine, theirs in zip(ours, peer, strict=True):
        m, d, _, _ = match_counts(theirs, mine, 0)
        same, denominator = same + m, denominator + d
    return {**result, "same": same, "denominator": denominator, "refused": None,
            "ours_spikes": int(sum(o.sum() for o in ours)),
            "exact_claimed": bool(report.get("exact")),
            "warnings": list(report.get("warnings", []))}


def fidelity_peers(nets, steps, seed):
    """One row per model/reset/layers, pooled over ``nets`` networks."""
    rows = []
    for model in PEER_MODELS:
        for reset in PEER_RESETS[model]:
            for layers in (1, 2):
                cases = [peer_case(model, reset, layers, seed + 1000 * k + layers, steps)
                         for k in range(nets)]
                refused = [c["refused"] for c in cases if c["refused"]]
                same = sum(c["same"] for c in cases)
                denominator = sum(c["denominator"] for c in cases)
                rows.append({
                    "model": model, "reset": reset, "layers": layers,
                    "same_step": None if refused else share(same, denominator),
                    "peer_spikes": sum(c["peer_spikes"] for c in cases),
                    "ours_spikes": sum(c.get("ours_spikes", 0) for c in cases),
                    "exact_claimed": all(c.get("exact_claimed", False) for c in cases),
                    "claimed": not refused and not any(c["warnings"] for c in cases),
                    "warnings": sorted({w for c in cases for w in c.get("warnings", [])})[:2],
                    "refused": refused[:1]})
    return rows


# --------------------------------------------------------------------------------------------
# Report


def summary(random, peers):
    rows = []
    variants = random["variants"]
    one = variants["1-term"]
    multi = variants.get("multi-term")
    for key, goal, what in (("within_one", GOAL_WITHIN_ONE, "output spikes within ±1 step"),
                            ("counts_within_one", GOAL_COUNTS, "neurons with count within ±1")):
        rows.append({
            "metric": f"random NIR graphs, multi-term, {what}",
            "value": None if multi is None else round(100 * multi[key], 2), "unit": "%",
            "versus": "1-term decays" + ("" if multi else " (importer has no multi-term)"),
            "versus_value": round(100 * one[key], 2), "ratio": None, "limit": 100 * goal,
            "meets": None if multi is None else multi[key] >= goal})
    ceiling = variants[CEILING]
    rows.append({
        "metric": "random NIR graphs, float64 with only the weights rounded to 8 bits, output "
                  "spikes within ±1 step (what an 8-bit import can reach at most)",
        "value": round(100 * ceiling["within_one"], 2), "unit": "%",
        "versus": "multi-term import", "versus_value":
            None if multi is None else round(100 * multi["within_one"], 2),
        "ratio": None if multi is None or not ceiling["within_one"]
        else multi["within_one"] / ceiling["within_one"], "limit": None, "meets": None})
    if peers:
        for claimed in (True, False):
            chosen = [r for r in peers if r["same_step"] is not None and r["claimed"] == claimed]
            worst = min((r["same_step"] for r in chosen), default=None)
            what = "imported without a warning" if claimed else "imported with a warning"
            rows.append({
                "metric": f"peer nets (snnTorch, Norse) {what} ({len(chosen)} of {len(peers)} "
                          "rows), spikes at the same step, worst row",
                "value": None if worst is None else round(100 * worst, 2), "unit": "%",
                "versus": "the library's own simulation", "versus_value": None, "ratio": None,
                "limit": 100 * GOAL_PEER if claimed else None,
                "meets": None if worst is None or not claimed else worst >= GOAL_PEER})
    return rows


def table(random, peers):
    lines = [f"importer: multi-term decays {'yes' if random['importer']['multi_term'] else 'NO'}"
             " (max_decay_terms option)"]
    lines.append(f"{'random NIR graphs':<22} {'same step':>10} {'within ±1':>10} "
                 f"{'count ±1':>10} {'spikes':>8} {'errors':>7}")
    for name, v in random["variants"].items():
        lines.append(f"{name:<22} {v['same_step']:>10.2%} {v['within_one']:>10.2%} "
                     f"{v['counts_within_one']:>10.2%} {v['output_spikes']:>8} "
                     f"{v['import_errors']:>7}")
    if "multi-term" not in random["variants"]:
        lines.append("multi-term: not measured, the importer has no max_decay_terms option")
    ref = sum(g["reference_spikes"] for g in random["graphs"])
    lines.append(f"(float64 NIR reference: {ref} output spikes, {len(random['graphs'])} graphs)")
    if peers:
        lines.append("")
        lines.append(f"{'peer model':<20} {'reset':<18} {'layers':>6} {'same step':>10} "
                     f"{'peer':>7} {'ours':>7}  import")
        for r in peers:
            fig = "refused" if r["same_step"] is None else f"{r['same_step']:.2%}"
            said = ("refused" if r["refused"] else "no warning" if r["claimed"] else "warns")
            lines.append(f"{r['model']:<20} {r['reset']:<18} {r['layers']:>6} {fig:>10} "
                         f"{r['peer_spikes']:>7} {r['ours_spikes']:>7}  {said}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--graphs", type=int, default=60, help="random NIR graphs")
    parser.add_argument("--steps", type=int, default=1000, help="time steps per input (≥ 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-nets", type=int, default=3, help="networks per peer row")
    parser.add_argument("--no-peers", action="store_true", help="skip the snnTorch/Norse part")
    parser.add_argument("--quick", action="store_true", help="6 graphs, 1 net per peer row")
    args = parser.parse_args(argv)
    for name in ("graphs", "steps", "peer_nets"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.quick:
        args.graphs, args.peer_nets = 6, 1
    import torch

    torch.set_num_threads(2)
    start = time.perf_counter()
    random = fidelity_random(args.graphs, args.steps, args.seed)
    peers = None if args.no_peers else fidelity_peers(args.peer_nets, args.steps, args.seed)
    result = {"benchmark": "nir_fidelity", "steps": args.steps, "seed": args.seed,
              "dt": DT, "seconds": round(time.perf_counter() - start, 1),
              "random": random, "peers": peers, "summary": summary(random, peers)}
    write_result(result, args.out, args.json, default=float)
    if not args.json:
        print(table(random, peers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
