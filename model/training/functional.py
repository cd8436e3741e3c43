r"""The integer layer dynamics in torch, for training: the same step as
:func:`spikeforge.model.reference.layer_step`, over all T steps of a batch.

Forward values are exactly the reference's integers (held in a float dtype); gradients flow
through straight-through floor shifts, clamps, and the surrogate spike derivative. A decay
:math:`D(x) = x - \sum_i s_i \lfloor x / 2^{k_i} \rfloor` floors every term on its own (the
contract's order-free form), each floor straight-through, so its gradient is the realized factor
:math:`1 - d = 1 - \sum_i s_i 2^{-k_i}`. The reset term is detached, as in SuperSpike and
snnTorch (Zenke & Ganguli 2018). A spike enters only through selections (``θ_r·s``, ``d·s``,
``W·s``), and ``2^f`` (the input shift) is a power of two, so the forward pass has no rounding
anywhere.

The update of one step is written once, in :func:`neuron_update`; the fused BPTT kernel
(:mod:`.fused`) runs the same function with plain floors.
"""

import torch

from ..params import LayerParams, NeuronKind, ResetMode
from .quantization import floor_shift_ste

__all__ = ["apply_decay", "exact_dtype", "layer_sequence", "neuron_update"]


def exact_dtype(params_list, dtype=torch.float32):
    """``dtype`` if every intermediate of every layer is exact in it, else ``torch.float64``."""
    mantissa = {torch.float32: 24, torch.float64: 53}[dtype]
    for p in params_list:
        wmax = 1 << (p.weight_format.width - 1)
        fan_in = p.n_in + (p.n if p.recurrent else 0)
        bound = (wmax * fan_in << p.input_shift) + (1 << p.current_format.width)
        # a decay of up to 4 terms adds at most 4 shifted copies of a state to it
        bound += 6 * (1 << p.current_format.width) + 8 * (1 << p.potential_format.width)
        bound += 6 * (1 << p.trace_format.width)
        if bound.bit_length() >= mantissa:
            return torch.float64
    return dtype


def apply_decay(x, decay, floor_shift=floor_shift_ste):
    r""":math:`D(x) = x - \sum_i s_i\, \mathrm{floor\_shift}(x, k_i)` of a
    :class:`~spikeforge.model.decay.Decay`: each term floored on its own, as in the contract."""
    out = x
    for sign, shift in decay.terms:
        term = floor_shift(x, shift)
        out = out - term if sign > 0 else out + term
    return out


def neuron_update(p: LayerParams, state, a, r, floor_shift=floor_shift_ste):
    r"""One step of :func:`spikeforge.model.reference.layer_step` before saturation.

    Parameters
    ----------
    p : LayerParams
    state : tuple (i, u, s, b) of tensors (batch, n): the state of step n.
    a : tensor (batch, n)
        :math:`A[n] = 2^f W s^{in}[n] + c`.
    r : tensor (batch, n) or None
        :math:`R[n] = 2^f V s[n]` (None: no recurrence).
    floor_shift : callable ``(x, k) -> floor(x / 2^k)``
        Straight-through for autograd (the default), plain for the fused kernel.

    Returns
    -------
    i_wide, u_wide : tensors
        :math:`I[n+1]` and :math:`U[n+1]` before the clamp to their formats.
    b_next : tensor
        :math:`b[n+1]`, clamped (the ALIF trace; ``b`` itself for other kinds).
    j : tensor
        The current that drives the membrane: :math:`I[n] + R[n]` with same-step recurrence,
        else :math:`I[n]`.
    """
    i, u, s, b = state
    if r is None:
        j, i_wide = i, apply_decay(i, p.k_syn, floor_shift) + a
    elif p.same_step_recurrence:
        j = i + r
        i_wide = apply_decay(j, p.k_syn, floor_shift) + a
    else:
        j, i_wide = i, apply_decay(i, p.k_syn, floor_shift) + a + r

    def leak(x):
        return x if p.kind is NeuronKind.IF else apply_decay(x, p.k_mem, floor_shift)

    s_reset = s.detach()
    reset = float(p.reset_amount) * s_reset
    if p.kind is NeuronKind.LI:
        u_wide = leak(u) + j
    elif p.reset is ResetMode.SUBTRACT:
        u_wide = leak(u) + j - reset
    elif p.reset is ResetMode.SUBTRACT_BEFORE_LEAK:
        u_wide = leak(u - reset) + j
    elif p.reset is ResetMode.CLEAR:
        u_wide = torch.where(s_reset > 0, torch.zeros_like(u), leak(u) + j)
    else:
        u_wide = torch.where(s_reset > 0, j, leak(u) + j)
    b_next = b
    if p.kind is NeuronKind.ALIF:
        trc = p.trace_format
        b_wide = apply_decay(b, p.k_adapt, floor_shift) + p.adapt_jump * s_reset
        b_next = torch.clamp(b_wide, trc.min, trc.max)
    return i_wide, u_wide, b_next, j


def layer_sequence(p: LayerParams, drive, spike_fn, recurrent=None, state=None):
    r"""Run one layer for T steps.

    Parameters
    ----------
    p : LayerParams
    drive : tensor (batch, T, n)
        :math:`A[n] = 2^f \sum_j W_{ij} s^{in}_j[n] + c_i` for every step (integer-valued).
    spike_fn : callable
        Heaviside with surrogate gradient (see :mod:`.surrogates`).
    recurrent : tensor (n, n) or None
        Integer-valued recurrent weights V (the input shift :math:`2^f` is applied here).
    state : tuple (i, u, s, b) of tensors (batch, n) or None for zeros.

    Returns
    -------
    dict of tensors (batch, T, n): ``s``, ``i``, ``u``, ``b`` after each step.
    """
    batch, steps, n = drive.shape
    zeros = drive.new_zeros(batch, n)
    i, u, s, b = state if state is not None else (zeros, zeros, zeros, zeros)
    cur, pot = p.current_format, p.potential_format
    theta = float(p.theta)
    rscale = float(1 << p.input_shift)
    out = {"s": [], "i": [], "u": [], "b": []}
    for t in range(steps):
        r = None if recurrent is None else (s @ recurrent.t()) * rscale
        i_wide, u_wide, b_next, _ = neuron_update(p, (i, u, s, b), drive[:, t], r)
        i_next = torch.clamp(i_wide, cur.min, cur.max)
        u_next = torch.clamp(u_wide, pot.min, pot.max)
        if p.kind is NeuronKind.LI:
            s_next = zeros
        else:
            s_next = spike_fn((u_next - (theta + b_next)) / theta)
        i, u, s, b = i_next, u_next, s_next, b_next
        for key, value in zip("siub", (s, i, u, b), strict=True):
            out[key].append(value)
    return {key: torch.stack(values, dim=1) for key, values in out.items()}
