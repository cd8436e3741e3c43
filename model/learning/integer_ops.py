r"""The integer operations of the learning rules; every one is multiplier-free.

* :func:`decay` — a trace's leak by :math:`1 - d`, rounding towards zero so that a trace always
  decays all the way to 0 (the contract's neuron decay :math:`x - (x \gg k)` keeps positive
  values below :math:`2^k` forever). For one term, :math:`x - \lceil x\, 2^{-k} \rceil` for
  :math:`x > 0` and :math:`x - \lfloor x\, 2^{-k} \rfloor` for :math:`x \le 0`; for a
  multi-term decay :math:`d = \sum_i s_i 2^{-k_i}` (:class:`~spikeforge.model.decay.Decay`)
  every term of the removed amount is rounded on its own, away from zero for :math:`s_i = +1`
  and towards zero for :math:`s_i = -1`:

  .. math::

      \rho(x) = \sum_i s_i\, r_i(x), \qquad
      r_i(x) = \begin{cases} (x + 2^{k_i} - 1) \gg k_i & \operatorname{sign} x = s_i \\
      x \gg k_i & \text{otherwise} \end{cases}, \qquad
      D(x) = \begin{cases} 0 & x - \rho(x) \text{ has the sign opposite to } x\\
      x - \rho(x) & \text{otherwise} \end{cases}

  so :math:`|\rho(x)| \ge d\,|x|`, :math:`|D(x)| \le (1 - d)|x|`, and
  :math:`|D(x)| < |x|` for every :math:`x \ne 0`. (Only a multi-term decay can overshoot zero:
  :math:`x = 1`, :math:`d = 2^{-1} + 2^{-2}` removes 2.) Hardware: per term one add of
  :math:`2^{k_i} - 1` selected by the sign, one shift, one addition or subtraction; then one
  sign comparison and a multiplexer. :math:`k = 0` gives 0.
* :func:`bit_length` — position of the leading one (a priority encoder).
* :func:`surrogate_exponent` — the surrogate derivative as a power of two (a lookup on the
  leading-one position of the distance to threshold).
* :func:`pow2_product` — :math:`Q(L)\cdot x` where :math:`Q(L) = \mathrm{sign}(L)\,
  2^{\lfloor \log_2 |L| \rfloor}` (0 for :math:`L = 0`): a shift and a conditional negation.
* :func:`round_shift` — :math:`\lfloor (g + 2^{k-1}) / 2^k \rfloor`, round half up.
"""

import numpy as np

__all__ = ["bit_length", "decay", "decay_terms", "pow2_product", "round_shift",
           "surrogate_exponent"]

_POWERS = np.left_shift(np.int64(1), np.arange(62, dtype=np.int64))


def decay_terms(k):
    """``((sign, shift), ...)`` of a decay given as a shift ``k`` (one term) or a ``Decay``."""
    return getattr(k, "terms", None) or ((1, int(k)),)


def decay(x, k):
    """Leak by :math:`1 - d`, rounding towards zero (see the module docstring); ``k`` is a shift
    (:math:`d = 2^{-k}`) or a :class:`~spikeforge.model.decay.Decay`."""
    x = np.asarray(x, dtype=np.int64)
    removed = np.zeros_like(x)
    for sign, shift in decay_terms(k):
        away = x > 0 if sign > 0 else x < 0
        removed = removed + sign * np.right_shift(x + np.where(away, (1 << shift) - 1, 0), shift)
    out = x - removed
    return np.where((x > 0) & (out < 0) | (x < 0) & (out > 0), 0, out)


def bit_length(d):
    """Number of bits of non-negative integers ``d`` (0 for 0), elementwise."""
    d = np.asarray(d, dtype=np.int64)
    return np.sum(d[..., None] >= _POWERS, axis=-1).astype(np.int64)


def surrogate_exponent(v, sg_shift, sg_cut, sg_slope=2):
    r"""The integer surrogate derivative of the spike with respect to the membrane.

    For :math:`v = U - \theta - b` (distance to the effective threshold) let
    :math:`d = |v| \gg s` (``sg_shift``) and :math:`\ell` its bit length. Then

    .. math::

        \sigma'(v) = \begin{cases} 2^{-m\ell} & \ell \le c \\ 0 & \ell > c \end{cases}
        \qquad (c = \text{sg\_cut},\ m = \text{sg\_slope}),

    a power-of-two lookup of the fast sigmoid :math:`1/(1 + |x|)^m` with :math:`x = v/2^s`
    (SuperSpike, Zenke & Ganguli 2018, uses :math:`m = 2`): :math:`\ell = 0` for :math:`|x| < 1`,
    and for :math:`2^{\ell-1} \le |x| < 2^{\ell}`, :math:`2^{-m\ell}` lies within a factor
    :math:`2^m` of :math:`1/(1+|x|)^m`. :math:`m = 1` keeps a heavier tail, so that neurons far
    below threshold still learn.

    Returns ``(exponent, active)``: :math:`m\ell` and whether :math:`\sigma' \ne 0`.
    """
    v = np.asarray(v, dtype=np.int64)
    ell = bit_length(np.right_shift(np.abs(v), sg_shift))
    return sg_slope * ell, ell <= sg_cut


def pow2_product(signal, x):
    r""":math:`Q(L)\, x` with :math:`L` = ``signal`` quantized to a signed power of two.

    ``signal`` broadcasts against ``x``; :math:`Q(0) = 0`.
    """
    signal = np.asarray(signal, dtype=np.int64)
    x = np.asarray(x, dtype=np.int64)
    exponent = np.maximum(bit_length(np.abs(signal)) - 1, 0)
    shifted = np.left_shift(x, exponent)
    return np.where(signal > 0, shifted, np.where(signal < 0, -shifted, 0))


def round_shift(g, k):
    """``g / 2^k`` rounded half up, by an add and an arithmetic shift (``k = 0``: ``g``)."""
    g = np.asarray(g, dtype=np.int64)
    if k == 0:
        return g
    return np.right_shift(g + (1 << (k - 1)), k)
