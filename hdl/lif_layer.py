r"""Event-driven, time-multiplexed core of one layer of the integer contract.

One call of :func:`spikeforge.model.layer_step` per time step, in four phases started by ``go``:

1. **Input** (``SYN_IN``): every input event :math:`j` of step :math:`n` adds column
   :math:`W_{:,j}` to the accumulators. ``P`` lanes each do one synaptic operation per clock (one
   weight read, one accumulator read-add-write), so an event costs :math:`Q = N/P` cycles and the
   next event is taken in the cycle the last operation of the current one issues. The group ends
   at the marker.
2. **Recurrence** (``SYN_REC``, every layer, empty without recurrent weights): the spikes
   :math:`s[n]` the layer emitted in its previous update, kept in a spike buffer, add
   :math:`V_{:,k}` the same way. A layer with same-step recurrence adds them into a second set
   of accumulators (one per lane, ``Q`` words), since its update needs :math:`R[n]` apart
   from :math:`A[n]`; the feed-forward accumulators then hold only :math:`W s^{in}`.
3. **Update** (``UPDATE``): one neuron per clock, ascending: read state, accumulators and bias
   (clearing the accumulators behind the read), then the pipelined
   :class:`~spikeforge.hdl.neuron_update.NeuronUpdate` (latency :math:`L`, 4 to 6 cycles, a
   function of the layer's parameters), whose output stage writes the next state.
   Each spike is emitted as an output event; a full consumer stalls the whole pipeline (nothing
   is dropped), and the stall is decided from registers only.
4. **Marker** (``MARK``): the end-of-step marker is emitted, then the core is idle.

Accumulators are exact (:func:`~spikeforge.hdl.arith.accumulator_width` bits); saturation happens
once, in the update, so event order cannot change a result. The accumulator read-modify-write is a
three-stage pipeline (read the weight; register it and read the accumulator; add and write) whose
read port is transparent to its write port, so back-to-back operations on the same accumulator
(``Q = 1``) see each other. The update phase begins with one cycle in which the last synaptic
operation reads its accumulator.

Timing without stalls, ``go`` at cycle 0, ``E`` input events, ``R`` recurrent events: the core is
busy for :math:`N + 6 + L + (E + R)\,Q` cycles (see :mod:`spikeforge.hdl.schedule`).
"""

import enum
from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import check_lanes, lane_depth, lane_weights, weight_rows
from ..model import Layer, NeuronKind
from ..model.decay import Decay
from .arith import const_mul, input_accumulator_width, recurrent_accumulator_width
from .events import ADDR_WIDTH, ProbeLayout, event_signature, probe_signature
from .neuron_update import NeuronUpdate
from .weight_spram import WeightSPRAM

__all__ = ["LIFLayer", "Phase"]


class Phase(enum.IntEnum):
    """Phase of a :class:`LIFLayer`'s step, as its ``phase`` register encodes it."""

    PRIME = 0  #: emit the empty group of step 0 (layers that feed another layer)
    IDLE = 1
    SYN_IN = 2
    SYN_REC = 3
    UPDATE = 4
    MARK = 5
    CLEAR = 6  #: zero every neuron's state (between samples)
    SYN_SHORT = 7  #: a residual join's events, after the input's (convolutional layers only)


def _state_layout(params):
    return data.StructLayout({
        "i": signed(params.current_format.width),
        "u": signed(params.potential_format.width),
        "b": unsigned(params.trace_format.width if params.kind is NeuronKind.ALIF else 1),
        "s": unsigned(1),
    })


class LIFLayer(wiring.Component):
    """One layer of ``layer.params.n`` neurons with ``lanes`` synaptic lanes.

    Parameters
    ----------
    layer : Layer
        Parameters and initial weights (the weights initialize the block RAMs).
    lanes : int
        Parallel synaptic lanes ``P``; must divide ``n``.
    index : int
        Layer index reported in probe records.
    prime : bool
        Emit one empty group (a lone marker) after reset: the input of the next layer at step 0,
        whose input spikes :math:`s[0]` are all zero.
    probe : bool
        Add the ``probe`` port (for simulation builds).
    flush_on_clear : bool
        On ``clear``, also discard the pending input group (layers fed by another layer, whose
        predecessor emits a new empty group after its own clear).
    host_access : bool
        Add a weight write port (``w_en``, ``w_lane``, ``w_addr``, ``w_data``; registered, the
        write lands in the next cycle; write only while ``idle``) and a read port (``r_lane``,
        ``r_addr`` in; ``r_weight``, ``r_state`` out one cycle later, while ``idle``: the weight
        at ``r_lane``/``r_addr`` and the state of neuron ``r_addr``). Weight addresses follow
        :mod:`spikeforge.link.memory_layout`.
    spram_lanes : iterable of int
        Lanes whose weights live in the UltraPlus SPRAM when elaborated for an iCE40 UP5K
        (:mod:`spikeforge.hdl.weight_spram`; it has no initial contents, so ``host_access`` is
        required and the host deploys the weights); a block RAM elsewhere.

    Ports
    -----
    i_events : In(stream of EventLayout)
        Input spikes of step n, a marker closes the group. Each address at most once per group.
    o_events : Out(stream of EventLayout)
        Spikes of step n+1 in ascending order, then a marker.
    go : In(1)
        Start a step; sampled only while ``idle``.
    clear : In(1)
        Zero every neuron's state and the spike buffer (``n`` cycles); sampled only while
        ``idle`` and when ``go`` is low. A layer with ``prime`` then emits an empty group again.
    idle : Out(1)
        The core waits for ``go``.
    probe : Out(valid-only stream of ProbeLayout)
        Every neuron's state of step n+1 as it is written.
    ev_taken, issue, sat, stall : Out
        Counter increments of this cycle: a spike event (input or recurrent) taken; ``P``
        synaptic operations issued; number of clamped updates (0..3); output stalled.
    """

    def __init__(self, layer, *, lanes=1, index=0, prime=False, probe=False,
                 flush_on_clear=False, host_access=False, spram_lanes=()):
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a spikeforge.model.Layer, not {layer!r}")
        p = layer.params
        if p.n_in > (1 << ADDR_WIDTH) or p.n > (1 << ADDR_WIDTH):
            raise ValueError(f"events address at most {1 << ADDR_WIDTH} inputs and neurons")
        if not 0 <= p.theta <= p.potential_format.max:
            raise ValueError(
                f"theta = {p.theta} does not fit the potential format {p.potential_format}"
            )
        for name, fmt in (("k_syn", p.current_format), ("k_mem", p.potential_format),
                          ("k_adapt", p.trace_format)):
            decay = Decay.of(getattr(p, name), name)
            if decay.max_shift >= fmt.width:
                raise ValueError(f"{name} shifts must be in 0..{fmt.width - 1}, not "
                                 f"{decay.max_shift} (in {name} = {decay.to_json()})")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 256:
            raise ValueError(f"index must be an integer in 0..255, not {index!r}")
        self._check_layer(layer)
        self.layer = layer
        self.lanes = lanes
        self.q_per_lane = check_lanes(layer, lanes)
        self.rows = weight_rows(layer)
        self.depth = lane_depth(layer, lanes)  # weight words per lane
        self.index = index
        self.prime = bool(prime)
        self.flush_on_clear = bool(flush_on_clear)
        self.host_access = bool(host_access)
        self.spram_lanes = frozenset(spram_lanes)
        if self.spram_lanes and not self.host_access:
            raise ValueError("weights in SPRAM start empty: spram_lanes needs host_access")
        if not self.spram_lanes <= set(range(lanes)):
            raise ValueError(f"spram_lanes must be lanes of 0..{lanes - 1}, not "
                             f"{sorted(self.spram_lanes)}")
        self.acc_width = input_accumulator_width(p)
        self.latency = NeuronUpdate.latency(p)
        members = {
            "i_events": In(event_signature()),
            "o_events": Out(event_signature()),
            "go": In(1),
            "clear": In(1),
            "idle": Out(1),
            "ev_taken": Out(1),
            "issue": Out(1),
            "sat": Out(unsigned(2)),
            "stall": Out(1),
        }
        members.update(self._extra_ports())
        if probe:
            members["probe"] = Out(probe_signature())
        if host_access:
            members.update({
                "w_en": In(1),
                "w_lane": In(range(lanes)),
                "w_addr": In(range(self.depth)),
                "w_data": In(signed(p.weight_format.width)),
                "r_lane": In(range(lanes)),
                "r_addr": In(range(max(self.depth, p.n))),
                "r_weight": Out(signed(p.weight_format.width)),
                "r_state": Out(ProbeLayout),
            })
        super().__init__(members)

    def _check_layer(self, layer):
        """Refuse a layer this core cannot hold: one with a connectivity (a convolution runs on
        :class:`~spikeforge.hdl.conv_layer.ConvLIFLayer`, a pooled dense layer unrolled by
        :meth:`.Layer.dense`)."""
        if layer.connectivity is not None:
            raise ValueError(
                f"layer {layer.name or '?'} has a connectivity (pooling or a convolution), which "
                "LIFLayer, a dense core, does not read: give it layer.dense() (unrolled), or use "
                "ConvLIFLayer for a convolution")

    def _extra_ports(self):
        """Ports beyond the dense core's, after ``go`` ... ``stall`` (none here)."""
        return {}

    def _bias_words(self):
        """The bias memory's words, one per neuron."""
        return self.layer.bias

    def elaborate(self, platform):
        """The layer's memories, synaptic engine, update pipeline and phase control."""
        m = Module()
        phase = Signal(Phase, init=Phase.PRIME if self.prime else Phase.IDLE)
        m.d.comb += self.idle.eq(phase == Phase.IDLE)
        # the memories, ports and registers the parts below share, added in the order they are
        # made. Each part is built once and in this order: the netlist (and the Verilog) follows
        # the order of signals and statements, and Amaranth shares the decoding of two ``If``s
        # of one value at one source line, which a helper called twice would create.
        hw = SimpleNamespace(phase=phase)
        self._memories(m, hw)
        if self.host_access:
            self._host_write_registers(m, hw)
        self._synaptic_engine(m, hw)
        self._update_pipeline(m, hw)
        self._phase_control(m, hw)
        self._accumulator_ports(m, hw)
        if self.host_access:
            self._host_read_port(m, hw)
        return m

    def _memories(self, m, hw):
        """Weights, accumulators (and same-step recurrent ones), state, bias and spike buffer,
        with their ports; adds them to ``hw``."""
        layer, p = self.layer, self.layer.params
        lanes, q_max = self.lanes, self.q_per_lane
        n = p.n
        wshape = signed(p.weight_format.width)
        depth = self.depth
        # Weights, state and spike buffer are never read and written at one address in one
        # cycle where the read data is used (host writes happen while idle; the update writes
        # neuron i - L - 1 while it reads neuron i). ``no_rw_check`` lets Yosys skip the
        # collision logic it would otherwise build around every block RAM, a long path.
        unchecked = {"no_rw_check": 1}
        # a lane listed in ``spram_lanes`` keeps its weights in UltraPlus SPRAM on an iCE40 UP5K
        # (``hdl/weight_spram.py``), in a block RAM like the others anywhere else
        weights = [
            WeightSPRAM(width=wshape.width, depth=depth, init=init) if lane in self.spram_lanes
            else Memory(shape=wshape, depth=depth, init=init, attrs=unchecked)
            for lane, init in enumerate(lane_weights(layer, lanes))
        ]
        accs = [Memory(shape=signed(self.acc_width), depth=q_max, init=[]) for _ in range(lanes)]
        state = Memory(shape=_state_layout(p), depth=n, init=[], attrs=unchecked)
        for lane in range(lanes):
            m.submodules[f"weights_{lane}"] = weights[lane]
            m.submodules[f"acc_{lane}"] = accs[lane]
        m.submodules.state = state
        # same-step recurrence: the recurrent sum V s has accumulators of its own, read by the
        # update beside the feed-forward ones (the update decays I + R, not I + A + R)
        same_step = p.same_step_recurrence
        r_wr = r_rd = c_rd = k_wr = k_rd = None
        if same_step:
            rec_accs = [Memory(shape=signed(recurrent_accumulator_width(p)), depth=q_max,
                               init=[]) for _ in range(lanes)]
            for lane in range(lanes):
                m.submodules[f"rec_acc_{lane}"] = rec_accs[lane]
            r_wr = [mem.write_port() for mem in rec_accs]
            r_rd = [mem.read_port(transparent_for=(wp,))
                    for mem, wp in zip(rec_accs, r_wr, strict=True)]
        w_rd = [mem.read_port() if isinstance(mem, Memory)
                else SimpleNamespace(addr=mem.r_addr, data=mem.r_data) for mem in weights]
        a_wr = [mem.write_port() for mem in accs]
        a_rd = [mem.read_port(transparent_for=(wp,)) for mem, wp in zip(accs, a_wr, strict=True)]
        s_wr = state.write_port()
        s_rd = state.read_port()
        if p.bias:
            bias_mem = Memory(shape=signed(p.current_format.width), depth=n,
                              init=[int(v) for v in self._bias_words()])
            m.submodules.bias = bias_mem
            c_rd = bias_mem.read_port()
        if p.spiking:
            spikes = Memory(shape=unsigned(max(1, (n - 1).bit_length())), depth=n, init=[],
                            attrs=unchecked)
            m.submodules.spike_buffer = spikes
            k_wr = spikes.write_port()
            k_rd = spikes.read_port()
        vars(hw).update(wshape=wshape, depth=depth, weights=weights, same_step=same_step,
                        w_rd=w_rd, a_wr=a_wr, a_rd=a_rd, r_wr=r_wr, r_rd=r_rd, s_wr=s_wr,
                        s_rd=s_rd, c_rd=c_rd, k_wr=k_wr, k_rd=k_rd)

    def _host_write_registers(self, m, hw):
        """The host's weight write port: one write port per weight memory, fed by registers."""
        # host writes land one cycle late, from registers: the link's address arithmetic
        # and command decoding stay off the memories' write ports
        h_lane = Signal.like(self.w_lane)
        h_addr = Signal.like(self.w_addr)
        h_data = Signal.like(self.w_data)
        h_en = Signal()
        m.d.sync += [h_en.eq(self.w_en), h_lane.eq(self.w_lane), h_addr.eq(self.w_addr),
                     h_data.eq(self.w_data)]
        for lane, mem in enumerate(hw.weights):
            host = (mem.write_port() if isinstance(mem, Memory)
                    else SimpleNamespace(en=mem.w_en, addr=mem.w_addr, data=mem.w_data))
            m.d.comb += [
                host.en.eq(h_en & (h_lane == lane)),
                host.addr.eq(h_addr),
                host.data.eq(h_data),
            ]

    def _synaptic_engine(self, m, hw):
        """Take an event, issue Q operations per lane through the three-stage accumulator
        read-modify-write; adds the engine's handshake and counters to ``hw``."""
        p = self.layer.params
        lanes, q_max = self.lanes, self.q_per_lane
        n = p.n
        same_step = hw.same_step
        w_rd, a_wr, a_rd, r_wr, r_rd = hw.w_rd, hw.a_wr, hw.a_rd, hw.r_wr, hw.r_rd
        busy = Signal()
        q = Signal(range(q_max))
        row_base = Signal(range(hw.depth))
        q_last = Signal()  # q == q_max - 1, kept as a register (it gates the event handshake)
        last_op = busy & q_last
        can_take = ~busy | last_op
        take = Signal()  # a spike event is taken this cycle
        new_base = Signal.like(row_base)
        rec_count = Signal(range(n + 1))
        rec_ptr = Signal(range(n + 1))

        m.d.comb += [self.ev_taken.eq(take), self.issue.eq(busy)]
        with m.If(take):
            m.d.sync += [busy.eq(1), q.eq(0), row_base.eq(new_base), q_last.eq(q_max == 1)]
        with m.Elif(last_op):
            m.d.sync += busy.eq(0)
        with m.Elif(busy):  # only reached with q_max >= 2
            m.d.sync += [q.eq(q + 1), q_last.eq(q == max(q_max - 2, 0))]

        # three stages: read the weight (issue), register it while the accumulator is read (1),
        # add and write (2); the accumulator's read port is transparent to its write port, so an
        # operation sees the one issued in the cycle before it on the same accumulator
        s1_valid, s2_valid = Signal(), Signal()
        s1_q, s2_q = Signal.like(q), Signal.like(q)
        m.d.sync += [s1_valid.eq(busy), s1_q.eq(q), s2_valid.eq(s1_valid), s2_q.eq(s1_q)]
        take_rec = Signal()  # the event taken this cycle is a recurrent one
        if same_step:  # which accumulators an operation adds to travels with it
            op_rec, s1_rec, s2_rec = Signal(), Signal(), Signal()
            with m.If(take):
                m.d.sync += op_rec.eq(take_rec)
            m.d.sync += [s1_rec.eq(op_rec), s2_rec.eq(s1_rec)]
        for lane in range(lanes):
            w_reg = Signal(hw.wshape, name=f"weight_{lane}")
            m.d.sync += w_reg.eq(w_rd[lane].data)
            m.d.comb += [
                w_rd[lane].addr.eq(row_base + q),
                a_wr[lane].addr.eq(s2_q),
                a_wr[lane].data.eq(a_rd[lane].data + w_reg),
                a_wr[lane].en.eq(s2_valid & ~s2_rec if same_step else s2_valid),
            ]
            if same_step:
                m.d.comb += [
                    r_wr[lane].addr.eq(s2_q),
                    r_wr[lane].data.eq(r_rd[lane].data + w_reg),
                    r_wr[lane].en.eq(s2_valid & s2_rec),
                ]

        # recurrent events come from the spike buffer; its read data is always spikes[rec_ptr]
        if p.spiking:
            m.d.comb += hw.k_rd.addr.eq(rec_ptr + take_rec)
            m.d.sync += rec_ptr.eq(rec_ptr + take_rec)
        vars(hw).update(can_take=can_take, take=take, new_base=new_base, rec_count=rec_count,
                        rec_ptr=rec_ptr, s1_valid=s1_valid, s1_q=s1_q, take_rec=take_rec)

    def _update_pipeline(self, m, hw):
        """Stage A reads neuron ``upd_i``, stage B presents its operands to the
        :class:`NeuronUpdate` pipeline, whose output stage writes the next state and emits the
        spike; adds the update's counters and outputs to ``hw``."""
        p = self.layer.params
        lanes, q_max = self.lanes, self.q_per_lane
        n = p.n
        s_rd = hw.s_rd
        upd_start = Signal()
        upd_active = Signal()
        upd_i = Signal(range(n))
        upd_lane = Signal(range(lanes))
        upd_a = Signal(range(q_max))
        b_valid = Signal()
        b_i = Signal.like(upd_i)
        b_lane = Signal.like(upd_lane)
        b_a = Signal.like(upd_a)
        stall = Signal()

        # the tag is the neuron and whether it is the last one: the end of the update is then
        # a register at the pipeline's output, not a compare behind it
        i_width = upd_i.shape().width
        update = m.submodules.update = NeuronUpdate(p, tag_width=i_width + 1)
        acc_sel = Array(rd.data for rd in hw.a_rd)[b_lane]
        m.d.comb += [
            update.en.eq(~stall),
            update.valid.eq(b_valid),
            update.tag.eq(Cat(b_i, b_i == n - 1)),
            update.i.eq(s_rd.data.i),
            update.u.eq(s_rd.data.u),
            update.s.eq(s_rd.data.s),
            update.acc.eq(acc_sel),
            *([update.rec.eq(Array(rd.data for rd in hw.r_rd)[b_lane])] if hw.same_step
              else []),
            # the state is read for the update while upd_active, for the host otherwise (it
            # reads while idle): a register picks the address, not the phase decoding
            s_rd.addr.eq(Mux(upd_active, upd_i, self.r_addr) if self.host_access else upd_i),
            s_rd.en.eq(~stall),
        ]
        if p.kind is NeuronKind.ALIF:
            m.d.comb += update.b.eq(s_rd.data.b)
        if p.bias:
            c_rd = hw.c_rd
            m.d.comb += [update.bias.eq(c_rd.data), c_rd.addr.eq(upd_i), c_rd.en.eq(~stall)]
        # every term of stall is a register (or the consumer FIFO's level flag)
        out_i = update.tag_out[:i_width]
        out_last = update.tag_out[i_width]
        spike_out = update.valid_out & update.s_next
        m.d.comb += stall.eq(spike_out & ~self.o_events.ready)
        m.d.comb += self.stall.eq(stall)
        write = update.valid_out & ~stall
        vars(hw).update(upd_start=upd_start, upd_active=upd_active, upd_i=upd_i,
                        upd_lane=upd_lane, upd_a=upd_a, b_valid=b_valid, b_i=b_i,
                        b_lane=b_lane, b_a=b_a, stall=stall, out_i=out_i, out_last=out_last,
                        spike_out=spike_out, write=write)
        self._write_back(m, hw, update)

    def _write_back(self, m, hw, update):
        """The update's output stage: write the next state, count saturations, probe, and
        record the spike in the spike buffer."""
        p = self.layer.params
        s_wr, out_i, write = hw.s_wr, hw.out_i, hw.write
        m.d.comb += [
            s_wr.addr.eq(out_i),
            s_wr.data.i.eq(update.i_next),
            s_wr.data.u.eq(update.u_next),
            s_wr.data.b.eq(update.b_next),
            s_wr.data.s.eq(update.s_next),
            s_wr.en.eq(write),
        ]
        with m.If(write):
            m.d.comb += self.sat.eq(update.saturations)
        if self.is_probed:
            m.d.comb += [
                self.probe.valid.eq(write),
                self.probe.payload.layer.eq(self.index),
                self.probe.payload.neuron.eq(out_i),
                self.probe.payload.i.eq(update.i_next),
                self.probe.payload.u.eq(update.u_next),
                self.probe.payload.b.eq(update.b_next),
                self.probe.payload.s.eq(update.s_next),
            ]
        if p.spiking:
            k_wr = hw.k_wr
            m.d.comb += [
                k_wr.addr.eq(hw.rec_count),
                k_wr.data.eq(out_i),
                k_wr.en.eq(write & update.s_next),
            ]
            with m.If(write & update.s_next):
                m.d.sync += hw.rec_count.eq(hw.rec_count + 1)

    def _phase_control(self, m, hw):
        """The phase register's transitions and what each phase drives."""
        clr_i = Signal(range(self.layer.params.n))
        clr_state_done = Signal()
        clr_input_done = Signal()
        phase = hw.phase
        with m.Switch(phase):
            with m.Case(Phase.PRIME):
                m.d.comb += [self.o_events.valid.eq(1), self.o_events.payload.marker.eq(1)]
                with m.If(self.o_events.ready):
                    m.d.sync += phase.eq(Phase.IDLE)
            with m.Case(Phase.IDLE):
                with m.If(self.go):
                    m.d.sync += phase.eq(Phase.SYN_IN)
                with m.Elif(self.clear):
                    m.d.sync += [
                        phase.eq(Phase.CLEAR), clr_i.eq(0), clr_state_done.eq(0),
                        clr_input_done.eq(not self.flush_on_clear),
                    ]
            with m.Case(Phase.CLEAR):
                self._clear_phase(m, hw, clr_i, clr_state_done, clr_input_done)
            with m.Case(Phase.SYN_IN):
                self._input_phase(m, hw)
            if self.layer.shortcut is not None:
                with m.Case(Phase.SYN_SHORT):
                    self._shortcut_phase(m, hw)
            with m.Case(Phase.SYN_REC):
                self._recurrent_phase(m, hw)
            with m.Case(Phase.UPDATE):
                self._update_phase(m, hw)
            with m.Case(Phase.MARK):
                m.d.sync += hw.b_valid.eq(0)
                m.d.comb += [self.o_events.valid.eq(1), self.o_events.payload.marker.eq(1)]
                with m.If(self.o_events.ready):
                    m.d.sync += phase.eq(Phase.IDLE)

    def _clear_phase(self, m, hw, clr_i, clr_state_done, clr_input_done):
        """``CLEAR``: zero every neuron's state and (with ``flush_on_clear``) drop the pending
        input group."""
        n = self.layer.params.n
        s_wr = hw.s_wr
        m.d.comb += [
            s_wr.addr.eq(clr_i), s_wr.data.eq(0), s_wr.en.eq(~clr_state_done),
            self.i_events.ready.eq(~clr_input_done),
        ]
        with m.If(~clr_state_done):
            with m.If(clr_i == n - 1):
                m.d.sync += clr_state_done.eq(1)
            with m.Else():
                m.d.sync += clr_i.eq(clr_i + 1)
        with m.If(self.i_events.valid & ~clr_input_done & self.i_events.payload.marker):
            m.d.sync += clr_input_done.eq(1)
        hw.clr_state_done = clr_state_done
        with m.If(clr_state_done & self._inputs_flushed(m, hw, clr_input_done)):
            m.d.sync += [
                hw.rec_count.eq(0),
                hw.phase.eq(Phase.PRIME if self.prime else Phase.IDLE),
            ]

    def _inputs_flushed(self, m, hw, input_done):
        """Whether ``CLEAR`` has dropped every pending group it must (here: the input's, done
        when ``input_done``)."""
        return input_done

    def _input_phase(self, m, hw):
        """``SYN_IN``: take input events until the marker."""
        event = self.i_events.payload
        m.d.comb += [
            self.i_events.ready.eq(hw.can_take),
            hw.new_base.eq(const_mul(event.addr, self.q_per_lane)),
        ]
        with m.If(self.i_events.valid & hw.can_take):
            with m.If(event.marker):
                m.d.sync += hw.phase.eq(Phase.SYN_REC)
            with m.Else():
                m.d.comb += hw.take.eq(1)

    def _recurrent_phase(self, m, hw):
        """``SYN_REC``: take the recurrent events from the spike buffer, then start the
        update."""
        p = self.layer.params
        q_max = self.q_per_lane
        phase, take_rec = hw.phase, hw.take_rec
        with m.If(hw.can_take):
            if p.recurrent:
                m.d.comb += hw.new_base.eq(p.n_in * q_max + const_mul(hw.k_rd.data, q_max))
                with m.If(hw.rec_ptr != hw.rec_count):
                    m.d.comb += [hw.take.eq(1), take_rec.eq(1)]
                with m.Else():
                    m.d.sync += phase.eq(Phase.UPDATE)
            else:
                m.d.sync += phase.eq(Phase.UPDATE)
        with m.If(hw.can_take & ~take_rec):
            m.d.sync += [
                hw.upd_start.eq(1), hw.upd_i.eq(0), hw.upd_lane.eq(0), hw.upd_a.eq(0),
                hw.rec_count.eq(0), hw.rec_ptr.eq(0),
            ]

    def _update_phase(self, m, hw):
        """``UPDATE``: step through the neurons, emit the spikes, then go to ``MARK``."""
        n = self.layer.params.n
        upd_active, upd_i, upd_lane, upd_a = hw.upd_active, hw.upd_i, hw.upd_lane, hw.upd_a
        m.d.comb += [
            self.o_events.valid.eq(hw.spike_out),
            self.o_events.payload.addr.eq(hw.out_i),
        ]
        with m.If(hw.upd_start):  # one cycle for the last synaptic read of the accumulators
            m.d.sync += [hw.upd_start.eq(0), upd_active.eq(1)]
        with m.If(~hw.stall):
            m.d.sync += [
                hw.b_valid.eq(upd_active), hw.b_i.eq(upd_i), hw.b_lane.eq(upd_lane),
                hw.b_a.eq(upd_a),
            ]
            with m.If(upd_active):
                with m.If(upd_i == n - 1):
                    m.d.sync += upd_active.eq(0)
                with m.Else():
                    m.d.sync += upd_i.eq(upd_i + 1)
                self._next_neuron(m, hw)
        with m.If(hw.write & hw.out_last):
            m.d.sync += hw.phase.eq(Phase.MARK)

    def _next_neuron(self, m, hw):
        """The update's lane and accumulator address move to the next neuron: neuron ``i`` is
        lane ``i mod P``, address ``i // P``."""
        upd_lane, upd_a = hw.upd_lane, hw.upd_a
        with m.If(upd_lane == self.lanes - 1):
            m.d.sync += [upd_lane.eq(0), upd_a.eq(upd_a + 1)]
        with m.Else():
            m.d.sync += upd_lane.eq(upd_lane + 1)

    def _accumulator_ports(self, m, hw):
        """The accumulators' read addresses, and their clearing behind the update."""
        # the accumulators are read at s1_q for a synaptic operation and at upd_a otherwise: in
        # UPDATE (after the last synaptic read, in the first cycle) for the neuron update, in
        # the other phases for nothing, so the read address depends on no phase decoding. In
        # UPDATE they are cleared behind the update.
        lanes, stall = self.lanes, hw.stall
        acc_ports = [(hw.a_rd, hw.a_wr)] + ([(hw.r_rd, hw.r_wr)] if hw.same_step else [])
        for rd, _ in acc_ports:
            for lane in range(lanes):
                m.d.comb += rd[lane].addr.eq(Mux(hw.s1_valid, hw.s1_q, hw.upd_a))
        with m.If(hw.phase == Phase.UPDATE):
            for rd, wr in acc_ports:
                for lane in range(lanes):
                    m.d.comb += rd[lane].en.eq(~stall)
                    with m.If(hw.b_valid & (hw.b_lane == lane)):
                        m.d.comb += [wr[lane].addr.eq(hw.b_a), wr[lane].data.eq(0),
                                     wr[lane].en.eq(~stall)]

    def _host_read_port(self, m, hw):
        """The host's read port: a weight and a neuron's state, one cycle after the address."""
        # reads while idle, where no phase uses these read ports
        w_rd, s_rd = hw.w_rd, hw.s_rd
        r_lane = Signal.like(self.r_lane)
        r_addr = Signal.like(self.r_addr)
        m.d.sync += [r_lane.eq(self.r_lane), r_addr.eq(self.r_addr)]
        with m.If(hw.phase == Phase.IDLE):
            for lane in range(self.lanes):
                m.d.comb += w_rd[lane].addr.eq(self.r_addr)
        m.d.comb += [
            self.r_weight.eq(Array(rd.data for rd in w_rd)[r_lane]),
            self.r_state.layer.eq(self.index),
            self.r_state.neuron.eq(r_addr),
            self.r_state.i.eq(s_rd.data.i),
            self.r_state.u.eq(s_rd.data.u),
            self.r_state.b.eq(s_rd.data.b),
            self.r_state.s.eq(s_rd.data.s),
        ]

    @property
    def is_probed(self):
        return "probe" in self.signature.members
