r"""Event-driven core of one convolutional layer: :class:`ConvLIFLayer`, a drop-in for
:class:`~spikeforge.hdl.lif_layer.LIFLayer` that keeps the *kernel*, not the unrolled matrix.

The layer (:mod:`spikeforge.model.connectivity`) reads its input as a ``C_in × H × W`` spike map,
sum-pools it by ``p`` to ``C_in × H_p × W_p`` and convolves it with ``C_out`` kernels
``C_in × K × K`` (stride ``S``, zero padding ``Q``) into the ``C_out × H_o × W_o`` map of its
neurons:

.. math::

    \Sigma_{o,y,x} = \sum_{c,i,j} W_{o,c,i,j}\, P_{c,\,Sy+i-Q,\,Sx+j-Q}

An input event ``j = (c·H + y)·W + x`` therefore adds, for every kernel offset ``(i, j')``
whose output position :math:`(y_o, x_o) = ((p_y + Q - i)/S, (p_x + Q - j')/S)` is whole and
inside the map (:math:`p_y = \lfloor y/p \rfloor`, :math:`p_x = \lfloor x/p \rfloor`, its pooled
cell), the weight :math:`W_{o,c,i,j'}` to neuron :math:`(o, y_o, x_o)` of every channel ``o``.
These *pairs* (kernel offset, output position) depend only on the cell; they are computed here,
in Python, when the core is built (:func:`conv_tables`), and held in two small ROMs:

* the **input map** (``n_in`` words): input ``j`` → its channel's weight base
  :math:`c K^2 G`, the first and last index of its cell's pairs in the pair list, and whether
  it has none (a cell no kernel offset reaches, or an input past the last whole pooling
  window, which pooling drops);
* the **pair list** (one word per pair, at most :math:`H_o W_o K^2`): kernel offset times
  ``G`` and output position :math:`y_o W_o + x_o`.

With ``P`` lanes over the output channels (``P`` divides ``C_out``, :math:`G = C_{out}/P`
channel groups), lane ``p`` holds channel :math:`o = gP + p`: its kernel words at
:math:`(c K^2 + iK + j)\,G + g` (:mod:`spikeforge.link.memory_layout`) and its accumulators at
:math:`g H_o W_o + y_o W_o + x_o`. An event with :math:`m` pairs is :math:`m G` synaptic cycles
(for every pair, the ``G`` groups; each cycle ``P`` operations, one per lane), all addresses
running sums of ROM words and counters: no product is formed in hardware.

Pipeline of the synaptic engine (no stage ever waits in the input phase while events come):

1. **take**: the event's address reads the input map (a sync ROM);
2. **next**: the map word is registered (a one-entry queue; the map's read port holds its word
   while the queue is full);
3. **walk** (W0): the walker holds the current pair index ``k`` (the pair list's read address),
   the group ``g`` and the running sums :math:`c K^2 G + g` and :math:`g H_o W_o`; it spends
   :math:`\max(mG, 1)` cycles on an event (an event without pairs takes one empty cycle) and
   loads the next one from the queue in the cycle its last one ends;
4. **issue** (W1): weight address :math:`cK^2G + g + (iK+j)G`, accumulator address
   :math:`y_oW_o + x_o + gH_oW_o`, then the three-stage accumulator read-modify-write of
   :class:`~spikeforge.hdl.lif_layer.LIFLayer` (weight read; accumulator read; add and write,
   the read transparent to the write).

The marker is taken once the queue and the walker are empty (the last operation then issues, as
in the dense core), so the phases after it are exactly :class:`LIFLayer`'s. A step with ``E > 0``
input events of pair counts :math:`m_e` keeps the core busy for

.. math::

    C = N + 6 + L + 3 + \sum_e \max(m_e G, 1)

cycles (``E = 0``: :math:`N + 6 + L`, as a dense layer): the 3 cycles fill the map read, the
queue and the walker (see :mod:`spikeforge.hdl.schedule`).

Residual join (``layer.shortcut``, :mod:`spikeforge.model.shortcut`): the source's events
arrive on a second port, ``i_short``, and are taken after the input's marker (``SYN_SHORT``)
exactly as the input's are: the input map lists the source's inputs after the layer's own
(address ``n_in + j``), the pair list the 1×1 kernel's pairs after the kernel's (kernel offset
0), and the join's weights follow the kernel in every lane (rows :math:`C_{in} K^2 + c`). The
step then costs :math:`1 + [E' > 0]\,(3 + \sum_e \max(m'_e G, 1))` more cycles for
:math:`E'` join events (one cycle for the input's marker, then the same fill).

Update: one neuron per clock in ascending :math:`i = o H_o W_o + y_o W_o + x_o`, the lane and the
accumulator address from counters (position, lane, group base); the probe records and output
events are :class:`LIFLayer`'s. The bias (per output channel in the model) is expanded to one
word per neuron (:meth:`~spikeforge.model.Connectivity.expand_bias`), read at the neuron index
exactly as a dense layer's. Convolutional layers are not recurrent.
"""

from typing import NamedTuple

import numpy as np
from amaranth.hdl import Mux, Signal, unsigned
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from ..link.memory_layout import conv_groups, is_convolutional, kernel_rows, lane_depth
from .events import event_signature
from .lif_layer import LIFLayer, Phase

__all__ = ["ConvLIFLayer", "ConvTables", "conv_tables", "rom_shapes"]


class ConvTables(NamedTuple):
    """The address maps of a convolution, as the ROMs of :class:`ConvLIFLayer` hold them."""

    channel: np.ndarray  #: (n_in,) input channel ``c`` of every input
    cell: np.ndarray  #: (n_in,) pooled cell :math:`p_y W_p + p_x` of every input, −1: dropped
    start: np.ndarray  #: (cells,) index of a cell's first pair in ``pairs``
    count: np.ndarray  #: (cells,) pairs of a cell
    pairs: np.ndarray  #: (total, 2) kernel offset :math:`iK + j` and output position, by cell
    input_pairs: np.ndarray  #: (n_in,) pairs of every input's cell (0 when dropped)


def conv_tables(conn) -> ConvTables:
    """The input map and the pair list of a convolutional ``Connectivity`` ``conn``.

    A cell :math:`(p_y, p_x)` of the pooled map reaches output position :math:`(y_o, x_o)`
    through kernel offset :math:`(i, j)` iff :math:`S y_o + i - Q = p_y` and
    :math:`S x_o + j - Q = p_x` with :math:`0 \\le y_o < H_o`, :math:`0 \\le x_o < W_o`; its pairs
    are listed in ascending :math:`(i, j)`."""
    if conn is None or conn.conv is None:
        raise ValueError("conv_tables needs a connectivity with a convolution")
    c_in, h, w = conn.input_shape
    _, hp, wp = conn.pooled_shape
    k, s, q = conn.conv.kernel, conn.conv.stride, conn.conv.padding
    _, ho, wo = conn.output_shape

    def outputs(cell_coord, size):  # (kernel index, output coordinate) of one axis
        found = []
        for i in range(k):
            shifted = cell_coord + q - i
            if shifted >= 0 and shifted % s == 0 and shifted // s < size:
                found.append((i, shifted // s))
        return found

    pairs, start, count = [], [], []
    for py in range(hp):
        rows = outputs(py, ho)
        for px in range(wp):
            cols = outputs(px, wo)
            start.append(len(pairs))
            pairs += [(i * k + j, oy * wo + ox) for i, oy in rows for j, ox in cols]
            count.append(len(pairs) - start[-1])
    index = np.arange(c_in * h * w)
    y, x = (index // w) % h, index % w
    py, px = y // conn.pool, x // conn.pool
    inside = (py < hp) & (px < wp)
    cell = np.where(inside, py * wp + px, -1)
    count = np.asarray(count, np.int64)
    return ConvTables(index // (h * w), cell, np.asarray(start, np.int64), count,
                      np.asarray(pairs, np.int64).reshape(-1, 2),
                      np.where(inside, count[np.maximum(cell, 0)], 0))


def _pack(fields, values):
    """One unsigned word of ``values`` in fields of ``fields`` bits, first field lowest."""
    word, shift = 0, 0
    for width, value in zip(fields, values, strict=True):
        word |= int(value) << shift
        shift += width
    return word


def _field(word, fields, index):
    low = sum(fields[:index])
    return word[low:low + fields[index]]


def _bits(count):
    """Bits of an unsigned value in ``0..count - 1`` (at least 1)."""
    return max(1, (count - 1).bit_length())


def _rom_fields(depth, pair_total, positions):
    """Field widths of an input-map word (weight base, first pair, last pair, empty) and of a
    pair-list word (kernel offset times ``G``, output position)."""
    return ((_bits(depth), _bits(pair_total), _bits(pair_total), 1),
            (_bits(depth), _bits(positions)))


def rom_words(layer, lanes):
    r"""The words of ``layer``'s two ROMs, ``(input map, pair list, map fields, pair fields)``.

    The input map lists the layer's inputs, then (a residual join) its source's inputs at
    ``n_in + j``; the join's pairs follow the kernel's in the pair list, with kernel offset 0
    (its kernel is 1×1) and weight base :math:`(C_{in} K^2 + c)\,G`, the rows after the kernel
    (:mod:`spikeforge.link.memory_layout`)."""
    conn, groups = layer.connectivity, conv_groups(layer, lanes)
    parts = [(conv_tables(conn), 0, conn.conv.kernel ** 2)]
    if layer.shortcut is not None:
        parts.append((conv_tables(layer.shortcut.connectivity), kernel_rows(layer), 1))
    pair_total = sum(len(t.pairs) for t, _, _ in parts)
    _, ho, wo = conn.output_shape
    map_fields, pair_fields = _rom_fields(lane_depth(layer, lanes), pair_total, ho * wo)
    input_map, pair_list = [], []
    for t, first_row, offsets in parts:
        first_pair = len(pair_list)
        for channel, cell in zip(t.channel, t.cell, strict=True):
            count = t.count[cell] if cell >= 0 else 0
            first = first_pair + (t.start[cell] if count else 0)
            input_map.append(_pack(map_fields, ((first_row + channel * offsets) * groups, first,
                                                first + max(count, 1) - 1, count == 0)))
        pair_list += [_pack(pair_fields, (koff * groups, pos)) for koff, pos in t.pairs]
    return input_map, pair_list, map_fields, pair_fields


def rom_shapes(layer, lanes) -> list:
    """``[(name, depth, width)]`` of the two ROMs of ``layer``'s :class:`ConvLIFLayer`, for the
    compiler's memory model."""
    input_map, pair_list, map_fields, pair_fields = rom_words(layer, lanes)
    return [("input map", len(input_map), sum(map_fields)),
            ("pair list", len(pair_list), sum(pair_fields))]


class ConvLIFLayer(LIFLayer):
    """One convolutional layer (``layer.connectivity.conv`` set, input maybe pooled) with
    ``lanes`` synaptic lanes over its output channels; see the module docstring.

    The constructor arguments and the ports are :class:`LIFLayer`'s; ``lanes`` must divide the
    output channel count ``C_out``. The weight memories (and the host port's ``w_addr`` and
    ``r_addr``) hold the kernel in the layout of :mod:`spikeforge.link.memory_layout`,
    :func:`~spikeforge.link.memory_layout.lane_depth` words per lane.

    A layer with a residual join (``layer.shortcut``) has a second input port, ``i_short``: the
    source's spikes of step ``n``, a marker closing the group. ``flush_short_on_clear``: on
    ``clear``, also drop the pending group there (a source layer emits a new empty group after
    its own clear; the network input does not).
    """

    #: a kernel's operations write any accumulator address in any order
    _adjacent_operations_share_accumulators = True

    def __init__(self, layer, *, lanes=1, flush_short_on_clear=False, **kwargs):
        super().__init__(layer, lanes=lanes, **kwargs)
        conn = layer.connectivity
        self.tables = conv_tables(conn)
        self.groups = conv_groups(layer, lanes)
        _, ho, wo = conn.output_shape
        self.positions = ho * wo  # H_o W_o: accumulators per channel group
        self.flush_short_on_clear = bool(flush_short_on_clear)

    def _check_layer(self, layer):
        """Refuse a layer without a convolution."""
        if not is_convolutional(layer):
            raise ValueError(
                f"layer {layer.name or '?'} has no convolution: ConvLIFLayer holds a "
                "convolutional layer's kernel; use LIFLayer for a dense layer")

    def _extra_ports(self):
        """``i_short``, the residual join's input (layers with a shortcut only)."""
        return {"i_short": In(event_signature())} if self.layer.shortcut is not None else {}

    def _bias_words(self):
        """The per-channel bias expanded to one word per neuron (read at the neuron index)."""
        return self.layer.connectivity.expand_bias(self.layer.bias)

    def _roms(self, m):
        """The input map and pair list ROMs with their read ports, their field widths and the
        number of pairs."""
        words, pairs, map_fields, pair_fields = rom_words(self.layer, self.lanes)
        input_map = Memory(shape=unsigned(sum(map_fields)), depth=len(words), init=words)
        pair_list = Memory(shape=unsigned(sum(pair_fields)), depth=len(pairs), init=pairs)
        m.submodules.input_map = input_map
        m.submodules.pair_list = pair_list
        return (input_map.read_port(), map_fields, pair_list.read_port(), pair_fields,
                len(pairs))

    def _synaptic_engine(self, m, hw):
        """Take an event, look up its pairs, walk them (``G`` groups each) and issue one
        operation per lane per cycle through the three-stage accumulator read-modify-write;
        adds the engine's handshake and counters to ``hw``."""
        p = self.layer.params
        q_max, g_max, how = self.q_per_lane, self.groups, self.positions
        w_rd, a_wr = hw.w_rd, hw.a_wr
        map_rd, map_fields, pair_rd, pair_fields, pair_total = self._roms(m)

        take = Signal()  # an input event is taken this cycle (driven by the input phase)
        # stage 1: the map read of the event taken in the previous cycle (map_rd.data)
        mr_valid = Signal()
        # stage 2: the one-entry queue of map words
        nx_valid = Signal()
        nx_base = Signal(range(self.depth))
        nx_first = Signal(range(pair_total))
        nx_last = Signal(range(pair_total))
        nx_empty = Signal()
        # stage 3: the walker (W0)
        w0_valid = Signal()
        w0_empty = Signal()
        k = Signal(range(pair_total))  # the pair list's read address
        k_end = Signal.like(k)
        k_last = Signal()  # k == k_end, a register
        base = Signal(range(self.depth))  # c K² G of the event
        w_run = Signal(range(self.depth))  # c K² G + g
        a_run = Signal(range(q_max))  # g H_o W_o
        g = Signal(range(g_max)) if g_max > 1 else None
        g_last = Signal() if g_max > 1 else 1  # g == G - 1, a register
        # stage 4: issue (W1)
        w1_valid = Signal()
        w1_w = Signal.like(w_run)
        w1_a = Signal.like(a_run)

        w0_done = w0_valid & (w0_empty | (k_last & g_last))
        w0_free = ~w0_valid | w0_done
        load = nx_valid & w0_free
        nx_in = mr_valid & (~nx_valid | load)
        mr_hold = mr_valid & ~nx_in
        room = Signal()  # an input event can be taken
        drained = Signal()  # every event taken has issued its last operation (or issues it now)
        m.d.comb += [room.eq(~mr_hold), drained.eq(~mr_valid & ~nx_valid & ~w0_valid)]

        address = self.i_events.payload.addr
        if self.layer.shortcut is not None:  # the join's inputs follow the layer's in the map
            address = Mux(hw.phase == Phase.SYN_SHORT,
                          self.i_short.payload.addr + self.layer.params.n_in, address)
        m.d.comb += [
            map_rd.addr.eq(address),
            map_rd.en.eq(~mr_hold),
            pair_rd.addr.eq(k),
        ]
        m.d.sync += mr_valid.eq(take | mr_hold)
        with m.If(nx_in):
            m.d.sync += [
                nx_valid.eq(1),
                nx_base.eq(_field(map_rd.data, map_fields, 0)),
                nx_first.eq(_field(map_rd.data, map_fields, 1)),
                nx_last.eq(_field(map_rd.data, map_fields, 2)),
                nx_empty.eq(_field(map_rd.data, map_fields, 3)),
            ]
        with m.Elif(load):
            m.d.sync += nx_valid.eq(0)

        with m.If(load):
            m.d.sync += [
                w0_valid.eq(1), w0_empty.eq(nx_empty), k.eq(nx_first), k_end.eq(nx_last),
                k_last.eq(nx_first == nx_last), base.eq(nx_base), w_run.eq(nx_base),
                a_run.eq(0),
            ]
            if g is not None:
                m.d.sync += [g.eq(0), g_last.eq(0)]
        with m.Elif(w0_done):
            m.d.sync += w0_valid.eq(0)
        with m.Elif(w0_valid):
            with m.If(g_last):  # the next pair
                m.d.sync += [k.eq(k + 1), k_last.eq(k + 1 == k_end), w_run.eq(base),
                             a_run.eq(0)]
                if g is not None:
                    m.d.sync += [g.eq(0), g_last.eq(0)]
            if g is not None:
                with m.Else():  # the next channel group
                    m.d.sync += [g.eq(g + 1), g_last.eq(g == g_max - 2), w_run.eq(w_run + 1),
                                 a_run.eq(a_run + how)]

        m.d.sync += [w1_valid.eq(w0_valid & ~w0_empty), w1_w.eq(w_run), w1_a.eq(a_run)]
        op_w = w1_w + _field(pair_rd.data, pair_fields, 0)  # (c K² + i K + j) G + g
        op_a = _field(pair_rd.data, pair_fields, 1) + w1_a  # g H_o W_o + y_o W_o + x_o

        # the accumulator read-modify-write of LIFLayer: read the weight (issue), register it
        # while the accumulator is read (1), add and write (2)
        s1_valid, s2_valid = Signal(), Signal()
        s1_q, s2_q = Signal(range(q_max)), Signal(range(q_max))
        m.d.sync += [s1_valid.eq(w1_valid), s1_q.eq(op_a), s2_valid.eq(s1_valid),
                     s2_q.eq(s1_q)]
        hw.s1_next = (w1_valid, op_a)  # what the s1 registers load
        m.d.comb += [self.ev_taken.eq(take), self.issue.eq(w1_valid)]
        for lane, w_reg in enumerate(self._weight_registers(m, hw)):
            m.d.comb += [
                w_rd[lane].addr.eq(op_w),
                a_wr[lane].addr.eq(s2_q),
                a_wr[lane].data.eq(hw.a_data[lane] + w_reg),
                a_wr[lane].en.eq(s2_valid),
            ]
        # the update's counters beyond LIFLayer's: the output position and the group's base
        upd_pos = Signal(range(how)) if how > 1 else None
        upd_base = Signal(range(q_max))
        rec_count = Signal(range(p.n + 1))  # spikes written to the spike buffer
        vars(hw).update(take=take, room=room, drained=drained, can_take=drained,
                        rec_count=rec_count, upd_pos=upd_pos,
                        upd_base=upd_base)

    def _input_phase(self, m, hw):
        """``SYN_IN``: take input events while the map stage has room; the marker once every
        event has left the walker, then the join's group (``SYN_SHORT``), if any."""
        following = Phase.SYN_REC if self.layer.shortcut is None else Phase.SYN_SHORT
        self._take_group(m, hw, self.i_events, following)

    def _shortcut_phase(self, m, hw):
        """``SYN_SHORT``: the join's events as ``SYN_IN`` takes the input's (the map reads them
        at ``n_in + j``)."""
        self._take_group(m, hw, self.i_short, Phase.SYN_REC)

    def _take_group(self, m, hw, stream, following):
        """Take the events of ``stream`` while the map stage has room; its marker once every
        event has left the walker, which starts phase ``following``."""
        event = stream.payload
        ready = Mux(event.marker, hw.drained, hw.room)
        m.d.comb += stream.ready.eq(ready)
        with m.If(stream.valid & ready):
            with m.If(event.marker):
                m.d.sync += hw.phase.eq(following)
            with m.Else():
                m.d.comb += hw.take.eq(1)

    def _inputs_flushed(self, m, hw, input_done):
        """``CLEAR`` drops the input's pending group and, with ``flush_short_on_clear``, the
        join's."""
        if self.layer.shortcut is None or not self.flush_short_on_clear:
            return input_done
        short_done = Signal()  # 0 again once the clear ends, for the next one
        m.d.comb += self.i_short.ready.eq(~short_done)
        with m.If(self.i_short.valid & ~short_done & self.i_short.payload.marker):
            m.d.sync += short_done.eq(1)
        done = input_done & short_done
        with m.If(hw.clr_state_done & done):
            m.d.sync += short_done.eq(0)
        return done

    def _recurrent_phase(self, m, hw):
        """``SYN_REC``: nothing to add (a convolutional layer is not recurrent); start the
        update one cycle later, as a dense layer without recurrent events does."""
        m.d.sync += [
            hw.phase.eq(Phase.UPDATE),
            hw.upd_start.eq(1), hw.upd_lane.eq(0),
            hw.upd_base.eq(0), hw.rec_count.eq(0),
        ]
        m.d.comb += hw.upd_a_next.eq(0)
        if hw.upd_pos is not None:
            m.d.sync += hw.upd_pos.eq(0)

    def _next_neuron(self, m, hw):
        """The update moves to the next neuron in ascending index: position fastest, then the
        lane, then the group (registers move with :meth:`_move`)."""
        upd_pos, upd_a = hw.upd_pos, hw.upd_a
        if upd_pos is None:  # one position per channel: every neuron a new channel
            self._next_channel(m, hw)
            return
        with m.If(upd_pos == self.positions - 1):  # the channel's last position
            self._move(m, hw, upd_pos.eq(0))
            self._next_channel(m, hw)
        with m.Else():
            self._move(m, hw, upd_pos.eq(upd_pos + 1))
            m.d.comb += hw.upd_a_next.eq(upd_a + 1)

    def _next_channel(self, m, hw):
        """The update moves to the next channel: the next lane at the group's base address, or
        after the last lane the next group, whose base follows the last address."""
        upd_lane, upd_a, upd_base = hw.upd_lane, hw.upd_a, hw.upd_base
        with m.If(upd_lane == self.lanes - 1):
            self._move(m, hw, upd_lane.eq(0), upd_base.eq(upd_a + 1))
            m.d.comb += hw.upd_a_next.eq(upd_a + 1)
        with m.Else():
            self._move(m, hw, upd_lane.eq(upd_lane + 1))
            m.d.comb += hw.upd_a_next.eq(upd_base)
