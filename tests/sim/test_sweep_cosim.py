"""The large differential sweep on the generated Verilog (``-m slow``): at least 200 random
networks of every variant and 10^6 neuron-steps on Icarus, every value compared by equality.
The same sweep runs as ``python -m spikeforge.sim.sweep`` and prints its counts."""

import pytest
from spikeforge.sim.sweep import cosim_sweep

from .conftest import require

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_sweep_of_200_networks_has_no_mismatch():
    require("icarus")
    totals = cosim_sweep(200, neuron_steps=10**6, sim="icarus", seed=7)
    print(f"co-simulated {totals['networks']} networks, {totals['neuron_steps']} neuron-steps, "
          f"{totals['values_compared']} values, {totals['mismatches']} mismatches")
    assert totals["first_failure"] is None
    assert totals["mismatches"] == 0 and totals["cycle_mismatches"] == 0
    assert totals["networks"] == 200
    assert totals["neuron_steps"] >= 10**6
    # every part of contract version 2 is in it, in many layers
    assert min(totals["features"].values()) >= 20, totals["features"]
