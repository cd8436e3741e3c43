r"""The ranges the learning state can reach, and the narrowest formats that hold them exactly.

:class:`~spikeforge.model.learning.config.LearningConfig` gives every learning quantity a
saturating format (traces 16 bits, eligibilities 24, errors 16 by default). For most rules and
layers the state can never come near those limits: each of :math:`p, q, \epsilon, \bar e` is a
leaky sum :math:`x' = \mathrm{sat}(D(x) + u)` with a bounded input :math:`|u| \le U`, and the
leak of :func:`~spikeforge.model.learning.integer_ops.decay` satisfies :math:`|D(x)| \le (1 -
d)\,|x|` for the decay's factor :math:`d = \sum_i s_i 2^{-k_i}` (clamped to 1). From
:math:`x = 0`, by induction,

.. math::

    |x| \le B = \lceil U / d \rceil \quad\text{since}\quad (1 - d)\,B + U \le B,

so a format of :math:`B`'s bits holds every reachable value, its saturation never acts, and a
register of that width computes bit for bit what the configured format computes
(:func:`leaky_bound` tightens :math:`B` further by checking every value). With
:math:`F` = ``trace_shift``, :math:`E` = ``error_shift`` and the layer's decays
:math:`d_{syn}, d_{mem}` (the same ones the compiler sizes :math:`I` and :math:`U` from):

* :math:`p`: :math:`U = 2^F`; :math:`q`: :math:`U = \bar p` (the bound of :math:`p`), unbounded
  for an IF layer (no leak), whose :math:`q` keeps its format and saturates at its largest
  value :math:`\bar q`;
* :math:`\epsilon`: :math:`U = 2^E` (a target minus an output spike is −1, 0 or 1), leak
  :math:`2^{-k_{err}}`;
* :math:`\bar e`: :math:`\lambda = (q - a) \gg m\ell` with :math:`a \equiv 0` unless the layer is
  ALIF under e-prop, so :math:`0 \le \lambda \le \bar q` and :math:`U = \bar q`, leak
  :math:`2^{-k_{err}}`; with the ALIF component :math:`\lambda` and :math:`a` feed each other and
  the configured format stays.

A bound beyond the configured format leaves that format (its saturation is then real).
The gradient accumulators :math:`G` sum over a trial of any length: their format always stays.
The hardware (:mod:`spikeforge.hdl.learning_unit`, :mod:`spikeforge.hdl.learning_core`) sizes
its memories and pipeline registers from :func:`hardware_formats`; the reference keeps the
configured formats, and the learning exactness tests compare the two.
"""

from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..numerics import IntFormat
from ..params import NeuronKind
from .integer_ops import decay, decay_terms
from .rule import LearningRule

__all__ = ["EXHAUSTIVE", "LayerFormats", "error_format", "hardware_formats", "leaky_bound",
           "learning_formats"]

#: the largest bound :func:`leaky_bound` tightens by checking every value (a few MB of arrays)
EXHAUSTIVE = 1 << 21


class LayerFormats(NamedTuple):
    """Formats of one learning layer's state in hardware: traces ``p`` and ``q`` (unsigned),
    eligibility ``ebar`` (signed)."""

    p: IntFormat
    q: IntFormat
    ebar: IntFormat


def leaky_bound(drive, k, *, signed=True):
    r"""A bound on :math:`|x|` for :math:`x' = D_k(x) + u` started at 0, with :math:`|u| \le`
    ``drive`` (``signed``) or :math:`0 \le u \le` ``drive``; ``None`` if the decay does not
    leak (:math:`d \le 0`).

    :math:`\lceil U / d \rceil` always holds (the module docstring). Up to :data:`EXHAUSTIVE`
    it is tightened to the least :math:`B` whose interval :math:`[-B, B]` (``[0, B]``) the
    update maps into itself, every value of it checked: the rounding of the leak leaves a
    one-term sum at :math:`(U - 1)\,2^k + 1`, not :math:`U 2^k`."""
    d = min(sum((Fraction(sign, 1 << shift) for sign, shift in decay_terms(k)), Fraction(0)),
            Fraction(1))
    if d <= 0:
        return None
    top = int(-(-Fraction(drive) // d))
    if top > EXHAUSTIVE:
        return top
    x = np.arange(top + 1, dtype=np.int64)
    holds = np.maximum.accumulate(decay(x, k) + drive) <= x  # the largest successor of [0, B]
    if signed:
        holds &= np.minimum.accumulate(decay(-x, k) - drive) >= -x
    assert holds[top], "the bound U/d must hold"
    return int(np.argmax(holds))


def _narrowed(bound, configured):
    """The narrower of ``configured`` and the format that holds ``[-bound, bound]`` (signed) or
    ``[0, bound]`` (unsigned); ``configured`` if ``bound`` is ``None`` or beyond it."""
    if bound is None or bound > configured.max:
        return configured
    return IntFormat(max(1, int(bound).bit_length()) + configured.signed,
                     signed=configured.signed)


def error_format(config):
    """The output errors' format in hardware (every learning layer reads the same errors)."""
    return _narrowed(leaky_bound(1 << config.error_shift, config.k_err), config.error_format)


def hardware_formats(network, config, index):
    """:class:`LayerFormats` of learning layer ``index`` (see the module docstring)."""
    params = network.layers[index].params
    traces = config.trace_format
    p_bound = leaky_bound(1 << config.trace_shift, params.k_syn, signed=False)
    p = _narrowed(p_bound, traces)
    # q adds the previous p (at most p's bound, or its format's largest value if it saturates)
    q_drive = traces.max if p_bound is None else min(p_bound, traces.max)
    q_bound = (None if params.kind is NeuronKind.IF
               else leaky_bound(q_drive, params.k_mem, signed=False))
    q = _narrowed(q_bound, traces)
    # 0 <= λ <= q without the ALIF component
    alif = params.kind is NeuronKind.ALIF and config.rule is LearningRule.EPROP
    lam = None if alif else traces.max if q_bound is None else min(q_bound, traces.max)
    ebar = _narrowed(None if lam is None else leaky_bound(lam, config.k_err, signed=False),
                     config.elig_format)
    return LayerFormats(p, q, ebar)


def learning_formats(network, config):
    """Every hardware format of ``config`` as text, for reports: ``{"error": "s8", "layers":
    {"1": {"p": "u8", "q": "u11", "ebar": "s15"}}}``."""
    return {"error": str(error_format(config)),
            "layers": {str(index): {name: str(fmt) for name, fmt
                                    in hardware_formats(network, config, index)._asdict().items()}
                       for index in config.layers}}
