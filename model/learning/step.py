r"""One time step of the integer learning rules (SuperSpike and e-prop), exactly as the hardware.

Notation for a learning layer of :math:`N` neurons with rows :math:`r` (its :math:`N_{in}` inputs,
then, for a recurrent layer under e-prop, its own :math:`N` neurons), network step
:math:`n \to n+1`, presynaptic spikes :math:`z_r[n]` (the layer's input spikes of step :math:`n`
and its own spikes :math:`s[n]`), :math:`\mathrm{dec}_k` the leak of
:func:`~spikeforge.model.learning.integer_ops.decay` (towards zero; :math:`k_{syn}, k_{mem},
k_{adapt}` are the layer's decays, 1 to 4 signed shift terms each, :math:`k_{err}` one shift)
and :math:`\mathrm{sat}` the clamp to the quantity's format
(:class:`~spikeforge.model.learning.config.LearningConfig`):

.. math::

    p_r[n+1] &= \mathrm{sat}\big(\mathrm{dec}_{k_{syn}}(p_r[n]) + 2^F z_r[n]\big)
        &&\approx 2^F\,\partial I_i[n+1]/\partial W_{ir}\\
    q_r[n+1] &= \mathrm{sat}\big(\mathrm{dec}_{k_{mem}}(q_r[n]) + p_r[n]\big)
        &&\approx 2^F\,\partial U_i[n+1]/\partial W_{ir}\ \text{(IF: no leak)}\\
    \epsilon_k[n+1] &= \mathrm{sat}\big(\mathrm{dec}_{k_{err}}(\epsilon_k[n])
        + 2^E(\hat s_k[n+1] - s_k[n+1])\big) && \text{output error (van Rossum)}\\
    L_i[n+1] &= \epsilon_i[n+1]\ \text{(output layer)},\quad \textstyle\sum_k B_{ik}\,
        \epsilon_k[n+1]\ \text{(hidden layer, } B_{ik} \in \{-1, 0, 1\})\\
    \lambda_{ir}[n+1] &= \big(q_r[n+1] - a_{ir}[n+1]\big) \gg m\ell_i
        \ \text{ or } 0 && \sigma'(U_i - \theta - b_i) = 2^{-m\ell_i}\\
    a_{ir}[n+2] &= \mathrm{sat}\big(\mathrm{dec}_{k_{adapt}}(a_{ir}[n+1])
        + (d\,\lambda_{ir}[n+1]) \gg \psi\big) && \text{ALIF under e-prop, else } a \equiv 0\\
    \bar e_{ir}[n+1] &= \mathrm{sat}\big(\mathrm{dec}_{k_{err}}(\bar e_{ir}[n])
        + \lambda_{ir}[n+1]\big) && \text{filtered eligibility}\\
    G_{ir} &\mathrel{+}= \mathrm{sat}\big(Q(L_i[n+1])\,\bar e_{ir}[n+1]\big)
        && Q = \text{signed power of two}

The presynaptic traces mirror the neuron's own :math:`I` and :math:`U` (eq. (4)–(5) of Neftci,
Mostafa & Zenke 2019), so without the reset term, which SuperSpike drops, :math:`q` is the
derivative of the membrane with respect to the weight. :math:`\lambda` is the eligibility of
SuperSpike (Zenke & Ganguli 2018, eq. (10)–(13) of the review, Sec. V-B) and of e-prop (Bellec
et al. 2020, eq. (24)–(25) for ALIF: :math:`a` is the adaptive component
:math:`\epsilon^a` of the eligibility vector, kept one step ahead, and :math:`d` is
``adapt_jump``, a constant, so :math:`d\lambda` is a sum of shifts). Filtering :math:`\lambda`
with the error's own kernel makes :math:`\sum_n \epsilon[n]\,\bar e[n]` the gradient of the van
Rossum loss :math:`\tfrac12 \sum_n \epsilon[n]^2` for an output layer. Hidden layers receive the
error through a fixed random matrix (direct feedback alignment, Sec. V-A of the review), at the
same step.

Every product is a shift: :math:`2^F z` and :math:`2^E(\hat s - s)` are selections,
:math:`\sigma'` and :math:`Q(L)` are powers of two, :math:`B` is a sign, :math:`d` a constant.
"""

from typing import NamedTuple

import numpy as np

from ..numerics import saturate
from ..params import NeuronKind
from .integer_ops import decay, pow2_product, surrogate_exponent
from .rule import LearningRule

__all__ = ["LayerTraces", "LearnState", "initial_learn_state", "learning_step", "rows_of"]


class LayerTraces(NamedTuple):
    """Learning state of one layer; int64 arrays."""

    p: np.ndarray  #: (rows,) presynaptic current trace
    q: np.ndarray  #: (rows,) presynaptic membrane trace
    ebar: np.ndarray  #: (n, rows) filtered eligibility
    a: np.ndarray  #: (n, rows) ALIF adaptive eligibility, one step ahead (zeros otherwise)
    g: np.ndarray  #: (n, rows) gradient accumulator of the trial


class LearnState(NamedTuple):
    """Learning state of the network: output error and per-layer traces (by layer index)."""

    error: np.ndarray  #: (n_out,)
    layers: dict


def rows_of(layer, config) -> int:
    """Synaptic rows a learning layer trains: its inputs, plus its own neurons if recurrent."""
    p = layer.params
    return p.n_in + (p.n if p.recurrent and config.rule is LearningRule.EPROP else 0)


def initial_learn_state(network, config) -> LearnState:
    layers = {}
    for index in config.layers:
        layer = network.layers[index]
        rows, n = rows_of(layer, config), layer.params.n
        zeros = np.zeros((n, rows), np.int64)
        layers[index] = LayerTraces(np.zeros(rows, np.int64), np.zeros(rows, np.int64),
                                    zeros, zeros.copy(), zeros.copy())
    return LearnState(np.zeros(network.n_out, np.int64), layers)


def learning_step(network, config, state: LearnState, presyn, post, output, target):
    """Advance the learning state by one network step.

    Parameters
    ----------
    presyn : dict
        ``{layer index: z[n]}``, 0/1 arrays (rows,): input spikes of step n, then (recurrent,
        e-prop) the layer's own spikes s[n].
    post : dict
        ``{layer index: (U[n+1], b[n+1])}`` of the layer's neurons after the step.
    output, target : arrays (n_out,)
        The last layer's spikes s[n+1] and the target spikes for them.
    """
    err = saturate(decay(state.error, config.k_err)
                   + np.left_shift(np.asarray(target, np.int64) - np.asarray(output, np.int64),
                                   config.error_shift), config.error_format)
    last = len(network.layers) - 1
    layers = {}
    for index, tr in state.layers.items():
        p = network.layers[index].params
        z = np.asarray(presyn[index], np.int64)
        p_next = saturate(decay(tr.p, p.k_syn) + np.left_shift(z, config.trace_shift),
                          config.trace_format)
        leaked = tr.q if p.kind is NeuronKind.IF else decay(tr.q, p.k_mem)
        q_next = saturate(leaked + tr.p, config.trace_format)

        u, b = (np.asarray(v, np.int64) for v in post[index])
        exponent, active = surrogate_exponent(u - p.theta - b, config.sg_shift, config.sg_cut,
                                              config.sg_slope)
        if index == last:
            signal = err
        else:
            signal = config.feedback[index].astype(np.int64) @ err
        alif = p.kind is NeuronKind.ALIF and config.rule is LearningRule.EPROP
        h = q_next[None, :] - tr.a
        lam = np.where(active[:, None], np.right_shift(h, exponent[:, None]), 0)
        if alif:
            a_next = saturate(decay(tr.a, p.k_adapt)
                              + np.right_shift(p.adapt_jump * lam, config.psi_shift),
                              config.elig_format)
        else:
            a_next = tr.a
        ebar = saturate(decay(tr.ebar, config.k_err) + lam, config.elig_format)
        g = saturate(tr.g + pow2_product(signal[:, None], ebar), config.grad_format)
        layers[index] = LayerTraces(p_next, q_next, ebar, a_next, g)
    return LearnState(err, layers)
