"""The network core alone between registers: every port of the core live in simulation, and the
probe placed and routed for real, its critical path inside the core."""

import pytest
from amaranth.hdl import Value
from amaranth.lib.wiring import In
from amaranth.sim import Simulator
from spikeforge.boards import board_platform
from spikeforge.boards.core_alone import CoreAloneProbe, measure_core_alone

from .networks import small_network
from .test_build import _need_tools


def test_every_port_of_the_core_is_driven_and_observed():
    """Over 3,000 cycles every input bit of the core takes both values (``clear`` too), its
    host read port and a counter increment it observes move, and so does the LED the outputs
    fold onto: no
    input is a constant Yosys could fold into the core's logic. The stimulus is not a host
    that keeps the protocol (the core need not run a step with it): paths do not depend on it."""
    probe = CoreAloneProbe(small_network(1), "ulx3s-85f")
    core = probe.core
    ports = [(path, member.flow, Value.cast(value))
             for path, member, value in core.signature.flatten(core)]
    seen = {path: [0, 0] for path, _, _ in ports}  # per port: bits seen 0, bits seen 1 (masks)
    led, in_events = set(), set()

    async def bench(ctx):
        for _ in range(3000):
            await ctx.tick()
            in_events.add(ctx.get(core.increments["in_events"]))
            for path, _, value in ports:
                mask = (1 << len(value)) - 1
                bits = ctx.get(value) & mask  # signed ports read as negative numbers
                seen[path][0] |= ~bits & mask
                seen[path][1] |= bits
            led.add(ctx.get(probe.led))

    sim = Simulator(probe)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    full = {path: (1 << len(value)) - 1 for path, _, value in ports}
    for path, flow, _ in ports:
        if flow == In:
            assert seen[path] == [full[path], full[path]], f"input {path} stuck"
    assert led == {0, 1}
    assert seen[("r_weight",)][0] and seen[("r_weight",)][1], "output r_weight never moves"
    assert len(in_events) > 1, "the in_events increment never moves"


def test_the_probe_observes_what_a_board_build_keeps():
    """The probe observes the core's outputs a board build connects: the per-cycle counter
    increments (the link counts them in a RAM of its own) and the step's parity, not the core's
    own 32-bit counters, which the build leaves unconnected and Yosys removes (their carry
    chains were critical paths of the probe that no board build has)."""
    from spikeforge.hdl.network_core import COUNTERS, INCREMENTED

    probe = CoreAloneProbe(small_network(1), "icebreaker")
    inputs, outputs = probe.observed()
    assert {f"{name}_increment" for name in INCREMENTED} | {"steps[0]"} <= set(outputs)
    assert not set(COUNTERS) & set(outputs) and "step_cycles" not in outputs
    assert {"r_weight", "r_state", "idle"} <= set(outputs)
    assert {"w_en", "w_data", "r_addr"} <= set(inputs) and "clear" not in inputs


@pytest.mark.synth
def test_the_core_alone_builds_and_reports_its_own_critical_path(tmp_path):
    _need_tools()
    platform = board_platform("ulx3s-85f")
    result = measure_core_alone(small_network(1), platform, tmp_path, seed=1)
    assert result["fmax_mhz"] > platform.clock_hz / 1e6
    critical = result["critical"]
    # a path of the core's (from or into it), none of the probe's own one-level stages
    assert critical["source"].startswith("core.") or critical["sink"].startswith("core.")
    assert critical["logic_ns"] + critical["routing_ns"] == pytest.approx(
        1000 / result["fmax_mhz"], rel=0.01)
    depth = result["logic_levels"]
    assert depth["family"] == "ecp5" and depth["max"] >= 2
    assert sum(depth["histogram"]) >= result["utilization"]["TRELLIS_FF"]["used"]
