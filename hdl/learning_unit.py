r"""The learning datapath of one layer: traces, eligibilities, gradient accumulators, update.

It computes :func:`spikeforge.model.learning.learning_step` for its layer after every network
step, and :func:`spikeforge.model.learning.apply_update` at the end of a trial, bit for bit.
Everything is time-multiplexed over block RAM, one synapse per clock, each sweep a pipeline
whose stages are about one add deep (a block RAM's data lands in a register), so the units keep
pace with the network core's clock:

1. ``NEURON`` (:math:`N` cycles; a hidden layer :math:`N (N_{out} + 1)`): for neuron :math:`i`,
   the surrogate exponent :math:`m\ell_i` from the captured :math:`U_i - \theta - b_i` (a
   leading-one detector) and the learning signal :math:`L_i` (its output error, or
   :math:`\sum_k B_{ik}\epsilon_k` with the sign matrix :math:`B` in ROM, one add or subtract per
   cycle), quantized to a sign and a leading-one position.
2. ``ROWS`` (:math:`R + 3` cycles, pipelined): the presynaptic traces :math:`p_r, q_r` of every
   row.
3. ``SYN`` (:math:`R N + 6` cycles, pipelined): per synapse :math:`\lambda = (q_r - a) \gg m\ell_i`,
   the ALIF component :math:`a`, the filtered eligibility :math:`\bar e` and the accumulator
   :math:`G \mathrel{+}= \pm(\bar e \ll e_i)`.
4. ``UPDATE`` at the end of a trial (:math:`R N + 3` cycles, pipelined): read :math:`W` through the
   network's host port, write :math:`\mathrm{sat}_W(W + (G + r) \gg k_\eta)`, clear
   :math:`\bar e, a, G`; then ``CLEAR`` (:math:`R` cycles) zeroes :math:`p, q`.

Shifts by a variable amount, additions, comparisons, multiplexers, and one multiplication by the
constant ``adapt_jump`` written as a sum of shifts (:func:`~spikeforge.hdl.arith.const_mul`): no
multiplier.

State lives in memories, not registers, so a unit fits the iCE40 UP5K beside the network
(:func:`memory_shapes`): the traces, the eligibilities :math:`\bar e, a` (written in the
synapse sweep's stage 4, where ``G`` is read), ``G``, every neuron's captured ``U`` and ``b``
and its factors from ``NEURON``. Sweep addresses come from counters rather than travelling down
the pipeline, and one ``G`` register serves both ``SYN`` and ``UPDATE``. The errors and the
presynaptic spikes are the learning core's memories, read through the ``err_*`` and ``z_*``
ports.
"""

import enum
from types import SimpleNamespace

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import check_lanes, update_lanes
from ..model import NeuronKind
from ..model.learning import LearningRule, rows_of
from ..model.learning.integer_ops import decay_terms
from ..model.learning.ranges import error_format, hardware_formats
from .arith import clamp, const_mul, saturate
from .events import probe_signature
from .learning_events import learn_probe_signature

__all__ = ["LearningUnit", "bit_length", "decay", "memory_shapes"]


class _Phase(enum.IntEnum):
    IDLE = 0
    NEURON = 1
    ROWS = 2
    SYN = 3
    UPDATE = 4
    CLEAR = 5


def _has_alif_component(layer, config):
    """Whether the eligibility has the ALIF component ``a`` (an ALIF layer under e-prop)."""
    return layer.params.kind is NeuronKind.ALIF and config.rule is LearningRule.EPROP


def memory_shapes(network, config, index, lanes=1):
    r"""``{name: (depth, width)}`` of the block memories of learning layer ``index``'s unit
    (:math:`R` rows, :math:`N` neurons, ``W`` neurons updated a cycle at ``lanes``):
    ``traces`` :math:`R \times (w_p + w_q)`, ``eligibilities`` :math:`R N \times (w_{\bar e}
    + w_a)` (:math:`w_a = 1` without the ALIF component), ``gradients`` :math:`R N \times
    w_G`, in the formats of :func:`~spikeforge.model.learning.ranges.hardware_formats`;
    ``captured state`` :math:`N / W \times W (w_U + w_b)` and ``neuron factors`` :math:`N`
    words of :func:`factor_layout`. (A hidden layer's feedback signs are a ROM read in the
    same cycle: logic, not a block memory.)"""
    layer = network.layers[index]
    p = layer.params
    f, rows, n = hardware_formats(network, config, index), rows_of(layer, config), p.n
    w = update_lanes(layer, lanes)
    return {"traces": (rows, trace_layout(f).size),
            "eligibilities": (rows * n, synapse_layout(layer, config, f).size),
            "gradients": (rows * n, config.grad_format.width),
            "captured state": (n // w, w * captured_layout(p).size),
            "neuron factors": (n, factor_layout(network, config, index).size)}


def trace_layout(formats):
    """A row's presynaptic traces ``p, q`` (``formats``: :func:`hardware_formats`)."""
    return data.StructLayout({"p": unsigned(formats.p.width), "q": unsigned(formats.q.width)})


def synapse_layout(layer, config, formats):
    """A synapse's filtered eligibility ``ē`` and ALIF component ``a`` (one bit, always zero,
    without it)."""
    a_width = config.elig_format.width if _has_alif_component(layer, config) else 1
    return data.StructLayout({"ebar": signed(formats.ebar.width), "a": signed(a_width)})


def captured_layout(params):
    """A neuron's captured state: ``U`` (and ``b``, ALIF)."""
    fields = {"u": signed(params.potential_format.width)}
    if params.kind is NeuronKind.ALIF:
        fields["b"] = unsigned(params.trace_format.width)
    return data.StructLayout(fields)


def factor_layout(network, config, index):
    """A neuron's stored factors: ``m·ℓ`` (the surrogate's exponent), whether the surrogate is
    not zero, ``L == 0``, ``L < 0`` and ``|L|``'s exponent."""
    pw = network.layers[index].params.potential_format.width
    exp_w = max(1, (config.sg_slope * (pw + 2)).bit_length())
    return data.StructLayout({"ml": unsigned(exp_w), "act": 1, "lz": 1, "ls": 1,
                              "le": range(signal_width(network, config) + 1)})


def signal_width(network, config):
    r"""Bits of a learning signal :math:`L = \sum_k B_{ik} e_k`: an error and the sum over
    the network's outputs, signed."""
    return error_format(config).width + max(1, network.n_out).bit_length() + 1


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


class _stage:
    """Pipeline stage ``number``'s registers (each named ``{prefix}{field}{number}``, shaped
    like the given signal) and its ``valid`` flag, cleared every cycle unless the stage is
    loaded."""

    def __init__(self, m, prefix, number, **fields):
        self.valid = Signal(name=f"{prefix}valid{number}")
        self.fields = {name: Signal(like.shape(), name=f"{prefix}{name}{number}")
                       for name, like in fields.items()}
        vars(self).update(self.fields)
        m.d.sync += self.valid.eq(0)

    def load(self, **values):
        """The statements that load the stage (under the previous stage's ``valid``)."""
        return [self.valid.eq(1),
                *(self.fields[name].eq(value) for name, value in values.items())]

    def carry(self, names):
        """This stage's registers of ``names``, for the next stage's :meth:`load`."""
        return {name: self.fields[name] for name in names}


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
    capture : In(probe stream), an array of ``W``
        The layer's probe records: U and b of every neuron after the step, in ascending
        neuron order, ``W`` a cycle (as the layer's update writes them,
        :func:`~spikeforge.link.memory_layout.update_lanes`).
    z_addr : Out(range(R)); z_data : In(1)
        A read port of the rows' presynaptic spikes z[n]: ``z_data`` is the spike of the row
        at the previous cycle's ``z_addr``.
    err_addr : Out(range(n_out)); err_data : In(signed)
        A read port of the output errors after the step: ``err_data`` is the error of the
        previous cycle's ``err_addr``.
    lfsr : In(32), lfsr_step : Out(1)
        The shared rounding LFSR and its step request.
    w_en, w_lane, w_addr, w_data, r_lane, r_addr : Out; r_weight : In
        The network core's host weight port (used only during ``UPDATE``); ``r_weight`` is
        the weight at ``r_*`` of two cycles before.
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
        #: the state's formats in hardware: the configured ones, narrowed to the ranges the
        #: state can reach (:mod:`spikeforge.model.learning.ranges`)
        self.formats = hardware_formats(network, config, index)
        self.error_format = error_format(config)
        p = self.layer.params
        words = self.rows * self.q_per_lane
        wide_weight = max(ly.params.weight_format.width for ly in network.layers)
        members = {
            "start": In(1), "update": In(1), "apply": In(1), "done": Out(1),
            "capture": In(probe_signature()).array(update_lanes(self.layer, lanes)),
            "z_addr": Out(range(max(self.rows, 2))), "z_data": In(1),
            "err_addr": Out(range(max(network.n_out, 2))),
            "err_data": In(signed(self.error_format.width)),
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
        """Capture, memories, the per-neuron factors, the two sweeps' datapaths and the phase
        sequencer (see the module docstring)."""
        m = Module()
        phase = Signal(_Phase)
        m.d.comb += self.done.eq(phase == _Phase.IDLE)
        # the registers, ports and datapath values the parts below share, added in the order
        # they are made. Each part is built once and in this order: the netlist (and the
        # Verilog) follows the order of signals and statements, and Amaranth shares the
        # decoding of two ``If``s of one value at one source line.
        hw = SimpleNamespace(phase=phase)
        self._captured_state(m, hw)
        self._memories(m, hw)
        self._neuron_factors(m, hw)
        self._counters(m, hw)
        self._rows_datapath(m, hw)
        self._step_datapath(m, hw)
        self._update_datapath(m, hw)
        with m.Switch(phase):
            with m.Case(_Phase.IDLE):
                self._idle_phase(m, hw)
            with m.Case(_Phase.NEURON):
                self._neuron_phase(m, hw)
            with m.Case(_Phase.ROWS):
                self._rows_phase(m, hw)
            with m.Case(_Phase.SYN):
                self._synapse_phase(m, hw)
            with m.Case(_Phase.UPDATE):
                self._update_phase(m, hw)
            with m.Case(_Phase.CLEAR):
                pq_wr, r_ctr = hw.pq_wr, hw.r_ctr
                m.d.comb += [pq_wr.addr.eq(r_ctr), pq_wr.en.eq(1), pq_wr.data.eq(0)]
                with m.If(r_ctr == self.rows - 1):
                    m.d.sync += phase.eq(_Phase.IDLE)
                with m.Else():
                    m.d.sync += r_ctr.eq(r_ctr + 1)
        return m

    @property
    def _alif(self):
        """Whether the eligibility has the ALIF component ``a`` (an ALIF layer under e-prop)."""
        return _has_alif_component(self.layer, self.config)

    def _captured_state(self, m, hw):
        """A memory of every neuron's ``U`` (and ``b``, ALIF), written from the capture ports:
        the layer probes every neuron once a step in ascending order, ``W`` a cycle, so the
        records of a cycle fill word :math:`i / W` of its first neuron :math:`i` (``W`` is a
        power of two: the word is the neuron index's high bits). Neuron ``i`` is read from
        there by ``NEURON`` (``hw.captured``, a cycle after ``hw.i_ctr``)."""
        p = self.layer.params
        layout = captured_layout(p)
        fields = layout.members
        w = len(self.capture)
        shift = w.bit_length() - 1
        # no read of a word meets its write: the words are written while the network runs,
        # and read after it has
        captured = Memory(shape=data.ArrayLayout(layout, w),
                          depth=p.n // w, init=[], attrs={"no_rw_check": 1})
        m.submodules.captured = captured
        wr = captured.write_port()
        with m.If(self.capture[0].valid):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(self.capture[0].payload.neuron >> shift)]
            for lane, port in enumerate(self.capture):
                m.d.comb += [wr.data[lane][name].eq(port.payload[name]) for name in fields]
        hw.captured, hw.captured_shift = captured.read_port(), shift

    def _memories(self, m, hw):
        """The traces ``p, q`` per row, ``ē, a`` and ``G`` per synapse, with their ports. ``G``
        has a memory of its own: the step sweep reads it four stages after ``ē, a``, where it
        is added, so it is not carried through the pipeline."""
        cfg, p, f = self.config, self.layer.params, self.formats
        gf = cfg.grad_format
        pq_layout, syn_layout = trace_layout(f), synapse_layout(self.layer, cfg, f)
        # a sweep reads an address and writes it stages later: a read that meets a write to
        # its address in one cycle is one whose data no stage takes (past a sweep's end)
        relaxed = {"no_rw_check": 1}
        pq = m.submodules.pq = Memory(shape=pq_layout, depth=self.rows, init=[], attrs=relaxed)
        syn = m.submodules.syn = Memory(shape=syn_layout, depth=self.rows * p.n, init=[],
                                        attrs=relaxed)
        pq_rd, pq_wr = pq.read_port(), pq.write_port()
        grad = m.submodules.grad = Memory(shape=signed(gf.width), depth=self.rows * p.n,
                                          init=[], attrs=relaxed)
        syn_rd, syn_wr = syn.read_port(), syn.write_port()
        g_rd, g_wr = grad.read_port(), grad.write_port()
        # G as it arrives, registered every cycle: the step sweep's stage 6 and the update
        # sweep's stage 2 take it from here (one register for both)
        g_data = Signal(signed(gf.width))
        m.d.sync += g_data.eq(g_rd.data)
        vars(hw).update(pq_rd=pq_rd, pq_wr=pq_wr, syn_rd=syn_rd, syn_wr=syn_wr, g_rd=g_rd,
                        g_wr=g_wr, g_data=g_data)

    def _neuron_factors(self, m, hw):
        """A memory of every neuron's factors (the surrogate exponent and the quantized
        learning signal), the pipeline that stores them (``hw.store_signal(L)`` stores neuron
        ``i_ctr``'s, with the surrogate's leading-one detector) and (hidden layer) the feedback
        ROM."""
        cfg, p = self.config, self.layer.params
        n, n_out = p.n, self.network.n_out
        pw = p.potential_format.width
        alif = p.kind is NeuronKind.ALIF
        sig_w = signal_width(self.network, cfg)
        factors = factor_layout(self.network, cfg, self.index)
        # written in NEURON (and the first cycles of ROWS), read in SYN: never in one cycle
        memory = m.submodules.factors = Memory(shape=factors, depth=n, init=[],
                                               attrs={"no_rw_check": 1})
        factor_wr = memory.write_port()

        i_ctr = Signal(range(n + 1))
        k_ctr = Signal(range(n_out + 1))
        acc = Signal(signed(sig_w))
        vars(hw).update(factor_rd=memory.read_port(), sig_w=sig_w, i_ctr=i_ctr, k_ctr=k_ctr,
                        acc=acc)
        # a neuron's factors are stored through four stages (its learning signal, while its
        # U and b are read; U and b selected; v = U - θ - b; |v| >> sg_shift and |L|), so the
        # memory's read, the subtractions and the leading-one detectors do not form one path
        # b is captured for ALIF layers only (0 otherwise): v = U - θ needs no room for it
        v_w = pw + (p.trace_format.width if alif else 0) + 2
        stored = dict(i=Signal.like(i_ctr), value=Signal(signed(sig_w)))
        captured, shift = hw.captured, hw.captured_shift
        m.d.comb += captured.addr.eq(i_ctr >> shift)
        f1 = _stage(m, "factor_", 1, **stored)
        hw.store_signal = lambda value: f1.load(i=i_ctr, value=value)
        f2 = _stage(m, "factor_", 2, **stored, u=Signal(signed(pw)),
                    b=Signal(unsigned(p.trace_format.width if alif else 1)))
        f3 = _stage(m, "factor_", 3, **stored, v=Signal(signed(v_w)))
        f4 = _stage(m, "factor_", 4, i=stored["i"], dist=Signal(unsigned(v_w)),
                    mag=Signal(unsigned(sig_w)), lz=Signal(), ls=Signal())
        with m.If(f1.valid):
            record = Array(captured.data)[f1.i[:shift]] if shift else captured.data[0]
            # an output neuron's learning signal is its error, read with U and b
            signal = self.err_data if self.is_output else f1.value
            m.d.sync += f2.load(i=f1.i, value=signal, u=record.u, b=record.b if alif else 0)
        with m.If(f2.valid):
            m.d.sync += f3.load(**f2.carry(stored), v=f2.u - p.theta - f2.b)
        with m.If(f3.valid):
            m.d.sync += f4.load(i=f3.i, dist=Mux(f3.v < 0, -f3.v, f3.v) >> cfg.sg_shift,
                                mag=Mux(f3.value < 0, -f3.value, f3.value),
                                lz=f3.value == 0, ls=f3.value < 0)
        with m.If(f4.valid):
            ell = bit_length(f4.dist, v_w)
            m.d.comb += [
                factor_wr.en.eq(1), factor_wr.addr.eq(f4.i),
                factor_wr.data.ml.eq(const_mul(ell, cfg.sg_slope)),
                factor_wr.data.act.eq(ell <= cfg.sg_cut),
                factor_wr.data.lz.eq(f4.lz),
                factor_wr.data.ls.eq(f4.ls),
                factor_wr.data.le.eq(bit_length(f4.mag, sig_w) - 1),
            ]
        hw.factors_busy = f1.valid | f2.valid | f3.valid | f4.valid

        if not self.is_output:
            fb = cfg.feedback[self.index]
            rom = Memory(shape=signed(2), depth=n * n_out,
                         init=[int(fb[i, k]) for i in range(n) for k in range(n_out)])
            m.submodules.feedback = rom
            fb_rd = rom.read_port(domain="comb")
            fb_addr = Signal(range(n * n_out + 1))
            m.d.comb += fb_rd.addr.eq(fb_addr)
            # the feedback sign of the error read last cycle, which arrives now
            pending, fb_zero, fb_neg = Signal(), Signal(), Signal()
            vars(hw).update(fb_rd=fb_rd, fb_addr=fb_addr, pending=pending, fb_zero=fb_zero,
                            fb_neg=fb_neg)

    def _counters(self, m, hw):
        """Row and synapse counters of the sweeps and their stage-1 copies."""
        rows, lanes, q_max = self.rows, self.lanes, self.q_per_lane
        r_ctr = Signal(range(rows + 1))
        a_ctr = Signal(range(rows * self.layer.params.n + 1))
        valid1 = Signal()
        r1 = Signal.like(r_ctr)
        i1 = Signal.like(hw.i_ctr)
        a1 = Signal.like(a_ctr)
        # update sweep: neuron i = qq * lanes + lane, weight address = r * Q + qq
        lane_ctr = Signal(range(lanes + 1))
        qq_ctr = Signal(range(q_max + 1))
        waddr = Signal(range(rows * q_max + 1))
        lane1 = Signal.like(lane_ctr)
        waddr1 = Signal.like(waddr)
        upd_valid1 = Signal()
        m.d.sync += [valid1.eq(0), upd_valid1.eq(0)]
        # step sweep: the synapses pass every stage in address order, so the address in stage
        # 4 (ē and a written, G read) and in stage 6 (G written) is the count of those that
        # passed it before
        g_addr = Signal.like(a_ctr)
        write_addr = Signal.like(a_ctr)
        vars(hw).update(r_ctr=r_ctr, a_ctr=a_ctr, valid1=valid1, r1=r1, i1=i1, a1=a1,
                        g_addr=g_addr, write_addr=write_addr,
                        lane_ctr=lane_ctr, qq_ctr=qq_ctr, waddr=waddr, lane1=lane1,
                        waddr1=waddr1, upd_valid1=upd_valid1)

    def _step_datapath(self, m, hw):
        """Stages 2 to 6 of the step sweep (stage 0 addresses the synapse, stage 1 receives it).
        Stage 2: the block RAMs' data and the neuron's factors, registered as they arrive;
        stage 3: λ and the decayed ē and a; stage 4: ē and a saturated (and written); stage 5:
        ±ē, the sign of the neuron's learning signal applied; stage 6: its shift ≪ e_i; the
        write stage: the accumulator G, saturated. Each stage is about one add (or shift) deep,
        so a block RAM's read, ē's decay and saturation, and G's shift, add and saturation do
        not form one path."""
        cfg, p, f = self.config, self.layer.params, self.formats
        ef, gf = f.ebar, cfg.grad_format
        alif, i1 = self._alif, hw.i1
        a_w = cfg.elig_format.width if alif else 1
        old = hw.syn_rd.data
        # the synapse's row and neuron (for the probe), traces and learning signal travel with
        # it to the write stage; its address does not (counters of stages 4 and 6 give it)
        travel = dict(r=Signal.like(hw.r1), i=Signal.like(i1),
                      p=Signal(unsigned(f.p.width)), q=Signal(unsigned(f.q.width)),
                      le=Signal.like(hw.factor_rd.data.le),
                      lz=Signal(), ls=Signal())
        s2 = _stage(m, "", 2, **travel, ebar=Signal(signed(ef.width)), a_old=Signal(signed(a_w)),
                    ml=Signal.like(hw.factor_rd.data.ml), act=Signal())
        factor = hw.factor_rd.data  # neuron i's, addressed with the synapse in stage 0
        hw.stage1_to_2 = s2.load(
            r=hw.r1, i=i1, p=hw.pq_rd.data.p, q=hw.pq_rd.data.q,
            le=factor.le, lz=factor.lz, ls=factor.ls, ebar=old.ebar,
            a_old=old.a if alif else 0, ml=factor.ml, act=factor.act)
        h_w = max(f.q.width, a_w) + 2  # q - a
        s3 = _stage(m, "", 3, **travel, lam=Signal(signed(h_w)),
                    ebar_dec=Signal(signed(ef.width)), a_dec=Signal(signed(a_w)))
        h = Signal(signed(h_w))
        m.d.comb += h.eq(s2.q - s2.a_old)
        hw.stage2_to_3 = s3.load(
            **s2.carry(travel), lam=Mux(s2.act, h >> s2.ml, 0),
            ebar_dec=decay(s2.ebar, cfg.k_err),
            a_dec=decay(s2.a_old, p.k_adapt) if alif else 0)
        s4 = _stage(m, "", 4, **travel, ebar=Signal(signed(ef.width)), a_next=Signal(signed(a_w)))
        ebar_next = saturate(s3.ebar_dec + s3.lam, ef.width)
        if alif:
            a_next = saturate(s3.a_dec + (const_mul(s3.lam, p.adapt_jump) >> cfg.psi_shift),
                              a_w)
        else:
            a_next = 0
        hw.stage3_to_4 = s4.load(**s3.carry(travel), ebar=ebar_next, a_next=a_next)
        written = (*travel, "ebar", "a_next")
        # (±ē) << e = ±(ē << e): the sign is applied before the shift, in its own stage
        s5 = _stage(m, "", 5, **s4.carry(written), signed_ebar=Signal(signed(ef.width + 1)))
        hw.stage4_to_5 = s5.load(**s4.carry(written),
                                 signed_ebar=Mux(s4.lz, 0, Mux(s4.ls, -s4.ebar, s4.ebar)))
        # G is addressed in stage 4, arrives in stage 5 and is registered for stage 6
        s6 = _stage(m, "", 6, **s5.carry(written),
                    prod=Signal(signed(ef.width + 1 + hw.sig_w)))
        hw.stage5_to_6 = s6.load(**s5.carry(written), prod=s5.signed_ebar << s5.le)
        g_sum = Signal(signed(max(gf.width, s6.prod.shape().width) + 1))
        m.d.comb += g_sum.eq(hw.g_data + s6.prod)
        g_next = saturate(g_sum, gf.width)
        vars(hw).update(g_next=g_next, s2=s2, s3=s3, s4=s4, s5=s5, s6=s6)

    def _update_datapath(self, m, hw):
        r"""Stages 2 and 3 of the update sweep (stage 0 addresses ``G`` and ``W``, stage 1
        receives them). Stage 2: ``G`` and ``W``, registered as they arrive (``W`` in the
        network core's weight register, which ``r_weight`` reads two cycles after the
        address), and the rounding bits ``r`` of the LFSR, which steps as each synapse leaves
        stage 2; stage 3: the rounded step :math:`\delta = (G + r) \gg k_\eta`; the write
        stage: the new weight :math:`\mathrm{sat}_W(W + \delta)`. So the block RAM's read, the
        rounding add and shift, and the weight's add and saturation do not form one path."""
        cfg, wf, gf = self.config, self.layer.params.weight_format, self.config.grad_format
        k = cfg.lr_shift
        if cfg.rounding == "stochastic":
            rnd = self.lfsr & ((1 << k) - 1)
        else:
            rnd = (1 << k) >> 1
        where = dict(lane=Signal.like(hw.lane1), waddr=Signal.like(hw.waddr1))
        u2 = _stage(m, "upd_", 2, **where)
        hw.update1_to_2 = u2.load(lane=hw.lane1, waddr=hw.waddr1)
        # |(G + r) >> k| <= 2^(width - 1 - k) + 1
        u3 = _stage(m, "upd_", 3, w=Signal(signed(wf.width)), **where,
                    delta=Signal(signed(max(2, gf.width + 1 - k))))
        hw.update2_to_3 = u3.load(w=self.r_weight, **u2.carry(where),
                                  delta=(hw.g_data + rnd) >> k)
        hw.w_new, _ = clamp(u3.w + u3.delta, wf.min, wf.max)
        hw.u2, hw.u3 = u2, u3
        # the weight read address straight from the sweep's counters, whatever the phase (the
        # learning core uses it only while this unit updates): no phase decoding in front of
        # the network core's memories
        m.d.comb += [self.r_lane.eq(hw.lane_ctr), self.r_addr.eq(hw.waddr)]

    def _idle_phase(self, m, hw):
        """``IDLE``: start the step's sweeps, or the end-of-trial update."""
        phase = hw.phase
        with m.If(self.start):
            m.d.sync += [phase.eq(_Phase.NEURON), hw.i_ctr.eq(0), hw.k_ctr.eq(0),
                         hw.acc.eq(0)]
            if not self.is_output:
                m.d.sync += [hw.fb_addr.eq(0), hw.pending.eq(0)]
        with m.Elif(self.update):
            m.d.sync += [phase.eq(_Phase.UPDATE), hw.r_ctr.eq(0), hw.a_ctr.eq(0),
                         hw.lane_ctr.eq(0), hw.qq_ctr.eq(0), hw.waddr.eq(0)]

    def _neuron_phase(self, m, hw):
        """``NEURON``: each neuron's learning signal (its error, or the feedback sum), stored
        with its surrogate factors."""
        n, n_out = self.layer.params.n, self.network.n_out
        phase, i_ctr, k_ctr, acc, r_ctr = hw.phase, hw.i_ctr, hw.k_ctr, hw.acc, hw.r_ctr
        last_neuron = i_ctr == n - 1
        if self.is_output:
            # neuron i's error is read now and arrives with the stage its factors start in
            m.d.comb += self.err_addr.eq(i_ctr)
            m.d.sync += hw.store_signal(0)
            with m.If(last_neuron):
                m.d.sync += [phase.eq(_Phase.ROWS), r_ctr.eq(0)]
            with m.Else():
                m.d.sync += i_ctr.eq(i_ctr + 1)
        else:
            # error k is read as k_ctr passes it and added the cycle after, with its feedback
            # sign: the sum is complete as k_ctr reaches n_out
            err, pending = self.err_data, hw.pending
            term = Mux(hw.fb_zero | ~pending, 0, Mux(hw.fb_neg, -err, err))
            total = Signal.like(acc)
            m.d.comb += [self.err_addr.eq(k_ctr), total.eq(acc + term)]
            with m.If(k_ctr == n_out):
                m.d.sync += hw.store_signal(total)
                m.d.sync += [k_ctr.eq(0), acc.eq(0), pending.eq(0)]
                with m.If(last_neuron):
                    m.d.sync += [phase.eq(_Phase.ROWS), r_ctr.eq(0)]
                with m.Else():
                    m.d.sync += i_ctr.eq(i_ctr + 1)
            with m.Else():
                fb = hw.fb_rd.data
                m.d.sync += [acc.eq(total), k_ctr.eq(k_ctr + 1), hw.fb_addr.eq(hw.fb_addr + 1),
                             pending.eq(1), hw.fb_zero.eq(fb == 0), hw.fb_neg.eq(fb < 0)]

    def _rows_datapath(self, m, hw):
        """Stages 2 and 3 of the rows sweep (stage 0 addresses the row, stage 1 receives it).
        Stage 2: its traces and presynaptic spike, registered as they arrive; stage 3: the
        traces decayed; the write stage: the spike's and ``p``'s additions, saturated."""
        cfg, p, f = self.config, self.layer.params, self.formats
        row = dict(r=Signal.like(hw.r1), p=Signal(unsigned(f.p.width)))
        t2 = _stage(m, "rows_", 2, **row, q=Signal(unsigned(f.q.width)), z=Signal())
        hw.rows1_to_2 = t2.load(r=hw.r1, p=hw.pq_rd.data.p, q=hw.pq_rd.data.q,
                                z=self.z_data)
        t3 = _stage(m, "rows_", 3, **row, p_dec=Signal(unsigned(f.p.width)),
                    q_dec=Signal(unsigned(f.q.width)), z=Signal())
        hw.rows2_to_3 = t3.load(
            **t2.carry(row), z=t2.z, p_dec=decay(t2.p, p.k_syn),
            q_dec=t2.q if p.kind is NeuronKind.IF else decay(t2.q, p.k_mem))
        hw.p_next, _ = clamp(t3.p_dec + Mux(t3.z, 1 << cfg.trace_shift, 0), f.p.min, f.p.max)
        hw.q_next, _ = clamp(t3.q_dec + t3.p, f.q.min, f.q.max)
        hw.t2, hw.t3 = t2, t3

    def _rows_phase(self, m, hw):
        """``ROWS``: the presynaptic traces ``p, q`` of every row, in a four-stage pipeline
        (address, read, decays, additions)."""
        rows, t2, t3 = self.rows, hw.t2, hw.t3
        pq_rd, pq_wr, r_ctr, r1, valid1 = hw.pq_rd, hw.pq_wr, hw.r_ctr, hw.r1, hw.valid1
        m.d.comb += [pq_rd.addr.eq(r_ctr), self.z_addr.eq(r_ctr)]
        with m.If(r_ctr < rows):
            m.d.sync += [r_ctr.eq(r_ctr + 1), r1.eq(r_ctr), valid1.eq(1)]
        with m.If(valid1):
            m.d.sync += hw.rows1_to_2
        with m.If(t2.valid):
            m.d.sync += hw.rows2_to_3
        # each row is read once a sweep, so no read meets a write still in flight
        with m.If(t3.valid):
            m.d.comb += [pq_wr.addr.eq(t3.r), pq_wr.en.eq(1),
                         pq_wr.data.p.eq(hw.p_next), pq_wr.data.q.eq(hw.q_next)]
        # the last neurons' factors are stored by now (R > 3) or in a few more cycles
        with m.If((r_ctr == rows) & ~(valid1 | t2.valid | t3.valid | hw.factors_busy)):
            m.d.sync += [hw.phase.eq(_Phase.SYN), r_ctr.eq(0), hw.i_ctr.eq(0), hw.a_ctr.eq(0),
                         hw.g_addr.eq(0), hw.write_addr.eq(0)]

    def _synapse_phase(self, m, hw):
        """``SYN``: every synapse's eligibility and accumulator, in a seven-stage pipeline
        (address, read, λ and decays, ē and a, ±ē, ≪ e, G); probed as it is written."""
        n, rows = self.layer.params.n, self.rows
        r_ctr, i_ctr, a_ctr, valid1 = hw.r_ctr, hw.i_ctr, hw.a_ctr, hw.valid1
        s2, s3, s4, s5, s6 = hw.s2, hw.s3, hw.s4, hw.s5, hw.s6
        syn_wr, g_next = hw.syn_wr, hw.g_next
        m.d.comb += [hw.pq_rd.addr.eq(r_ctr), hw.syn_rd.addr.eq(a_ctr), hw.g_rd.addr.eq(hw.g_addr),
                     hw.factor_rd.addr.eq(i_ctr)]
        with m.If(r_ctr < rows):
            m.d.sync += [hw.r1.eq(r_ctr), hw.i1.eq(i_ctr), hw.a1.eq(a_ctr), valid1.eq(1),
                         a_ctr.eq(a_ctr + 1)]
            with m.If(i_ctr == n - 1):
                m.d.sync += [i_ctr.eq(0), r_ctr.eq(r_ctr + 1)]
            with m.Else():
                m.d.sync += i_ctr.eq(i_ctr + 1)
        with m.If(valid1):
            m.d.sync += hw.stage1_to_2
        with m.If(s2.valid):
            m.d.sync += hw.stage2_to_3
        with m.If(s3.valid):
            m.d.sync += hw.stage3_to_4
        # each synapse is read once a sweep, so no read meets a write still in flight. Its ē
        # and a are final in stage 4 and written there (they travel on only to the probe), at
        # the address G is read from
        with m.If(s4.valid):
            m.d.sync += [hw.stage4_to_5, hw.g_addr.eq(hw.g_addr + 1)]
            m.d.comb += [syn_wr.addr.eq(hw.g_addr), syn_wr.en.eq(1),
                         syn_wr.data.ebar.eq(s4.ebar)]
            if self._alif:
                m.d.comb += syn_wr.data.a.eq(s4.a_next)
        with m.If(s5.valid):
            m.d.sync += hw.stage5_to_6
        with m.If(s6.valid):
            m.d.sync += hw.write_addr.eq(hw.write_addr + 1)
            m.d.comb += [hw.g_wr.addr.eq(hw.write_addr), hw.g_wr.en.eq(1),
                         hw.g_wr.data.eq(g_next)]
            if self.is_probed:
                m.d.comb += [
                    self.lprobe.valid.eq(1),
                    self.lprobe.payload.layer.eq(self.index),
                    self.lprobe.payload.row.eq(s6.r),
                    self.lprobe.payload.neuron.eq(s6.i),
                    self.lprobe.payload.p.eq(s6.p),
                    self.lprobe.payload.q.eq(s6.q),
                    self.lprobe.payload.ebar.eq(s6.ebar),
                    self.lprobe.payload.a.eq(s6.a_next),
                    self.lprobe.payload.g.eq(g_next),
                ]
        busy = valid1 | s2.valid | s3.valid | s4.valid | s5.valid | s6.valid
        with m.If((r_ctr == rows) & ~busy):
            m.d.sync += hw.phase.eq(_Phase.IDLE)

    def _update_phase(self, m, hw):
        """``UPDATE``: write every updated weight through the host port and clear ē, a, G."""
        lanes, q_max, rows = self.lanes, self.q_per_lane, self.rows
        r_ctr, a_ctr, lane_ctr, qq_ctr, waddr = hw.r_ctr, hw.a_ctr, hw.lane_ctr, hw.qq_ctr, hw.waddr
        syn_wr, upd_valid1 = hw.syn_wr, hw.upd_valid1
        m.d.comb += [hw.syn_rd.addr.eq(a_ctr), hw.g_rd.addr.eq(a_ctr)]
        with m.If(r_ctr < rows):
            m.d.sync += [hw.a1.eq(a_ctr), hw.lane1.eq(lane_ctr), hw.waddr1.eq(waddr),
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
        u2, u3 = hw.u2, hw.u3
        with m.If(upd_valid1):
            m.d.sync += hw.update1_to_2
            m.d.comb += [syn_wr.addr.eq(hw.a1), syn_wr.en.eq(1), syn_wr.data.eq(0),
                         hw.g_wr.addr.eq(hw.a1), hw.g_wr.en.eq(1), hw.g_wr.data.eq(0)]
        with m.If(u2.valid):
            m.d.sync += hw.update2_to_3
            m.d.comb += self.lfsr_step.eq(self.apply)
        with m.If(u3.valid):
            m.d.comb += [self.w_en.eq(self.apply), self.w_lane.eq(u3.lane),
                         self.w_addr.eq(u3.waddr), self.w_data.eq(hw.w_new)]
        with m.If((r_ctr == rows) & ~(upd_valid1 | u2.valid | u3.valid)):
            m.d.sync += [hw.phase.eq(_Phase.CLEAR), r_ctr.eq(0)]

    @property
    def is_probed(self):
        return "lprobe" in self.signature.members
