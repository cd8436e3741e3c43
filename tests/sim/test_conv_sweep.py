"""Random convolutional and residual networks on the generated Verilog (Icarus), every value and
every cycle compared by equality: a small subset in ``make test``, and the slow sweep
(``-m slow``) of at least 50 networks and 10^6 neuron-steps, every fourth a residual block.
``python -m spikeforge.sim.sweep --conv`` runs it."""

import pytest
from spikeforge.sim.sweep import cosim_sweep

from .conftest import require

pytestmark = pytest.mark.sim


def _check(totals, networks):
    assert totals["first_failure"] is None, totals["first_failure"]
    assert totals["mismatches"] == 0 and totals["cycle_mismatches"] == 0
    assert totals["networks"] == networks
    assert totals["conv_features"]["conv"] >= networks  # every network convolves


def test_conv_networks_on_icarus():
    require("icarus")
    totals = cosim_sweep(4, neuron_steps=8000, sim="icarus", seed=3, family="conv")
    _check(totals, 4)
    assert totals["conv_features"]["join"] == 1  # the fourth network is a residual block


@pytest.mark.slow
def test_sweep_of_50_conv_networks_has_no_mismatch():
    require("icarus")
    totals = cosim_sweep(50, neuron_steps=10**6, sim="icarus", seed=11, family="conv")
    print(f"co-simulated {totals['networks']} conv networks, {totals['neuron_steps']} "
          f"neuron-steps, {totals['values_compared']} values, {totals['mismatches']} mismatches, "
          f"features {totals['conv_features']}")
    _check(totals, 50)
    assert totals["neuron_steps"] >= 10**6
    # pooling, strides and padding in many layers (a pooled dense layer is the dense core's,
    # run unrolled: the dense sweeps cover it, and tests/hdl/test_conv_core.py its Verilog)
    features = totals["conv_features"]
    assert min(features[k] for k in ("conv", "pool", "stride_2", "padding")) >= 5, features
    # every fourth network a residual block: joins from a layer and from the input, pooled or
    # strided projections (measured: 12, 4 and 7)
    assert features["join"] >= 10 and features["join_from_input"] >= 3, features
    assert features["join_projection"] >= 5, features


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="family must be 'dense' or 'conv'"):
        cosim_sweep(1, neuron_steps=10, family="residual")
