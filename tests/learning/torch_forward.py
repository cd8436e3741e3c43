"""A one-layer forward pass in torch for checking the learning rules against autograd.

``mode="float"``: real decays α, β, ρ (the realized factors 1 − d of the layer's decays), no
clamps (the float rule's dynamics). ``mode="integer"``: the contract's integer dynamics (every
decay term's floor shift with a straight-through gradient, clamps), so the
forward values equal the reference's. Either way the reset term is detached (SuperSpike) while
the adaptive threshold keeps its path through the spikes (e-prop's ALIF eligibility), and the
spike's surrogate derivative is the learning rule's power-of-two lookup.
"""

import numpy as np
import torch
from spikeforge.model import NeuronKind, ResetMode
from spikeforge.model.learning.float_rule import float_surrogate
from spikeforge.model.training.functional import apply_decay

__all__ = ["forward", "van_rossum_loss"]


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, config):
        ctx.save_for_backward(v)
        ctx.config = config
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        slope = torch.as_tensor(float_surrogate(v.detach().numpy(), ctx.config), dtype=v.dtype)
        return grad * slope, None


def _leak(x, decay, mode):
    if mode == "float":
        return x * decay.factor
    return apply_decay(x, decay)  # the contract's per-term floors, straight-through


def _clamp(x, fmt, mode):
    return x if mode == "float" else torch.clamp(x, fmt.min, fmt.max)


def forward(params, config, weight, z, mode="float"):
    """Run one non-recurrent layer on presynaptic spikes ``z`` (T, n_in); returns dict of
    (T, n) tensors ``s``, ``u``, ``b`` after each step."""
    z = torch.as_tensor(np.asarray(z), dtype=torch.float64)
    n = params.n
    i = u = s = b = torch.zeros(n, dtype=torch.float64)
    theta = float(params.theta)
    out = {"s": [], "u": [], "b": []}
    for t in range(z.shape[0]):
        a = weight @ z[t]
        i_next = _clamp(_leak(i, params.k_syn, mode) + a, params.current_format, mode)
        def membrane_leak(x):
            return x if params.kind is NeuronKind.IF else _leak(x, params.k_mem, mode)

        leaked = membrane_leak(u)
        reset = params.reset_amount * s.detach()
        if params.reset is ResetMode.SUBTRACT:
            u_wide = leaked + i - reset
        elif params.reset is ResetMode.SUBTRACT_BEFORE_LEAK:
            u_wide = membrane_leak(u - reset) + i
        elif params.reset is ResetMode.CLEAR:
            u_wide = torch.where(s.detach() > 0, torch.zeros_like(u), leaked + i)
        else:
            u_wide = torch.where(s.detach() > 0, i, leaked + i)
        u_next = _clamp(u_wide, params.potential_format, mode)
        b_next = b
        if params.kind is NeuronKind.ALIF:
            b_next = _clamp(_leak(b, params.k_adapt, mode) + params.adapt_jump * s,
                            params.trace_format, mode)
        s_next = _Spike.apply(u_next - theta - b_next, config)
        i, u, s, b = i_next, u_next, s_next, b_next
        for key, value in (("s", s), ("u", u), ("b", b)):
            out[key].append(value)
    return {key: torch.stack(value) for key, value in out.items()}


def van_rossum_loss(spikes, target, k_err):
    """:math:`\\tfrac12 \\sum_{n,k} \\epsilon_k[n]^2`, :math:`\\epsilon[n+1] = \\kappa \\epsilon[n]
    + \\hat s[n+1] - s[n+1]`."""
    kappa = 1.0 - 2.0 ** -k_err
    target = torch.as_tensor(np.asarray(target), dtype=torch.float64)
    err = torch.zeros(spikes.shape[1], dtype=torch.float64)
    total = torch.zeros((), dtype=torch.float64)
    for t in range(spikes.shape[0]):
        err = kappa * err + target[t] - spikes[t]
        total = total + 0.5 * (err ** 2).sum()
    return total
