r"""Check ranges: prove the synaptic accumulators cannot overflow, and bound ``I`` and ``U`` over
an inference to say whether saturation can happen at all.

Accumulator. The hardware sums a step's weights in :func:`~spikeforge.hdl.arith.accumulator_width`
bits, enough for :math:`R` weights of the format's extreme value (:math:`R` rows: inputs plus own
neurons), so no sum of one step can overflow: :math:`a \in [R\,W_{min}, R\,W_{max}]`. The pass
also reports the tighter range of the actual weights,
:math:`a_i \in [\sum_j \min(W_{ij},0) + c_i,\ \sum_j \max(W_{ij},0) + c_i]` (every input that
can add spikes, none that subtracts, or the reverse).

State bounds. Because :math:`f_k(x) = x - (x \gg k)` is non-decreasing, interval arithmetic over
the ``T`` steps of an inference (from the zero state) bounds every reachable value:

.. math::

    I^{hi}_{n+1} = f_{k_{syn}}(I^{hi}_n) + a^{hi},\qquad
    U^{hi}_{n+1} = f_{k_{mem}}(U^{hi}_n) + I^{hi}_n

and the same for the lower ends, where a spike's reset can lower :math:`U` further (subtraction:
:math:`f(\max(U^{lo}, \theta)) + I^{lo} - \theta`; to zero: :math:`I^{lo}`). ``I`` enters the
``U`` bound clamped to its format. If the bounds stay inside the formats for all ``T`` steps, no
update ever saturates (proved); otherwise saturation is possible (the contract allows it, and
counts it) and the report gives the bound.
"""

import numpy as np

from ...hdl.arith import accumulator_width
from ...model import NeuronKind, ResetMode
from ...model.numerics import floor_shift
from .base import Pass

__all__ = ["CheckRanges", "state_bounds"]

_CAP = 1 << 62


def _decay(x, k):
    r""":math:`x - (x \gg k)`; ``k = 0`` forgets everything (0)."""
    return x - floor_shift(x, k)


def _synaptic_range(layer):
    w = layer.weight.astype(np.int64)
    if layer.recurrent is not None:
        w = np.hstack([w, layer.recurrent.astype(np.int64)])
    lo, hi = np.minimum(w, 0).sum(1), np.maximum(w, 0).sum(1)
    if layer.bias is not None:
        lo, hi = lo + layer.bias, hi + layer.bias
    return lo, hi


def state_bounds(layer, steps):
    """``((I_lo, I_hi), (U_lo, U_hi))``: the extremes any neuron of ``layer`` can reach within
    ``steps`` steps from zero, without saturation."""
    p = layer.params
    a_lo, a_hi = _synaptic_range(layer)
    i_lo = i_hi = u_lo = u_hi = np.zeros(p.n, np.int64)
    i_min = i_max = u_min = u_max = 0
    cf = p.current_format
    for _ in range(steps):
        ci_lo, ci_hi = np.clip(i_lo, cf.min, cf.max), np.clip(i_hi, cf.min, cf.max)
        if p.kind is NeuronKind.IF:
            fu_lo, fu_hi = u_lo, u_hi
        else:
            fu_lo, fu_hi = _decay(u_lo, p.k_mem), _decay(u_hi, p.k_mem)
        new_u_hi = fu_hi + ci_hi
        new_u_lo = fu_lo + ci_lo
        if p.spiking:
            may_spike = u_hi >= p.theta
            if p.reset is ResetMode.SUBTRACT:
                base = np.maximum(u_lo, p.theta)
                leak = base if p.kind is NeuronKind.IF else _decay(base, p.k_mem)
                reset = leak + ci_lo - p.theta
            else:
                reset = ci_lo
                new_u_hi = np.maximum(new_u_hi, ci_hi)
            new_u_lo = np.where(may_spike, np.minimum(new_u_lo, reset), new_u_lo)
        u_lo, u_hi = np.clip(new_u_lo, -_CAP, _CAP), np.clip(new_u_hi, -_CAP, _CAP)
        i_lo = np.clip(_decay(i_lo, p.k_syn) + a_lo, -_CAP, _CAP)
        i_hi = np.clip(_decay(i_hi, p.k_syn) + a_hi, -_CAP, _CAP)
        i_min, i_max = min(i_min, int(i_lo.min())), max(i_max, int(i_hi.max()))
        u_min, u_max = min(u_min, int(u_lo.min())), max(u_max, int(u_hi.max()))
    return (i_min, i_max), (u_min, u_max)


class CheckRanges(Pass):
    """Accumulator proof and saturation bounds per layer (see the module)."""

    name = "ranges"

    def run(self, graph, options, report):
        network = graph.to_network()
        rows = []
        for index, layer in enumerate(network.layers):
            p = layer.params
            a_lo, a_hi = _synaptic_range(layer)
            rows_n = p.n_in + (p.n if p.recurrent else 0)
            acc = accumulator_width(p)
            (i_lo, i_hi), (u_lo, u_hi) = state_bounds(layer, network.steps)
            cf, pf = p.current_format, p.potential_format
            rows.append({
                "layer": layer.name or f"layer{index}", "kind": p.kind.name,
                "reset": p.reset.name.lower(), "k_syn": p.k_syn, "k_mem": p.k_mem,
                "theta": p.theta, "weight_format": f"s{p.weight_format.width}",
                "current_format": f"s{cf.width}", "potential_format": f"s{pf.width}",
                "accumulator_bits": acc,
                "accumulator_range": [rows_n * p.weight_format.min, rows_n * p.weight_format.max],
                "accumulator_overflow_possible": False,
                "synaptic_input_range": [int(a_lo.min()), int(a_hi.max())],
                "current_bound": [i_lo, i_hi], "potential_bound": [u_lo, u_hi],
                "current_saturation_possible": bool(i_lo < cf.min or i_hi > cf.max),
                "potential_saturation_possible": bool(u_lo < pf.min or u_hi > pf.max),
            })
        report[self.name] = {"steps": network.steps, "layers": rows,
                             "saturation_free": not any(
                                 r["current_saturation_possible"]
                                 or r["potential_saturation_possible"] for r in rows)}
        return graph
