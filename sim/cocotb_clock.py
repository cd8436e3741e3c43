"""Clock and reset shared by the cocotb testbenches (:mod:`.cocotb_network_tb`,
:mod:`.learning_tb`, :mod:`.cosim_tb`).

Every DUT has a ``clk`` input and an active-high synchronous ``rst``. :func:`start` drives
``rst`` and the given inputs before the first clock edge (no X reaches the design), starts a
``PERIOD_NS`` clock and releases ``rst`` on a falling edge, where the testbenches drive their
inputs.
"""

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

__all__ = ["PERIOD_NS", "SETTLE_NS", "start"]

#: clock period
PERIOD_NS = 10
#: time after a falling edge for combinational paths to settle before a testbench reads them
SETTLE_NS = 1


async def start(dut, inputs, reset_cycles=3):
    """Hold ``dut.rst`` high with ``inputs`` (``{port name: value}``) driven, start the clock on
    ``dut.clk`` 1 ns later, and release ``rst`` on the ``reset_cycles``-th falling edge.

    Returns the running :class:`cocotb.clock.Clock`.
    """
    dut.rst.value = 1
    for name, value in inputs.items():
        getattr(dut, name).value = value
    await Timer(1, unit="ns")
    clock = Clock(dut.clk, PERIOD_NS, unit="ns")
    clock.start()  # cocotb 2: start() schedules the clock's own task
    for _ in range(reset_cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    return clock
