r"""Memories of a network on a target, the block RAMs and LUTs they cost, and the fit check.

Memories (:mod:`spikeforge.hdl.lif_layer`, :mod:`spikeforge.hdl.network_core`). Per layer of
:math:`N` neurons, :math:`P` lanes, :math:`Q = N/P`, :math:`R` synaptic rows (:math:`N_{in}`,
plus :math:`N` if recurrent):

* per lane: ``weights`` :math:`R\,Q \times w_W` (:math:`N\,R` words over the lanes; a
  convolutional layer holds its kernel instead, :math:`C_{in} K^2 G` words per lane with
  :math:`G = C_{out}/P`, :func:`~spikeforge.link.memory_layout.lane_depth`, and two ROMs, its
  ``input map`` and ``pair list`` (:mod:`spikeforge.hdl.conv_layer`), and so does a pooled
  dense layer over a square map, as the convolution it is; a pooled dense layer over a map
  that is not square is stored *unrolled*, one word per connection
  (:func:`~spikeforge.link.memory_layout.core_layer`); a residual join adds its 1×1 kernel's
  rows and a FIFO of its source's events; :func:`weight_words` gives the counts) and
  ``accumulators`` :math:`Q \times w_a`; a layer with same-step recurrence keeps the
  recurrent sum apart: its ``accumulators`` hold the feed-forward sum (:math:`N_{in}` rows)
  and ``recurrent accumulators`` :math:`Q \times w_r` the recurrent one (:math:`N` rows);
* per layer: ``state`` :math:`N/W \times W (w_I + w_U\ [+ w_b])`, ``bias``
  :math:`N/W \times W w_I` (if any), with :math:`W` the neurons the update reads a cycle
  (:func:`~spikeforge.link.memory_layout.update_lanes`: :math:`P` in a dense layer whose lane
  count is a power of two, else 1), ``spike buffer`` :math:`N \times \lceil\log_2 N\rceil`
  (spiking layers);
* event FIFOs: the input FIFO (:math:`2(N_{in}+1)` entries of 17 bits), one between layers
  and the output FIFO (:math:`2(N+1)` entries of :math:`1 + \lceil\log_2 N\rceil` bits:
  Yosys drops address bits that are always zero).

An output FIFO of at most 128 bits is left to flip-flops; any other memory of
:math:`d \times w` takes :math:`\min_{(D, W)} \lceil d/D\rceil \lceil w/W\rceil` block RAMs
over the block's aspect ratios (``Target.bram_shapes``). On iCE40 the model gives
30 ``ICESTORM_RAM`` for the 64-128-10 digits network at one lane, what the full bitstream flow
(``benchmarks/boards.py``: Yosys, nextpnr) places; against Yosys ``synth_ice40 -noabc`` alone,
over 12 calibration designs (1 to 3 layers, 32 to 300 neurons, 1 to 4 lanes, 4/8-bit weights,
16/24-bit state) it is exact for 4, one block above for 2 and one below for the 6 with a
10-neuron output layer (whose 105-bit output FIFO Yosys alone puts in a block RAM; calibrated
with event FIFOs one entry shallower than now). On ECP5 small memories may go to LUT RAM, so
there it is an upper bound.

With learning units (a :class:`~spikeforge.model.learning.LearningConfig`) their memories count
too (:func:`spikeforge.hdl.learning_unit.memory_shapes`,
:func:`spikeforge.hdl.learning_core.memory_shapes`: traces, eligibilities, gradients, captured
state, neuron factors, errors, presynaptic spikes): 30 blocks for SuperSpike readout learning of
the learning demo's 64-64-10 network with its first layer's weights in SPRAM, what nextpnr
places. A learning layer's weights never go to SPRAM (its unit writes the weights it reads).

LUTs (:func:`estimate_luts`): a linear model fitted to Yosys ``synth_ice40 -noabc`` LUT4 counts
of 12 designs (1 to 3 layers, 32 to 300 neurons, 1 to 4 lanes, 4/8-bit weights, 16/24-bit
state; residuals within 8 %, largest 132 LUTs):

.. math::

    \mathrm{LUT4} \approx 396 + \sum_l \big(-45 + 79\,(P-1) + 13.2\,\tfrac{w_I+w_U}{2}
                              + 35.9\,\lceil\log_2 (R_l Q_l)\rceil\big)

plus :math:`16.7\,(W - 1)\,\tfrac{w_I+w_U}{2}` for the extra update datapaths of a layer that
updates :math:`W` neurons a cycle (measured: +1,605 LUT4 for the six of a 64-128-12 network at
:math:`P = 4`, 2,214 → 3,819), and, for decays of more than one term (contract version 2),
one adder per extra term and state, :math:`w + 3` LUTs each (the tree's sums are up to 3 bits
wider than the state :math:`w`; measured: +255 logic cells on the UP5K for the digits network
with 4-term decays of I and U in both layers, ``benchmarks/boards.py --decay-terms 1,4``).

``-noabc`` maps logic pessimistically, so the estimate errs high. The bitstream build reports
the true numbers.
"""

import math
from dataclasses import replace

import numpy as np

from ..hdl.arith import input_accumulator_width, recurrent_accumulator_width
from ..hdl.conv_layer import rom_shapes
from ..hdl.weight_spram import spram_blocks
from ..link.memory_layout import check_lanes, core_layer, is_convolutional, lane_depth, update_lanes
from ..model import IntFormat, Layer, LayerParams, Network, NeuronKind, RateEncoding
from .targets import TARGETS

__all__ = ["FitError", "allocate", "bram_blocks", "check_fit", "estimate_luts", "largest_dense",
           "spram_plan", "weight_words"]

#: SPRAMs the board's host link keeps on an UltraPlus: its frame and output buffers
#: (``hdl/link_ram.py``). Its counter bank takes the other two unless weights need them
#: (:func:`spram_plan`; the counters then take block RAM).
LINK_SPRAMS = 2
EVENT_BITS = 17  #: address (16) and marker (1) of an event (``hdl.events``)
LOGIC_BITS = 128  #: an output FIFO this small is left to flip-flops by the bitstream flow

#: Yosys (``memory_libmap``) prices a block RAM at 64 bits of logic: a memory that costs fewer
#: bits than its blocks do is left to flip-flops. It decides the wide, shallow state and bias
#: words of a layer that updates several neurons a cycle (3 words of 4 × 33 bits: flip-flops,
#: not 8 blocks); the other memories keep the calibrated rules above.
BLOCK_COST_BITS = 64


class FitError(ValueError):
    """The network does not fit the target: what, how much, and what to change."""


def bram_blocks(depth, width, shapes):
    """Block RAMs a ``depth × width`` memory takes with the best aspect ratio in ``shapes``."""
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in shapes)


def _bits(n):
    return max(1, (n - 1).bit_length())


def weight_words(layer) -> dict:
    r"""Weight words of ``layer``: ``stored``, what its network file holds (a kernel
    :math:`C_{out} C_{in} K^2` for a convolution, :math:`N\,C H_p W_p` for a pooled dense
    layer); ``held``, what its core's weight memories hold (the kernel for a convolution, the
    unrolled matrix for a pooled dense layer); and ``unrolled``, the same layer as a dense one,
    :math:`N\,N_{in}`; all plus :math:`N^2` recurrent words for a recurrent layer, and a
    residual join's 1×1 kernel (:math:`N\,N_{src}` unrolled)."""
    p = layer.params
    recurrent = p.n * p.n if p.recurrent else 0
    unrolled = p.n * p.n_in + recurrent
    stored = int(layer.weight.size) + recurrent
    if layer.shortcut is not None:  # a residual join's 1×1 kernel, or its dense image
        stored += int(layer.shortcut_weight.size)
        unrolled += p.n * layer.shortcut.connectivity.n_in
    return {"stored": stored,
            "held": _held_depth(layer, 1),
            "unrolled": unrolled}


def _unrolled_note(network):
    """A sentence on the pooled dense layers ``network`` holds unrolled (empty if none)."""
    rows = []
    for index, layer in enumerate(network.layers):
        if layer.connectivity is None or is_convolutional(core_layer(layer)):
            continue
        words = weight_words(layer)
        rows.append(f"{layer.name or f'layer{index}'!r} {words['stored']} stored as "
                    f"{words['held']} unrolled")
    if not rows:
        return ""
    return ("Pooled dense layers over maps that are not square are held unrolled, one weight "
            "word per connection "
            f"(weight words: {'; '.join(rows)}): more pooling or fewer channels before them "
            "shrink them. ")


def _memory(target, layer, kind, lane, depth, width, logic_bits=0):
    bits = depth * width
    blocks = 0 if bits <= logic_bits else bram_blocks(depth, width, target.bram_shapes)
    return {"layer": layer, "memory": kind, "lane": lane, "depth": depth, "width": width,
            "bits": bits, "blocks": blocks}


def _word_memory(target, layer, kind, depth, width):
    """A state or bias memory: flip-flops where its bits cost less than its blocks
    (:data:`BLOCK_COST_BITS`)."""
    memory = _memory(target, layer, kind, None, depth, width)
    if memory["bits"] < BLOCK_COST_BITS * memory["blocks"]:
        memory["blocks"] = 0
    return memory


def allocate(network, lanes, target, learning=None):
    """Every memory of the design with its size and block count on ``target`` (``learning``:
    a :class:`~spikeforge.model.learning.LearningConfig`, whose units' memories are added); a
    weight memory :func:`spram_plan` puts in SPRAM takes no block RAM and says how many SPRAMs
    it takes."""
    plan = spram_plan(network, lanes, target, learning)
    return (_allocate(network, lanes, target, plan)
            + _learning_memories(network, lanes, target, learning))


def _learning_memories(network, lanes, target, learning):
    """The learning units' block memories (:func:`spikeforge.hdl.learning_unit.memory_shapes`)
    and the learning core's (:func:`spikeforge.hdl.learning_core.memory_shapes`), none
    without ``learning``."""
    if not learning:
        return []
    from ..hdl import learning_core, learning_unit

    def name(index):
        return "learning" if index is None else network.layers[index].name or f"layer{index}"

    unit_memories = [
        _memory(target, name(index), f"learning {kind}", None, depth, width)
        for index in learning.layers
        for kind, (depth, width) in learning_unit.memory_shapes(network, learning, index,
                                                                lanes).items()]
    return unit_memories + [
        _memory(target, name(index), f"learning {kind}", None, depth, width)
        for (kind, index), (depth, width) in learning_core.memory_shapes(network, learning,
                                                                          lanes).items()]


def spram_plan(network, lanes, target, learning=None):
    """``(layer, lane)`` weight memories held in the UltraPlus SPRAM on ``target``.

    None while the block RAMs hold the design (its timing and its boot-time weights stay as
    they are); else the weight memories that free the most block RAMs go first, while SPRAMs
    are left beside the host link's (:data:`LINK_SPRAMS`) and until the rest fits. SPRAM
    starts empty, so such a design runs once its weights are deployed. With ``learning`` (a
    :class:`~spikeforge.model.learning.LearningConfig`) the units' memories count, and the
    weights of a learning layer stay in block RAM: its unit reads and writes them in one
    cycle, which a single-port SPRAM cannot.
    """
    free = target.spram_blocks - LINK_SPRAMS
    if free <= 0 or target.bram_blocks is None:
        return frozenset()
    memories = (_allocate(network, lanes, target, frozenset())
                + _learning_memories(network, lanes, target, learning))
    short = sum(m["blocks"] for m in memories) - target.bram_blocks
    if short > 0:  # the SPRAMs the link's counters would take go to weights: they need blocks
        short += _link_counters(target)["blocks"]
    learning_layers = set(learning.layers) if learning else set()
    weights = []  # (blocks, layer, lane, SPRAMs) of every weight memory
    for index, layer in enumerate(network.layers):
        if index in learning_layers:
            continue
        depth, width = _held_depth(layer, lanes), layer.params.weight_format.width
        blocks = bram_blocks(depth, width, target.bram_shapes)
        weights += [(blocks, index, lane, spram_blocks(depth, width)) for lane in range(lanes)]
    weights.sort(key=lambda w: (-w[0], w[1], w[2]))
    plan = set()
    for blocks, index, lane, need in weights:
        if short <= 0:
            break
        if need is not None and need <= free:
            plan.add((index, lane))
            free -= need
            short -= blocks
    return frozenset(plan) if short <= 0 else frozenset()


def _link_counters(target):
    """The host link's counter bank (``hdl/counter_bank.py``) in block RAM: on an UltraPlus it
    takes two SPRAMs instead, unless weights take them (:func:`spram_plan`)."""
    from ..hdl.host_link import BANKED

    return _memory(target, "host link", "counters", None, len(BANKED), 32)


def _allocate(network, lanes, target, plan):
    memories = [_link_counters(target)] if plan else []
    for index, layer in enumerate(network.layers):
        p = layer.params
        name = layer.name or f"layer{index}"
        q = check_lanes(layer, lanes)
        for lane in range(lanes):
            memory = _memory(target, name, "weights", lane, _held_depth(layer, lanes),
                             p.weight_format.width)
            if (index, lane) in plan:
                memory.update(blocks=0, spram_blocks=spram_blocks(memory["depth"],
                                                                  memory["width"]))
            memories.append(memory)
            memories.append(_memory(target, name, "accumulators", lane, q,
                                    input_accumulator_width(p)))
            if p.same_step_recurrence:
                memories.append(_memory(target, name, "recurrent accumulators", lane, q,
                                        recurrent_accumulator_width(p)))
        state_width = p.current_format.width + p.potential_format.width
        if p.kind is NeuronKind.ALIF:
            state_width += p.trace_format.width
        # a state (and bias) word holds the W neurons one update cycle reads
        w = update_lanes(layer, lanes)
        for kind, width in (("state", state_width),
                            *((("bias", p.current_format.width),) if p.bias else ())):
            memories.append(_word_memory(target, name, kind, p.n // w, w * width))
        if p.spiking:
            memories.append(_memory(target, name, "spike buffer", None, p.n, _bits(p.n)))
        if is_convolutional(core_layer(layer)):
            for kind, depth, width in rom_shapes(core_layer(layer), lanes):
                memories.append(_memory(target, name, kind, None, depth, width))
    memories.append(_memory(target, "input", "event FIFO", None, 2 * (network.n_in + 1),
                            EVENT_BITS))
    for index, layer in enumerate(network.layers):
        n, last = layer.params.n, index == len(network.layers) - 1
        memories.append(_memory(target, layer.name or f"layer{index}", "event FIFO", None,
                                2 * (n + 1), 1 + _bits(n), LOGIC_BITS if last else 0))
    for index, layer in enumerate(network.layers):  # a residual join's own FIFO
        if layer.shortcut is not None:
            source = layer.shortcut.source
            n = network.n_in if source < 0 else network.layers[source].params.n
            memories.append(_memory(target, layer.name or f"layer{index}", "join event FIFO",
                                    None, 2 * (n + 1), 1 + _bits(n)))
    return memories


def estimate_luts(network, lanes):
    """LUT4 estimate of the network core (see the module for the model)."""
    total = 396.0
    for layer in network.layers:
        p = layer.params
        check_lanes(layer, lanes)
        state = (p.current_format.width + p.potential_format.width) / 2
        depth_bits = max(1, math.ceil(math.log2(max(2, _held_depth(layer, lanes)))))
        total += -45 + 79 * (lanes - 1) + 13.2 * state + 35.9 * depth_bits
        total += (update_lanes(layer, lanes) - 1) * 16.7 * state  # the update's datapaths
        for decay, fmt in ((p.k_syn, p.current_format), (p.k_mem, p.potential_format),
                           (p.k_adapt, p.trace_format)):
            total += (len(decay.terms) - 1) * (fmt.width + 3)
    return math.ceil(total)


def _held_depth(layer, lanes):
    """Weight words per lane the core holds: the kernel's (a convolution, a pooled dense layer
    over a square map) or the matrix's (dense; other pooled dense layers unrolled)."""
    return lane_depth(layer, lanes)


def _fewer_lanes(network, lanes, target, learning):
    """A sentence naming the most lanes below ``lanes`` that fit ``target``, if any."""
    for fewer in range(lanes - 1, 0, -1):
        blocks = _fitting_blocks(network, fewer, target, learning)
        if blocks is not None:
            return f"With {fewer} lane(s) it needs {blocks} block RAMs and fits. "
    return ""


def _spram_note(target, learning):
    """A sentence on the UltraPlus SPRAM a design that does not fit could not use (if any)."""
    free = target.spram_blocks - LINK_SPRAMS
    if free <= 0:
        return ""
    learning_layers = "; a learning layer's stay in block RAM (its unit needs a second port)"
    return (f"Its {free} SPRAMs beside the host link's ({target.spram_block_bits // 1024} kbit "
            f"each, weights only{learning_layers if learning else ''}) cannot take enough "
            "weight memories for the rest to fit. ")


def _fitting_blocks(network, lanes, target, learning):
    """The block RAMs ``network`` takes where it fits ``target`` (block RAM, SPRAM, LUT
    estimate); ``None`` where it does not, or where ``lanes`` does not divide a layer."""
    try:
        blocks = sum(m["blocks"] for m in allocate(network, lanes, target, learning))
    except ValueError:
        return None
    fits = ((target.bram_blocks is None or blocks <= target.bram_blocks)
            and (target.luts is None or estimate_luts(network, lanes) <= target.luts))
    return blocks if fits else None


def _with_weight_bits(layer, bits):
    """``layer`` with ``bits``-bit weights (zeros: only the sizes matter here)."""
    zero = {name: None if getattr(layer, name) is None else np.zeros_like(getattr(layer, name))
            for name in ("weight", "recurrent", "shortcut_weight")}
    return replace(layer, params=replace(layer.params, weight_format=IntFormat(bits)), **zero)


def _narrower_weights(network, lanes, target, learning):
    """A sentence naming the widest weight format below ``network``'s that fits, if any."""
    widest = max(layer.params.weight_format.width for layer in network.layers)
    for bits in (b for b in (8, 6, 4, 3, 2) if b < widest):
        narrow = replace(network, layers=tuple(
            _with_weight_bits(layer, min(bits, layer.params.weight_format.width))
            for layer in network.layers))
        if _fitting_blocks(narrow, lanes, target, learning) is not None:
            return f"With {bits}-bit weights (--weight-bits {bits}) it fits. "
    return ""


def largest_dense(target, bits=8, lanes=1, step=16, limit=4096):
    """``(H, synapses)`` of the largest ``H → H → 10`` network of ``bits``-bit weights that
    ``target`` holds by this model (block RAM, SPRAM, LUT estimate); ``(0, 0)`` if none."""
    def network(h):
        fmt = IntFormat(bits)
        return Network((Layer(LayerParams(h, h, weight_format=fmt), np.zeros((h, h), int)),
                        Layer(LayerParams(h, 10, weight_format=fmt), np.zeros((10, h), int))),
                       RateEncoding(steps=8, levels=4))

    best = 0
    for h in range(step, limit + 1, step):  # more neurons never need less: stop at a miss
        if _fitting_blocks(network(h), lanes, target, None) is None:
            break
        best = h
    return best, best * best + 10 * best


def _what_fits(network, lanes, target, learning):
    """What would fit ``target``: narrower weights, or the largest dense network it holds."""
    narrower = _narrower_weights(network, lanes, target, learning)
    if narrower:
        return narrower
    h, synapses = largest_dense(target, 8, lanes)
    mine = sum(weight_words(layer)["unrolled"] for layer in network.layers)
    return (f"For scale: the largest dense H → H → 10 network of 8-bit weights it holds has "
            f"H = {h} ({synapses} synapses); this one has {mine}. " if h else "")


def _advice(target):
    """What to change; a larger board only where there is one."""
    larger = [t.name for t in TARGETS.values()
              if t.bram_blocks is not None and target.bram_blocks is not None
              and t.bram_blocks > target.bram_blocks]
    return ("Use fewer lanes (each lane adds an accumulator memory and rounds its weights up to "
            "whole blocks), narrower weight or state formats (--weight-bits, --state-bits when "
            "importing), or fewer neurons"
            + (f", or a larger target ({', '.join(larger)})." if larger else
               f": {target.name} is the largest board spikeforge builds for."))


def check_fit(network, lanes, target, learning=None):
    """Allocate and refuse a design that needs more block RAM or LUTs than ``target`` has
    (``learning``: a :class:`~spikeforge.model.learning.LearningConfig`, with learning units,
    their memories counted and their layers' weights kept in block RAM)."""
    memories = allocate(network, lanes, target, learning)
    blocks = sum(m["blocks"] for m in memories)
    bits = sum(m["bits"] for m in memories)
    luts = estimate_luts(network, lanes)
    words = [{"layer": layer.name or f"layer{index}", **weight_words(layer)}
             for index, layer in enumerate(network.layers)]
    summary = {"memories": memories, "bram_blocks": blocks, "bram_bits": bits,
               "weight_words": words,
               "weight_words_stored": sum(w["stored"] for w in words),
               "weight_words_held": sum(w["held"] for w in words),
               "weight_words_unrolled": sum(w["unrolled"] for w in words),
               "bram_blocks_available": target.bram_blocks,
               "bram_bits_available": None if target.bram_blocks is None
               else target.bram_blocks * target.bram_block_bits,
               "luts_estimate": luts, "luts_available": target.luts, "dsps": 0,
               "spram_blocks": sum(m.get("spram_blocks", 0) for m in memories),
               "spram_blocks_available": target.spram_blocks}
    if target.bram_blocks is not None and blocks > target.bram_blocks:
        largest = max(memories, key=lambda m: m["blocks"])
        lane = "" if largest["lane"] is None else f", lane {largest['lane']}"
        raise FitError(
            f"the network does not fit {target.name} ({target.device}): its memories need "
            f"{blocks} block RAMs ({bits} bits) but the device has {target.bram_blocks} of "
            f"{target.bram_block_bits} bits ({target.bram_blocks * target.bram_block_bits} bits). "
            f"Largest memory: {largest['memory']} of layer {largest['layer']!r}{lane}, "
            f"{largest['depth']} × {largest['width']} bits = {largest['bits']} bits in "
            f"{largest['blocks']} blocks. {_spram_note(target, learning)}"
            f"{_unrolled_note(network)}{_fewer_lanes(network, lanes, target, learning)}"
            f"{_what_fits(network, lanes, target, learning)}{_advice(target)}")
    if target.luts is not None and luts > target.luts:
        raise FitError(
            f"the network does not fit {target.name} ({target.device}): its logic needs about "
            f"{luts} LUT4 (estimate) but the device has {target.luts}. {_advice(target)}")
    return summary
