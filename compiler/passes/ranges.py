r"""Check ranges: prove the synaptic accumulators cannot overflow, and bound ``I`` and ``U`` over
an inference to say whether saturation can happen at all.

Accumulator. The hardware sums a step's weights in :func:`~spikeforge.hdl.arith.accumulator_width`
bits, enough for :math:`R` weights of the format's extreme value (:math:`R` rows: inputs plus own
neurons), so no sum of one step can overflow: :math:`a \in [R\,W_{min}, R\,W_{max}]`. The
input shift :math:`2^f` is applied after the sum (wiring). The pass also reports the tighter
range of the actual weights, :math:`a_i \in [2^f\sum_j \min(W_{ij},0) + c_i,\
2^f\sum_j \max(W_{ij},0) + c_i]` (every input that can add spikes, none that subtracts, or the
reverse), with the recurrent part :math:`R` kept apart.

State bounds. Interval arithmetic over the ``T`` steps of an inference, from the zero state,
bounds every reachable value. A decay :math:`D(x) = x - \sum_i s_i (x \gg k_i)` with
:math:`P` positive and :math:`N` negative terms satisfies

.. math::  x(1-d) - N \;\le\; D(x) \;\le\; x(1-d) + P

(each floor is off by less than one), and :math:`1 - d \ge 0`, so over :math:`x \in [lo, hi]`
it lies in :math:`[\lceil lo(1-d) - N\rceil, \lfloor hi(1-d) + P\rfloor]`: sound for every
decay, including one with a negative term that leaves :math:`-1` at :math:`-1`. A one-term
decay :math:`x - (x \gg k)` is non-decreasing and is bounded exactly by its ends. Then

.. math::

    I^{hi}_{n+1} = D^{hi}_{syn}(I^{hi}_n) + a^{hi} + r^{hi},\qquad
    U^{hi}_{n+1} = D^{hi}_{mem}(U^{hi}_n) + I^{hi}_n

(with same-step recurrence :math:`D_{syn}(I + r) + a` and the drive :math:`I + r`), the same
for the lower ends, where a spike (possible once :math:`U^{hi} \ge \theta`) can lower
:math:`U` further: by subtraction :math:`D(\max(U^{lo}, \theta)) + I^{lo} - \theta_r`, before
the leak :math:`D(\max(U^{lo}, \theta) - \theta_r) + I^{lo}`, to zero :math:`I^{lo}`, the
clearing reset 0. The reset also bounds :math:`U` from above: a neuron fires at the next update
exactly when :math:`U \ge \theta` (not for ALIF, whose threshold adds :math:`b`), so the upper
bound is the larger of the quiet branch, :math:`D^{hi}(\min(U^{hi}, \theta - 1)) + I^{hi}`, and
the reset branch (:math:`D^{hi}(U^{hi}) + I^{hi} - \theta_r`,
:math:`D^{hi}(U^{hi} - \theta_r) + I^{hi}`, :math:`I^{hi}` or 0). ``I`` enters the ``U``
bound clamped to its format. If the bounds stay inside the formats for all ``T`` steps, no
update ever saturates (proved); otherwise saturation is possible (the contract allows it, and
counts it) and the report gives the bound.
"""

import numpy as np

from ...hdl.arith import accumulator_width
from ...model import NeuronKind, ResetMode
from ..ir import graph_to_network
from .base import Pass

__all__ = ["CheckRanges", "decay_bounds", "state_bounds"]

#: states are bounded in float64 below this magnitude, where a product's error is < 2^-8
_CAP = 1 << 44
_SLACK = 0.01
#: the most steps ``state_bounds(..., until_stable=True)`` iterates to find a fixed point
STABLE_STEPS = 8192


def decay_bounds(decay, lo, hi):
    """``(min, max)`` bounds of ``decay.apply(x)`` over every integer ``x`` in ``[lo, hi]``
    (elementwise arrays); see the module for why they are sound."""
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    if decay.single:  # x - (x >> k) is non-decreasing: its ends bound it exactly
        return decay.apply(lo), decay.apply(hi)
    factor = float(1 - decay.d)
    positive = sum(1 for s, _ in decay.terms if s > 0)
    negative = len(decay.terms) - positive
    low = np.ceil(lo * factor - negative - _SLACK).astype(np.int64)
    high = np.floor(hi * factor + positive + _SLACK).astype(np.int64)
    return low, high


def _row_sums(layer, weight):
    r""":math:`\sum_j U(W)_{ij}` per neuron: the sums of the rows of the unrolled weight, computed
    as the synaptic sum of every input spiking once (a convolution is not unrolled)."""
    conn = layer.connectivity
    if conn is None:
        return weight.sum(1)
    return conn.synaptic_sum(weight, np.ones((1, conn.n_in), np.int64))[0]


def _input_ranges(layer):
    """Per neuron: ``(a_lo, a_hi)`` the feed-forward input with bias, ``(r_lo, r_hi)`` the
    recurrent input, both shifted by ``2^f``. A convolutional or pooled layer's are those of its
    unrolled weights (per neuron, each connection once) and its bias expanded per neuron, with
    a residual join's connections added."""
    f = layer.params.input_shift
    w = layer.weight.astype(np.int64)
    a_lo, a_hi = _row_sums(layer, np.minimum(w, 0)), _row_sums(layer, np.maximum(w, 0))
    if layer.shortcut is not None:  # a residual join's spikes add through its 1×1 kernel
        v, every = layer.shortcut_weight.astype(np.int64), np.ones(
            (1, layer.shortcut.connectivity.n_in), np.int64)
        a_lo = a_lo + layer.shortcut.synaptic_sum(np.minimum(v, 0), every)[0]
        a_hi = a_hi + layer.shortcut.synaptic_sum(np.maximum(v, 0), every)[0]
    a_lo, a_hi = np.left_shift(a_lo, f), np.left_shift(a_hi, f)
    if layer.bias is not None:
        bias = layer.bias if layer.connectivity is None else \
            layer.connectivity.expand_bias(layer.bias)
        a_lo, a_hi = a_lo + bias, a_hi + bias
    if layer.recurrent is None:
        zero = np.zeros_like(a_lo)
        return (a_lo, a_hi), (zero, zero)
    v = layer.recurrent.astype(np.int64)
    return (a_lo, a_hi), (np.left_shift(np.minimum(v, 0).sum(1), f),
                          np.left_shift(np.maximum(v, 0).sum(1), f))


def _synaptic_range(layer):
    (a_lo, a_hi), (r_lo, r_hi) = _input_ranges(layer)
    return a_lo + r_lo, a_hi + r_hi


def _clip(x):
    return np.clip(x, -_CAP, _CAP)


def state_bounds(layer, steps, until_stable=False):
    """``((I_lo, I_hi), (U_lo, U_hi))``: the extremes any neuron of ``layer`` can reach within
    ``steps`` steps from zero, without saturation. With ``until_stable`` the iteration goes on
    (up to :data:`STABLE_STEPS`) until the bounds reach their fixed point, so they hold for any
    number of steps; a layer whose bounds keep growing (no leak) stops at ``steps``."""
    p = layer.params
    (a_lo, a_hi), (r_lo, r_hi) = _input_ranges(layer)
    i_lo = i_hi = u_lo = u_hi = np.zeros(p.n, np.int64)
    i_min = i_max = u_min = u_max = 0
    cf = p.current_format
    if p.kind is NeuronKind.IF:
        def leak(lo, hi):
            return lo, hi
    else:
        def leak(lo, hi):
            return decay_bounds(p.k_mem, lo, hi)
    grows = p.kind is NeuronKind.IF  # no leak: the bounds grow with every step
    limit = STABLE_STEPS if until_stable and not grows else steps
    for step in range(max(steps, limit)):
        previous = (i_lo, i_hi, u_lo, u_hi)
        ci_lo, ci_hi = np.clip(i_lo, cf.min, cf.max), np.clip(i_hi, cf.min, cf.max)
        if p.same_step_recurrence:
            d_lo, d_hi = ci_lo + r_lo, ci_hi + r_hi
            syn_lo, syn_hi = decay_bounds(p.k_syn, d_lo, d_hi)
            new_i_lo, new_i_hi = syn_lo + a_lo, syn_hi + a_hi
        else:
            d_lo, d_hi = ci_lo, ci_hi
            syn_lo, syn_hi = decay_bounds(p.k_syn, i_lo, i_hi)
            new_i_lo, new_i_hi = syn_lo + a_lo + r_lo, syn_hi + a_hi + r_hi
        fu_lo, fu_hi = leak(u_lo, u_hi)
        new_u_lo, new_u_hi = fu_lo + d_lo, fu_hi + d_hi
        if p.spiking:
            may_spike = u_hi >= p.theta
            base = np.maximum(u_lo, p.theta)
            top = np.maximum(u_hi, base)
            if p.reset is ResetMode.SUBTRACT:
                reset_lo, reset_hi = leak(base, top)
                reset_lo, reset_hi = reset_lo - p.reset_amount, reset_hi - p.reset_amount
            elif p.reset is ResetMode.SUBTRACT_BEFORE_LEAK:
                reset_lo, reset_hi = leak(base - p.reset_amount, top - p.reset_amount)
            else:
                reset_lo = reset_hi = np.zeros_like(base)
            if p.reset is not ResetMode.CLEAR:  # the clearing reset drops the drive too
                reset_lo, reset_hi = reset_lo + d_lo, reset_hi + d_hi
            if p.kind is NeuronKind.ALIF:  # U >= θ need not fire (θ + b): both branches
                new_u_hi = np.where(may_spike, np.maximum(new_u_hi, reset_hi), new_u_hi)
            else:  # s[n] is exactly U[n] >= θ: a neuron below θ did not fire
                quiet_hi = leak(u_lo, np.minimum(u_hi, p.theta - 1))[1] + d_hi
                quiet_hi = np.where(u_lo < p.theta, quiet_hi, -_CAP)
                new_u_hi = np.where(may_spike, np.maximum(quiet_hi, reset_hi), new_u_hi)
            new_u_lo = np.where(may_spike, np.minimum(new_u_lo, reset_lo), new_u_lo)
        u_lo, u_hi = _clip(new_u_lo), _clip(new_u_hi)
        i_lo, i_hi = _clip(new_i_lo), _clip(new_i_hi)
        i_min, i_max = min(i_min, int(i_lo.min())), max(i_max, int(i_hi.max()))
        u_min, u_max = min(u_min, int(u_lo.min())), max(u_max, int(u_hi.max()))
        if step >= steps and all(np.array_equal(a, b)
                                 for a, b in zip(previous, (i_lo, i_hi, u_lo, u_hi), strict=True)):
            break
    return (i_min, i_max), (u_min, u_max)


class CheckRanges(Pass):
    """Accumulator proof and saturation bounds per layer (see the module)."""

    name = "ranges"

    def run(self, graph, options, report):
        network = graph_to_network(graph)
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
                "reset": p.reset.name.lower(), "k_syn": p.k_syn.to_json(),
                "k_mem": p.k_mem.to_json(), "theta": p.theta, "theta_reset": p.reset_amount,
                "input_shift": p.input_shift, "same_step_recurrence": p.same_step_recurrence,
                "weight_format": f"s{p.weight_format.width}",
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
