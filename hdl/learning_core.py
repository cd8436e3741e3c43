r"""A network core that learns on chip: :class:`~spikeforge.hdl.network_core.NetworkCore` plus one
:class:`~spikeforge.hdl.learning_unit.LearningUnit` per learning layer.

It computes :func:`spikeforge.model.learning.run_trial` trial after trial, bit for bit. The core
is used as it is, through its probe ports (the state of every neuron after each step) and its host
weight port (the end-of-trial update); nothing inside it changes.

Top-level interface (``LearningCore(network, config, *, lanes=1, probe=False, link=False)``)
-------------------------------------------------------------------------------------------------

=======================  ====  ======  ==========================================================
port                     dir   width   meaning
=======================  ====  ======  ==========================================================
``i_cmd__valid/ready``   in/o  1       command stream (:mod:`~spikeforge.hdl.learning_events`)
``i_cmd__payload``       in    18      ``addr`` bits 0..15, ``kind`` bits 16..17
``idle``                 out   1       waiting for a command between steps
``steps``, ``trials``    out   32      completed steps and trials
``counts``               out   16 n    output spike counts of the last finished trial
``r_layer/r_lane/...``   in/o          the network's host read port, while ``idle``
``lprobe``               out   200     (``probe=True``) per synapse after every step
``probe__<l>``           out   121     (``probe=True``) the network's neuron probes
``i_events/o_events``    in/o          (``link=True``) the network's event streams, as
                                       :class:`~spikeforge.hdl.network_core.NetworkCore`'s
``clear``, ``w_*``       in            (``link=True``) its clear and host write port
``lfsr``                 out   32      the rounding LFSR; ``lfsr_w_en/lfsr_w_data`` (``link``)
                                       load it
=======================  ====  ======  ==========================================================

``spram_weights`` are the network core's (:class:`~spikeforge.hdl.network_core.NetworkCore`),
of layers that do not learn only: a unit reads and writes its layer's weights in one cycle.

The errors and the spikes of each layer a unit takes its presynaptic spikes from (two banks: the
step running writes one, the units read the step before from the other) are memories the units
read through ports of their own (:func:`memory_shapes`).

With ``link=True`` the core also serves a host link (:class:`~spikeforge.hdl.link_top.LinkTop`):
between trials (``FEED``, no command waiting) input events pass straight to the network (plain
inference), ``clear`` and host weight writes reach it, and its output events go out on
``o_events`` instead of being dropped.

Per step: ``INPUT`` words go to the network (each sets its input bit), ``TARGET`` words set
target bits, ``STEP`` closes the group; the network runs the step while the units' captures
record every neuron's ``U``, ``b`` and ``s``; then the output errors are updated, one output a
cycle (one datapath for all :math:`N_{out}`)

.. math::

    \epsilon_k \leftarrow \mathrm{sat}\big(\mathrm{dec}_{k_{err}}(\epsilon_k)
    + 2^E (\hat s_k - s_k)\big)

and every unit processes the step (in parallel). ``END`` runs the units' updates one after the
other (they share the host port and the LFSR), clears the network's state (``clear``) and the
errors, and latches the trial's output counts. The learning cost per step is about
:math:`N + R + R N` cycles for each learning layer, after :math:`N_{out} + 2` cycles of error
update.
"""

import enum
from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import update_lanes
from ..model.learning import LFSR_MASK
from ..model.learning.ranges import error_format
from .arith import saturate
from .events import ProbeLayout, event_signature, probe_signature
from .learning_events import LearningCommand, command_signature, learn_probe_signature
from .learning_unit import LearningUnit, decay
from .network_core import NetworkCore

__all__ = ["LearningCore", "memory_shapes"]


def memory_shapes(network, config, lanes=1):
    """``{(name, layer index): (depth, width)}`` of the block memories the core keeps beside
    its units' (:func:`spikeforge.hdl.learning_unit.memory_shapes`): the ``errors``
    (:math:`N_{out}` of :func:`~spikeforge.model.learning.ranges.error_format`, layer
    ``None``) and the ``spikes`` of each layer a learning unit takes its presynaptic spikes
    from (two banks of ``W``-bit words, :meth:`LearningCore._spike_memory`)."""
    shapes = {("errors", None): (network.n_out, error_format(config).width)}
    for index in sorted({i - 1 for i in config.layers if i > 0}):
        layer = network.layers[index]
        w = update_lanes(layer, lanes)
        word_bits = (layer.params.n // w - 1).bit_length()
        shapes["spikes", index] = (2 << word_bits, w)
    return shapes


class _State(enum.IntEnum):
    FEED = 0
    RUN = 1
    ERROR = 2
    LEARN = 3
    UPDATE = 4
    CLEAR = 5
    SETTLE = 6


class LearningCore(wiring.Component):
    """On-chip learning around a network core; see the module docstring for the ports."""

    def __init__(self, network, config, *, lanes=1, probe=False, link=False, input_depth=None,
                 output_depth=None, spram_weights=()):
        config.check(network)
        # a unit reads and writes its layer's weights in one cycle (``UPDATE``): single-port
        # SPRAM holds only the weights of layers that do not learn
        learning_in_spram = sorted({index for index, _ in spram_weights} & set(config.layers))
        if learning_in_spram:
            raise ValueError(
                f"layer(s) {learning_in_spram} learn: their units read and write weights in one "
                "cycle, so their weights cannot be in single-port SPRAM (only the weights of "
                "layers that do not learn can)")
        for index, layer in enumerate(network.layers):
            if layer.connectivity is not None and layer.connectivity.conv is not None:
                raise ValueError(
                    f"layer {index} ({layer.name or '?'}) is convolutional: on-chip learning "
                    "does not support convolutional layers (its units address dense weight "
                    "rows); train the network offline, or learn on a dense network")
            if layer.connectivity is not None and index in config.layers:
                raise ValueError(
                    f"layer {index} ({layer.name or '?'}) reads a pooled map: on-chip learning "
                    "updates dense layers over a flat input only (its units address one weight "
                    "row per input); learn another layer, or train this one offline")
        self.network, self.config, self.lanes, self.link = network, config, lanes, link
        self.core = NetworkCore(network, lanes=lanes, probe=True, host_access=True,
                                input_depth=input_depth, output_depth=output_depth,
                                spram_weights=spram_weights)
        self.spram_weights = self.core.spram_weights
        self.units = [LearningUnit(network, config, index, lanes=lanes, probe=probe)
                      for index in config.layers]
        members = {
            "i_cmd": In(command_signature()),
            "idle": Out(1),
            "steps": Out(unsigned(32)),
            "trials": Out(unsigned(32)),
            "counts": Out(data.ArrayLayout(unsigned(16), network.n_out)),
            "r_layer": In(8), "r_lane": In(8),
            "r_addr": In(self.core.r_addr.shape()),
            "r_weight": Out(self.core.r_weight.shape()),
            "r_state": Out(ProbeLayout),
            "lfsr": Out(32),
        }
        if link:
            core = self.core
            members.update({
                "i_events": In(event_signature()), "o_events": Out(event_signature()),
                "clear": In(1), "lfsr_w_en": In(1), "lfsr_w_data": In(32),
                **{name: In(getattr(core, name).shape())
                   for name in ("w_en", "w_layer", "w_lane", "w_addr", "w_data")},
            })
        if probe:
            members["lprobe"] = Out(learn_probe_signature()).array(len(self.units))
            members["probe"] = Out(probe_signature()).array(len(self.core.probe_layers))
        super().__init__(members)

    def elaborate(self, platform):
        """The network core, the units, and the sequencer that runs steps and trials."""
        m = Module()
        core = self.core
        m.submodules.core = core
        for unit in self.units:
            m.submodules[f"learn_{unit.index}"] = unit

        state = Signal(_State)
        feeding = state == _State.FEED
        # the registers and values the parts below share, added in the order they are made.
        # Each part is built once and in this order: the netlist (and the Verilog) follows the
        # order of signals and statements, and Amaranth shares the decoding of two ``If``s of
        # one value at one source line.
        hw = SimpleNamespace(state=state, feeding=feeding)
        self._network_ports(m, hw)
        self._trial_registers(m, hw)
        self._unit_ports(m, hw)
        self._host_port(m, hw)
        self._sequencer(m, hw)
        if self.link:  # no command waiting between trials: the host's events go straight in
            with m.If(feeding & ~self.i_cmd.valid):
                m.d.comb += [core.i_events.valid.eq(self.i_events.valid),
                             core.i_events.payload.eq(self.i_events.payload),
                             self.i_events.ready.eq(core.i_events.ready)]
        return m

    def _network_ports(self, m, hw):
        """The network's step count, output events, and (``link``) the host's clear and
        weight writes between trials; ``idle``."""
        core, feeding = self.core, hw.feeding
        m.d.comb += self.steps.eq(core.steps)
        if self.link:
            wiring.connect(m, core.o_events, wiring.flipped(self.o_events))
            # between trials the host's clear and weight writes reach the network (later
            # statements of the sequencer take over in CLEAR and UPDATE)
            m.d.comb += core.clear.eq(self.clear & feeding)
            m.d.comb += [getattr(core, name).eq(getattr(self, name))
                         for name in ("w_layer", "w_lane", "w_addr", "w_data")]
            m.d.comb += core.w_en.eq(self.w_en & feeding)
        else:
            m.d.comb += core.o_events.ready.eq(1)
        m.d.comb += self.idle.eq((hw.state == _State.FEED) & core.idle)

    def _trial_registers(self, m, hw):
        """Spikes of every layer after the last step (``cur``) and the one before (``prev``),
        the step's input and target bits, the errors, counts and the rounding LFSR."""
        net, cfg, core = self.network, self.config, self.core
        n_out = net.n_out
        cur = [Signal(ly.params.n, name=f"s_cur{k}") for k, ly in enumerate(net.layers)]
        prev = [Signal(ly.params.n, name=f"s_prev{k}") for k, ly in enumerate(net.layers)]
        # a layer's update probes every neuron once a step, in ascending order, W at a time
        # (its W ports): shifted in from the top, neuron i's spike ends in bit i (no decoder
        # of the neuron index)
        for k in range(len(net.layers)):
            ports = self._ports_of(k)
            w = len(ports)
            with m.If(ports[0].valid):
                m.d.sync += cur[k].eq(Cat(cur[k][w:], *(pr.payload.s for pr in ports)))
        if "probe" in self.signature.members:
            for mine, theirs in zip(self.probe, core.probe, strict=True):
                m.d.comb += [mine.valid.eq(theirs.valid), mine.payload.eq(theirs.payload)]
        x_bits = Signal(net.n_in)
        tgt_bits = Signal(n_out)
        # the errors in a memory: the error update reads and writes it, every unit reads it
        # (unit 0 through the update's port, in other states); ``fresh`` stands for the zeros
        # a trial starts from (the first update of a trial reads them instead)
        errors = Memory(shape=signed(error_format(cfg).width), depth=n_out, init=[],
                        attrs={"no_rw_check": 1})
        m.submodules.errors = errors
        err = SimpleNamespace(wr=errors.write_port(),
                              rd=[errors.read_port() for _ in self.units],
                              fresh=Signal(init=1, name="err_fresh"))
        counts = Signal(data.ArrayLayout(unsigned(16), n_out))
        lfsr = Signal(32, init=cfg.lfsr_seed)
        vars(hw).update(cur=cur, prev=prev, x_bits=x_bits, tgt_bits=tgt_bits, err=err,
                        counts=counts, lfsr=lfsr, spike_memories={}, bank=Signal(name="bank"),
                        spikes_cleared=Signal(init=1, name="spikes_cleared"))

    def _ports_of(self, index):
        """The network core's probe ports of layer ``index`` (``W`` of them, slot order)."""
        return [port for port, owner in zip(self.core.probe, self.core.probe_layers, strict=True)
                if owner == index]

    def _unit_ports(self, m, hw):
        """Every unit's inputs (its presynaptic spikes, errors, captures) and probe; the LFSR,
        stepped by the updating unit (or, ``link``, loaded by the host between trials)."""
        lfsr = hw.lfsr
        start = Signal()
        update = Signal(len(self.units))
        apply = Signal()
        lfsr_step = Signal()
        # the units see the start and update pulses a cycle late, from registers, so the command
        # handling and the state decoding are not in front of their counters; ``all_done``
        # waits for a pulse in flight
        start_r = Signal(name="start_r")
        update_r = Signal(len(self.units), name="update_r")
        m.d.sync += [start_r.eq(start), update_r.eq(update)]
        for k, unit in enumerate(self.units):
            m.d.comb += [
                unit.start.eq(start_r), unit.update.eq(update_r[k]), unit.apply.eq(apply),
                unit.z_data.eq(self._presynaptic_spikes(m, hw, unit)),
                hw.err.rd[k].addr.eq(unit.err_addr),
                unit.err_data.eq(hw.err.rd[k].data), unit.lfsr.eq(lfsr),
            ]
            for mine, theirs in zip(unit.capture, self._ports_of(unit.index), strict=True):
                m.d.comb += [mine.valid.eq(theirs.valid), mine.payload.eq(theirs.payload)]
            with m.If(unit.lfsr_step):
                m.d.comb += lfsr_step.eq(1)
            if unit.is_probed:
                m.d.comb += [self.lprobe[k].valid.eq(unit.lprobe.valid),
                             self.lprobe[k].payload.eq(unit.lprobe.payload)]
        with m.If(lfsr_step):
            m.d.sync += lfsr.eq((lfsr >> 1) ^ (lfsr[0].replicate(32) & LFSR_MASK))
        m.d.comb += self.lfsr.eq(lfsr)
        if self.link:
            with m.If(self.lfsr_w_en & hw.feeding):
                m.d.sync += lfsr.eq(self.lfsr_w_data)
        all_done = Signal()
        m.d.comb += all_done.eq(Cat(u.done for u in self.units).all() & ~start_r
                                & ~update_r.any())
        vars(hw).update(start=start, update=update, update_r=update_r, apply=apply,
                        all_done=all_done)

    def _spike_memory(self, m, hw, index):
        """Layer ``index``'s spikes of the last two steps, in two banks of a memory: the step
        running writes bank ``bank`` from the layer's probes (``W`` spikes a word, the word
        the high bits of the first neuron's index), the units read the step before from the
        other; ``LEARN``'s end swaps them (``hw.spikes_cleared``: that bank is the zeros a
        trial starts from). One memory per layer, made on first use."""
        if index in hw.spike_memories:
            return hw.spike_memories[index]
        ports = self._ports_of(index)
        w = len(ports)
        shift = w.bit_length() - 1
        word_bits = (self.network.layers[index].params.n // w - 1).bit_length()
        # no read meets a write: the units read while the network is quiet
        memory = Memory(shape=unsigned(w), depth=2 << word_bits, init=[],
                        attrs={"no_rw_check": 1})
        m.submodules[f"spikes_{index}"] = memory
        wr = memory.write_port()
        with m.If(ports[0].valid):
            m.d.comb += [wr.en.eq(1),
                         wr.addr.eq(Cat((ports[0].payload.neuron >> shift)[:word_bits], hw.bank)),
                         wr.data.eq(Cat(port.payload.s for port in ports))]
        hw.spike_memories[index] = (memory, shift, word_bits)
        return hw.spike_memories[index]

    def _presynaptic_spikes(self, m, hw, unit):
        """``unit``'s ``z_data``: the spike of the row it addressed last cycle. Rows of the
        layer's inputs are the input bits of this step (the first layer) or the previous
        layer's spikes of the step before (from its spike memory); rows of its own neurons
        (recurrent, e-prop) its spikes of the step before."""
        n_in = self.network.layers[unit.index].params.n_in
        row = Signal.like(unit.z_addr, name=f"z_row_{unit.index}")
        m.d.sync += row.eq(unit.z_addr)
        if unit.index == 0:
            spike = hw.x_bits.bit_select(row, 1)
        else:
            memory, shift, word_bits = self._spike_memory(m, hw, unit.index - 1)
            rd = memory.read_port()
            m.d.comb += rd.addr.eq(Cat((unit.z_addr >> shift)[:word_bits], ~hw.bank))
            spike = rd.data.bit_select(row[:shift], 1) & ~hw.spikes_cleared
        if unit.rows > n_in:
            own = hw.prev[unit.index].bit_select((row - n_in).as_unsigned(), 1)
            spike = Mux(row < n_in, spike, own)
        return spike

    def _host_port(self, m, hw):
        """The network's host port: the updating unit's in ``UPDATE``, else the outside's
        (reads while idle)."""
        core = self.core
        active = Signal(range(len(self.units) + 1))
        m.d.comb += [core.r_layer.eq(self.r_layer), core.r_lane.eq(self.r_lane),
                     core.r_addr.eq(self.r_addr), self.r_weight.eq(core.r_weight),
                     self.r_state.eq(core.r_state)]
        # owner[k] is a register, set while unit k updates: it is loaded with the update pulse
        # that starts unit k (and cleared as UPDATE ends), so no decoding of the state and the
        # unit index lies in front of the core's memory addresses
        owner = Signal(len(self.units), name="port_owner")
        with m.If(hw.update_r.any()):
            m.d.sync += owner.eq(hw.update_r)
        for k, unit in enumerate(self.units):
            with m.If(owner[k]):
                m.d.comb += [
                    core.r_layer.eq(unit.index), core.r_lane.eq(unit.r_lane),
                    core.r_addr.eq(unit.r_addr),
                    core.w_en.eq(unit.w_en), core.w_layer.eq(unit.index),
                    core.w_lane.eq(unit.w_lane), core.w_addr.eq(unit.w_addr),
                    core.w_data.eq(unit.w_data),
                ]
            m.d.comb += unit.r_weight.eq(core.r_weight)
        hw.active, hw.owner = active, owner

    def _sequencer(self, m, hw):
        """Command handling and the sequence of a step (``RUN``, ``ERROR``, ``LEARN``) and of
        the end of a trial (``UPDATE``, ``CLEAR``, ``SETTLE``)."""
        core, state, active, update = self.core, hw.state, hw.active, hw.update
        all_done, prev, cur = hw.all_done, hw.prev, hw.cur
        # the core completes exactly one step per STEP command, so the low bit of its step
        # counter says when it has: no 32-bit copy and compare
        steps_before = Signal()
        with m.Switch(state):
            with m.Case(_State.FEED):
                self._commands(m, hw, steps_before)
            with m.Case(_State.RUN), m.If((core.steps[0] != steps_before) & core.idle):
                m.d.sync += state.eq(_State.ERROR)
            with m.Case(_State.ERROR), m.If(self._error_update(m, hw)):
                m.d.sync += state.eq(_State.LEARN)
                m.d.comb += hw.start.eq(1)
            with m.Case(_State.LEARN), m.If(all_done):
                m.d.sync += [state.eq(_State.FEED), hw.x_bits.eq(0), hw.tgt_bits.eq(0),
                             hw.bank.eq(~hw.bank), hw.spikes_cleared.eq(0)]
                m.d.sync += [p.eq(c) for p, c in zip(prev, cur, strict=True)]
            with m.Case(_State.UPDATE), m.If(all_done):
                with m.If(active == len(self.units) - 1):
                    m.d.sync += [state.eq(_State.CLEAR), hw.owner.eq(0)]
                with m.Else():
                    m.d.sync += active.eq(active + 1)
                    for k in range(1, len(self.units)):
                        with m.If(active == k - 1):
                            m.d.comb += update[k].eq(1)
            with m.Case(_State.CLEAR):
                m.d.comb += core.clear.eq(1)
                m.d.sync += [state.eq(_State.SETTLE), hw.err.fresh.eq(1), hw.counts.eq(0),
                             self.trials.eq(self.trials + 1)]
                m.d.sync += [p.eq(0) for p in prev]
                m.d.sync += hw.spikes_cleared.eq(1)
            with m.Case(_State.SETTLE), m.If(core.idle):
                m.d.sync += state.eq(_State.FEED)

    def _commands(self, m, hw, steps_before):
        """``FEED``: take ``INPUT``, ``TARGET``, ``STEP`` and ``END`` commands."""
        core, state = self.core, hw.state
        cmd = self.i_cmd.payload
        with m.Switch(cmd.kind):
            with m.Case(LearningCommand.INPUT):
                m.d.comb += [
                    core.i_events.valid.eq(self.i_cmd.valid),
                    core.i_events.payload.addr.eq(cmd.addr),
                    self.i_cmd.ready.eq(core.i_events.ready),
                ]
                with m.If(self.i_cmd.valid & core.i_events.ready):
                    m.d.sync += hw.x_bits.bit_select(cmd.addr, 1).eq(1)
            with m.Case(LearningCommand.TARGET):
                m.d.comb += self.i_cmd.ready.eq(1)
                with m.If(self.i_cmd.valid):
                    m.d.sync += hw.tgt_bits.bit_select(cmd.addr, 1).eq(1)
            with m.Case(LearningCommand.STEP):
                m.d.comb += [
                    core.i_events.valid.eq(self.i_cmd.valid),
                    core.i_events.payload.marker.eq(1),
                    self.i_cmd.ready.eq(core.i_events.ready),
                ]
                with m.If(self.i_cmd.valid & core.i_events.ready):
                    m.d.sync += [state.eq(_State.RUN), steps_before.eq(core.steps[0])]
            with m.Case(LearningCommand.END):
                m.d.comb += self.i_cmd.ready.eq(core.idle)
                with m.If(self.i_cmd.valid & core.idle):
                    m.d.sync += [state.eq(_State.UPDATE), hw.active.eq(0),
                                 hw.apply.eq(cmd.addr[0]), self.counts.eq(hw.counts)]
                    m.d.comb += hw.update[0].eq(1)

    def _error_update(self, m, hw):
        """``ERROR``: for one output ``k`` a cycle, ascending: decay its error, add the step's
        target minus output spike, and count its output spike. One datapath serves every
        output (``n_out`` cycles a step instead of ``n_out`` copies of it), in three stages
        (output ``k``'s error read and spikes selected; its error decayed; the difference
        added, saturated and written), ``n_out + 2`` cycles; returns the condition of the last
        cycle."""
        cfg, ef, n_out = self.config, error_format(self.config), self.network.n_out
        err, counts, out = hw.err, hw.counts, hw.cur[len(self.network.layers) - 1]
        # stage 1: read output k's error (the port is unit 0's outside this state)
        k = Signal(range(n_out), name="err_k")
        m.d.comb += err.rd[0].addr.eq(k)
        drain = Signal(name="err_drain")  # every output issued: the last one is in flight
        last = k == n_out - 1
        diff = Signal(signed(2))
        m.d.comb += diff.eq(hw.tgt_bits.bit_select(k, 1).as_unsigned()
                            - out.bit_select(k, 1).as_unsigned())
        k2 = Signal.like(k, name="err_k2")
        valid2 = Signal(name="err_valid2")
        diff2, spike2 = Signal(signed(2), name="err_diff2"), Signal(name="err_spike2")
        m.d.sync += valid2.eq(~drain)
        with m.If(~drain):
            m.d.sync += [k.eq(Mux(last, 0, k + 1)), drain.eq(last), k2.eq(k),
                         diff2.eq(diff), spike2.eq(out.bit_select(k, 1))]
        err2 = Mux(err.fresh, 0, err.rd[0].data)  # output k2's error, as it arrives
        # stage 2: its decayed error; stage 3: the step's difference added, saturated, written
        k3 = Signal.like(k, name="err_k3")
        valid3, dec3 = Signal(name="err_valid3"), Signal(signed(ef.width), name="err_dec3")
        diff3, spike3 = Signal(signed(2), name="err_diff3"), Signal(name="err_spike3")
        m.d.sync += valid3.eq(valid2)
        with m.If(valid2):
            m.d.sync += [k3.eq(k2), dec3.eq(decay(err2, cfg.k_err)), diff3.eq(diff2),
                         spike3.eq(spike2)]
        finished = valid3 & (k3 == n_out - 1)
        with m.If(valid3):
            value = saturate(dec3 + (diff3 << cfg.error_shift), ef.width)
            m.d.comb += [err.wr.en.eq(1), err.wr.addr.eq(k3), err.wr.data.eq(value)]
            m.d.sync += counts[k3].eq(counts[k3] + spike3)
        with m.If(finished):
            m.d.sync += [drain.eq(0), err.fresh.eq(0)]
        return finished
