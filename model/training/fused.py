r"""A fused layer sequence: the exact integer forward without autograd bookkeeping, and a
hand-written BPTT backward with the same gradient as :func:`.functional.layer_sequence`.

Writing the backward by hand is what makes training fast on a CPU: per time step the forward
runs a dozen tensor operations instead of recording an autograd graph of forty. The forward is
:func:`.functional.neuron_update` itself, with plain floors. The gradient is that of the
straight-through graph of :func:`.functional.layer_sequence` (tested to be equal): with
:math:`m^I_{t+1}, m^U_{t+1}` the masks of unclamped updates, :math:`\sigma'` the surrogate
derivative at :math:`x_t = (U_t - \theta - b_t)/\theta` and :math:`2^f` the input shift,

.. math::

    G^s_t &= \partial_{s_t} L + 2^f (G^R_t)\, V \\
    G^U_t &= \partial_{U_t} L + G^s_t\, \sigma'(x_t)/\theta + \beta_t\, m^U_{t+1} G^U_{t+1}\\
    G^a_t &= m^I_{t+1} G^I_{t+1}, \qquad
    G^I_t = \partial_{I_t} L + \alpha\, G^a_t + \kappa_t\, m^U_{t+1} G^U_{t+1}

where :math:`\alpha = 1 - d_{syn}`, :math:`\beta_t = 1 - d_{mem}` (1 for IF, 0 after a spike with
reset to zero or the clearing reset) are the decays' realized factors (a multi-term decay's
straight-through gradient), :math:`\kappa_t` is 0 after a spike with the clearing reset (it
drops the drive too) and 1 otherwise,
and :math:`G^R_t` is the gradient on the recurrent input :math:`R_t`: :math:`G^a_t` when it joins
the synaptic current after the decay, and :math:`G^I_t` with same-step recurrence, where it joins
the current before the decay and drives the membrane at once. The reset (subtracted after or
before the leak, of any amount :math:`\theta_r`) and the ALIF trace are detached, as in the
autograd graph.
"""

import torch

from ..params import LayerParams, NeuronKind, ResetMode
from .functional import neuron_update
from .surrogates import SURROGATES

__all__ = ["fused_layer_sequence"]


def _floor_shift(x, k):
    return torch.floor(x * 2.0**-k)  # a power-of-two scale is exact in floating point


def _forward(p: LayerParams, drive, recurrent):
    batch, steps, n = drive.shape
    zeros = drive.new_zeros(batch, n)
    i, u, s, b = zeros, zeros, zeros, zeros
    cur, pot = p.current_format, p.potential_format
    theta = float(p.theta)
    rscale = float(1 << p.input_shift)
    out = {k: drive.new_empty(batch, steps, n) for k in ("s", "i", "u", "b", "mi", "mu")}
    for t in range(steps):
        r = None if recurrent is None else (s @ recurrent.t()) * rscale
        i_wide, u_wide, b, _ = neuron_update(p, (i, u, s, b), drive[:, t], r, _floor_shift)
        i_next = i_wide.clamp(cur.min, cur.max)
        u_next = u_wide.clamp(pot.min, pot.max)
        out["mi"][:, t] = i_next == i_wide
        out["mu"][:, t] = u_next == u_wide
        s = zeros if p.kind is NeuronKind.LI else (u_next >= theta + b).to(drive.dtype)
        i, u = i_next, u_next
        out["s"][:, t], out["i"][:, t], out["u"][:, t], out["b"][:, t] = s, i, u, b
    return out


class _FusedLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, drive, recurrent, p, surrogate, slope):
        with torch.no_grad():
            out = _forward(p, drive, recurrent)
        ctx.p, ctx.surrogate, ctx.slope = p, surrogate, slope
        ctx.save_for_backward(
            recurrent if recurrent is not None else drive.new_empty(0),
            out["s"],
            out["u"],
            out["b"],
            out["mi"],
            out["mu"],
        )
        ctx.has_recurrent = recurrent is not None
        return out["s"], out["i"], out["u"], out["b"]

    @staticmethod
    def backward(ctx, g_s, g_i, g_u, g_b):
        recurrent, s, u, b, mi, mu = ctx.saved_tensors
        p = ctx.p
        batch, steps, n = s.shape
        theta = float(p.theta)
        rscale = float(1 << p.input_shift)
        alpha = p.k_syn.factor
        beta = 1.0 if p.kind is NeuronKind.IF else p.k_mem.factor
        same_step = p.same_step_recurrence
        zeros = s.new_zeros(batch, n)
        g_s = zeros.new_zeros(batch, steps, n) if g_s is None else g_s
        g_i = zeros.new_zeros(batch, steps, n) if g_i is None else g_i
        g_u = zeros.new_zeros(batch, steps, n) if g_u is None else g_u
        spiking = p.kind is not NeuronKind.LI
        if spiking:
            x = (u - (theta + b)) / theta
            dsdu = SURROGATES[ctx.surrogate](x, ctx.slope) / theta
        g_drive = torch.empty_like(s)
        g_rec = torch.zeros_like(recurrent) if ctx.has_recurrent else None
        gi_next, gu_next, gr_next = zeros, zeros, zeros  # gradients on I[t+1], U[t+1], R[t+1]
        for t in range(steps - 1, -1, -1):  # index t holds the state at time t+1
            # gradients on the state at time t+1 (index t), from the loss and from time t+2
            gs = g_s[:, t]
            if ctx.has_recurrent:
                gs = gs + (gr_next * rscale) @ recurrent  # s[t+1] drove R[t+1]
            gu = g_u[:, t] + gu_next
            if spiking:
                gu = gu + gs * dsdu[:, t]
            gi = g_i[:, t] + gi_next
            # propagate through the update from time t to t+1
            gi_wide, gu_wide = gi * mi[:, t], gu * mu[:, t]
            g_drive[:, t] = gi_wide
            # after a spike (s[t], index t - 1) the reset to zero drops the leak, the
            # clearing reset the drive as well
            kept = 1.0 - s[:, t - 1] if spiking and t > 0 else 1.0
            beta_t = beta * kept if p.reset in (ResetMode.ZERO, ResetMode.CLEAR) else beta
            to_drive = gu_wide * kept if p.reset is ResetMode.CLEAR else gu_wide
            gi_next = alpha * gi_wide + to_drive  # on I[t] (with same-step: on I[t] + R[t])
            gr_next = gi_next if same_step else gi_wide
            if ctx.has_recurrent and t > 0:
                g_rec += rscale * (gr_next.t() @ s[:, t - 1])
            gu_next = beta_t * gu_wide
        return g_drive, g_rec, None, None, None


def fused_layer_sequence(p: LayerParams, drive, surrogate, slope, recurrent=None):
    """Like :func:`.functional.layer_sequence` from a zero state, as one autograd node."""
    s, i, u, b = _FusedLayer.apply(drive, recurrent, p, surrogate, slope)
    return {"s": s, "i": i, "u": u, "b": b}
