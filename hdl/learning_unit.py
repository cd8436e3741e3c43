r"""The learning datapath of one layer: traces, eligibilities, gradient accumulators, update.

It computes :func:`spikeforge.model.learning.learning_step` for its layer after every network
step, and :func:`spikeforge.model.learning.apply_update` at the end of a trial, bit for bit.
Everything is time-multiplexed over block RAM, one synapse per clock:

1. ``NEURON`` (:math:`N` cycles; a hidden layer :math:`N (N_{out} + 1)`): for neuron :math:`i`,
   the surrogate exponent :math:`m\ell_i` from the captured :math:`U_i - \theta - b_i` (a
   leading-one detector) and the learning signal :math:`L_i` (its output error, or
   :math:`\sum_k B_{ik}\epsilon_k` with the sign matrix :math:`B` in ROM, one add or subtract per
   cycle), quantized to a sign and a leading-one position.
2. ``ROWS`` (:math:`R + 1` cycles): the presynaptic traces :math:`p_r, q_r` of every row.
3. ``SYN`` (:math:`R N + 1` cycles, pipelined): per synapse :math:`\lambda = (q_r - a) \gg m\ell_i`,
   the ALIF component :math:`a`, the filtered eligibility :math:`\bar e` and the accumulator
   :math:`G \mathrel{+}= \pm(\bar e \ll e_i)`.
4. ``UPDATE`` at the end of a trial (:math:`R N + 1` cycles): read :math:`W` through the network's
   host port, write :math:`\mathrm{sat}_W(W + (G + r) \gg k_\eta)`, clear :math:`\bar e, a, G`;
   then ``CLEAR`` (:math:`R` cycles) zeroes :math:`p, q`.

Shifts by a variable amount, additions, comparisons, multiplexers, and one multiplication by the
constant ``adapt_jump`` written as a sum of shifts (:func:`~spikeforge.hdl.arith.const_mul`): no
multiplier.
"""

import enum

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import check_lanes
from ..model import NeuronKind
from ..model.learning import LearningRule, rows_of
from ..model.learning.integer_ops import decay_terms
from .arith import clamp, const_mul
from .events import probe_signature
from .learning_events import learn_probe_signature

__all__ = ["LearningUnit", "bit_length", "decay"]


class _Phase(enum.IntEnum):
    IDLE = 0
    NEURON = 1
    ROWS = 2
    SYN = 3
    UPDATE = 4
    CLEAR = 5


def decay(x, k):
    """:func:`spikeforge.model.learning.decay` in logic: leak towards zero by ``1 - d``, ``k`` a
    shift or a :class:`~spikeforge.model.decay.Decay`: per term an add of a sign-selected
    constant, a constant shift and an add or subtract; then a multiplexer that stops a
    multi-term decay from overshooting zero."""
    terms = decay_terms(k)
    positive, negative = x > 0, x < 0
    out = x
    for sign, shift in terms:
        bump = Mux(positive if sign > 0 else negative, (1 << shift) - 1, 0)
        term = (x + bump) >> shift
        out = out - term if sign > 0 else out + term
    if len(terms) == 1:  # one term never overshoots
        return out
    return Mux(positive & (out < 0) | negative & (out > 0), 0, out)


def bit_length(value, width):
    """Bit length of a non-negative ``value`` of ``width`` bits (a priority encoder)."""
    result = Const(0, range(width + 1))
    for bit in range(width):
        result = Mux(value[bit], bit + 1, result)
    return result


class LearningUnit(wiring.Component):
    """Learning datapath of layer ``index`` of ``network`` under ``config``.

    Parameters
    ----------
    network : Network
    config : LearningConfig
    index : int
        The learning layer.
    lanes : int
        Lanes of the network core (weight addresses follow
        :mod:`~spikeforge.link.memory_layout`).
    probe : bool
        Add the ``lprobe`` port.

    Ports
    -----
    start : In(1)
        Process the step just completed (while ``done``).
    update : In(1)
        End of trial: update weights if ``apply``, then clear (while ``done``).
    apply : In(1)
    done : Out(1)
    capture : In(probe stream)
        The layer's probe records: U and b of every neuron after the step.
    z : In(R)
        Presynaptic spikes z[n] of the rows.
    err : In(array of n_out signed)
        Output errors after the step.
    lfsr : In(32), lfsr_step : Out(1)
        The shared rounding LFSR and its step request.
    w_en, w_lane, w_addr, w_data, r_lane, r_addr : Out; r_weight : In
        The network core's host weight port (used only during ``UPDATE``).
    lprobe : Out(learn probe stream)
        Every synapse's p, q, ē, a, G after each step.
    """

    def __init__(self, network, config, index, *, lanes=1, probe=False):
        config.check(network)
        if index not in config.layers:
            raise ValueError(f"layer {index} is not a learning layer of the configuration")
        self.network, self.config, self.index, self.lanes = network, config, index, lanes
        self.layer = network.layers[index]
        self.q_per_lane = check_lanes(self.layer, lanes)
        self.rows = rows_of(self.layer, config)
        self.is_output = index == len(network.layers) - 1
        p = self.layer.params
        words = self.rows * self.q_per_lane
        wide_weight = max(ly.params.weight_format.width for ly in network.layers)
        members = {
            "start": In(1), "update": In(1), "apply": In(1), "done": Out(1),
            "capture": In(probe_signature()),
            "z": In(self.rows),
            "err": In(data.ArrayLayout(signed(config.error_format.width), network.n_out)),
            "lfsr": In(32), "lfsr_step": Out(1),
            "w_en": Out(1), "w_lane": Out(8), "w_addr": Out(range(max(words, 2))),
            "w_data": Out(signed(wide_weight)),
            "r_lane": Out(8), "r_addr": Out(range(max(words, p.n, 2))),
            "r_weight": In(signed(wide_weight)),
        }
        if probe:
            members["lprobe"] = Out(learn_probe_signature())
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg, layer = self.config, self.layer
        p = layer.params
        n, rows, lanes, q_max = p.n, self.rows, self.lanes, self.q_per_lane
        n_out = self.network.n_out
        tf, ef, gf, wf = cfg.trace_format, cfg.elig_format, cfg.grad_format, p.weight_format
        alif = p.kind is NeuronKind.ALIF and cfg.rule is LearningRule.EPROP

        phase = Signal(_Phase)
        m.d.comb += self.done.eq(phase == _Phase.IDLE)

        # ---- captured neuron state --------------------------------------------------------
        pw = p.potential_format.width
        u_regs = [Signal(signed(pw), name=f"u{i}") for i in range(n)]
        b_regs = [Signal(unsigned(p.trace_format.width), name=f"b{i}") for i in range(n)]
        with m.If(self.capture.valid):
            for i in range(n):
                with m.If(self.capture.payload.neuron == i):
                    m.d.sync += u_regs[i].eq(self.capture.payload.u)
                    if p.kind is NeuronKind.ALIF:
                        m.d.sync += b_regs[i].eq(self.capture.payload.b)

        # ---- memories -----------------------------------------------------------------------
        pq_layout = data.StructLayout({"p": unsigned(tf.width), "q": unsigned(tf.width)})
        syn_layout = data.StructLayout({
            "ebar": signed(ef.width), "a": signed(ef.width if alif else 1),
            "g": signed(gf.width)})
        pq = m.submodules.pq = Memory(shape=pq_layout, depth=rows, init=[])
        syn = m.submodules.syn = Memory(shape=syn_layout, depth=rows * n, init=[])
        pq_rd, pq_wr = pq.read_port(), pq.write_port()
        syn_rd, syn_wr = syn.read_port(), syn.write_port()

        # ---- per-neuron learning factors ------------------------------------------------------
        exp_w = max(1, (cfg.sg_slope * (pw + 2)).bit_length())
        m_regs = Array(Signal(exp_w, name=f"m{i}") for i in range(n))
        act_regs = Array(Signal(name=f"act{i}") for i in range(n))
        lz_regs = Array(Signal(name=f"lz{i}") for i in range(n))  # L == 0
        ls_regs = Array(Signal(name=f"ls{i}") for i in range(n))  # L < 0
        sig_w = cfg.error_format.width + max(1, n_out).bit_length() + 1
        le_regs = Array(Signal(range(sig_w + 1), name=f"le{i}") for i in range(n))

        i_ctr = Signal(range(n + 1))
        k_ctr = Signal(range(n_out + 1))
        acc = Signal(signed(sig_w))
        u_sel = Array(u_regs)[i_ctr]
        b_sel = Array(b_regs)[i_ctr]
        v = Signal(signed(pw + p.trace_format.width + 2))
        m.d.comb += v.eq(u_sel - p.theta - b_sel)
        dist = Signal(unsigned(v.shape().width))
        m.d.comb += dist.eq(Mux(v < 0, -v, v) >> cfg.sg_shift)
        ell = bit_length(dist, dist.shape().width)
        err = self.err

        def store_signal(i, value):
            mag = Signal(unsigned(sig_w), name="sig_mag")
            m.d.comb += mag.eq(Mux(value < 0, -value, value))
            m.d.sync += [
                m_regs[i].eq(const_mul(ell, cfg.sg_slope)),
                act_regs[i].eq(ell <= cfg.sg_cut),
                lz_regs[i].eq(value == 0),
                ls_regs[i].eq(value < 0),
                le_regs[i].eq(bit_length(mag, sig_w) - 1),
            ]

        if not self.is_output:
            fb = cfg.feedback[self.index]
            rom = Memory(shape=signed(2), depth=n * n_out,
                         init=[int(fb[i, k]) for i in range(n) for k in range(n_out)])
            m.submodules.feedback = rom
            fb_rd = rom.read_port(domain="comb")
            fb_addr = Signal(range(n * n_out + 1))
            m.d.comb += fb_rd.addr.eq(fb_addr)
            err_k = Array(err[k] for k in range(n_out))[k_ctr]

        # ---- row / synapse counters ---------------------------------------------------------
        r_ctr = Signal(range(rows + 1))
        a_ctr = Signal(range(rows * n + 1))
        valid1 = Signal()
        r1 = Signal.like(r_ctr)
        i1 = Signal.like(i_ctr)
        a1 = Signal.like(a_ctr)
        # update sweep: neuron i = qq * lanes + lane, weight address = r * Q + qq
        lane_ctr = Signal(range(lanes + 1))
        qq_ctr = Signal(range(q_max + 1))
        waddr = Signal(range(rows * q_max + 1))
        lane1 = Signal.like(lane_ctr)
        waddr1 = Signal.like(waddr)
        upd_valid1 = Signal()
        m.d.sync += [valid1.eq(0), upd_valid1.eq(0)]

        # stage-1 datapath of the step sweep
        q_val = pq_rd.data.q
        e_old = syn_rd.data
        h = Signal(signed(max(tf.width, ef.width) + 2))
        m.d.comb += h.eq(q_val - (e_old.a if alif else 0))
        lam = Signal(signed(h.shape().width))
        m.d.comb += lam.eq(Mux(act_regs[i1], h >> m_regs[i1], 0))
        ebar_next, _ = clamp(decay(e_old.ebar, cfg.k_err) + lam, ef.min, ef.max)
        ebar_n = Signal(signed(ef.width))
        m.d.comb += ebar_n.eq(ebar_next)
        shifted = Signal(signed(ef.width + sig_w))
        m.d.comb += shifted.eq(ebar_n << le_regs[i1])
        prod = Mux(lz_regs[i1], 0, Mux(ls_regs[i1], -shifted, shifted))
        g_next, _ = clamp(e_old.g + prod, gf.min, gf.max)
        if alif:
            a_next, _ = clamp(decay(e_old.a, p.k_adapt)
                              + (const_mul(lam, p.adapt_jump) >> cfg.psi_shift), ef.min, ef.max)
        else:
            a_next = 0

        # stage-1 datapath of the update sweep
        k = cfg.lr_shift
        if cfg.rounding == "stochastic":
            rnd = self.lfsr & ((1 << k) - 1)
        else:
            rnd = (1 << k) >> 1
        delta = (e_old.g + rnd) >> k
        w_new, _ = clamp(self.r_weight + delta, wf.min, wf.max)

        with m.Switch(phase):
            with m.Case(_Phase.IDLE):
                with m.If(self.start):
                    m.d.sync += [phase.eq(_Phase.NEURON), i_ctr.eq(0), k_ctr.eq(0),
                                 acc.eq(0)]
                    if not self.is_output:
                        m.d.sync += fb_addr.eq(0)
                with m.Elif(self.update):
                    m.d.sync += [phase.eq(_Phase.UPDATE), r_ctr.eq(0), a_ctr.eq(0),
                                 lane_ctr.eq(0), qq_ctr.eq(0), waddr.eq(0)]
            with m.Case(_Phase.NEURON):
                last_neuron = i_ctr == n - 1
                if self.is_output:
                    store_signal(i_ctr, Array(err[k] for k in range(n_out))[i_ctr])
                    with m.If(last_neuron):
                        m.d.sync += [phase.eq(_Phase.ROWS), r_ctr.eq(0)]
                    with m.Else():
                        m.d.sync += i_ctr.eq(i_ctr + 1)
                else:
                    with m.If(k_ctr == n_out):
                        store_signal(i_ctr, acc)
                        m.d.sync += [k_ctr.eq(0), acc.eq(0)]
                        with m.If(last_neuron):
                            m.d.sync += [phase.eq(_Phase.ROWS), r_ctr.eq(0)]
                        with m.Else():
                            m.d.sync += i_ctr.eq(i_ctr + 1)
                    with m.Else():
                        term = Mux(fb_rd.data == 0, 0, Mux(fb_rd.data < 0, -err_k, err_k))
                        m.d.sync += [acc.eq(acc + term), k_ctr.eq(k_ctr + 1),
                                     fb_addr.eq(fb_addr + 1)]
            with m.Case(_Phase.ROWS):
                # stage 0 reads row r_ctr; stage 1 writes row r1
                m.d.comb += pq_rd.addr.eq(r_ctr)
                with m.If(r_ctr < rows):
                    m.d.sync += [r_ctr.eq(r_ctr + 1), r1.eq(r_ctr), valid1.eq(1)]
                with m.If(valid1):
                    old = pq_rd.data
                    z_bit = self.z.bit_select(r1, 1)
                    p_next, _ = clamp(decay(old.p, p.k_syn)
                                      + Mux(z_bit, 1 << cfg.trace_shift, 0), tf.min, tf.max)
                    leaked = old.q if p.kind is NeuronKind.IF else decay(old.q, p.k_mem)
                    q_next, _ = clamp(leaked + old.p, tf.min, tf.max)
                    m.d.comb += [pq_wr.addr.eq(r1), pq_wr.en.eq(1),
                                 pq_wr.data.p.eq(p_next), pq_wr.data.q.eq(q_next)]
                with m.If((r_ctr == rows) & ~valid1):
                    m.d.sync += [phase.eq(_Phase.SYN), r_ctr.eq(0), i_ctr.eq(0), a_ctr.eq(0)]
            with m.Case(_Phase.SYN):
                m.d.comb += [pq_rd.addr.eq(r_ctr), syn_rd.addr.eq(a_ctr)]
                with m.If(r_ctr < rows):
                    m.d.sync += [r1.eq(r_ctr), i1.eq(i_ctr), a1.eq(a_ctr), valid1.eq(1),
                                 a_ctr.eq(a_ctr + 1)]
                    with m.If(i_ctr == n - 1):
                        m.d.sync += [i_ctr.eq(0), r_ctr.eq(r_ctr + 1)]
                    with m.Else():
                        m.d.sync += i_ctr.eq(i_ctr + 1)
                with m.If(valid1):
                    m.d.comb += [syn_wr.addr.eq(a1), syn_wr.en.eq(1),
                                 syn_wr.data.ebar.eq(ebar_n), syn_wr.data.g.eq(g_next)]
                    if alif:
                        m.d.comb += syn_wr.data.a.eq(a_next)
                    if self.is_probed:
                        m.d.comb += [
                            self.lprobe.valid.eq(1),
                            self.lprobe.payload.layer.eq(self.index),
                            self.lprobe.payload.row.eq(r1),
                            self.lprobe.payload.neuron.eq(i1),
                            self.lprobe.payload.p.eq(pq_rd.data.p),
                            self.lprobe.payload.q.eq(q_val),
                            self.lprobe.payload.ebar.eq(ebar_n),
                            self.lprobe.payload.a.eq(a_next),
                            self.lprobe.payload.g.eq(g_next),
                        ]
                with m.If((r_ctr == rows) & ~valid1):
                    m.d.sync += phase.eq(_Phase.IDLE)
            with m.Case(_Phase.UPDATE):
                m.d.comb += [syn_rd.addr.eq(a_ctr), self.r_lane.eq(lane_ctr),
                             self.r_addr.eq(waddr)]
                with m.If(r_ctr < rows):
                    m.d.sync += [a1.eq(a_ctr), lane1.eq(lane_ctr), waddr1.eq(waddr),
                                 upd_valid1.eq(1), a_ctr.eq(a_ctr + 1)]
                    with m.If(lane_ctr == lanes - 1):
                        m.d.sync += lane_ctr.eq(0)
                        with m.If(qq_ctr == q_max - 1):
                            m.d.sync += [qq_ctr.eq(0), r_ctr.eq(r_ctr + 1),
                                         waddr.eq(waddr + 1)]
                        with m.Else():
                            m.d.sync += [qq_ctr.eq(qq_ctr + 1), waddr.eq(waddr + 1)]
                    with m.Else():
                        m.d.sync += lane_ctr.eq(lane_ctr + 1)
                with m.If(upd_valid1):
                    m.d.comb += [syn_wr.addr.eq(a1), syn_wr.en.eq(1), syn_wr.data.eq(0),
                                 self.w_en.eq(self.apply), self.w_lane.eq(lane1),
                                 self.w_addr.eq(waddr1), self.w_data.eq(w_new),
                                 self.lfsr_step.eq(self.apply)]
                with m.If((r_ctr == rows) & ~upd_valid1):
                    m.d.sync += [phase.eq(_Phase.CLEAR), r_ctr.eq(0)]
            with m.Case(_Phase.CLEAR):
                m.d.comb += [pq_wr.addr.eq(r_ctr), pq_wr.en.eq(1), pq_wr.data.eq(0)]
                with m.If(r_ctr == rows - 1):
                    m.d.sync += phase.eq(_Phase.IDLE)
                with m.Else():
                    m.d.sync += r_ctr.eq(r_ctr + 1)
        return m

    @property
    def is_probed(self):
        return "lprobe" in self.signature.members
