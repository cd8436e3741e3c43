r"""The neuron update of the integer contract as a four-stage pipeline.

For one neuron, from its state of step :math:`n` and its synaptic sum :math:`a[n]` (bias added
here), computes the state of step :math:`n+1` exactly as :func:`spikeforge.model.layer_step`:

.. math::

    I[n+1] &= \mathrm{sat}_I\big(I - (I \gg k_{syn}) + a + c\big)\\
    U[n+1] &= \mathrm{sat}_U\big(U - (U \gg k_{mem}) + I - \theta s\big)
              \ \text{(subtract; IF: no leak term; LI: no reset)}\\
    U[n+1] &= \mathrm{sat}_U\big(s\ ?\ I : U - (U \gg k_{mem}) + I\big) \ \text{(zero)}\\
    b[n+1] &= \mathrm{sat}_b\big(b - (b \gg k_{adapt}) + d\, s\big) \ \text{(ALIF)}\\
    s[n+1] &= U[n+1] \ge \theta + b[n+1]

Only adders, arithmetic shifts by constants, comparators and multiplexers. The work is cut so
that every stage holds at most one carry chain between registers (the update is the longest
combinational path of a layer otherwise, and sets the clock of a whole board):

1. the two-operand partial sums: leaks :math:`I - (I \gg k_{syn})`, :math:`U - (U \gg k_{mem})`,
   :math:`b - (b \gg k_{adapt})`, the input :math:`a + c` and :math:`I - \theta s`;
2. the wide sums before saturation;
3. saturation (compare with the format's bounds, select);
4. the threshold compare :math:`U[n+1] \ge \theta + b[n+1]`.

A result leaves :attr:`NeuronUpdate.LATENCY` cycles of ``en`` after its operands entered; ``en``
low freezes every stage (the consumer's backpressure). ``valid`` and ``tag`` (the neuron's
address) travel with the operands.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..model import LayerParams, NeuronKind, ResetMode
from .arith import accumulator_width, clamp

__all__ = ["NeuronUpdate"]


class NeuronUpdate(wiring.Component):
    """Pipelined next-state function of one neuron.

    Parameters
    ----------
    params : LayerParams
    tag_width : int
        Width of ``tag``, a value carried alongside the operands (the neuron's address).

    Ports
    -----
    en : In(1)
        Advance the pipeline this cycle.
    valid, tag : In
        The operands of this cycle are a neuron to update; its address.
    i, u, b, s : In
        State of step n (``b`` is 0 unless ALIF).
    acc : In(signed(accumulator_width(params)))
        :math:`\\sum_j W_{ij} s^{in}_j + \\sum_k V_{ik} s_k`.
    bias : In(signed(current width))
        :math:`c_i` (0 without bias).
    valid_out, tag_out : Out
        ``valid`` and ``tag`` of the operands the outputs belong to.
    i_next, u_next, b_next, s_next : Out
        State of step n+1 (registered).
    saturations : Out(unsigned(2))
        How many of the I, U and b updates were clamped (0..3).
    """

    #: cycles (of ``en``) from operands to results
    LATENCY = 4

    def __init__(self, params, *, tag_width=1):
        if not isinstance(params, LayerParams):
            raise TypeError(f"params must be LayerParams, not {params!r}")
        self.params = params
        self.tag_width = tag_width
        cw = params.current_format.width
        pw = params.potential_format.width
        tw = params.trace_format.width
        super().__init__({
            "en": In(1),
            "valid": In(1),
            "tag": In(tag_width),
            "i": In(signed(cw)),
            "u": In(signed(pw)),
            "b": In(unsigned(tw)),
            "s": In(1),
            "acc": In(signed(accumulator_width(params))),
            "bias": In(signed(cw)),
            "valid_out": Out(1),
            "tag_out": Out(tag_width),
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
        acc_w = accumulator_width(p)

        def stage(name, value, shape=None):
            """A pipeline register loaded from ``value`` while ``en``."""
            reg = Signal(shape if shape is not None else value.shape(), name=name)
            with m.If(self.en):
                m.d.sync += reg.eq(value)
            return reg

        valid, tag = self.valid, self.tag
        for index in range(1, self.LATENCY + 1):
            valid = stage(f"valid_{index}", valid)
            tag = stage(f"tag_{index}", tag)

        # 1: two-operand partial sums (each one carry chain)
        leak_i = stage("leak_i", self.i - (self.i >> p.k_syn), signed(cf.width + 1))
        syn_in = stage("syn_in", self.acc + self.bias,
                       signed(max(acc_w, cf.width) + 1))
        leak_u = self.u if p.kind is NeuronKind.IF else self.u - (self.u >> p.k_mem)
        leak_u = stage("leak_u", leak_u, signed(pf.width + 1))
        if p.spiking and p.reset is ResetMode.SUBTRACT:
            drive = self.i - Mux(self.s, p.theta, 0)
        else:
            drive = self.i
        drive = stage("drive", drive, signed(max(cf.width, pf.width) + 2))
        s_1 = stage("s_1", self.s)
        if p.kind is NeuronKind.ALIF:
            leak_b = stage("leak_b", self.b - (self.b >> p.k_adapt), unsigned(tf.width))
            jump = stage("jump", Mux(self.s, p.adapt_jump, 0),
                         unsigned(max(1, p.adapt_jump.bit_length())))

        # 2: the wide sums before saturation
        i_wide = stage("i_wide", leak_i + syn_in)
        if p.spiking and p.reset is ResetMode.ZERO:
            u_wide = Mux(s_1, drive, leak_u + drive)
        else:
            u_wide = leak_u + drive
        u_wide = stage("u_wide", u_wide, signed(max(leak_u.shape().width, drive.shape().width)
                                                + 1))
        if p.kind is NeuronKind.ALIF:
            b_wide = stage("b_wide", leak_b + jump)

        # 3: saturation
        i_sat, sat_i = clamp(i_wide, cf.min, cf.max)
        u_sat, sat_u = clamp(u_wide, pf.min, pf.max)
        i_3 = stage("i_3", i_sat, signed(cf.width))
        u_3 = stage("u_3", u_sat, signed(pf.width))
        if p.kind is NeuronKind.ALIF:
            b_sat, sat_b = clamp(b_wide, tf.min, tf.max)
            b_3 = stage("b_3", b_sat, unsigned(tf.width))
        else:
            b_3, sat_b = Const(0, tf.width), Const(0, 1)
        sat_3 = stage("sat_3", sat_i + sat_u + sat_b, unsigned(2))

        # 4: threshold compare; the state passes through
        if p.kind is NeuronKind.ALIF:
            spike = u_3 >= p.theta + b_3
        else:
            spike = u_3 >= p.theta if p.spiking else Const(0, 1)
        m.d.comb += [
            self.valid_out.eq(valid),
            self.tag_out.eq(tag),
            self.i_next.eq(stage("i_4", i_3)),
            self.u_next.eq(stage("u_4", u_3)),
            self.b_next.eq(stage("b_4", b_3, unsigned(tf.width))),
            self.s_next.eq(stage("s_4", spike, unsigned(1))),
            self.saturations.eq(stage("sat_4", sat_3)),
        ]
        return m
