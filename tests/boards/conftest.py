"""A co-simulated board for the module that asks for it (Verilator; skipped where it cannot be
installed), built from network ``small_network(1)``."""

import pytest
from spikeforge.toolchain import missing_reason

from .networks import small_network

#: Receiver timeout of the test device, in clock cycles (short, so truncated frames end fast).
TIMEOUT = 2000


@pytest.fixture(scope="session")
def board():
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    with CosimDevice(small_network(1), divisor=4, timeout=TIMEOUT) as device:
        yield device


@pytest.fixture
def device(board):
    from spikeforge.host.driver import Device

    with Device(board.url, timeout=30) as dev:
        dev.info()
        yield dev
