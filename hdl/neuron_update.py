r"""The neuron update of the integer contract as a pipeline of adder trees.

For one neuron, from its state of step :math:`n` and its synaptic sums, computes the state of
step :math:`n+1` exactly as :func:`spikeforge.model.layer_step`. With :math:`D(x) = x - \sum_j
s_j (x \gg k_j)` a decay (1 to 4 signed terms, :mod:`spikeforge.model.decay`), :math:`f` the
input shift, :math:`\theta_r` the reset amount, :math:`A = 2^f\,acc + c` and :math:`R = 2^f\,rec`:

.. math::

    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I) + A\big)
             \qquad\text{(}acc\text{ holds the recurrent sum too)}\\
    I[n+1] &= \mathrm{sat}_I\big(D_{syn}(I + R) + A\big)
             \qquad\text{(same-step recurrence: } rec \text{ apart, drive } x = I + R)\\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U) + x - \theta_r s\big)
              \ \text{(subtract; IF: no leak; LI: no reset)}\\
    U[n+1] &= \mathrm{sat}_U\big(D_{mem}(U - \theta_r s) + x\big)\ \text{(subtract before leak)}\\
    U[n+1] &= \mathrm{sat}_U\big(s\ ?\ x : D_{mem}(U) + x\big) \ \text{(zero)}\\
    U[n+1] &= s\ ?\ 0 : \mathrm{sat}_U\big(D_{mem}(U) + x\big) \ \text{(clear)}\\
    b[n+1] &= \mathrm{sat}_b\big(D_{adapt}(b) + d\, s\big) \ \text{(ALIF)}\\
    s[n+1] &= U[n+1] \ge \theta + b[n+1]

with :math:`x = I` without same-step recurrence. Only adders, arithmetic shifts by constants,
comparators and multiplexers. Every stage holds at most one carry chain between registers (the
update is the longest combinational path of a layer otherwise, and sets the clock of a board):

0. *(only with same-step recurrence or reset before the leak)* the sums a decay is applied
   to: :math:`x = I + R`, :math:`y = U - \theta_r s`; every other operand is registered;
1. … :math:`T`: one adder tree per state. A decay of :math:`m` terms is :math:`m + 1` operands
   (the state and its shifted copies, shifts are wiring); the tree of :math:`I` adds
   :math:`A`'s two operands (``acc``, bias; 0 without), the tree of :math:`U` the drive and
   the reset (:math:`-\theta_r s`, a multiplexed constant; reset to zero selects the drive
   behind the last adder, the clearing reset 0), the tree of :math:`b` the jump. A tree of
   :math:`n` operands takes :math:`\lceil \log_2 n \rceil` adder levels, one per stage;
   :math:`T` is the deepest tree's, and a shallower tree registers its operands first;
2. saturation (compare with the format's bounds, select), and beside it the threshold compare
   :math:`U[n+1] \ge \theta` of the wide sum: :math:`\theta` lies in :math:`[1, U_{max}]`
   and the format's minimum is at most 0, so the saturated sum reaches :math:`\theta`
   exactly where the wide one does (saturation is monotone and leaves
   :math:`[U_{min}, U_{max}]` alone);
3. *(ALIF only)* the threshold compare :math:`U[n+1] \ge \theta + b[n+1]`, which needs both
   saturated (:math:`b` may saturate where :math:`U` does not).

The latency is :meth:`NeuronUpdate.latency`: :math:`P + T + 1` (ALIF :math:`P + T + 2`) with
:math:`P` the pre-stage (0 or 1). One-term decays without same-step recurrence or reset before
the leak give :math:`T = 2`, :math:`P = 0`, so :attr:`NeuronUpdate.LATENCY` = 3 cycles (ALIF 4,
the version 1 pipeline's; the first level of :math:`U`'s tree keeps the version 1 register
widths); 2 to 4 terms give :math:`T = 3` where a tree then holds more than 4 operands (up to 8
fit 3 levels).

A result leaves ``latency`` cycles of ``en`` after its operands entered; ``en`` low freezes
every stage (the consumer's backpressure). ``valid`` and ``tag`` (the neuron's address) travel
with the operands.
"""

import math
from fractions import Fraction

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..model import LayerParams, NeuronKind, ResetMode
from .arith import clamp, input_accumulator_width, recurrent_accumulator_width, signed_width

__all__ = ["NeuronUpdate"]


#: names of the first level's registers by the operands they hold (the version-1 names)
_FIRST_LEVEL = {
    ("i", frozenset({"x"})): "leak_i", ("i", frozenset({"acc", "bias"})): "syn_in",
    ("u", frozenset({"u"})): "leak_u", ("u", frozenset({"x", "reset"})): "drive",
    ("u", frozenset({"x"})): "drive", ("b", frozenset({"b"})): "leak_b",
    ("b", frozenset({"jump"})): "jump",
}


def _levels(operands):
    """Adder levels of a balanced tree of ``operands`` values: ceil(log2(operands))."""
    return (operands - 1).bit_length()


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
    acc : In(signed(input_accumulator_width(params)))
        :math:`\\sum_j W_{ij} s^{in}_j`, plus :math:`\\sum_k V_{ik} s_k` unless the layer has
        same-step recurrence (not shifted by the input shift yet).
    rec : In(signed(recurrent_accumulator_width(params)))
        Same-step recurrence only: :math:`\\sum_k V_{ik} s_k`.
    bias : In(signed(current width))
        :math:`c_i` (0 without bias).
    valid_out, tag_out : Out
        ``valid`` and ``tag`` of the operands the outputs belong to.
    i_next, u_next, b_next, s_next : Out
        State of step n+1 (registered).
    saturations : Out(unsigned(2))
        How many of the I, U and b updates were clamped (0..3).
    """

    #: cycles (of ``en``) from operands to results with one-term decays and none of the
    #: version-2 features (reset before the leak, same-step recurrence), but ALIF, whose
    #: threshold compare takes a stage of its own; see :meth:`latency`
    LATENCY = 3

    @staticmethod
    def pre_stage(params):
        """Whether a sum precedes a decay (:math:`I + R` or :math:`U - \\theta_r s`)."""
        return params.same_step_recurrence or (
            params.spiking and params.reset is ResetMode.SUBTRACT_BEFORE_LEAK)

    @staticmethod
    def tree_operands(params):
        """Operands of the adder tree of each state: ``{"i": n, "u": n, "b": n}``."""
        p = params
        counts = {"i": len(p.k_syn.terms) + 3}  # x, its terms, acc, bias (0 without)
        u = 1 + (0 if p.kind is NeuronKind.IF else len(p.k_mem.terms)) + 1
        if p.spiking and p.reset is ResetMode.SUBTRACT:
            u += 1
        counts["u"] = u
        if p.kind is NeuronKind.ALIF:
            counts["b"] = len(p.k_adapt.terms) + 2
        return counts

    @classmethod
    def latency(cls, params):
        """Cycles (of ``en``) from operands to results for a layer of ``params``:
        pre-stage (0 or 1) + the deepest adder tree's levels + saturation (with the threshold
        compare beside it) + ALIF's compare of the saturated ``U`` with ``θ + b``."""
        if not isinstance(params, LayerParams):
            raise TypeError(f"params must be LayerParams, not {params!r}")
        depth = max(_levels(n) for n in cls.tree_operands(params).values())
        alif = params.kind is NeuronKind.ALIF
        return int(cls.pre_stage(params)) + depth + 1 + int(alif)

    def __init__(self, params, *, tag_width=1):
        if not isinstance(params, LayerParams):
            raise TypeError(f"params must be LayerParams, not {params!r}")
        self.params = params
        self.tag_width = tag_width
        cw = params.current_format.width
        pw = params.potential_format.width
        tw = params.trace_format.width
        members = {
            "en": In(1),
            "valid": In(1),
            "tag": In(tag_width),
            "i": In(signed(cw)),
            "u": In(signed(pw)),
            "b": In(unsigned(tw)),
            "s": In(1),
            "acc": In(signed(input_accumulator_width(params))),
            "bias": In(signed(cw)),
            "valid_out": Out(1),
            "tag_out": Out(tag_width),
            "i_next": Out(signed(cw)),
            "u_next": Out(signed(pw)),
            "b_next": Out(unsigned(tw)),
            "s_next": Out(1),
            "saturations": Out(unsigned(2)),
        }
        if params.same_step_recurrence:
            members["rec"] = In(signed(recurrent_accumulator_width(params)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        cf, pf, tf = p.current_format, p.potential_format, p.trace_format
        alif = p.kind is NeuronKind.ALIF
        latency = self.latency(p)
        sums = latency - 1 - int(alif)  # the stage that registers the wide sums

        def stage(name, value, shape=None, *, reset=False):
            """A pipeline register loaded from ``value`` while ``en``. Only the ``valid``
            flags are reset: what travels beside a cleared flag is never used, and on the iCE40
            a register's synchronous reset is a LUT level in front of its enable (an
            ``SB_DFFESR`` resets only while enabled, so the reset joins the enable's logic)."""
            reg = Signal(shape if shape is not None else value.shape(), name=name,
                         reset_less=not reset)
            with m.If(self.en):
                m.d.sync += reg.eq(value)
            return reg

        valid, tag = self.valid, self.tag
        for index in range(1, latency + 1):
            valid = stage(f"valid_{index}", valid, reset=True)
            tag = stage(f"tag_{index}", tag)

        def selected(spiked, value):
            """``value`` where the neuron spiked, else 0: a multiplexed constant."""
            return Mux(spiked, Const(value, unsigned(max(1, value.bit_length()))), 0)

        # 0: the sums a decay is applied to (only where the layer needs one), else registers
        f = p.input_shift
        x, y, acc = self.i, self.u, self.acc << f
        bias, b, s = self.bias, self.b, self.s
        start = int(self.pre_stage(p))
        if p.same_step_recurrence:
            x = self.i + (self.rec << f)
        if p.spiking and p.reset is ResetMode.SUBTRACT_BEFORE_LEAK:
            y = self.u - selected(self.s, p.reset_amount)
        if start:
            x, y, acc, s = (stage("x_0", x), stage("y_0", y), stage("acc_0", acc),
                            stage("s_0", s))
            bias = stage("bias_0", bias) if p.bias else bias
            b = stage("b_0", b) if alif else b

        s_at = [s]  # s registered to each later stage (for the reset-to-zero select)
        x_at = [x]  # the drive, likewise

        def at(chain, name, level):
            while len(chain) <= level:
                chain.append(stage(f"{name}_{start + len(chain)}", chain[-1]))
            return chain[level]

        multi = self._multi_term()

        def decay(value, terms, tag):
            """``value`` and its shifted copies. With multi-term decays a copy is taken at its
            own width (``shift_right``) and names its base and shift: ``(value, shift)``, by
            which the trees bound their sums."""
            if not multi:
                return [(1, value, tag)] + [(-sign, value >> shift, tag) for sign, shift in terms]
            return [(1, value, tag)] + [(-sign, value.shift_right(shift), tag, (value, shift))
                                        for sign, shift in terms]

        # 1..T: the adder trees, one per state. An operand is (sign, value, tag), the first
        # of each tree positive. The bias is an operand even when it is 0 (as in version 1).
        trees = {"i": [*decay(x, p.k_syn.terms, "x"), (1, acc, "acc"), (1, bias, "bias")]}
        leak = [(1, y, "u")] if p.kind is NeuronKind.IF else decay(y, p.k_mem.terms, "u")
        drive = [(1, x, "x")]
        if p.spiking and p.reset is ResetMode.SUBTRACT:
            drive.append((-1, selected(s, p.reset_amount), "reset"))
        trees["u"] = drive + leak if len(leak) % 2 and not len(drive) % 2 else leak + drive
        if alif:
            trees["b"] = [*decay(b, p.k_adapt.terms, "b"), (1, selected(s, p.adapt_jump), "jump")]
        roots = self._adder_trees(m, stage, trees, sums - start, s_at, x_at, at)
        i_wide, u_wide = roots["i"], roots["u"]
        b_wide = roots.get("b")

        # saturation
        i_sat, sat_i = clamp(i_wide, cf.min, cf.max)
        u_sat, sat_u = clamp(u_wide, pf.min, pf.max)
        i_c = stage(f"i_{sums + 1}", i_sat, signed(cf.width))
        u_c = stage(f"u_{sums + 1}", u_sat, signed(pf.width))
        if alif:
            b_sat, sat_b = clamp(b_wide, tf.min, tf.max)
            b_c = stage(f"b_{sums + 1}", b_sat, unsigned(tf.width))
        else:
            b_c, sat_b = Const(0, tf.width), Const(0, 1)
        sat_c = stage(f"sat_{sums + 1}", sat_i + sat_u + sat_b, unsigned(2))

        # the threshold compare: ALIF's of the saturated U and b, a stage of its own (the state
        # passes through); else of the wide sum, beside the saturation (see the module's
        # docstring: the same spikes)
        m.d.comb += [self.valid_out.eq(valid), self.tag_out.eq(tag)]
        if alif:
            m.d.comb += [
                self.i_next.eq(stage(f"i_{latency}", i_c)),
                self.u_next.eq(stage(f"u_{latency}", u_c)),
                self.b_next.eq(stage(f"b_{latency}", b_c, unsigned(tf.width))),
                self.s_next.eq(stage(f"s_{latency}", u_c >= p.theta + b_c, unsigned(1))),
                self.saturations.eq(stage(f"sat_{latency}", sat_c)),
            ]
        else:
            spike = (stage(f"s_{latency}", u_wide >= p.theta, unsigned(1)) if p.spiking
                     else Const(0, 1))
            m.d.comb += [self.i_next.eq(i_c), self.u_next.eq(u_c), self.b_next.eq(b_c),
                         self.s_next.eq(spike), self.saturations.eq(sat_c)]
        return m

    def _multi_term(self):
        """Whether a decay of the layer has more than one term (then its trees are sized by
        the ranges of their sums; a one-term layer keeps the version-1 registers)."""
        p = self.params
        decays = [p.k_syn, p.k_mem] + ([p.k_adapt] if p.kind is NeuronKind.ALIF else [])
        return any(not decay.single for decay in decays)

    def _adder_trees(self, m, stage, trees, depth, s_at, x_at, at):
        """Sum the operands of every tree of ``trees`` ({state: [(sign, value, tag)]}) in
        ``depth`` stages, level by level across the trees, pairing neighbours; return the
        registered sums. A tree shallower than ``depth`` registers its operands first. The
        first level keeps the version-1 register widths: ``U``'s leak one bit wider than
        ``U``, the drive two bits wider than the wider of ``I`` and ``U`` (a signed register
        is only ever widened), and a one-term ``b - (b >> k)``, which lies in ``[0, b]``,
        ``b``'s width unsigned. Reset to zero selects the drive behind ``U``'s last adder, the
        clearing reset 0.

        A layer with a multi-term decay (:meth:`_multi_term`) is not the version-1 pipeline:
        there every register is as wide as the range of what it holds (:func:`_bounds`, the
        shifted copies of one value bounded together), and each tree pairs its operands the
        way that needs the fewest register and adder bits (:func:`_pairing`; the narrow
        shifted copies then meet first). An operand may have a fourth element ``(base,
        shift)``: it is ``base >> shift`` (else it is its own base, shift 0)."""
        builder = _AdderTrees(self.params, self._multi_term(), stage, depth, x_at)
        work = {state: [builder.operand(*op) for op in operands]
                for state, operands in trees.items()}
        pads = {state: depth - _levels(len(operands)) for state, operands in work.items()}
        plans = {}
        if builder.multi:
            plans = {state: builder.plan(state, operands, pads[state])
                     for state, operands in work.items()}
        for level in range(1, depth + 1):
            for state, operands in work.items():
                if level <= pads[state]:
                    work[state] = builder.register_all(state, level, operands)
                else:
                    if state in plans:
                        operands = [operands[index] for index in plans[state][level]]
                    work[state] = builder.add_pairs(state, level, operands, s_at, at)
                if level == 1 and state == "u":
                    at(s_at, "s", 1)  # the version-1 pipeline registered s here, always
        roots = {}
        for state, operands in work.items():
            sign, root, _, _ = operands[0]
            if len(operands) != 1 or sign != 1:
                raise AssertionError(f"the tree of {state} did not reduce to a positive sum")
            roots[state] = root
        return roots


class _AdderTrees:
    """The nodes of :meth:`NeuronUpdate._adder_trees`: operands ``(sign, value, tags, form)``
    (``form`` the terms :func:`_bounds` bounds), their ranges, registers and pairings.

    ``stage`` makes a pipeline register, ``depth`` is the trees' number of levels and
    ``x_at`` the drive registered to each stage (its first element the drive itself)."""

    def __init__(self, params, multi, stage, depth, x_at):
        p = self.params = params
        self.multi, self.stage, self.depth, self.x_at = multi, stage, depth, x_at
        self.zero = p.spiking and p.reset is ResetMode.ZERO
        self.clear = p.spiking and p.reset is ResetMode.CLEAR
        # the range of each operand's base: its shape's, or what the layer puts there; for
        # choosing the pairing only, a bias that the layer does not have is 0
        self.known = {"acc": tuple(v << p.input_shift for v in _shape_range(
                          signed(input_accumulator_width(p)))),
                      "reset": (0, p.reset_amount) if p.spiking else (0, 0),
                      "jump": (0, p.adapt_jump)}

    def shape_of(self, state, level, tags, value, bounds):
        """The shape of a node's register: its range's (multi-term), else its value's, widened
        at the first level to the version-1 widths."""
        p = self.params
        if self.multi:
            lo, hi = bounds
            if lo >= 0:
                return unsigned(max(1, hi.bit_length()))
            return signed(signed_width(lo, hi))
        shape = value.shape()
        if level != 1:
            return shape
        if state == "b" and tags == {"b"} and p.k_adapt.single:
            return unsigned(p.trace_format.width)
        floor = None
        if state == "u" and tags <= {"u"}:
            floor = p.potential_format.width + 1
        elif state == "u" and tags <= {"x", "reset"}:
            floor = max(p.current_format.width, p.potential_format.width) + 2
        if floor is None:
            return shape
        return signed(max(shape.width + (not shape.signed), floor))

    def register(self, state, level, k, last, sign, value, tags, form=(), bounds=None):
        """Register a node of ``level`` (``k`` its first operand's index); the root is
        ``<state>_wide``, the first level keeps the version-1 names."""
        if last:
            name = f"{state}_wide"
        else:
            name = _FIRST_LEVEL.get((state, frozenset(tags)), f"{state}_{level}_{k}")
            name = name if level == 1 else f"{state}_{level}_{k}"
        reg = self.stage(name, value, self.shape_of(state, level, tags, value, bounds))
        return sign, reg, tags, form

    def operand(self, sign, value, tag, copy=None):
        """An operand of a tree as a node: ``(sign, value, {tag}, form)``."""
        p = self.params
        base, shift = copy if copy is not None else (value, 0)
        full = self.known.get(tag) or _shape_range(base.shape())
        hint = (0, 0) if tag == "bias" and not p.bias else full
        return sign, value, {tag}, ((id(base), sign, shift, full, hint),)

    def node_bounds(self, state, last, sign, form, tags, hint=False):
        """The range of a node's value (its sign times the sum of ``form``)."""
        lo, hi = _bounds(form, hint)
        lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
        if state == "u" and last and self.zero:  # the drive where the neuron spiked
            dlo, dhi = _shape_range(self.x_at[0].shape())
            lo, hi = min(lo, dlo), max(hi, dhi)
        if state == "u" and last and self.clear:
            lo, hi = min(lo, 0), max(hi, 0)
        return lo, hi

    def cost(self, state, level, sign, form, parts):
        """The bits of a node of the operands with tags ``parts``: its register (and adder),
        plus the drive's registers where reset to zero must carry it to the last adder."""
        depth = self.depth
        tags = set().union(*parts)
        width = _width(self.node_bounds(state, level == depth, sign, form, tags, True))
        extra = 0
        if (state == "u" and self.zero and level == depth and len(parts) == 2
                and {"x"} not in parts):
            # x not alone at the last adder: the drive is registered to it
            extra = (depth - 1) * _width(_shape_range(self.x_at[0].shape()))
        return width * len(parts) + extra

    def plan(self, state, operands, pad):
        """The cheapest pairing of a tree's ``operands`` after ``pad`` register-only levels."""
        def cost(level, sign, form, parts):
            return self.cost(state, level, sign, form, parts)
        return _pairing([(sign, tags, form) for sign, _, tags, form in operands],
                        pad + 1, self.depth, cost)

    def register_all(self, state, level, operands):
        """A padding level: register every operand as it is."""
        last = level == self.depth
        return [self.register(state, level, k, last, *op,
                              self.node_bounds(state, last, op[0], op[3], op[2]))
                for k, op in enumerate(operands)]

    def add_pairs(self, state, level, operands, s_at, at):
        """An adder level: add neighbouring operands (the last alone if odd) and register the
        sums; at ``U``'s last adder, reset to zero selects the drive, the clearing reset 0."""
        last = level == self.depth
        nodes = []
        for k in range(0, len(operands), 2):
            if k + 1 == len(operands):
                op = operands[k]
                nodes.append(self.register(state, level, k, last, *op,
                                           self.node_bounds(state, last, op[0], op[3], op[2])))
                continue
            (sa, a, ta, fa), (sb, b, tb, fb) = operands[k], operands[k + 1]
            if sa == sb:
                value, sign = a + b, sa
            else:
                value, sign = (a - b, 1) if sa > 0 else (b - a, 1)
            if state == "u" and self.zero and len(operands) == 2:
                alone = [node for _, node, tags, _ in operands if tags == {"x"}]
                drive = alone[0] if alone else at(self.x_at, "x", level - 1)
                value = Mux(at(s_at, "s", level - 1), drive, value)
            elif state == "u" and self.clear and len(operands) == 2:
                value = Mux(at(s_at, "s", level - 1), 0, value)
            nodes.append(self.register(state, level, k, last, sign, value, ta | tb, fa + fb,
                                       self.node_bounds(state, last, sign, fa + fb, ta | tb)))
        return nodes


def _shape_range(shape):
    """The integers a value of ``shape`` holds: ``(lo, hi)``."""
    if shape.signed:
        return -(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1
    return 0, (1 << shape.width) - 1


def _width(bounds):
    """Bits of a register for the range ``bounds``: unsigned when it has no negative values."""
    lo, hi = bounds
    return hi.bit_length() if lo >= 0 else signed_width(lo, hi)


def _bounds(form, hint=False):
    r"""``(lo, hi)``: a range of :math:`\sum s\,(v \gg k)` over the terms ``(id(v), s, k,
    range, hint)`` of ``form`` (:math:`s = \pm 1`), for every :math:`v` in its ``range`` (in
    its ``hint`` range with ``hint``).

    The copies of one value are bounded together: :math:`v \gg k = v/2^k - e` with
    :math:`0 \le e \le 1 - 2^{-k}` (a floor), so with :math:`c = \sum s\,2^{-k}` their sum
    lies in :math:`[c\,v - E_+, c\,v + E_-]` (:math:`E_\pm` the sum of the largest errors of
    the positive, the negative terms), and :math:`c\,v` is extreme at the ends of :math:`v`'s
    range. Different values are bounded apart. ``x - (x >> 1)`` of a 16-bit ``x`` lies in
    ``[-16384, 16384]`` (16 bits), where the ranges of ``x`` and ``x >> 1`` add up to 17."""
    groups = {}
    for key, sign, shift, full, near in form:
        groups.setdefault(key, (near if hint else full, []))[1].append((sign, shift))
    lo = hi = Fraction(0)
    for (vlo, vhi), terms in groups.values():
        c = sum((Fraction(sign, 1 << shift) for sign, shift in terms), Fraction(0))
        error = {sign: sum((Fraction((1 << shift) - 1, 1 << shift)
                            for s, shift in terms if s == sign), Fraction(0))
                 for sign in (1, -1)}
        lo += min(c * vlo, c * vhi) - error[1]
        hi += max(c * vlo, c * vhi) + error[-1]
    return math.ceil(lo), math.floor(hi)


def _pairings(items):
    """Every order of ``items`` that pairs neighbours differently (the last alone if odd)."""
    if len(items) < 2:
        yield list(items)
        return
    if len(items) % 2:
        for k, alone in enumerate(items):
            for order in _pairings(items[:k] + items[k + 1:]):
                yield [*order, alone]
        return
    first, rest = items[0], items[1:]
    for k, other in enumerate(rest):
        for order in _pairings(rest[:k] + rest[k + 1:]):
            yield [first, other, *order]


def _pairing(operands, first, depth, cost):
    """The cheapest way to add ``operands`` ((sign, tags, form)) in levels ``first`` ..
    ``depth``: ``{level: order}``, each order the indices of the level's operands (neighbours
    are added). ``cost(level, sign, form, parts)`` prices a node of the operands with tags
    ``parts`` (its register, and its adder where two); the first cheapest in enumeration
    order wins."""
    def best(level, nodes):
        if level > depth:
            return 0, {}
        choice = None
        for order in _pairings(list(range(len(nodes)))):
            total, nxt = 0, []
            for k in range(0, len(order), 2):
                pair = order[k:k + 2]
                if len(pair) == 1:
                    sign, tags, form = nodes[pair[0]]
                else:
                    (sa, ta, fa), (sb, tb, fb) = (nodes[j] for j in pair)
                    sign, tags, form = (sa if sa == sb else 1), ta | tb, fa + fb
                total += cost(level, sign, form, [nodes[j][1] for j in pair])
                nxt.append((sign, tags, form))
            if choice is not None and total >= choice[0]:
                continue
            rest, plan = best(level + 1, nxt)
            if choice is None or total + rest < choice[0]:
                choice = (total + rest, {level: order, **plan})
        return choice

    return best(first, list(operands))[1]
