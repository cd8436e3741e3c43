r"""The bit-exact reference: one time step of one layer, in integers.

This is the contract that the torch training path, the compiler and the hardware are all
checked against. It is eq. (4)–(5) of Neftci, Mostafa & Zenke, "Surrogate Gradient Learning in
Spiking Neural Networks", IEEE Signal Processing Magazine 36(6), 2019
(doi:10.1109/MSP.2019.2931595), with decays as shifts.

For a layer with inputs :math:`s^{in}[n]` (the previous layer's spikes of step :math:`n`, or
the network input) and its own spikes :math:`s[n]`, every quantity an integer:

.. math::

    a[n]   &= \sum_j W_{ij}\, s^{in}_j[n] + \sum_k V_{ik}\, s_k[n] + c_i
              \quad\text{(exact, no saturation)}\\
    I[n+1] &= \mathrm{sat}_I\big(I[n] - (I[n] \gg k_{syn}) + a[n]\big)\\
    U[n+1] &= \mathrm{sat}_U\big(U[n] - (U[n] \gg k_{mem}) + I[n] - \theta\, s[n]\big)
              \quad\text{(reset by subtraction)}\\
    U[n+1] &= \mathrm{sat}_U\big(I[n]\big)\ \text{if } s[n] \text{ else }
              \mathrm{sat}_U\big(U[n] - (U[n] \gg k_{mem}) + I[n]\big)
              \quad\text{(reset to zero)}\\
    s[n+1] &= U[n+1] \ge \theta

:math:`\gg` is an arithmetic (floor) shift, so :math:`-1 \gg 4 = -1`, and
:math:`x - (x \gg k) = \lceil x (1 - 2^{-k}) \rceil`: decay rounds towards plus infinity. With
:math:`k_{syn} = 0` the synaptic filter disappears (:math:`I[n+1] = a[n]`).

Variants:

* IF: no leak, :math:`U[n] - (U[n] \gg k_{mem})` becomes :math:`U[n]`.
* LI (non-spiking readout): the membrane update without threshold or reset; :math:`s \equiv 0`
  and the output is :math:`U`.
* ALIF: a threshold trace :math:`b \ge 0` with
  :math:`b[n+1] = \mathrm{sat}_b\big(b[n] - (b[n] \gg k_{adapt}) + d\, s[n]\big)` and
  :math:`s[n+1] = U[n+1] \ge \theta + b[n+1]` (compared without saturation). The reset still
  subtracts the base threshold :math:`\theta` (Bellec et al. 2020, doi:10.1038/s41467-020-17236-y).

Products with a spike are selections (:math:`W s` adds a weight where a spike is); the only
other operations are shifts, additions, subtractions, comparisons and clamps. Saturation is
applied once per update, never inside the accumulation, so event order cannot change a result.
"""

from typing import NamedTuple

import numpy as np

from .layer import Layer
from .numerics import floor_shift, saturate, saturation_count
from .params import NeuronKind, ResetMode

__all__ = ["LayerState", "initial_state", "layer_step", "synaptic_input"]


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


def synaptic_input(layer: Layer, s_in, s_own) -> np.ndarray:
    """:math:`a[n]`, exact in int64: weights selected by spikes, plus recurrence and bias."""
    a = np.asarray(s_in, dtype=np.int64) @ layer.weight.astype(np.int64).T
    if layer.recurrent is not None:
        a += np.asarray(s_own, dtype=np.int64) @ layer.recurrent.astype(np.int64).T
    if layer.bias is not None:
        a += layer.bias.astype(np.int64)
    return a


def layer_step(layer: Layer, s_in, state: LayerState):
    """Advance ``layer`` by one time step.

    Parameters
    ----------
    layer : Layer
    s_in : array of 0/1, shape (batch, n_in)
        Input spikes of step n.
    state : LayerState
        State of step n.

    Returns
    -------
    spikes : int64 array (batch, n)
        s[n+1] (all zero for an LI readout).
    state : LayerState
        State of step n+1.
    saturations : int64 array (batch,)
        How many of the I and U updates (and b updates for ALIF) were clamped.
    """
    p = layer.params
    a = synaptic_input(layer, s_in, state.s)

    i_wide = state.i - floor_shift(state.i, p.k_syn) + a
    i_next = saturate(i_wide, p.current_format)
    saturations = saturation_count(i_wide, p.current_format)

    leaked = state.u if p.kind is NeuronKind.IF else state.u - floor_shift(state.u, p.k_mem)
    if not p.spiking:
        u_wide = leaked + state.i
    elif p.reset is ResetMode.SUBTRACT:
        u_wide = leaked + state.i - p.theta * state.s  # s is 0/1: a selection, not a product
    else:
        u_wide = np.where(state.s != 0, state.i, leaked + state.i)
    u_next = saturate(u_wide, p.potential_format)
    saturations = saturations + saturation_count(u_wide, p.potential_format)

    b_next = state.b
    if p.kind is NeuronKind.ALIF:
        b_wide = state.b - floor_shift(state.b, p.k_adapt) + p.adapt_jump * state.s
        b_next = saturate(b_wide, p.trace_format)
        saturations = saturations + saturation_count(b_wide, p.trace_format)

    if p.spiking:
        s_next = (u_next >= p.theta + b_next).astype(np.int64)
    else:
        s_next = np.zeros_like(u_next)
    return s_next, LayerState(i_next, u_next, s_next, b_next), saturations
