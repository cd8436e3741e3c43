"""The network core in Amaranth's simulator against spikeforge.model.run, by exact equality."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.hdl.schedule import schedule, schedules
from spikeforge.link.memory_layout import lane_weights, weight_address, weight_rows
from spikeforge.model import Network, NeuronKind, run
from spikeforge.sim.amaranth_sim import simulate_network
from spikeforge.sim.random_networks import feature_network, random_network, random_spikes

KINDS = list(NeuronKind)


def check_equal(network, spikes, lanes, **kwargs):
    """Simulate and compare everything; return (neuron-steps compared, result)."""
    result = simulate_network(network, spikes, lanes=lanes, **kwargs)
    trace = run(network, spikes[None])
    assert result.probe_order_ok
    compared = 0
    for index, layer in enumerate(network.layers):
        for field, got, want in (("s", result.spikes, trace.spikes), ("i", result.i, trace.i),
                                 ("u", result.u, trace.u), ("b", result.b, trace.b)):
            bad = np.argwhere(got[index] != want[index][0])
            assert bad.size == 0, (
                f"layer {index} field {field}: first mismatch at step, neuron {bad[0].tolist()}: "
                f"expected {want[index][0][tuple(bad[0])]}, got {got[index][tuple(bad[0])]}"
            )
        compared += spikes.shape[0] * layer.params.n
    np.testing.assert_array_equal(result.output, trace.spikes[-1][0])
    assert result.counters["saturations"] == sum(int(s.sum()) for s in trace.saturations)
    assert result.counters["steps"] == spikes.shape[0]
    assert result.counters["in_events"] == int(spikes.sum())
    assert result.counters["out_events"] == int(trace.spikes[-1][0].sum())
    return compared, result, trace


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), lanes=st.sampled_from([1, 2, 4]),
       layers=st.integers(1, 3), saturating=st.booleans(), rate=st.sampled_from([0.2, 0.6, 1.0]),
       consumer_gap=st.sampled_from([0, 0, 0, 2]))
def test_random_networks_match_reference_and_schedule(seed, lanes, layers, saturating, rate,
                                                      consumer_gap):
    rng = np.random.default_rng(seed)
    network = random_network(rng, lanes, layers=layers, saturating=saturating)
    spikes = random_spikes(rng, int(rng.integers(1, 10)), network.n_in, rate)
    # a slow consumer behind a 2-entry output FIFO stalls the last layer's update
    _, result, trace = check_equal(network, spikes, lanes, consumer_gap=consumer_gap,
                                   output_depth=2 if consumer_gap else None)
    predicted = schedule(network, spikes, lanes, trace)
    assert result.counters["synops"] == int(predicted.synops.sum())
    assert result.counters["events"] == int(predicted.events.sum())
    assert result.counters["run_cycles"] == int(result.step_cycles.sum())
    if consumer_gap == 0:
        np.testing.assert_array_equal(result.step_cycles, predicted.cycles)
        assert result.counters["stall_cycles"] == 0
    else:
        assert np.all(result.step_cycles >= predicted.cycles)


def test_every_variant_with_every_lane_count():
    rng = np.random.default_rng(7)
    total = 0
    for lanes in (1, 2, 4):
        for kind in KINDS:
            for saturating in (False, True):
                kinds = [NeuronKind.ALIF if kind is NeuronKind.LI else kind, kind]
                network = random_network(rng, lanes, layers=2, kinds=kinds, saturating=saturating)
                spikes = random_spikes(rng, 12, network.n_in, 0.7)
                compared, result, _ = check_equal(network, spikes, lanes)
                total += compared
                if saturating:
                    assert result.counters["saturations"] >= 0
    assert total > 0


def test_every_version_2_feature_with_every_lane_count():
    """The five layers of ``feature_network`` (each version-2 feature on purpose: decays of 1
    to 4 terms, reset amount, reset before the leak, the clearing reset, input shift, same-step
    recurrence with three resets) at 1, 2 and 4 lanes, plain and saturating: every value and
    every step's cycles."""
    rng = np.random.default_rng(2)
    fired = saturated = 0
    for lanes in (1, 2, 4):
        for saturating in (False, True):
            network = feature_network(rng, lanes, saturating=saturating)
            spikes = random_spikes(rng, 16, network.n_in, 0.6)
            _, result, trace = check_equal(network, spikes, lanes)
            np.testing.assert_array_equal(result.step_cycles,
                                          schedule(network, spikes, lanes, trace).cycles)
            fired += sum(int(s.sum()) for s in trace.spikes[:3])
            saturated += result.counters["saturations"]
    assert fired > 0 and saturated > 0


def test_saturation_heavy_network_clamps_and_matches():
    rng = np.random.default_rng(3)
    clamped = 0
    for _ in range(6):
        network = random_network(rng, 2, layers=2, saturating=True)
        spikes = random_spikes(rng, 10, network.n_in, 1.0)
        _, result, _ = check_equal(network, spikes, 2)
        clamped += result.counters["saturations"]
    assert clamped > 0


def test_slow_consumer_drops_nothing():
    rng = np.random.default_rng(11)
    network = random_network(rng, 2, layers=2, kinds=[NeuronKind.LIF, NeuronKind.IF], version=1)
    spikes = np.ones((10, network.n_in), np.int64)  # full input rate: every input every step
    _, result, trace = check_equal(network, spikes, 2, consumer_gap=5, output_depth=2)
    delivered = int(trace.spikes[-1][0].sum())
    assert delivered > 0
    assert result.counters["out_events"] == delivered
    assert result.counters["stall_cycles"] > 0


def test_full_rate_synaptic_engine_does_one_op_per_lane_per_cycle():
    rng = np.random.default_rng(5)
    for lanes in (1, 2, 4):
        network = random_network(rng, lanes, layers=1, kinds=[NeuronKind.LIF])
        spikes = np.ones((4, network.n_in), np.int64)
        _, result, trace = check_equal(network, spikes, lanes)
        predicted = schedule(network, spikes, lanes, trace)
        assert predicted.sop_per_lane_cycle(lanes) == 1.0
        assert result.counters["synops"] == int(predicted.synops.sum())


def test_weights_written_through_the_host_port_take_effect():
    rng = np.random.default_rng(21)
    lanes = 2
    built = random_network(rng, lanes, layers=2, kinds=[NeuronKind.LIF, NeuronKind.LIF])
    # same shapes and parameters, new weights everywhere

    def fresh(layer, array):
        fmt = layer.params.weight_format
        return None if array is None else rng.integers(fmt.min, fmt.max + 1, array.shape)

    layers = tuple(ly.with_weights(weight=fresh(ly, ly.weight), recurrent=fresh(ly, ly.recurrent))
                   for ly in built.layers)
    wanted = Network(layers, built.encoding, built.readout)
    writes = []
    for index, layer in enumerate(wanted.layers):
        rows = weight_rows(layer)
        for neuron in range(layer.params.n):
            for row in range(rows):
                lane, addr = weight_address(layer, lanes, neuron, row)
                value = (layer.weight[neuron, row] if row < layer.params.n_in
                         else layer.recurrent[neuron, row - layer.params.n_in])
                writes.append((index, lane, addr, value))
    spikes = random_spikes(rng, 8, built.n_in, 0.8)
    result = simulate_network(built, spikes, lanes=lanes, weight_writes=writes)
    trace = run(wanted, spikes[None])
    for index in range(2):
        np.testing.assert_array_equal(result.u[index], trace.u[index][0])
        np.testing.assert_array_equal(result.i[index], trace.i[index][0])
    np.testing.assert_array_equal(result.output, trace.spikes[-1][0])


def test_clear_between_samples_restarts_from_zero_state():
    rng = np.random.default_rng(31)
    network = random_network(rng, 2, layers=3, kinds=[NeuronKind.ALIF, NeuronKind.LIF,
                                                      NeuronKind.LI])
    samples = np.stack([random_spikes(rng, 7, network.n_in, 0.8) for _ in range(3)])
    result = simulate_network(network, samples, lanes=2)
    trace = run(network, samples)  # every sample from the zero state
    for index in range(3):
        for got, want in ((result.i, trace.i), (result.u, trace.u), (result.b, trace.b),
                          (result.spikes, trace.spikes)):
            np.testing.assert_array_equal(got[index], want[index])
    np.testing.assert_array_equal(result.output, trace.spikes[-1])
    predicted = [schedule(network, sample, 2).cycles for sample in samples]
    np.testing.assert_array_equal(result.step_cycles, np.stack(predicted))
    assert result.counters["steps"] == samples.shape[0] * samples.shape[1]


def test_host_port_reads_back_every_weight_and_the_final_state():
    rng = np.random.default_rng(41)
    lanes = 2
    network = random_network(rng, lanes, layers=2, kinds=[NeuronKind.ALIF, NeuronKind.LIF])
    spikes = random_spikes(rng, 6, network.n_in, 0.8)
    result = simulate_network(network, spikes, lanes=lanes, read_back=True)
    trace = run(network, spikes[None])
    for index, layer in enumerate(network.layers):
        assert result.readback[index]["weights"] == lane_weights(layer, lanes)
        state = result.readback[index]["state"]
        for column, field in enumerate((trace.i, trace.u, trace.b, trace.spikes)):
            np.testing.assert_array_equal(state[:, column], field[index][0, -1])


def test_input_fifo_full_of_empty_steps():
    """Two inputs (an input FIFO of 6 entries, a 3-bit count of complete steps) fed nearly
    silent steps faster than the network runs them: the FIFO, its extra entry and the register
    slice behind it hold 9 markers, more complete steps than the nominal depth, and every one of
    them still runs (the step count once wrapped to 0 here and the core stopped)."""
    from spikeforge.model import Layer, LayerParams, RateEncoding

    rng = np.random.default_rng(19)
    hidden = Layer(LayerParams(2, 8), rng.integers(-40, 80, (8, 2)))
    out = Layer(LayerParams(8, 6, kind=NeuronKind.IF, k_mem=0), rng.integers(-40, 80, (6, 8)))
    network = Network((hidden, out), RateEncoding(steps=4, levels=4))
    spikes = (rng.random((120, 2)) < 0.2).astype(np.uint8)
    _, result, trace = check_equal(network, spikes, 2)
    np.testing.assert_array_equal(result.step_cycles, schedule(network, spikes, 2, trace).cycles)


def test_schedules_of_a_batch_are_each_samples_schedule():
    rng = np.random.default_rng(11)
    network = random_network(rng, 2, layers=2)
    x = np.stack([random_spikes(rng, 6, network.n_in, rate) for rate in (0.2, 0.5, 1.0)])
    batch = schedules(network, x, lanes=2)
    assert len(batch) == 3
    for sample, got in zip(x, batch, strict=True):
        alone = schedule(network, sample, 2)
        for field in ("cycles", "synops", "events", "issue_cycles"):
            np.testing.assert_array_equal(getattr(got, field), getattr(alone, field))
