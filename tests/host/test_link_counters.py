"""The link's counters over the wire, value for value: after a deploy and a run of three
samples, every counter a host reads equals its prediction — ``steps``, ``in_events``,
``out_events``, ``events`` and ``synops`` from the reference and the cycle model, the frames
counted one by one — with the counter bank in block RAM (a
plain board) and in the UltraPlus SPRAM (a UP5K board, the vendor cell's model: the bank's
clearing round is what makes its words 0)."""

import numpy as np
import pytest
from spikeforge.hdl.schedule import schedules
from spikeforge.host.deploy import deploy
from spikeforge.host.inference import run_on_device
from spikeforge.link.protocol import Command, Status, encode_request
from spikeforge.model import run
from spikeforge.toolchain import missing_reason

from ..boards.conftest import TIMEOUT
from ..boards.networks import small_network

pytestmark = pytest.mark.sim

DETERMINED = ("steps", "in_events", "out_events", "events", "synops", "saturations",
              "steps_sent")


@pytest.fixture(scope="module")
def readings():
    """The counters of each kind of board around the same run (deltas and values)."""
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.host.driver import Device
    from spikeforge.sim.cosim_device import CosimDevice

    network = small_network(1)
    x = (np.random.default_rng(3).random((3, 8, 8)) < 0.4).astype(np.uint8)
    result = {"network": network, "x": x}
    for kind, ultraplus in (("memory", False), ("spram", True)):
        with CosimDevice(network, divisor=4, timeout=TIMEOUT, ultraplus=ultraplus) as board, \
                Device(board.url, timeout=120) as device:
            deploy(device, network)
            before = device.counters()
            run_on_device(device, network, x)
            device.read_weights(0, 0, 0, 1)  # answered once the core is quiet
            after = device.counters()
            for _ in range(4):
                device.read_params()
            bad = encode_request(Command.READ_PARAMS, 7, device.tag ^ 1, b"")  # a wrong tag
            responses = device.send_raw(bad, quiet=0.5)
            assert [Status(r.status) for r in responses] == [Status.BAD_TAG]
            last = device.counters()
        result[kind] = (before, after, last)
    return result


@pytest.mark.parametrize("kind", ["memory", "spram"])
def test_counters_equal_their_predictions(readings, kind):
    network, x = readings["network"], readings["x"]
    before, after, last = readings[kind]
    delta = {name: after[name] - before[name] for name in after}
    plans = schedules(network, x)
    reference = run(network, x)
    assert delta["steps"] == delta["steps_sent"] == x.shape[0] * x.shape[1]
    assert after["steps"] == after["steps_sent"]
    assert delta["in_events"] == int(x.sum())
    assert delta["out_events"] == int(reference.spikes[-1].sum())
    assert delta["events"] == sum(int(p.events.sum()) for p in plans)
    assert delta["synops"] == sum(int(p.synops.sum()) for p in plans)
    # a step lasts its predicted cycles plus those its last layer waited on a full output
    # path (the link holds the core's outputs while it reads its buffer): stall_cycles
    predicted = sum(int(p.cycles.sum()) for p in plans)
    assert predicted <= delta["run_cycles"] <= predicted + delta["stall_cycles"]
    assert delta["cycles"] > delta["run_cycles"]
    # four READ_PARAMS and the READ_COUNTERS that reads them, one frame with a wrong tag
    assert last["frames_ok"] - after["frames_ok"] == 5
    assert last["frames_rejected"] - after["frames_rejected"] == 1
    assert last["cycles"] > after["cycles"] and last["bytes_dropped"] == after["bytes_dropped"]


def test_both_banks_count_the_same(readings):
    """Where the counts do not depend on timing, the SPRAM bank equals the block-RAM one."""
    for index in range(3):
        memory, spram = readings["memory"][index], readings["spram"][index]
        assert {k: memory[k] for k in DETERMINED} == {k: spram[k] for k in DETERMINED}
