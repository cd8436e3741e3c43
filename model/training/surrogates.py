r"""Surrogate gradients for the Heaviside spike function.

The forward pass is the exact step :math:`s = H(x)` with :math:`x \ge 0 \Rightarrow 1` (so it
matches the reference's ``U >= θ``); the backward pass replaces :math:`H'` by a smooth
:math:`\sigma'(x)` (Neftci, Mostafa & Zenke 2019, Section IV, doi:10.1109/MSP.2019.2931595).
Here :math:`x = (U - \theta_{eff}) / \theta`, the distance to threshold in units of θ, and
``slope`` sets the sharpness.

==================  =====================================================================
name                :math:`\sigma'(x)`
==================  =====================================================================
``fast_sigmoid``    :math:`1 / (1 + \mathrm{slope}\,|x|)^2` — SuperSpike (Zenke & Ganguli
                    2018, doi:10.1162/neco_a_01086)
``piecewise_linear`` :math:`\max(0, 1 - \mathrm{slope}\,|x|)` (Esser et al. 2016,
                    doi:10.1073/pnas.1604850113)
``exponential``     :math:`\exp(-\mathrm{slope}\,|x|)` (Shrestha & Orchard 2018, SLAYER)
``sigmoid``         :math:`k\,\varsigma(k x)(1 - \varsigma(k x))`, :math:`k = \mathrm{slope}`
==================  =====================================================================
"""

import torch

__all__ = ["SURROGATES", "spike_function"]


def _fast_sigmoid(x, slope):
    return 1.0 / (1.0 + slope * x.abs()) ** 2


def _piecewise_linear(x, slope):
    return torch.clamp(1.0 - slope * x.abs(), min=0.0)


def _exponential(x, slope):
    return torch.exp(-slope * x.abs())


def _sigmoid(x, slope):
    sig = torch.sigmoid(slope * x)
    return slope * sig * (1.0 - sig)


SURROGATES = {
    "fast_sigmoid": _fast_sigmoid,
    "piecewise_linear": _piecewise_linear,
    "exponential": _exponential,
    "sigmoid": _sigmoid,
}


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope, derivative):
        ctx.save_for_backward(x)
        ctx.slope = slope
        ctx.derivative = derivative
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.derivative(x, ctx.slope), None, None


def spike_function(name: str, slope: float):
    """``f(x) -> spikes``: exact Heaviside forward, surrogate ``name`` backward."""
    if name not in SURROGATES:
        raise ValueError(f"surrogate must be one of {sorted(SURROGATES)}, not {name!r}")
    if not slope > 0:
        raise ValueError(f"surrogate slope must be positive, not {slope}")
    derivative = SURROGATES[name]
    return lambda x: _Spike.apply(x, float(slope), derivative)
