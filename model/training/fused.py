r"""A fused layer sequence: the exact integer forward without autograd bookkeeping, and a
hand-written BPTT backward with the same gradient as :func:`.functional.layer_sequence`.

Writing the backward by hand is what makes training fast on a CPU: per time step the forward
runs a dozen tensor operations instead of recording an autograd graph of forty. The gradient is
that of the straight-through graph of :func:`.functional.layer_sequence` (tested to be equal):
with :math:`m^I_{t+1}, m^U_{t+1}` the masks of unclamped updates and :math:`\sigma'` the
surrogate derivative at :math:`x_t = (U_t - \theta - b_t)/\theta`,

.. math::

    G^s_t &= \partial_{s_t} L + (G^a_t)\, V \\
    G^U_t &= \partial_{U_t} L + G^s_t\, \sigma'(x_t)/\theta + \beta_t\, m^U_{t+1} G^U_{t+1}\\
    G^a_t &= m^I_{t+1} G^I_{t+1}, \qquad
    G^I_t = \partial_{I_t} L + \alpha\, G^a_t + m^U_{t+1} G^U_{t+1}

where :math:`\alpha = 1 - 2^{-k_{syn}}`, :math:`\beta_t = 1 - 2^{-k_{mem}}` (1 for IF, 0 after a
spike with reset to zero). The reset and the ALIF trace are detached, as in the autograd graph.
"""

import torch

from ..params import LayerParams, NeuronKind, ResetMode
from .surrogates import SURROGATES

__all__ = ["fused_layer_sequence"]


def _forward(p: LayerParams, drive, recurrent):
    batch, steps, n = drive.shape
    zeros = drive.new_zeros(batch, n)
    i, u, s, b = zeros, zeros, zeros, zeros
    cur, pot, trc = p.current_format, p.potential_format, p.trace_format
    theta = float(p.theta)
    ks, km, ka = 2.0**-p.k_syn, 2.0**-p.k_mem, 2.0**-p.k_adapt
    out = {k: drive.new_empty(batch, steps, n) for k in ("s", "i", "u", "b", "mi", "mu")}
    for t in range(steps):
        a = drive[:, t] if recurrent is None else drive[:, t] + s @ recurrent.t()
        i_wide = i - torch.floor(i * ks) + a
        leaked = u if p.kind is NeuronKind.IF else u - torch.floor(u * km)
        if p.kind is NeuronKind.LI:
            u_wide = leaked + i
        elif p.reset is ResetMode.SUBTRACT:
            u_wide = leaked + i - theta * s
        else:
            u_wide = torch.where(s > 0, i, leaked + i)
        i_next = i_wide.clamp(cur.min, cur.max)
        u_next = u_wide.clamp(pot.min, pot.max)
        out["mi"][:, t] = i_next == i_wide
        out["mu"][:, t] = u_next == u_wide
        if p.kind is NeuronKind.ALIF:
            b = (b - torch.floor(b * ka) + p.adapt_jump * s).clamp(trc.min, trc.max)
        s = zeros if p.kind is NeuronKind.LI else (u_next >= theta + b).to(drive.dtype)
        i, u = i_next, u_next
        out["s"][:, t], out["i"][:, t], out["u"][:, t], out["b"][:, t] = s, i, u, b
    return out


class _FusedLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, drive, recurrent, p, surrogate, slope):
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
        alpha = 1.0 - 2.0**-p.k_syn
        beta = 1.0 if p.kind is NeuronKind.IF else 1.0 - 2.0**-p.k_mem
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
        gi_next, gu_next, ga_next = zeros, zeros, zeros  # gradients on I[t+1], U[t+1], a[t]
        for t in range(steps - 1, -1, -1):  # index t holds the state at time t+1
            # gradients on the state at time t+1 (index t), from the loss and from time t+2
            gs = g_s[:, t]
            if ctx.has_recurrent:
                gs = gs + ga_next @ recurrent  # s[t+1] drove a[t+1]
            gu = g_u[:, t] + gu_next
            if spiking:
                gu = gu + gs * dsdu[:, t]
            gi = g_i[:, t] + gi_next
            # propagate through the update from time t to t+1
            gi_wide, gu_wide = gi * mi[:, t], gu * mu[:, t]
            g_drive[:, t] = gi_wide
            if ctx.has_recurrent and t > 0:
                g_rec += gi_wide.t() @ s[:, t - 1]
            if p.kind is not NeuronKind.LI and p.reset is ResetMode.ZERO and t > 0:
                beta_t = beta * (1.0 - s[:, t - 1])
            else:
                beta_t = beta
            ga_next = gi_wide
            gi_next = alpha * gi_wide + gu_wide
            gu_next = beta_t * gu_wide
        return g_drive, g_rec, None, None, None


def fused_layer_sequence(p: LayerParams, drive, surrogate, slope, recurrent=None):
    """Like :func:`.functional.layer_sequence` from a zero state, as one autograd node."""
    s, i, u, b = _FusedLayer.apply(drive, recurrent, p, surrogate, slope)
    return {"s": s, "i": i, "u": u, "b": b}
