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
3. **Update** (``UPDATE``): :math:`W` neurons per clock (:math:`W = P` in a dense layer whose
   lane count is a power of two, else 1: :func:`~spikeforge.link.memory_layout.update_lanes`),
   ascending: read a state word, the accumulators and bias (clearing the accumulators behind
   the read), then :math:`W` pipelined :class:`~spikeforge.hdl.neuron_update.NeuronUpdate`
   (latency :math:`L`, 3 to 6 cycles, a function of the layer's parameters), whose output stage
   writes the next state word. Each spike is emitted as an output event, one a cycle in
   ascending order: a word with :math:`c > 1` spikes holds the pipeline for :math:`c - 1`
   cycles, and a full consumer stalls it too (nothing is dropped); both are decided from
   registers only.
4. **Marker** (``MARK``): the end-of-step marker is emitted, then the core is idle.

Accumulators are exact (:func:`~spikeforge.hdl.arith.accumulator_width` bits); saturation happens
once, in the update, so event order cannot change a result. The accumulator read-modify-write is a
three-stage pipeline (read the weight; register it and read the accumulator; add), whose write
lands a cycle later from registers. Only with ``Q`` ≤ 2 do nearby operations meet on one
accumulator; then its read is transparent to the two pending writes through a bypass register
behind the read (``hdl/forwarded_read.py``).
The update phase begins with one cycle in which the last synaptic operation reads its
accumulator.

Timing without stalls, ``go`` at cycle 0, ``E`` input events, ``R`` recurrent events: the core is
busy for :math:`\sum_g \max(1, c_g) + 6 + L + (E + R)\,Q` cycles, :math:`c_g` the spikes of
state word :math:`g` (:math:`N + 6 + L + (E + R)\,Q` with :math:`W = 1`; see
:mod:`spikeforge.hdl.schedule`).
"""

import enum
from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import check_lanes, lane_depth, lane_weights, update_lanes, weight_rows
from ..model import Layer, NeuronKind
from ..model.decay import Decay
from .arith import const_mul, input_accumulator_width, recurrent_accumulator_width
from .events import ADDR_WIDTH, ProbeLayout, event_signature, probe_signature
from .forwarded_read import forwarded_read, write_behind
from .neuron_update import NeuronUpdate
from .weight_bram import WeightBRAM
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
        ``r_addr`` in; ``r_weight``, ``r_state`` out two cycles later, while ``idle``: the weight
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
        Zero every neuron's state and the spike buffer (``N / W`` cycles); sampled only while
        ``idle`` and when ``go`` is low. A layer with ``prime`` then emits an empty group again.
    idle : Out(1)
        The core waits for ``go``.
    probe : Out(valid-only stream of ProbeLayout), an array of ``W``
        Every neuron's state of step n+1 as it is written: port ``k`` the neuron of slot ``k``
        of the word written (neurons ``gW + k``).
    ev_taken, issue, sat, stall : Out
        Counter increments of this cycle: a spike event (input or recurrent) taken; ``P``
        synaptic operations issued; number of clamped updates (0..3W) of the cycle before;
        output stalled.
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
        self.update_lanes = update_lanes(layer, lanes)
        self.state_words = p.n // self.update_lanes  # of W neurons each
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
            "sat": Out(unsigned((3 * self.update_lanes).bit_length())),
            "stall": Out(1),
        }
        members.update(self._extra_ports())
        if probe:
            members["probe"] = Out(probe_signature()).array(self.update_lanes)
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
        self._update_address(m, hw)
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
        # word g - L - 1 while it reads word g). ``no_rw_check`` lets Yosys skip the
        # collision logic it would otherwise build around every block RAM, a long path.
        unchecked = {"no_rw_check": 1}
        # a lane listed in ``spram_lanes`` keeps its weights in UltraPlus SPRAM on an iCE40 UP5K
        # (``hdl/weight_spram.py``), in a block RAM like the others anywhere else; a block RAM's
        # data arrive from a register (``hdl/weight_bram.py``: the ECP5's output register)
        weights = [
            WeightSPRAM(width=wshape.width, depth=depth, init=init) if lane in self.spram_lanes
            else WeightBRAM(width=wshape.width, depth=depth, init=init,
                            writable=self.host_access)
            for lane, init in enumerate(lane_weights(layer, lanes))
        ]
        # an accumulator's collisions never matter either: with Q <= 2 its read goes through a
        # bypass register that takes the written word instead (``hdl/forwarded_read.py``), with
        # Q > 2 no read meets a write to its own address
        # (``_adjacent_operations_share_accumulators``)
        accs = [Memory(shape=signed(self.acc_width), depth=q_max, init=[], attrs=unchecked)
                for _ in range(lanes)]
        # a state word holds the W neurons one update cycle handles
        w = self.update_lanes
        state = Memory(shape=data.ArrayLayout(_state_layout(p), w), depth=self.state_words, init=[],
                       attrs=unchecked)
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
                               init=[], attrs=unchecked) for _ in range(lanes)]
            for lane in range(lanes):
                m.submodules[f"rec_acc_{lane}"] = rec_accs[lane]
            r_wr = [write_behind(m, mem.write_port(), f"rec_acc_{lane}")
                    for lane, mem in enumerate(rec_accs)]
            r_rd = [mem.read_port() for mem in rec_accs]
        w_rd = [SimpleNamespace(addr=mem.r_addr, data=mem.r_data) for mem in weights]
        # every accumulator write lands a cycle late, from registers: the synaptic adder's
        # carry chain and the update's clearing end in flip-flops, not in a memory's port
        a_wr = [write_behind(m, mem.write_port(), f"acc_{lane}")
                for lane, mem in enumerate(accs)]
        a_rd = [mem.read_port() for mem in accs]
        a_data, r_data = [rd.data for rd in a_rd], r_rd and [rd.data for rd in r_rd]
        if self._adjacent_operations_share_accumulators:
            # the accumulators read as if transparent to their writes
            # (``hdl/forwarded_read.py``): an operation sees the one before it
            a_data = [forwarded_read(m, rd, wr, f"acc_{lane}")
                      for lane, (rd, wr) in enumerate(zip(a_rd, a_wr, strict=True))]
            r_data = r_rd and [forwarded_read(m, rd, wr, f"rec_acc_{lane}")
                               for lane, (rd, wr) in enumerate(zip(r_rd, r_wr, strict=True))]
        s_wr = state.write_port()
        s_rd = state.read_port()
        if p.bias:
            words = [int(v) for v in self._bias_words()]
            bias_mem = Memory(shape=data.ArrayLayout(signed(p.current_format.width), w),
                              depth=self.state_words,
                              init=[words[g * w:(g + 1) * w] for g in range(self.state_words)])
            m.submodules.bias = bias_mem
            c_rd = bias_mem.read_port()
        if p.spiking:
            spikes = Memory(shape=unsigned(max(1, (n - 1).bit_length())), depth=n, init=[],
                            attrs=unchecked)
            m.submodules.spike_buffer = spikes
            k_wr = spikes.write_port()
            k_rd = spikes.read_port()
        vars(hw).update(wshape=wshape, depth=depth, weights=weights, same_step=same_step,
                        w_rd=w_rd, a_wr=a_wr, a_rd=a_rd, r_wr=r_wr, r_rd=r_rd, a_data=a_data,
                        r_data=r_data, s_wr=s_wr,
                        s_rd=s_rd, c_rd=c_rd, k_wr=k_wr, k_rd=k_rd)

    @property
    def _adjacent_operations_share_accumulators(self):
        """Whether an accumulator can be read in a cycle that one of its two pending writes
        lands in (then its read goes through a bypass register). An event's ``Q`` operations
        read addresses ``0 … Q − 1`` in consecutive cycles; an operation asks for its write in
        the cycle after its read, and the write lands a cycle later (``write_behind``). So the
        writes beside a read at address ``a`` are those of the one and two operations before
        it, at ``a`` exactly when ``Q`` ≤ 2. The update's first read (address 0) meets the
        writes of the last two operations (addresses ``Q − 1`` and ``Q − 2``), and the clearing
        behind the update writes addresses read one and two cycles before (each address of a
        lane is read once in an update)."""
        return self.q_per_lane <= 2

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
            m.d.comb += [
                mem.w_en.eq(h_en & (h_lane == lane)),
                mem.w_addr.eq(h_addr),
                mem.w_data.eq(h_data),
            ]

    def _synaptic_engine(self, m, hw):
        """Take an event, issue Q operations per lane through the three-stage accumulator
        read-modify-write; adds the engine's handshake and counters to ``hw``."""
        p = self.layer.params
        q_max = self.q_per_lane
        n = p.n
        same_step = hw.same_step
        w_rd, a_wr, r_wr = hw.w_rd, hw.a_wr, hw.r_wr
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
            m.d.sync += busy.eq(1)
        with m.Elif(last_op):
            m.d.sync += busy.eq(0)
        # q, q_last and row_base are read only while busy, so they restart in every cycle an
        # event could be taken, taken or not: their enables are two flip-flops (busy, q_last),
        # not the take's handshake (the input's valid and marker, the phase)
        m.d.sync += [
            q.eq(Mux(can_take, 0, q + 1)),
            q_last.eq(Mux(can_take, q_max == 1, q == max(q_max - 2, 0))),
        ]
        with m.If(can_take):
            m.d.sync += row_base.eq(new_base)

        # three stages: read the weight (issue), register it while the accumulator is read (1),
        # add and write (2); an operation sees the one issued in the cycle before it on the same
        # accumulator (``hw.a_data``: the read, through a bypass register where they can meet)
        s1_valid, s2_valid = Signal(), Signal()
        s1_q, s2_q = Signal.like(q), Signal.like(q)
        m.d.sync += [s1_valid.eq(busy), s1_q.eq(q), s2_valid.eq(s1_valid), s2_q.eq(s1_q)]
        hw.s1_next = (busy, q)  # what the s1 registers load
        take_rec = Signal()  # the event taken this cycle is a recurrent one
        if same_step:  # which accumulators an operation adds to travels with it
            op_rec, s1_rec, s2_rec = Signal(), Signal(), Signal()
            with m.If(take):
                m.d.sync += op_rec.eq(take_rec)
            m.d.sync += [s1_rec.eq(op_rec), s2_rec.eq(s1_rec)]
        w_regs = self._weight_registers(m, hw)
        for lane, w_reg in enumerate(w_regs):
            m.d.comb += [
                w_rd[lane].addr.eq(row_base + q),
                a_wr[lane].addr.eq(s2_q),
                a_wr[lane].data.eq(hw.a_data[lane] + w_reg),
                a_wr[lane].en.eq(s2_valid & ~s2_rec if same_step else s2_valid),
            ]
            if same_step:
                m.d.comb += [
                    r_wr[lane].addr.eq(s2_q),
                    r_wr[lane].data.eq(hw.r_data[lane] + w_reg),
                    r_wr[lane].en.eq(s2_valid & s2_rec),
                ]

        # recurrent events come from the spike buffer; its read data is always spikes[rec_ptr]
        if p.spiking:
            m.d.comb += hw.k_rd.addr.eq(rec_ptr + take_rec)
            m.d.sync += rec_ptr.eq(rec_ptr + take_rec)
        vars(hw).update(can_take=can_take, take=take, new_base=new_base, rec_count=rec_count,
                        rec_ptr=rec_ptr, take_rec=take_rec)

    def _weight_registers(self, m, hw):
        """One register per lane that takes its weight memory's read data every cycle: the
        synaptic engine's operand, and the host's read-back (so a block RAM's data reaches a
        register and nothing else). A block RAM's lane reads through its own register
        (:class:`~spikeforge.hdl.weight_bram.WeightBRAM`), an SPRAM's through one here. Adds
        them to ``hw`` as ``w_regs``."""
        hw.w_regs = []
        for lane, (mem, port) in enumerate(zip(hw.weights, hw.w_rd, strict=True)):
            if isinstance(mem, WeightBRAM):
                hw.w_regs.append(port.data)
                continue
            w_reg = Signal(hw.wshape, name=f"weight_{lane}")
            m.d.sync += w_reg.eq(port.data)
            hw.w_regs.append(w_reg)
        return hw.w_regs

    def _update_pipeline(self, m, hw):
        """The state word and the bias are read a cycle ahead (at ``rd_i``) into registers;
        stage A addresses the accumulators of word ``upd_i``, stage B presents its ``W``
        neurons' operands to ``W`` :class:`NeuronUpdate` pipelines, whose output stage writes
        the next state word and emits the spikes; adds the update's counters and outputs to
        ``hw``."""
        p = self.layer.params
        lanes, q_max, w = self.lanes, self.q_per_lane, self.update_lanes
        s_rd = hw.s_rd
        upd_start = Signal()
        upd_active = Signal()
        upd_more = Signal(reset_less=True)  # upd_active, and upd_i is not the last state word
        # the state memory's read address, one word ahead of upd_i (see _update_address), and
        # whether it moves on
        rd_i = Signal(range(self.state_words), reset_less=True)
        rd_go = Signal(reset_less=True)
        # the addresses carry no reset (on the iCE40 it would join their enables' logic, see
        # NeuronUpdate): the update's start loads them, and the host's reads load rd_i
        upd_i = Signal(range(self.state_words), reset_less=True)  # the state word (W = 1: neuron)
        upd_lane = Signal(range(lanes), reset_less=True)
        upd_a = Signal(range(q_max))
        # the value upd_a takes when the pipeline moves next (the phases assign it here, not
        # upd_a), so the accumulators' read address can be a register loaded with it
        # (``_accumulator_ports``)
        upd_a_next = Signal.like(upd_a)
        m.d.comb += upd_a_next.eq(upd_a)
        b_valid = Signal()
        b_i = Signal.like(upd_i)
        b_lane = Signal.like(upd_lane)
        b_a = Signal.like(upd_a, reset_less=True)
        hold = Signal()  # the pipeline waits: a consumer not ready, or spikes left to emit
        with m.If(~hold):
            m.d.sync += upd_a.eq(upd_a_next)

        # the tag is the word and whether it is the last one: the end of the update is then
        # a register at the pipeline's output, not a compare behind it
        i_width = upd_i.shape().width
        updates = [NeuronUpdate(p, tag_width=i_width + 1 if k == 0 else 1) for k in range(w)]
        # W = P: slot k is lane k's accumulator; W = 1: the lane the neuron belongs to
        acc_of = ((lambda data, k: data[k]) if w == lanes
                  else (lambda data, k: Array(data)[b_lane]))
        # the state word and the bias, read a cycle ahead into registers: no block RAM's output
        # drives an adder (on the iCE40 the state's read into the decay's first adder was the
        # longest path)
        state_q = Signal(s_rd.data.shape(), reset_less=True)
        with m.If(~hold):
            m.d.sync += state_q.eq(s_rd.data)
        if p.bias:
            bias_q = Signal(hw.c_rd.data.shape(), reset_less=True)
            with m.If(~hold):
                m.d.sync += bias_q.eq(hw.c_rd.data)
        for k, update in enumerate(updates):
            m.submodules["update" if w == 1 else f"update_{k}"] = update
            word = state_q[k]
            m.d.comb += [
                update.en.eq(~hold),
                update.valid.eq(b_valid),
                update.i.eq(word.i),
                update.u.eq(word.u),
                update.s.eq(word.s),
                update.acc.eq(acc_of(hw.a_data, k)),
                *([update.rec.eq(acc_of(hw.r_data, k))] if hw.same_step else []),
            ]
            if p.kind is NeuronKind.ALIF:
                m.d.comb += update.b.eq(word.b)
            if p.bias:
                m.d.comb += update.bias.eq(bias_q[k])
        m.d.comb += [
            updates[0].tag.eq(Cat(b_i, b_i == self.state_words - 1)),
            # the state's only read address is the register rd_i (the host's reads load it
            # while idle): no logic between a flip-flop and the LUT RAM's address
            s_rd.addr.eq(rd_i),
            s_rd.en.eq(~hold),
        ]
        if p.bias:
            m.d.comb += [hw.c_rd.addr.eq(rd_i), hw.c_rd.en.eq(~hold)]
        out = updates[0]
        out_i = out.tag_out[:i_width]
        out_last = out.tag_out[i_width]
        spike_out, slot, more, emitted = self._spike_emitter(m, hw, updates, hold)
        # every term of hold is a register (or the consumer FIFO's level flag)
        stall = spike_out & ~self.o_events.ready
        m.d.comb += [hold.eq(stall | (out.valid_out & more)), self.stall.eq(stall)]
        write = out.valid_out & ~hold
        spike_i = Cat(slot, out_i) if w > 1 else out_i  # the neuron emitted this cycle
        vars(hw).update(upd_start=upd_start, upd_active=upd_active, upd_more=upd_more,
                        upd_i=upd_i, rd_i=rd_i, rd_go=rd_go, upd_lane=upd_lane, upd_a=upd_a,
                        upd_a_next=upd_a_next,
                        b_valid=b_valid, b_i=b_i,
                        b_lane=b_lane, b_a=b_a, hold=hold, out_i=out_i, out_last=out_last,
                        spike_out=spike_out, spike_i=spike_i, emitted=emitted, write=write)
        self._write_back(m, hw, updates)

    @property
    def _slot_bits(self):
        """Bits of a neuron index that pick its slot in a state word (``log2 W``)."""
        return self.update_lanes.bit_length() - 1

    def _spike_emitter(self, m, hw, updates, hold):
        """The spikes of the word at the pipeline's output, one a cycle, lowest slot first.

        ``done`` marks the slots already emitted while the word is held; returns
        ``(spike_out, slot, more, emitted)``: a spike to emit, its slot, whether another one
        follows it in this word (which holds the pipeline), and whether it leaves this cycle."""
        w = self.update_lanes
        out = updates[0]
        left = Cat(update.s_next for update in updates)
        if w > 1:
            done = Signal(w)
            left = left & ~done
        spike_out = out.valid_out & left.any()
        emitted = spike_out & self.o_events.ready
        if w == 1:
            return spike_out, Const(0), Const(0), emitted
        slot = Signal(range(w))
        for k in reversed(range(w)):  # the lowest slot left wins
            with m.If(left[k]):
                m.d.comb += slot.eq(k)
        more = (left & (left - 1))[:w].any()  # at least two spikes left
        with m.If(out.valid_out & ~hold):  # the word is written: the next one starts afresh
            m.d.sync += done.eq(0)
        with m.Elif(emitted):
            m.d.sync += done.eq(done | (left & -left)[:w])
        return spike_out, slot, more, emitted

    def _write_back(self, m, hw, updates):
        """The update's output stage: write the next state word, count saturations, probe, and
        record the spikes in the spike buffer as they leave."""
        p = self.layer.params
        s_wr, out_i, write = hw.s_wr, hw.out_i, hw.write
        # the word is written in every cycle it waits at the output, the same word at the same
        # address (the pipeline holds), so the write enable is a register, not the hold logic
        # of the consumer's ready; ``CLEAR`` writes zeros while the register ``clearing`` is set
        clearing, clr_i = Signal(), Signal(range(self.state_words))
        m.d.comb += [s_wr.addr.eq(Mux(clearing, clr_i, out_i)),
                     s_wr.en.eq(updates[0].valid_out | clearing)]
        for k, update in enumerate(updates):
            with m.If(~clearing):
                m.d.comb += [
                    s_wr.data[k].i.eq(update.i_next),
                    s_wr.data[k].u.eq(update.u_next),
                    s_wr.data[k].b.eq(update.b_next),
                    s_wr.data[k].s.eq(update.s_next),
                ]
        hw.clearing, hw.clr_i = clearing, clr_i
        # counted a cycle late, from a register: the layers' update stages lie far apart and
        # the core sums their counts
        m.d.sync += self.sat.eq(Mux(write, sum(update.saturations for update in updates), 0))
        if self.is_probed:
            for k, update in enumerate(updates):
                probe = self.probe[k]
                m.d.comb += [
                    probe.valid.eq(write),
                    probe.payload.layer.eq(self.index),
                    probe.payload.neuron.eq(
                        Cat(Const(k, self._slot_bits), out_i) if self.update_lanes > 1
                        else out_i),
                    probe.payload.i.eq(update.i_next),
                    probe.payload.u.eq(update.u_next),
                    probe.payload.b.eq(update.b_next),
                    probe.payload.s.eq(update.s_next),
                ]
        if p.spiking:
            k_wr = hw.k_wr
            m.d.comb += [
                k_wr.addr.eq(hw.rec_count),
                k_wr.data.eq(hw.spike_i),
                k_wr.en.eq(hw.emitted),
            ]
            with m.If(hw.emitted):
                m.d.sync += hw.rec_count.eq(hw.rec_count + 1)

    def _phase_control(self, m, hw):
        """The phase register's transitions and what each phase drives."""
        # in CLEAR the state is done once ``clearing`` (set on entry) falls
        clr_i, clr_state_done = hw.clr_i, ~hw.clearing
        clr_input_done = Signal()
        phase = hw.phase
        # the output stream carries the update's spikes or, in PRIME and MARK, the marker:
        # its valid is an OR of registers (no phase decoding before the consumer's write)
        marking = hw.marking = Signal(init=self.prime)  # the marker is offered
        m.d.comb += [
            self.o_events.valid.eq(hw.spike_out | marking),
            self.o_events.payload.marker.eq(marking),
            self.o_events.payload.addr.eq(Mux(marking, 0, hw.spike_i)),
        ]
        with m.Switch(phase):
            with m.Case(Phase.PRIME), m.If(self.o_events.ready):
                m.d.sync += [phase.eq(Phase.IDLE), marking.eq(0)]
            with m.Case(Phase.IDLE):
                with m.If(self.go):
                    m.d.sync += phase.eq(Phase.SYN_IN)
                with m.Elif(self.clear):
                    m.d.sync += [
                        phase.eq(Phase.CLEAR), hw.clearing.eq(1),
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
            with m.Case(Phase.MARK), m.If(self.o_events.ready):
                m.d.sync += [phase.eq(Phase.IDLE), marking.eq(0)]

    def _clear_phase(self, m, hw, clr_i, clr_state_done, clr_input_done):
        """``CLEAR``: zero every neuron's state and (with ``flush_on_clear``) drop the pending
        input group."""
        m.d.comb += self.i_events.ready.eq(~clr_input_done)
        # the state port writes word clr_i; it is 0 when a clear starts (its initial value, and
        # back to 0 as a clear ends), so the step controller's clear resets no counter
        with m.If(hw.clearing):
            with m.If(clr_i == self.state_words - 1):
                m.d.sync += [hw.clearing.eq(0), clr_i.eq(0)]
            with m.Else():
                m.d.sync += clr_i.eq(clr_i + 1)
        with m.If(self.i_events.valid & ~clr_input_done & self.i_events.payload.marker):
            m.d.sync += clr_input_done.eq(1)
        hw.clr_state_done = clr_state_done
        with m.If(clr_state_done & self._inputs_flushed(m, hw, clr_input_done)):
            m.d.sync += [
                hw.rec_count.eq(0),
                hw.phase.eq(Phase.PRIME if self.prime else Phase.IDLE),
                hw.marking.eq(self.prime),
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
                hw.upd_start.eq(1), hw.upd_lane.eq(0),
                hw.rec_count.eq(0), hw.rec_ptr.eq(0),
            ]

    def _update_phase(self, m, hw):
        """``UPDATE``: step through the state words, emit the spikes, then go to ``MARK``."""
        upd_active = hw.upd_active
        with m.If(hw.upd_start):  # one cycle for the last synaptic read of the accumulators
            m.d.sync += [hw.upd_start.eq(0), upd_active.eq(1)]
        with m.If(~hw.hold & upd_active & ~hw.upd_more):  # the last word enters the update
            m.d.sync += upd_active.eq(0)
        with m.If(hw.write & hw.out_last):
            m.d.sync += [hw.phase.eq(Phase.MARK), hw.marking.eq(1)]

    def _update_address(self, m, hw):
        """The state word whose operands enter the update next, ``upd_i``: 0 as the update
        starts, then one more per word until the last (``upd_more``: ``upd_active`` and not
        the last word, a register), and the stage behind it (``b_valid``, ``b_i``, ...).

        The state memory (and the bias) is read a cycle earlier, into a register
        (``_update_pipeline``), at ``rd_i``: word 0 in the update's first cycle
        (``upd_start``; the phases before ``UPDATE`` load 0), then one more in every cycle the
        pipeline moves, up to the last word (``rd_go``); the host's reads load it while idle.
        Its reads, its output and that register move only with the pipeline, as ``upd_i`` and
        the stage behind it do, so the register holds word ``b_i`` whenever ``b_valid`` is
        set, as the memory's output did with ``upd_i`` as the address; the cycles are the
        same.

        Every register here is loaded exactly when the pipeline moves (``hold`` low), their
        next values chosen by registers: the enable is the pipeline's own, not a decoding of
        the phase and the update's progress. ``hold`` is low outside ``UPDATE`` and in its
        first cycle (the pipeline is empty there), so the phases' loads (the update's start,
        the host's reads while idle) are never held back."""
        upd_i, upd_more, rd_i, rd_go = hw.upd_i, hw.upd_more, hw.rd_i, hw.rd_go
        last = self.state_words - 1
        in_update = hw.phase == Phase.UPDATE
        idle_addr = self.r_addr[self._slot_bits:] if self.host_access else 0
        with m.If(~hw.hold):
            m.d.sync += [
                hw.b_valid.eq(hw.upd_active), hw.b_i.eq(upd_i), hw.b_lane.eq(hw.upd_lane),
                hw.b_a.eq(hw.upd_a),
                upd_i.eq(Mux(hw.upd_start, 0, upd_i + upd_more)),
                upd_more.eq(Mux(hw.upd_start, last != 0, upd_more & (upd_i != last - 1))),
                rd_i.eq(Mux(in_update, rd_i + rd_go,
                            Mux(hw.phase == Phase.IDLE, idle_addr, 0))),
                rd_go.eq(Mux(in_update, rd_go & (rd_i != last - 1), last != 0)),
            ]
        # the accumulators' address and lane of the next word, likewise outside the phase's
        # decoding (``upd_active`` is set only in ``UPDATE``); ``upd_a_next`` is computed
        # whether the pipeline moves or not (no ``hold`` in front of the registers it loads)
        with m.If(hw.upd_active):
            self._next_neuron(m, hw)

    @staticmethod
    def _move(m, hw, *statements):
        """``statements`` take effect in the cycles the update's pipeline moves (``hold``
        low): the update's addresses share its enable."""
        with m.If(~hw.hold):
            m.d.sync += statements

    def _next_neuron(self, m, hw):
        """The update's lane and accumulator address move to the next state word: neuron ``i``
        is lane ``i mod P``, address ``i // P``, so with ``W = P`` a word is one address of every
        lane, with ``W = 1`` one lane's. Registers move with :meth:`_move`."""
        upd_lane, upd_a, upd_a_next = hw.upd_lane, hw.upd_a, hw.upd_a_next
        if self.update_lanes == self.lanes:
            m.d.comb += upd_a_next.eq(upd_a + 1)
        else:
            with m.If(upd_lane == self.lanes - 1):
                self._move(m, hw, upd_lane.eq(0))
                m.d.comb += upd_a_next.eq(upd_a + 1)
            with m.Else():
                self._move(m, hw, upd_lane.eq(upd_lane + 1))
        # after the last word the address is 0, where the next update starts: the phases
        # need not set it (its logic then holds no decoding of the recurrent phase's end)
        with m.If(~hw.upd_more):
            m.d.comb += upd_a_next.eq(0)

    def _accumulator_ports(self, m, hw):
        """The accumulators' read addresses, and their clearing behind the update."""
        # the accumulators are read at s1_q for a synaptic operation and at upd_a otherwise: in
        # UPDATE (after the last synaptic read, in the first cycle) for the neuron update, in
        # the other phases for nothing, so the read address depends on no phase decoding. In
        # UPDATE they are cleared behind the update.
        lanes, hold = self.lanes, hw.hold
        every_lane = self.update_lanes == lanes  # a state word reads all lanes
        acc_ports = [(hw.a_rd, hw.a_wr)] + ([(hw.r_rd, hw.r_wr)] if hw.same_step else [])
        # the address is a register, loaded with what that choice will be in the next cycle:
        # no logic in front of the memories (LUT RAM on the ECP5: its read multiplexer follows)
        s1_valid_next, s1_q_next = hw.s1_next
        acc_addr = Signal.like(hw.upd_a, name="acc_addr")
        # while the update's pipeline holds, the address holds (it is upd_a there, which holds)
        with m.If(~hold):
            m.d.sync += acc_addr.eq(Mux(s1_valid_next, s1_q_next, hw.upd_a_next))
        for rd, _ in acc_ports:
            for lane in range(lanes):
                m.d.comb += rd[lane].addr.eq(acc_addr)
        with m.If(hw.phase == Phase.UPDATE):
            for rd, wr in acc_ports:
                for lane in range(lanes):
                    m.d.comb += rd[lane].en.eq(~hold)
                    with m.If(hw.b_valid & (1 if every_lane else hw.b_lane == lane)):
                        m.d.comb += [wr[lane].addr.eq(hw.b_a), wr[lane].data.eq(0),
                                     wr[lane].en.eq(~hold)]

    def _host_read_port(self, m, hw):
        """The host's read port: a weight two cycles after its address (from the synaptic
        engine's weight registers), a neuron's state two (the address is registered into
        ``rd_i``, the state memory's only read address)."""
        # reads while idle, where no phase uses these read ports
        w_rd = hw.w_rd
        r_lane_1, r_lane = Signal.like(self.r_lane), Signal.like(self.r_lane)
        r_addr_1, r_addr = Signal.like(self.r_addr), Signal.like(self.r_addr)
        m.d.sync += [r_lane_1.eq(self.r_lane), r_lane.eq(r_lane_1),
                     r_addr_1.eq(self.r_addr), r_addr.eq(r_addr_1)]
        # the neuron's slot in the word: a multiplexer per field (a view indexed by a signal
        # would compute its offset with a multiplication)
        slot = r_addr[:self._slot_bits]
        words = [hw.s_rd.data[k] for k in range(self.update_lanes)]
        with m.If(hw.phase == Phase.IDLE):
            for lane in range(self.lanes):
                m.d.comb += w_rd[lane].addr.eq(self.r_addr)
        m.d.comb += [
            self.r_weight.eq(Array(hw.w_regs)[r_lane]),
            self.r_state.layer.eq(self.index),
            self.r_state.neuron.eq(r_addr),
            self.r_state.i.eq(Array(word.i for word in words)[slot]),
            self.r_state.u.eq(Array(word.u for word in words)[slot]),
            self.r_state.b.eq(Array(word.b for word in words)[slot]),
            self.r_state.s.eq(Array(word.s for word in words)[slot]),
        ]

    @property
    def is_probed(self):
        return "probe" in self.signature.members
