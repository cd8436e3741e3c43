r"""The integer layer dynamics in torch, for training: the same step as
:func:`spikeforge.model.reference.layer_step`, over all T steps of a batch.

Forward values are exactly the reference's integers (held in a float dtype); gradients flow
through straight-through floor shifts, clamps, and the surrogate spike derivative. The reset term
is detached, as in SuperSpike and snnTorch (Zenke & Ganguli 2018). A spike enters only through
selections (``θ·s``, ``d·s``, ``W·s``), so the forward pass has no rounding anywhere.
"""

import torch

from ..params import LayerParams, NeuronKind, ResetMode
from .quantization import floor_shift_ste

__all__ = ["exact_dtype", "layer_sequence"]


def exact_dtype(params_list, dtype=torch.float32):
    """``dtype`` if every intermediate of every layer is exact in it, else ``torch.float64``."""
    mantissa = {torch.float32: 24, torch.float64: 53}[dtype]
    for p in params_list:
        wmax = 1 << (p.weight_format.width - 1)
        bound = wmax * (p.n_in + (p.n if p.recurrent else 0)) + (1 << p.current_format.width)
        bound += 2 * (1 << p.current_format.width) + 2 * (1 << p.potential_format.width)
        bound += 1 << p.trace_format.width
        if bound.bit_length() >= mantissa:
            return torch.float64
    return dtype


def layer_sequence(p: LayerParams, drive, spike_fn, recurrent=None, state=None):
    r"""Run one layer for T steps.

    Parameters
    ----------
    p : LayerParams
    drive : tensor (batch, T, n)
        :math:`\sum_j W_{ij} s^{in}_j[n] + c_i` for every step (integer-valued).
    spike_fn : callable
        Heaviside with surrogate gradient (see :mod:`.surrogates`).
    recurrent : tensor (n, n) or None
        Integer-valued recurrent weights V.
    state : tuple (i, u, s, b) of tensors (batch, n) or None for zeros.

    Returns
    -------
    dict of tensors (batch, T, n): ``s``, ``i``, ``u``, ``b`` after each step.
    """
    batch, steps, n = drive.shape
    zeros = drive.new_zeros(batch, n)
    i, u, s, b = state if state is not None else (zeros, zeros, zeros, zeros)
    cur, pot, trc = p.current_format, p.potential_format, p.trace_format
    theta = float(p.theta)
    out = {"s": [], "i": [], "u": [], "b": []}
    for t in range(steps):
        a = drive[:, t]
        if recurrent is not None:
            a = a + s @ recurrent.t()
        i_next = torch.clamp(i - floor_shift_ste(i, p.k_syn) + a, cur.min, cur.max)
        leaked = u if p.kind is NeuronKind.IF else u - floor_shift_ste(u, p.k_mem)
        s_reset = s.detach()
        if p.kind is NeuronKind.LI:
            u_wide = leaked + i
        elif p.reset is ResetMode.SUBTRACT:
            u_wide = leaked + i - theta * s_reset
        else:
            u_wide = torch.where(s_reset > 0, i, leaked + i)
        u_next = torch.clamp(u_wide, pot.min, pot.max)
        b_next = b
        if p.kind is NeuronKind.ALIF:
            b_next = torch.clamp(
                b - floor_shift_ste(b, p.k_adapt) + p.adapt_jump * s_reset, trc.min, trc.max
            )
        if p.kind is NeuronKind.LI:
            s_next = zeros
        else:
            s_next = spike_fn((u_next - (theta + b_next)) / theta)
        i, u, s, b = i_next, u_next, s_next, b_next
        for key, value in zip("siub", (s, i, u, b), strict=True):
            out[key].append(value)
    return {key: torch.stack(values, dim=1) for key, values in out.items()}
