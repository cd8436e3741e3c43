r"""The neuron update of the integer contract as combinational logic.

For one neuron, from its state of step :math:`n` and its synaptic sum :math:`a[n]` (bias added
here), computes the state of step :math:`n+1` exactly as :func:`spikeforge.model.layer_step`:

.. math::

    I[n+1] &= \mathrm{sat}_I\big(I - (I \gg k_{syn}) + a + c\big)\\
    U[n+1] &= \mathrm{sat}_U\big(U - (U \gg k_{mem}) + I - \theta s\big)
              \ \text{(subtract; IF: no leak term; LI: no reset)}\\
    U[n+1] &= \mathrm{sat}_U\big(s\ ?\ I : U - (U \gg k_{mem}) + I\big) \ \text{(zero)}\\
    b[n+1] &= \mathrm{sat}_b\big(b - (b \gg k_{adapt}) + d\, s\big) \ \text{(ALIF)}\\
    s[n+1] &= U[n+1] \ge \theta + b[n+1]

Only adders, arithmetic shifts by constants, comparators and multiplexers.
"""

from amaranth.hdl import Const, Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..model import LayerParams, NeuronKind, ResetMode
from .arith import accumulator_width, clamp

__all__ = ["NeuronUpdate"]


class NeuronUpdate(wiring.Component):
    """Combinational next-state function of one neuron.

    Parameters
    ----------
    params : LayerParams

    Ports
    -----
    i, u, b, s : In
        State of step n (``b`` is 0 unless ALIF).
    acc : In(signed(accumulator_width(params)))
        :math:`\\sum_j W_{ij} s^{in}_j + \\sum_k V_{ik} s_k`.
    bias : In(signed(current width))
        :math:`c_i` (0 without bias).
    i_next, u_next, b_next, s_next : Out
        State of step n+1.
    saturations : Out(unsigned(2))
        How many of the I, U and b updates were clamped (0..3).
    """

    def __init__(self, params):
        if not isinstance(params, LayerParams):
            raise TypeError(f"params must be LayerParams, not {params!r}")
        self.params = params
        cw = params.current_format.width
        pw = params.potential_format.width
        tw = params.trace_format.width
        super().__init__({
            "i": In(signed(cw)),
            "u": In(signed(pw)),
            "b": In(unsigned(tw)),
            "s": In(1),
            "acc": In(signed(accumulator_width(params))),
            "bias": In(signed(cw)),
            "i_next": Out(signed(cw)),
            "u_next": Out(signed(pw)),
            "b_next": Out(unsigned(tw)),
            "s_next": Out(1),
            "saturations": Out(unsigned(2)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        cf, pf, tf = p.current_format, p.potential_format, p.trace_format

        i_wide = self.i - (self.i >> p.k_syn) + self.acc + self.bias
        i_next, sat_i = clamp(i_wide, cf.min, cf.max)

        leaked = self.u if p.kind is NeuronKind.IF else self.u - (self.u >> p.k_mem)
        if not p.spiking:
            u_wide = leaked + self.i
        elif p.reset is ResetMode.SUBTRACT:
            u_wide = leaked + self.i - Mux(self.s, p.theta, 0)
        else:
            u_wide = Mux(self.s, self.i, leaked + self.i)
        u_next, sat_u = clamp(u_wide, pf.min, pf.max)

        if p.kind is NeuronKind.ALIF:
            b_wide = self.b - (self.b >> p.k_adapt) + Mux(self.s, p.adapt_jump, 0)
            b_next, sat_b = clamp(b_wide, tf.min, tf.max)
        else:
            b_next, sat_b = Const(0, tf.width), Const(0, 1)

        m.d.comb += [
            self.i_next.eq(i_next),
            self.u_next.eq(u_next),
            self.b_next.eq(b_next),
            self.saturations.eq(sat_i + sat_u + sat_b),
        ]
        if p.spiking:
            m.d.comb += self.s_next.eq(self.u_next >= p.theta + self.b_next)
        return m
