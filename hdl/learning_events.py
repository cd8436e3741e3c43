"""The command stream of a :class:`~spikeforge.hdl.learning_core.LearningCore` and the record
of its learning probe.

A trial is a sequence of step groups followed by one ``END`` command. A step group holds the
step's input spikes (``INPUT``, ``addr`` = input index) and target spikes (``TARGET``, ``addr`` =
output neuron: it should spike after this step), in any order, closed by ``STEP``. ``END``
finishes the trial: with ``addr`` bit 0 set (learn) the accumulated update is written to the
weights, with it clear (freeze) the weights stay; either way all learning and neuron state returns
to zero.
"""

from enum import IntEnum

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import Out

from .events import ADDR_WIDTH

__all__ = [
    "CommandLayout",
    "LearnProbeLayout",
    "LearningCommand",
    "command_signature",
    "learn_probe_signature",
    "pack_command",
]


class LearningCommand(IntEnum):
    """Kind of a command word (2 bits)."""

    INPUT = 0
    TARGET = 1
    STEP = 2
    END = 3


#: ``addr`` bits 0..15, ``kind`` bits 16..17.
CommandLayout = data.StructLayout({"addr": unsigned(ADDR_WIDTH), "kind": unsigned(2)})

#: One synapse's learning state after a step: ``layer`` 0..7, ``row`` 8..23, ``neuron`` 24..39,
#: ``p`` 40..71, ``q`` 72..103 (unsigned), ``ebar`` 104..135, ``a`` 136..167, ``g`` 168..199
#: (signed): 200 bits.
LearnProbeLayout = data.StructLayout({
    "layer": unsigned(8),
    "row": unsigned(ADDR_WIDTH),
    "neuron": unsigned(ADDR_WIDTH),
    "p": unsigned(32),
    "q": unsigned(32),
    "ebar": signed(32),
    "a": signed(32),
    "g": signed(32),
})


def command_signature():
    """A stream of :data:`CommandLayout` with backpressure."""
    return stream.Signature(CommandLayout)


def learn_probe_signature():
    """A valid-only stream of :data:`LearnProbeLayout` (sample every cycle)."""
    return wiring.Signature({"valid": Out(1), "payload": Out(LearnProbeLayout)})


def pack_command(kind, addr=0):
    """The raw integer of a command word, as a testbench or host drives it."""
    kind = LearningCommand(kind)
    if not 0 <= addr < (1 << ADDR_WIDTH):
        raise ValueError(f"addr must be in 0..{(1 << ADDR_WIDTH) - 1}, not {addr}")
    return (int(kind) << ADDR_WIDTH) | addr
