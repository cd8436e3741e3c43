r"""The learning rules in real numbers: what the integer rule approximates.

Same recursions as :mod:`spikeforge.model.learning.step` with exact decays, the realized factors
:math:`1 - d` of the layer's (multi-term) decays: :math:`\alpha = 1 - d_{syn}`,
:math:`\beta = 1 - d_{mem}` (IF: 1), :math:`\rho = 1 - d_{adapt}`
(:math:`d = \sum_i s_i 2^{-k_i}`, :attr:`spikeforge.model.decay.Decay.factor`), and
:math:`\kappa = 1 - 2^{-k_{err}}`; no scales, no saturation,
an unquantized learning signal, and the surrogate :math:`\sigma'(v) = 2^{-m\ell(v) - \psi}` (the
integer rule's lookup, in units of :math:`\partial s / \partial U`):

.. math::

    p[n+1] &= \alpha p[n] + z[n], \qquad q[n+1] = \beta q[n] + p[n]\\
    \epsilon[n+1] &= \kappa\,\epsilon[n] + \hat s[n+1] - s[n+1]\\
    \lambda[n+1] &= \sigma'(v[n+1])\,\big(q[n+1] - a[n+1]\big), \qquad
        a[n+2] = \rho\, a[n+1] + d\,\lambda[n+1]\ \text{(ALIF)}\\
    \bar e[n+1] &= \kappa\,\bar e[n] + \lambda[n+1], \qquad
    \frac{\partial \mathcal L}{\partial W_{ir}} = -\sum_n L_i[n]\,\bar e_{ir}[n]

For a network of one non-recurrent layer (its own output layer, :math:`L = \epsilon`), this is
exactly the gradient of the van Rossum loss :math:`\mathcal L = \tfrac12 \sum_{n,k}
\epsilon_k[n]^2` through the real-valued dynamics with the reset term detached and the
surrogate :math:`\sigma'` (SuperSpike's derivation, Zenke & Ganguli 2018; e-prop's for ALIF,
Bellec et al. 2020); ``tests/learning`` checks it against torch autograd. For a hidden layer,
:math:`L = B\epsilon` (random feedback) and recurrent rows drop the path through the layer's own
spikes, as e-prop does, so the result is the rule's update direction, not a gradient.
"""

import numpy as np

from ..params import NeuronKind
from .integer_ops import bit_length
from .rule import LearningRule

__all__ = ["float_gradient", "float_surrogate"]


def float_surrogate(v, config):
    """:math:`\\sigma'(v) = 2^{-m\\ell - \\psi}` (0 beyond the cut) for real distances ``v``."""
    d = np.floor(np.abs(np.asarray(v, np.float64)) / 2.0 ** config.sg_shift).astype(np.int64)
    ell = bit_length(d)
    exponent = -float(config.sg_slope) * ell - config.psi_shift
    return np.where(ell <= config.sg_cut, 2.0 ** exponent, 0.0)


def float_gradient(params, config, z, u, b, output, target, feedback=None):
    """The rule's :math:`\\partial \\mathcal L / \\partial W` (n, rows) from real trajectories.

    Parameters
    ----------
    params : LayerParams of the learning layer
    z : (T, rows) presynaptic spikes of each step (inputs, then own spikes if recurrent)
    u, b : (T, n) membrane and threshold trace after each step
    output, target : (T, n_out) output spikes after each step and their targets
    feedback : (n, n_out) or None for the output layer itself
    """
    z, u, b = (np.asarray(a, np.float64) for a in (z, u, b))
    steps, rows = z.shape
    n = u.shape[1]
    alpha = params.k_syn.factor
    beta = 1.0 if params.kind is NeuronKind.IF else params.k_mem.factor
    kappa = 1.0 - 2.0 ** -config.k_err
    alif = params.kind is NeuronKind.ALIF and config.rule is LearningRule.EPROP
    rho = params.k_adapt.factor
    p = np.zeros(rows)
    q = np.zeros(rows)
    a = np.zeros((n, rows))
    ebar = np.zeros((n, rows))
    err = np.zeros(np.asarray(output).shape[1])
    grad = np.zeros((n, rows))
    diff = np.asarray(target, np.float64) - np.asarray(output, np.float64)
    for t in range(steps):
        p, q = alpha * p + z[t], beta * q + p
        err = kappa * err + diff[t]
        signal = err if feedback is None else np.asarray(feedback, np.float64) @ err
        psi = float_surrogate(u[t] - params.theta - b[t], config)
        lam = psi[:, None] * (q[None, :] - a)
        if alif:
            a = rho * a + params.adapt_jump * lam
        ebar = kappa * ebar + lam
        grad -= signal[:, None] * ebar
    return grad
