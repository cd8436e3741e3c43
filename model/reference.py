r"""The bit-exact reference: one time step of one layer, in integers.

This is the contract that the torch training path, the compiler and the hardware are all
checked against. It is eq. (4)–(5) of Neftci, Mostafa & Zenke, "Surrogate Gradient Learning in
Spiking Neural Networks", IEEE Signal Processing Magazine 36(6), 2019
(doi:10.1109/MSP.2019.2931595), with decays as short sums of shifts.

A decay (:mod:`spikeforge.model.decay`) is :math:`D(x) = x - \sum_i s_i (x \gg k_i)`, every
shift an arithmetic (floor) shift; one term :math:`x - (x \gg k)` is the original contract.
For a layer with inputs :math:`s^{in}[n]` (the previous layer's spikes of step :math:`n`, or
the network input) and its own spikes :math:`s[n]`, every quantity an integer, :math:`f` the
``input_shift``, :math:`\theta_r` the reset amount (``theta_reset``, default :math:`\theta`):

.. math::

    A[n] &= 2^f \sum_j W_{ij}\, s^{in}_j[n] + c_i, \qquad
    R[n] = 2^f \sum_k V_{ik}\, s_k[n] \quad\text{(exact, no saturation)}\\
    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I[n]) + A[n] + R[n]\big)\\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n] - \theta_r\, s[n]\big)
              \quad\text{(reset by subtraction)}\\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U[n] - \theta_r\, s[n]) + I[n]\big)
              \quad\text{(subtraction before the leak)}\\
    U[n+1] &= \mathrm{sat}_U\big(I[n]\big)\ \text{if } s[n] \text{ else }
              \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n]\big)
              \quad\text{(reset to zero)}\\
    U[n+1] &= 0\ \text{if } s[n] \text{ else }
              \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n]\big)
              \quad\text{(clearing reset: snnTorch's Synaptic, RLeaky, RSynaptic)}\\
    s[n+1] &= U[n+1] \ge \theta

With ``same_step_recurrence`` the recurrent input reaches the membrane one step earlier (as in
snnTorch's ``RLeaky``/``RSynaptic``, where a spike of step t drives the current of step t+1 and
the membrane reads that current in the same step): the stored current :math:`I` then excludes
the newest recurrent input, and

.. math::

    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I[n] + R[n]) + A[n]\big), \qquad
    U[n+1] = \mathrm{sat}_U\big(D_{mem}(U[n]) + I[n] + R[n] - \theta_r\, s[n]\big)

(the reset modes as above, with :math:`I[n] + R[n]` in place of :math:`I[n]`).

:math:`x - (x \gg k) = \lceil x (1 - 2^{-k}) \rceil`: a one-term decay rounds towards plus
infinity. With :math:`D_{syn} = 0` (``k_syn = 0``) the synaptic filter disappears
(:math:`I[n+1] = A[n] + R[n]`).

Variants:

* IF: no leak, :math:`D_{mem}(U)` becomes :math:`U`.
* LI (non-spiking readout): the membrane update without threshold or reset; :math:`s \equiv 0`
  and the output is :math:`U`.
* ALIF: a threshold trace :math:`b \ge 0` with
  :math:`b[n+1] = \mathrm{sat}_b\big(D_{adapt}(b[n]) + d\, s[n]\big)` and
  :math:`s[n+1] = U[n+1] \ge \theta + b[n+1]` (compared without saturation). The reset still
  subtracts the base amount :math:`\theta_r` (Bellec et al. 2020, doi:10.1038/s41467-020-17236-y).

Products with a spike are selections (:math:`W s` adds a weight where a spike is); the only
other operations are shifts, additions, subtractions, comparisons and clamps. Saturation is
applied once per update, never inside the accumulation, so event order cannot change a result.
"""

from typing import NamedTuple

import numpy as np

from .layer import Layer
from .numerics import saturate, saturation_count
from .params import NeuronKind, ResetMode

__all__ = ["LayerState", "initial_state", "layer_step", "neuron_step", "synaptic_input",
           "synaptic_inputs"]


class LayerState(NamedTuple):
    """State of a layer for a batch: each field has shape (batch, n), dtype int64.

    ``s`` holds the layer's spikes of this step (0/1); ``b`` is the ALIF threshold trace
    (zeros for other kinds).
    """

    i: np.ndarray
    u: np.ndarray
    s: np.ndarray
    b: np.ndarray


def initial_state(layer: Layer, batch: int) -> LayerState:
    """All-zero state: no current, resting membrane, no spike, no adaptation."""
    zeros = np.zeros((batch, layer.params.n), dtype=np.int64)
    return LayerState(zeros, zeros.copy(), zeros.copy(), zeros.copy())


def synaptic_inputs(layer: Layer, s_in, s_own, s_short=None):
    """``(A[n], R[n])``, exact in int64: the feed-forward input (with a residual join's
    shortcut input ``s_short``, :mod:`.shortcut`) with the bias, and the recurrent input (zeros
    for a layer without recurrence), both already shifted by ``2^f``."""
    f = layer.params.input_shift
    a = np.left_shift(layer.synaptic_sum(s_in, s_short), f)
    if layer.bias is not None:
        bias = layer.bias if layer.connectivity is None else layer.connectivity.expand_bias(
            layer.bias)
        a += bias.astype(np.int64)
    if layer.recurrent is not None:
        r = np.asarray(s_own, dtype=np.int64) @ layer.recurrent.astype(np.int64).T
        r = np.left_shift(r, f)
    else:
        r = np.zeros_like(a)
    return a, r


def synaptic_input(layer: Layer, s_in, s_own) -> np.ndarray:
    """:math:`A[n] + R[n]`: weights selected by spikes, plus recurrence and bias."""
    a, r = synaptic_inputs(layer, s_in, s_own)
    return a + r


def layer_step(layer: Layer, s_in, state: LayerState, s_short=None):
    """Advance ``layer`` by one time step.

    Parameters
    ----------
    layer : Layer
    s_in : array of 0/1, shape (batch, n_in)
        Input spikes of step n.
    state : LayerState
        State of step n.
    s_short : array of 0/1, shape (batch, n_src), or None
        A residual join's source spikes of step n (layers with a shortcut only).

    Returns
    -------
    spikes : int64 array (batch, n)
        s[n+1] (all zero for an LI readout).
    state : LayerState
        State of step n+1.
    saturations : int64 array (batch,)
        How many of the I and U updates (and b updates for ALIF) were clamped.
    """
    a, r = synaptic_inputs(layer, s_in, state.s, s_short)
    return neuron_step(layer.params, a, r, state)


def neuron_step(p, a, r, state: LayerState):
    """The neuron update of :func:`layer_step` from its synaptic inputs: everything after
    :math:`A[n]` and :math:`R[n]` (int64 arrays (batch, n), as :func:`synaptic_inputs` returns
    them) for a layer of parameters ``p``. Returns what :func:`layer_step` returns."""
    if p.same_step_recurrence:
        i_wide = p.k_syn.apply(state.i + r) + a
        drive = state.i + r
    else:
        i_wide = p.k_syn.apply(state.i) + a + r
        drive = state.i
    i_next = saturate(i_wide, p.current_format)
    saturations = saturation_count(i_wide, p.current_format)

    leak = (lambda u: u) if p.kind is NeuronKind.IF else p.k_mem.apply
    fired = state.s != 0
    if not p.spiking:
        u_wide = leak(state.u) + drive
    elif p.reset is ResetMode.SUBTRACT:
        u_wide = leak(state.u) + drive - np.where(fired, p.reset_amount, 0)
    elif p.reset is ResetMode.SUBTRACT_BEFORE_LEAK:
        u_wide = leak(state.u - np.where(fired, p.reset_amount, 0)) + drive
    elif p.reset is ResetMode.CLEAR:
        u_wide = np.where(fired, 0, leak(state.u) + drive)
    else:
        u_wide = np.where(fired, drive, leak(state.u) + drive)
    u_next = saturate(u_wide, p.potential_format)
    saturations = saturations + saturation_count(u_wide, p.potential_format)

    b_next = state.b
    if p.kind is NeuronKind.ALIF:
        b_wide = p.k_adapt.apply(state.b) + np.where(fired, p.adapt_jump, 0)
        b_next = saturate(b_wide, p.trace_format)
        saturations = saturations + saturation_count(b_wide, p.trace_format)

    if p.spiking:
        s_next = (u_next >= p.theta + b_next).astype(np.int64)
    else:
        s_next = np.zeros_like(u_next)
    return s_next, LayerState(i_next, u_next, s_next, b_next), saturations
