"""Memory allocation of a network on a target, and the check that it fits.

Each :class:`~spikeforge.hdl.lif_layer.LIFLayer` holds, per lane ``p`` (``Q = n / P`` neurons a
lane): a weight memory of ``rows × Q`` words of ``width(W)`` bits (``rows = n_in`` plus ``n``
with recurrence, :mod:`spikeforge.hdl.memory_layout`) and an accumulator memory of ``Q`` words;
per layer: the state memory (``n`` words of ``I``, ``U``, ``b``, ``s``), the bias memory and the
spike buffer of recurrent or feeding layers. A memory of ``d × w`` bits takes
``ceil(d·w / block_bits)`` block RAMs (at least one): an estimate that ignores the aspect-ratio
rounding of real block RAMs (the bitstream build reports the true count).
"""

import math

from ..hdl.arith import accumulator_width
from ..hdl.memory_layout import check_lanes, weight_rows
from ..model import NeuronKind

__all__ = ["FitError", "allocate", "check_fit"]


class FitError(ValueError):
    """The network does not fit the target: what, how much, and what to change."""


def _memory(layer_name, kind, lane, depth, width, block_bits):
    bits = depth * width
    return {"layer": layer_name, "memory": kind, "lane": lane, "depth": depth, "width": width,
            "bits": bits, "blocks": max(1, math.ceil(bits / block_bits))}


def allocate(network, lanes, target):
    """Every memory of the design with its size and block count on ``target``."""
    memories = []
    for index, layer in enumerate(network.layers):
        p = layer.params
        name = layer.name or f"layer{index}"
        q = check_lanes(layer, lanes)
        for lane in range(lanes):
            memories.append(_memory(name, "weights", lane, weight_rows(layer) * q,
                                    p.weight_format.width, target.bram_block_bits))
            memories.append(_memory(name, "accumulators", lane, q, accumulator_width(p),
                                    target.bram_block_bits))
        state_width = (p.current_format.width + p.potential_format.width + 1
                       + (p.trace_format.width if p.kind is NeuronKind.ALIF else 1))
        memories.append(_memory(name, "state", None, p.n, state_width, target.bram_block_bits))
        if p.bias:
            memories.append(_memory(name, "bias", None, p.n, p.current_format.width,
                                    target.bram_block_bits))
        if p.spiking:
            memories.append(_memory(name, "spike buffer", None, p.n,
                                    max(1, (p.n - 1).bit_length()), target.bram_block_bits))
    return memories


def check_fit(network, lanes, target):
    """Allocate and refuse a design that needs more block RAM than ``target`` has."""
    memories = allocate(network, lanes, target)
    blocks = sum(m["blocks"] for m in memories)
    bits = sum(m["bits"] for m in memories)
    summary = {"memories": memories, "bram_blocks": blocks, "bram_bits": bits,
               "bram_blocks_available": target.bram_blocks, "dsps": 0}
    if target.bram_blocks is not None and blocks > target.bram_blocks:
        largest = max(memories, key=lambda m: m["bits"])
        lane = "" if largest["lane"] is None else f", lane {largest['lane']}"
        raise FitError(
            f"the network does not fit {target.name} ({target.device}): it needs {blocks} block "
            f"RAMs ({bits} bits) but the device has {target.bram_blocks} of "
            f"{target.bram_block_bits} bits ({target.bram_blocks * target.bram_block_bits} bits). "
            f"Largest memory: {largest['memory']} of layer {largest['layer']!r}{lane}, "
            f"{largest['depth']} × {largest['width']} bits = {largest['blocks']} blocks. "
            "Use fewer lanes (each lane adds an accumulator memory and rounds its weights up to "
            "whole blocks), narrower weight or state formats, fewer neurons, or a larger target "
            "(ulx3s-85f).")
    return summary
