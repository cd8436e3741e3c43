"""Post-synthesis netlists (Yosys ``synth_ice40`` / ``synth_ecp5``) simulated with the same cocotb
testbench as the RTL, against ``spikeforge.model.run`` by equality: "bit-exact" holds after
synthesis. iCE40 runs on Icarus (fast to build); ECP5 on Verilator (Icarus 11 cannot parse
Yosys's ECP5 cell models)."""

import numpy as np
import pytest
from spikeforge.hdl.schedule import schedule
from spikeforge.model import NeuronKind, run
from spikeforge.sim.cocotb_runner import cosimulate
from spikeforge.sim.netlist import netlist_build
from spikeforge.sim.probe_records import compare
from spikeforge.sim.random_networks import feature_network, random_network, random_spikes

from .conftest import require

pytestmark = [pytest.mark.sim, pytest.mark.synth]


@pytest.mark.parametrize("target,sim,lanes,kinds", [
    # every version-2 feature on purpose (feature_network), after iCE40 synthesis
    ("ice40", "icarus", 2, None),
    ("ecp5", "verilator", 2, (NeuronKind.IF, NeuronKind.LIF)),
    # four neurons updated a cycle, their spikes emitted one a cycle, after iCE40 synthesis
    pytest.param("ice40", "verilator", 4, (NeuronKind.LIF, NeuronKind.ALIF),
                 marks=pytest.mark.slow),
])
def test_netlist_matches_reference(target, sim, lanes, kinds):
    require(sim)
    rng = np.random.default_rng(41)
    if kinds is None:
        network = feature_network(rng, lanes, saturating=True)
    else:
        network = random_network(rng, lanes, layers=len(kinds), kinds=kinds, saturating=True)
    x = np.stack([random_spikes(rng, 16, network.n_in, 0.7) for _ in range(2)])
    hw, _ = cosimulate(network, x, sim=sim, lanes=lanes,
                       **netlist_build(network, target, sim, lanes))
    compared, mismatches, first = compare(run(network, x), hw)
    assert (mismatches, first) == (0, None)
    assert compared > 0 and hw.probe_order_ok
    predicted = np.stack([schedule(network, x[b], lanes).cycles for b in range(len(x))])
    np.testing.assert_array_equal(hw.step_cycles, predicted)
