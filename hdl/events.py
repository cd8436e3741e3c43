"""Payloads of the streams between spikeforge cores.

A spike is an address event: the index of the neuron (or network input) that fired. A time step
is a group of events closed by one marker event (``marker = 1``, ``addr`` ignored). Every group
holds the spikes of exactly one time step, in ascending address order when a layer emits them.
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import Out

__all__ = [
    "ADDR_WIDTH",
    "MARKER",
    "PROBE_WIDTH",
    "EventLayout",
    "ProbeLayout",
    "event_signature",
    "pack_event",
    "probe_signature",
]

#: Width of an event address: layers have at most 65,536 neurons or inputs.
ADDR_WIDTH = 16
#: Width of the sign-extended state fields of a probe record.
PROBE_WIDTH = 32

#: ``addr`` (bits 0..15) and ``marker`` (bit 16): 17 bits, as a flat vector in Verilog.
EventLayout = data.StructLayout({"addr": unsigned(ADDR_WIDTH), "marker": unsigned(1)})

#: One neuron's state after its update in step ``n``: bits 0..7 ``layer``, 8..23 ``neuron``,
#: 24..55 ``i``, 56..87 ``u``, 88..119 ``b``, 120 ``s`` (121 bits).
ProbeLayout = data.StructLayout({
    "layer": unsigned(8),
    "neuron": unsigned(ADDR_WIDTH),
    "i": signed(PROBE_WIDTH),
    "u": signed(PROBE_WIDTH),
    "b": unsigned(PROBE_WIDTH),
    "s": unsigned(1),
})

#: The raw value of an end-of-step marker event.
MARKER = 1 << ADDR_WIDTH


def event_signature():
    """A stream of :data:`EventLayout` with backpressure (``valid``/``ready``)."""
    return stream.Signature(EventLayout)


def probe_signature():
    """A valid-only stream of :data:`ProbeLayout`: ``valid`` and ``payload``, no ``ready``.

    There is no backpressure: a monitor samples it every cycle.
    """
    return wiring.Signature({"valid": Out(1), "payload": Out(ProbeLayout)})


def pack_event(addr=0, marker=False):
    """The raw integer of an event, as a testbench drives ``payload``."""
    if not 0 <= addr < (1 << ADDR_WIDTH):
        raise ValueError(f"addr must be in 0..{(1 << ADDR_WIDTH) - 1}, not {addr}")
    return (int(bool(marker)) << ADDR_WIDTH) | addr
