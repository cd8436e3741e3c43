r"""A transparent read of a memory, built from a plain read port and a bypass register.

Where an operation can read the accumulator that the operation before it writes in the same
cycle (a dense layer with one accumulator address per lane, ``Q = 1``, and convolutions), the
accumulator's read must be transparent to its write. Asked for a transparent port, Yosys builds
the bypass in front of the read register,

.. math:: d_{t+1} = \text{hit}_t\ ?\ w_t : M[a_t],

so the write data (the adder's sum, :math:`d_t + w`) and the memory's read multiplexer share
one path into that register: on the ECP5 the LUT RAM's read and the adder's carry chain in one
cycle, the critical path of the core. The same value is built here behind the register,

.. math:: d_{t+1} = h_{t+1}\ ?\ v_{t+1} : R_{t+1},\quad
          R_{t+1} = M[a_t],\ h_{t+1} = \text{hit}_t,\ v_{t+1} = w_t,

with :math:`\text{hit}_t` the write enable and address compare of cycle :math:`t`: the memory's
read lands in a flip-flop and the sum passes one multiplexer before it is written. When the read
port is disabled all three registers hold, as the port's data does.
"""

from amaranth.hdl import Mux, Signal

__all__ = ["forwarded_read"]


def forwarded_read(m, read_port, write_port, name):
    """The data of ``read_port`` as if it were transparent to ``write_port`` (both of one
    :class:`~amaranth.lib.memory.Memory`, the read port not transparent itself)."""
    hit = Signal(name=f"{name}_hit")  # the last enabled read met a write to its address
    written = Signal.like(write_port.data, name=f"{name}_written")
    with m.If(read_port.en):
        m.d.sync += [hit.eq(write_port.en & (write_port.addr == read_port.addr)),
                     written.eq(write_port.data)]
    return Mux(hit, written, read_port.data)
