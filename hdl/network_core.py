r"""A whole network of layer cores, chained by FIFOs: a
:class:`~spikeforge.hdl.lif_layer.LIFLayer` for each dense layer and a
:class:`~spikeforge.hdl.conv_layer.ConvLIFLayer` for each convolutional one (which holds the
kernel) and each pooled dense layer over a square map (held as the convolution it is; other
pooled dense layers unrolled, :func:`~spikeforge.link.memory_layout.core_layer`). A residual
join reads its source's events from a FIFO of its own, which the source fills beside the FIFO
of the layer after it.

Top-level interface
-------------------
``NetworkCore(network, *, lanes=1, probe=False, input_depth=None, output_depth=None,
host_access=False)``, an ``amaranth.lib.wiring.Component`` in the ``sync`` domain (ports
``clk``, ``rst`` in Verilog).
Amaranth joins port names with ``__``; struct payloads are flat vectors, first field in the
low bits (see :mod:`spikeforge.hdl.events`).

=============================  ====  =========  ===============================================
port                           dir   width      meaning
=============================  ====  =========  ===============================================
``i_events__valid/ready``      in/o  1          input events (stream with backpressure)
``i_events__payload``          in    17         ``addr`` bits 0..15 (input index), ``marker``
                                                bit 16 (ends the step's group)
``o_events__valid/ready``      out/i 1          spikes of the last layer, ascending, then a
``o_events__payload``          out   17         marker per step (LI readout: markers only)
``probe__<k>__valid``          out   1          (``probe=True`` only, ``W`` per layer,
                                                :attr:`probe_layers`; no ``ready``: sample
                                                every cycle) valid
``probe__<k>__payload``        out   121        ``layer`` 0..7, ``neuron`` 8..23, ``i`` 24..55,
                                                ``u`` 56..87 (signed), ``b`` 88..119, ``s`` 120
``clear``                      in    1          zero all neuron state (next sample); taken in
                                                a cycle with ``idle`` high, wins over a step
``idle``                       out   1          between steps: no step and no clear running
``cycles``                     out   32         clock cycles since reset
``steps``                      out   32         completed time steps
``run_cycles``                 out   32         cycles spent running steps (the sum of every
                                                ``step_cycles``)
``events``                     out   32         spike events processed by all layers (input
                                                and recurrent)
``synops``                     out   32         synaptic operations (``lanes`` per issue cycle)
``saturations``                out   32         clamped I, U and b updates
``stall_cycles``               out   32         layer-cycles stalled by a full output FIFO
``in_events``, ``out_events``  out   32         spike events accepted on ``i_events`` and
                                                delivered on ``o_events`` (markers excluded);
                                                ``run_cycles`` to ``out_events`` lag one cycle
                                                (``saturations`` two)
``step_cycles``                out   32         cycles of the last completed step
``w_en``                       in    1          (``host_access=True`` only) write one weight
``w_layer``, ``w_lane``        in    8, 8       which layer and lane memory
``w_addr``                     in    A          word address (``link/memory_layout.py``);
                                                ``A`` bits for the deepest weight memory
``w_data``                     in    W          signed weight; ``W`` is the widest weight format
``r_layer``, ``r_lane``        in    8, 8       (``host_access=True`` only) read, while ``idle``:
``r_addr``                     in    A'         weight address, or neuron index for the state
``r_weight``                   out   W          the weight at ``r_*`` of two cycles before
``r_state``                    out   121        state of neuron ``r_addr`` of two cycles before,
                                                as a probe record (``ProbeLayout``)
=============================  ====  =========  ===============================================

Samples. ``rst`` does not clear block RAM: to start a new sample from the zero state, wait until
``steps`` counts the last step of the previous sample and ``idle`` is high, then raise ``clear``
for one cycle before sending the new sample's events. Every layer zeroes its state (``n``
cycles), layers fed by another layer discard their pending group, and the feeding layers emit a
new empty group; ``idle`` rises again when all is done. Counters are never cleared.

Weights are written and read only while ``idle`` (between steps); a write takes effect from
the next step. Addresses: ``weight_address(layer, lanes, neuron, row)``.

Protocol. The host sends the spikes of input step ``n`` as events (each address at most once),
then one marker. The network output for step ``n`` is the group of events up to the next marker
on ``o_events``: the spikes :math:`s_L[n+1]` of the last layer, that is
``spikeforge.model.run(...).spikes[-1][:, n]``. With ``probe=True`` every layer reports, during
step ``n``, each neuron's ``i, u, b, s`` of ``run(...).i/u/b/spikes[l][:, n]``, in neuron order.

Step controller. A step starts (``go``) when every layer is idle, the input FIFO holds a
complete group (its marker is in) and the first item of that group has reached the slices in
front of the first layer. All layers then run step ``n`` concurrently (eq. (4)–(5): a
layer reads its predecessor's spikes of the previous step): layer ``l`` consumes the group its
predecessor emitted in step ``n-1`` while appending the group of step ``n``. Each layer that feeds
another emits an empty group after reset (its spikes :math:`s[0] = 0`). Inter-layer FIFOs hold
two groups (``2 (n + 1)`` entries), so no layer ever stalls on another and a step takes exactly
:func:`spikeforge.hdl.schedule.schedule` cycles unless ``o_events`` is not drained. A full
output FIFO stalls the last layer (counted in ``stall_cycles``); a full input FIFO deasserts
``i_events.ready``. Nothing is ever dropped.
"""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..link.memory_layout import check_lanes, core_layer, is_convolutional, probe_layers
from ..link.protocol import CORE_COUNTER_NAMES
from ..model import Network
from .arith import const_mul
from .conv_layer import ConvLIFLayer
from .event_fifo import EventFIFO
from .events import EventLayout, ProbeLayout, event_signature, probe_signature
from .lif_layer import LIFLayer
from .ready_slice import ReadySlice
from .skid_buffer import SkidBuffer

__all__ = ["COUNTERS", "INCREMENTED", "NetworkCore"]

#: Names of the 32-bit counter outputs, in the order a host reads them (declared with the wire
#: contract, :data:`spikeforge.link.protocol.CORE_COUNTER_NAMES`).
COUNTERS = CORE_COUNTER_NAMES
#: The counters that sum an increment each cycle (:attr:`NetworkCore.increments`); ``cycles``
#: adds 1 and ``steps`` follows the step controller.
INCREMENTED = ("run_cycles", "events", "synops", "saturations", "stall_cycles", "in_events",
               "out_events")


class NetworkCore(wiring.Component):
    """The network of ``network.layers`` in hardware; see the module docstring for the ports.

    Parameters
    ----------
    network : spikeforge.model.Network
    lanes : int
        Synaptic lanes per layer; must divide every dense layer's neuron count and every
        convolutional layer's output channel count.
    probe : bool
        Add the probe ports (simulation builds): ``W`` per layer, a layer that updates ``W``
        neurons a cycle (:func:`~spikeforge.link.memory_layout.update_lanes`) reporting them
        in the same cycle; :attr:`probe_layers` names the layer of each port.
    input_depth : int or None
        Input FIFO entries, at least ``n_in + 1`` (one whole step); default ``2 (n_in + 1)``.
    output_depth : int or None
        Output FIFO entries, at least 2; default ``2 (n_out + 1)``.
    host_access : bool
        Add the weight write port (``w_*``) and the weight and state read port (``r_*``).
    spram_weights : iterable of (int, int)
        ``(layer, lane)`` weight memories held in the UltraPlus SPRAM on an iCE40 UP5K
        (:func:`spikeforge.compiler.resources.spram_plan`; needs ``host_access``).
    """

    def __init__(self, network, *, lanes=1, probe=False, input_depth=None, output_depth=None,
                 host_access=False, spram_weights=()):
        if not isinstance(network, Network):
            raise TypeError(f"network must be a spikeforge.model.Network, not {network!r}")
        if len(network.layers) > 256:
            raise ValueError(f"at most 256 layers are supported, not {len(network.layers)}")
        for layer in network.layers:  # refuse before any core exists
            check_lanes(layer, lanes)
        self.input_depth = _depth(
            "input_depth", input_depth, network.n_in + 1, 2 * (network.n_in + 1))
        self.output_depth = _depth(
            "output_depth", output_depth, 2, 2 * (network.n_out + 1))
        #: the most events the core holds before its first layer takes them, each of which may
        #: be a marker: the input FIFO (``input_depth`` in storage, one in its output
        #: register), the register slice behind it (two) and the ready slice (one)
        self.input_entries = self.input_depth + 1 + 2 + 1
        self.network = network
        self.lanes = lanes
        self.spram_weights = frozenset(spram_weights)
        last = len(network.layers) - 1
        # a convolution (and a pooled dense layer over a square map) runs on a core that holds
        # its kernel; any other pooled dense layer unrolled (Layer.dense), connection for
        # connection the same
        self.cores = []
        for index, layer in enumerate(network.layers):
            common = dict(lanes=lanes, index=index, prime=index < last, probe=probe,
                          flush_on_clear=index > 0, host_access=host_access,
                          spram_lanes={lane for at, lane in self.spram_weights if at == index})
            layer = core_layer(layer)  # a pooled dense layer as a convolution, or unrolled
            if is_convolutional(layer):
                # a join from a layer drops that layer's pending group on clear, as the
                # input from the layer before does; a join from the network input does not
                join = layer.shortcut is not None and layer.shortcut.source >= 0
                self.cores.append(ConvLIFLayer(layer, flush_short_on_clear=join, **common))
            else:
                self.cores.append(LIFLayer(layer, **common))
        members = {
            "i_events": In(event_signature()),
            "o_events": Out(event_signature()),
            "clear": In(1),
            "idle": Out(1),
        }
        for name in COUNTERS:
            members[name] = Out(unsigned(32))
        members["step_cycles"] = Out(unsigned(32))  # a value per step, not a counter
        #: the increments the counters of :data:`INCREMENTED` add each cycle (a cycle after
        #: the events they count, the saturations two), for a parent that keeps the counts elsewhere
        #: (:class:`~spikeforge.hdl.counter_bank.CounterBank`): name → Signal of its maximum
        n_cores = len(self.cores)
        maxima = {"run_cycles": 1, "events": n_cores, "synops": n_cores * lanes,
                  "saturations": sum((1 << len(core.sat)) - 1 for core in self.cores),
                  "stall_cycles": n_cores, "in_events": 1, "out_events": 1}
        self.increment_maxima = {name: maxima[name] for name in INCREMENTED}
        self.increments = {name: Signal(range(maxima[name] + 1), name=f"{name}_increment")
                           for name in INCREMENTED}
        if host_access:
            deepest = max(core.depth for core in self.cores)
            widest = max(layer.params.weight_format.width for layer in network.layers)
            largest = max(layer.params.n for layer in network.layers)
            members.update({
                "w_en": In(1), "w_layer": In(8), "w_lane": In(8), "w_addr": In(range(deepest)),
                "w_data": In(signed(widest)),
                "r_layer": In(8), "r_lane": In(8), "r_addr": In(range(max(deepest, largest))),
                "r_weight": Out(signed(widest)), "r_state": Out(ProbeLayout),
            })
        #: the layer of each probe port (W consecutive ports per layer, slot order)
        self.probe_layers = probe_layers(network, lanes)
        if probe:
            members["probe"] = Out(probe_signature()).array(len(self.probe_layers))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cores = self.cores
        for index, core in enumerate(cores):
            m.submodules[f"layer_{index}"] = core

        # the first layer reads the input FIFO through a register slice (the block RAM's read
        # data would otherwise drive its phase logic); a step starts only once the slices hold
        # the first item of the group, so the layer never waits on it. Every layer (and join)
        # reads through a ready slice: its handshake reaches the FIFO's logic from a register
        # every producer (-1: the input port) feeds the FIFO of the layer after it and those
        # of the residual joins that read it, all of which must have room for an event
        sinks = {source: [] for source in range(-1, len(cores))}
        fifo_in = m.submodules.fifo_in = EventFIFO(self.input_depth)
        sinks[-1].append(fifo_in.w)
        slice_in = m.submodules.slice_in = SkidBuffer(EventLayout)
        wiring.connect(m, fifo_in.r, slice_in.i)
        ready_in = m.submodules.ready_in = ReadySlice(EventLayout)
        wiring.connect(m, slice_in.o, ready_in.i)
        wiring.connect(m, ready_in.o, cores[0].i_events)
        for index in range(1, len(cores)):
            depth = 2 * (self.network.layers[index - 1].params.n + 1)
            fifo = m.submodules[f"fifo_{index}"] = EventFIFO(depth)
            sinks[index - 1].append(fifo.w)
            ready = m.submodules[f"ready_{index}"] = ReadySlice(EventLayout)
            wiring.connect(m, fifo.r, ready.i)
            wiring.connect(m, ready.o, cores[index].i_events)
        for index, layer in enumerate(self.network.layers):
            if layer.shortcut is None:
                continue
            source = layer.shortcut.source
            depth = (self.input_depth if source < 0
                     else 2 * (self.network.layers[source].params.n + 1))
            fifo = m.submodules[f"fifo_join_{index}"] = EventFIFO(depth)
            sinks[source].append(fifo.w)
            ready = m.submodules[f"ready_join_{index}"] = ReadySlice(EventLayout)
            wiring.connect(m, fifo.r, ready.i)
            wiring.connect(m, ready.o, cores[index].i_short)
        _broadcast(m, self.i_events, sinks[-1])
        for index in range(len(cores) - 1):
            _broadcast(m, cores[index].o_events, sinks[index])
        fifo_out = m.submodules.fifo_out = EventFIFO(self.output_depth)
        wiring.connect(m, cores[-1].o_events, fifo_out.w)
        wiring.connect(m, fifo_out.r, wiring.flipped(self.o_events))
        if "w_en" in self.signature.members:
            for index, core in enumerate(cores):
                m.d.comb += [
                    core.w_en.eq(self.w_en & (self.w_layer == index)),
                    core.w_lane.eq(self.w_lane),
                    core.w_addr.eq(self.w_addr),
                    core.w_data.eq(self.w_data),
                    core.r_lane.eq(self.r_lane),
                    core.r_addr.eq(self.r_addr),
                ]
            # a weight and a state come two cycles after their address: the weight is read
            # into the synaptic engine's register first (no logic follows a weight block RAM),
            # the state's address is registered first (no logic precedes the state's LUT RAM)
            r_layer_1, r_layer_2 = Signal.like(self.r_layer), Signal.like(self.r_layer)
            m.d.sync += [r_layer_1.eq(self.r_layer), r_layer_2.eq(r_layer_1)]
            for index, core in enumerate(cores):
                with m.If(r_layer_2 == index):
                    m.d.comb += [self.r_state.eq(core.r_state), self.r_weight.eq(core.r_weight)]
        if "probe" in self.signature.members:
            ports = iter(self.probe)
            for core in cores:
                for port in core.probe:
                    wiring.connect(m, port, wiring.flipped(next(ports)))

        # ---- step controller ---------------------------------------------------------------
        def transfer(port, marker):
            return port.valid & port.ready & (port.payload.marker == marker)

        # complete input steps in the input FIFO and the slices (``input_entries``), one more
        # while a marker the first layer took is not counted yet
        groups = Signal(range(self.input_entries + 2))
        has_group = Signal()  # groups != 0, a register: it starts the step
        grow = transfer(self.i_events, 1)
        # a marker taken by the first layer is counted a cycle later (off the layer's
        # handshake): no step can start in that cycle, the layer is still in its step
        shrink = Signal()
        m.d.sync += shrink.eq(transfer(cores[0].i_events, 1))
        with m.If(grow & ~shrink):
            m.d.sync += [groups.eq(groups + 1), has_group.eq(1)]
        with m.Elif(shrink & ~grow):
            m.d.sync += [groups.eq(groups - 1), has_group.eq(groups != 1)]

        running = Signal()
        cycles_so_far = Signal(32)  # of the step running
        all_idle = Signal()
        m.d.comb += all_idle.eq(_all(core.idle for core in cores))
        between_steps = ~running & all_idle
        go = between_steps & has_group & ready_in.o.valid & ~self.clear
        m.d.comb += self.idle.eq(between_steps)
        for core in cores:
            m.d.comb += [core.go.eq(go), core.clear.eq(between_steps & self.clear)]
        with m.If(go):
            m.d.sync += [running.eq(1), cycles_so_far.eq(1)]
        with m.Elif(running):
            with m.If(all_idle):
                m.d.sync += [
                    running.eq(0),
                    self.step_cycles.eq(cycles_so_far),
                    self.steps.eq(self.steps + 1),
                ]
            with m.Else():
                m.d.sync += cycles_so_far.eq(cycles_so_far + 1)

        # ---- counters ----------------------------------------------------------------------
        # the increments of a cycle are registered and added in the next one, so that a
        # 32-bit carry chain never follows the layers' control logic (the counters lag one
        # cycle, the saturations two: they are read while the core is idle, which it is two
        # cycles after a layer's last update at the earliest, its marker between them)
        lanes = self.lanes
        increments = {
            "run_cycles": running,  # every cycle of a step: the sum of the steps' cycles
            "events": sum(core.ev_taken for core in cores),
            "synops": const_mul(sum(core.issue for core in cores), lanes),
            "saturations": sum(core.sat for core in cores),
            "stall_cycles": sum(core.stall for core in cores),
            "in_events": transfer(self.i_events, 0),
            "out_events": transfer(self.o_events, 0),
        }
        m.d.sync += self.cycles.eq(self.cycles + 1)
        for name, value in increments.items():
            counter, step = getattr(self, name), self.increments[name]
            m.d.sync += [step.eq(value), counter.eq(counter + step)]
        return m


def _broadcast(m, stream, sinks):
    """Connect the events of ``stream`` (its ``valid`` and ``payload`` driven elsewhere, its
    ``ready`` here) to every FIFO input of ``sinks``: an event moves when all have room."""
    if len(sinks) == 1:
        m.d.comb += [sinks[0].valid.eq(stream.valid), sinks[0].payload.eq(stream.payload),
                     stream.ready.eq(sinks[0].ready)]
        return
    ready = _all(sink.ready for sink in sinks)
    m.d.comb += stream.ready.eq(ready)
    for sink in sinks:
        m.d.comb += [sink.valid.eq(stream.valid & ready), sink.payload.eq(stream.payload)]


def _all(bits):
    result = None
    for bit in bits:
        result = bit if result is None else result & bit
    return result


def _depth(name, value, minimum, default):
    if value is None:
        return max(default, minimum, 2)
    if isinstance(value, bool) or not isinstance(value, int) or value < max(minimum, 2):
        raise ValueError(f"{name} must be an integer of at least {max(minimum, 2)}, not {value!r}")
    return value

