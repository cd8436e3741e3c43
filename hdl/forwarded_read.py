r"""A transparent read of a memory whose writes land a cycle late, from a plain read port and a
bypass register.

The accumulators are written through registers (:func:`write_behind`): a write asked for in
cycle :math:`t` (address :math:`a_t`, word :math:`w_t`) reaches the memory at the end of cycle
:math:`t + 1`, so the adder's carry chain ends in flip-flops beside it instead of in the
memory's write data (on the UP5K a block RAM across the die, on the ECP5 the LUT RAM's write
port behind its bank decoding). A read at the end of cycle :math:`t` then misses two writes:
the one asked for in cycle :math:`t` and the one still in the registers (asked for in
:math:`t - 1`). Where an operation can read an accumulator that one of the two operations
before it writes (``Q`` ≤ 2 operations an event, and convolutions), the read must be
transparent to both. Asked for a transparent port, Yosys would build the bypass in front of the
read register; the same value is built here behind it,

.. math:: d_{t+1} = h_{t+1}\ ?\ v_{t+1} : R_{t+1},\quad R_{t+1} = M[r_t],\quad
          h_{t+1} = \text{hit}_t \lor \text{hit}'_t,\quad
          v_{t+1} = \text{hit}_t\ ?\ w_t : w'_t,

with :math:`\text{hit}_t` the asked write's enable and address compare with the read address
:math:`r_t`, :math:`\text{hit}'_t` the registered write's (:math:`w'_t = w_{t-1}`, the older
one, so the asked write wins): the memory's read lands in a flip-flop and the sum passes one
multiplexer before it is used. When the read port is disabled all three registers hold, as
the port's data does.
"""

from types import SimpleNamespace

from amaranth.hdl import Mux, Signal

__all__ = ["forwarded_read", "write_behind"]


def write_behind(m, write_port, name):
    """A write port whose writes reach ``write_port`` a cycle later, through registers.

    Returns the port to drive (``addr``, ``data``, ``en``; ``en`` is low unless driven) with
    ``behind`` set to ``write_port``, whose signals are those registers."""
    asked = SimpleNamespace(addr=Signal.like(write_port.addr, name=f"{name}_w_addr"),
                            data=Signal.like(write_port.data, name=f"{name}_w_data"),
                            en=Signal(name=f"{name}_w_en"), behind=write_port)
    m.d.sync += [write_port.addr.eq(asked.addr), write_port.data.eq(asked.data),
                 write_port.en.eq(asked.en)]
    return asked


def forwarded_read(m, read_port, write_port, name):
    """The data of ``read_port`` as if it were transparent to the writes of ``write_port`` (a
    :func:`write_behind` port of the same :class:`~amaranth.lib.memory.Memory`; the read port
    not transparent itself)."""
    behind = write_port.behind
    hit_asked = write_port.en & (write_port.addr == read_port.addr)
    hit_behind = behind.en & (behind.addr == read_port.addr)
    hit = Signal(name=f"{name}_hit")  # the last enabled read met a write to its address
    written = Signal.like(write_port.data, name=f"{name}_written")
    with m.If(read_port.en):
        m.d.sync += [hit.eq(hit_asked | hit_behind),
                     written.eq(Mux(hit_asked, write_port.data, behind.data))]
    return Mux(hit, written, read_port.data)
