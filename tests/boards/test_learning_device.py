"""On-chip learning through the host link of the co-simulated board top (Verilator): ``LEARN``
frames with targets and the learn/freeze word, the ``LFSR`` parameter, the ``trials`` counter and
the ``IN_TRIAL`` refusals, compared bit for bit with the integer reference.

The boards are built from ``small_network(1)`` with learning units for SuperSpike (the output
layer learns) and e-prop (both layers learn, the hidden one through random feedback).
"""

import struct

import numpy as np
import pytest
from spikeforge.host.deploy import DeployError, deploy
from spikeforge.host.driver import Device
from spikeforge.host.inference import run_on_device
from spikeforge.host.learning import check_learning, learn_on_device, read_layer_rows
from spikeforge.link.protocol import (
    EVENT_MARKER,
    LEARN_TARGET,
    LEARN_TRIAL_FREEZE,
    Command,
    Param,
    ProtocolError,
    Status,
    learn_step_words,
)
from spikeforge.model import run
from spikeforge.model.learning import LearningConfig, run_trial
from spikeforge.sim.learning_compare import compare_learning, expected_run, layer_rows
from spikeforge.toolchain import missing_reason

from .conftest import TIMEOUT
from .networks import small_network

pytestmark = pytest.mark.sim

RULES = ("superspike", "eprop")


def learning_config(rule, **options):
    return LearningConfig.create(small_network(1), rule, learning_rate=2.0 ** -6, seed=3,
                                 **options)


@pytest.fixture(scope="module", params=RULES)
def learning_board(request):
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.sim.cosim_device import CosimDevice

    config = learning_config(request.param)
    with CosimDevice(small_network(1), divisor=4, timeout=TIMEOUT, learning=config) as board:
        yield board, config


@pytest.fixture
def learner(learning_board):
    board, config = learning_board
    with Device(board.url, timeout=60) as dev:
        dev.learn_events([LEARN_TRIAL_FREEZE])  # ends a trial a failed test left open
        deploy(dev, small_network(1))  # every test starts from the network's own weights
        yield dev, config


def _stimulus(seed, trials, steps=8):
    rng = np.random.default_rng(seed)
    x = (rng.random((trials, steps, 8)) < 0.4).astype(np.int64)
    targets = (rng.random((trials, steps, 4)) < 0.3).astype(np.int64)
    return x, targets


def _status(device, command, payload=b""):
    return device.transact(command, payload, check=False).status


def test_trials_on_the_device_equal_the_reference(learner):
    device, config = learner
    network = small_network(1)
    x, targets = _stimulus(0, 6)
    learn = [True, False, True, True, False, True]
    trials_before = device.counters()["trials"]
    got = learn_on_device(device, network, config, x, targets, learn)
    _, expected = expected_run(network, config, x, targets, learn)
    report = compare_learning(config, expected, got)
    assert report["mismatches"] == 0, report["first_mismatch"]
    rows = sum(layer_rows(network.layers[i]).size for i in config.layers)
    assert report["values_compared"] == len(learn) * (rows + 4 + 8 * 4)
    # the updates were real: the weights moved, and a frozen trial kept them
    first = expected[0]["weights"]
    assert any(not np.array_equal(first[i], layer_rows(network.layers[i]))
               for i in config.layers)
    for i in config.layers:
        assert np.array_equal(got[1]["weights"][i], got[0]["weights"][i])
    assert sum(g["counts"].sum() for g in got) > 0
    # the device's rounding LFSR went through the same states as the reference's
    lfsr = config.lfsr_seed
    for b in range(len(learn)):
        result = run_trial(network, config, x[b], targets[b], learn=learn[b], lfsr=lfsr)
        network, lfsr = result.network, result.lfsr
    assert lfsr != config.lfsr_seed
    assert device.read_params()["lfsr"] == lfsr
    assert device.counters()["trials"] == trials_before + len(learn)


def test_plain_inference_on_a_learning_bitstream(learner):
    device, _ = learner
    network = small_network(2)  # same design, other weights: deployed without a rebuild
    deploy(device, network)
    x = (np.random.default_rng(4).random((2, 8, 8)) < 0.45).astype(np.uint8)
    result = run_on_device(device, network, x)
    assert np.array_equal(result["spikes"], run(network, x).spikes[-1])
    assert result["spikes"].sum() > 0


def _snapshot(device, config):
    network = small_network(1)
    return ({i: read_layer_rows(device, network, i).tolist() for i in config.layers},
            {k: device.counters()[k] for k in ("trials", "steps", "steps_sent")},
            device.read_params())


@pytest.mark.parametrize("words, status", [
    ([8], Status.BAD_VALUE),  # input index = n_in
    ([0x7FFF, EVENT_MARKER], Status.BAD_VALUE),  # input far out of range
    ([LEARN_TARGET | 4], Status.BAD_VALUE),  # target neuron = n_out
    ([1, LEARN_TARGET | 0, EVENT_MARKER, 0xFFFC], Status.BAD_VALUE),  # not a marker
    ([1, EVENT_MARKER, LEARN_TARGET | 0x7000], Status.BAD_VALUE),
])
def test_bad_learn_words_are_refused_and_change_nothing(learner, words, status):
    device, config = learner
    before = _snapshot(device, config)
    payload = struct.pack(f"<{len(words)}H", *words)
    assert _status(device, Command.LEARN, payload) == status
    assert _snapshot(device, config) == before
    assert _status(device, Command.CLEAR) == Status.OK  # no trial was opened


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x01\x00\xff"])
def test_bad_learn_lengths_are_refused(learner, payload):
    device, config = learner
    before = _snapshot(device, config)
    assert _status(device, Command.LEARN, payload) == Status.BAD_LENGTH
    assert _snapshot(device, config) == before


def test_an_open_trial_refuses_what_would_change_it(learner):
    device, config = learner
    x, targets = _stimulus(1, 1, steps=2)
    device.clear()
    device.learn_events(learn_step_words(x[0, 0], targets[0, 0]))  # a trial is open now
    weights, counters, params = _snapshot(device, config)
    refused = [
        (Command.RUN, struct.pack("<H", EVENT_MARKER)),
        (Command.WRITE_WEIGHTS, struct.pack("<BBHb", config.layers[-1], 0, 0, 5)),
        (Command.CLEAR, b""),
        (Command.WRITE_PARAM, struct.pack("<BI", Param.LFSR, 7)),
    ]
    for command, payload in refused:
        assert _status(device, command, payload) == Status.IN_TRIAL, command.name
    assert _status(device, Command.WRITE_PARAM, struct.pack("<BI", Param.LEDS, 3)) == Status.OK
    assert _snapshot(device, config)[0] == weights
    assert device.read_params()["lfsr"] == params["lfsr"]
    # the trial goes on and ends frozen: the weights stay, the trial counts
    device.learn_events([*learn_step_words(x[0, 1], targets[0, 1]), LEARN_TRIAL_FREEZE])
    after, counters_after, _ = _snapshot(device, config)
    assert after == weights
    assert counters_after["trials"] == counters["trials"] + 1
    assert _status(device, Command.CLEAR) == Status.OK


def test_learn_refused_without_learning_units(device):
    """``device`` is the plain board (no learning units) of ``conftest.py``."""
    assert not device.info().learning
    assert _status(device, Command.LEARN, struct.pack("<H", EVENT_MARKER)) == \
        Status.UNKNOWN_COMMAND
    assert _status(device, Command.WRITE_PARAM, struct.pack("<BI", Param.LFSR, 7)) == \
        Status.BAD_ADDRESS
    assert set(device.read_params()) == {"weights_id", "leds"}
    with pytest.raises(ProtocolError, match="no learning units"):
        device.learn_events([EVENT_MARKER])
    with pytest.raises(DeployError, match="no learning units"):
        check_learning(small_network(1), learning_config("superspike"), device.info())


def test_check_learning_names_what_differs(learner):
    device, config = learner
    network = small_network(1)
    check_learning(network, config, device.info())
    other_rule = "eprop" if config.rule.name == "SUPERSPIKE" else "superspike"
    with pytest.raises(DeployError, match="learns with"):
        check_learning(network, learning_config(other_rule), device.info())
    with pytest.raises(DeployError, match="learning configuration"):
        check_learning(network, LearningConfig.create(
            network, config.rule.name, layers=config.layers, learning_rate=2.0 ** -7, seed=3),
            device.info())
    with pytest.raises(DeployError, match="learning configuration"):
        check_learning(network, learning_config(config.rule.name, lfsr_seed=99),
                       device.info())


def test_learning_beside_weights_in_spram_equals_the_reference():
    """The UP5K's learning build: SuperSpike on the readout while the first layer's weights
    sit in SPRAM (the vendor cell's model). The board boots without a network, takes a deploy
    and then learns exactly as the reference does; the readout's weights, in block RAM, are
    the ones that move."""
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    from spikeforge.model.fingerprint import NO_NETWORK
    from spikeforge.sim.cosim_device import CosimDevice

    network, config = small_network(1), learning_config("superspike")
    x, targets = _stimulus(5, 3)
    learn = [True, True, False]
    with CosimDevice(network, divisor=4, timeout=TIMEOUT, learning=config,
                     spram_weights={(0, 0)}) as board, Device(board.url, timeout=60) as device:
        assert device.read_params()["weights_id"] == NO_NETWORK
        deploy(device, network)
        got = learn_on_device(device, network, config, x, targets, learn)
        hidden = read_layer_rows(device, network, 0)
    _, expected = expected_run(network, config, x, targets, learn)
    report = compare_learning(config, expected, got)
    assert report["mismatches"] == 0, report["first_mismatch"]
    assert report["values_compared"] == len(learn) * (layer_rows(network.layers[1]).size
                                                      + 4 + 8 * 4)
    assert not np.array_equal(got[-1]["weights"][1], layer_rows(network.layers[1]))
    assert np.array_equal(hidden, layer_rows(network.layers[0]))  # read back from SPRAM
