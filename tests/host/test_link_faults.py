"""Unlucky clients against the co-simulated board (issue 17): a deploy that stops half-way leaves a
device that says "no valid network"; a lost link is a clear error; outputs an interrupted run
left behind never reach the next run; a partial frame does not swallow the next client."""

import socket
import threading
import time

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.hdl.link_top import LinkTop
from spikeforge.host.deploy import (
    NO_NETWORK,
    DeployError,
    check_deployed,
    deploy,
    weights_fingerprint,
)
from spikeforge.host.driver import Device, LinkError
from spikeforge.host.inference import run_on_device
from spikeforge.link.protocol import (
    EVENT_MARKER,
    MAX_PAYLOAD,
    Command,
    ProtocolError,
    Status,
    encode_request,
)
from spikeforge.model import run, save_network

from ..boards.networks import small_network


class _Interrupted(Exception):
    pass


def _stop_after_first_frame(done, total):
    raise _Interrupted()


def _inputs(seed, batch=2):
    return (np.random.default_rng(seed).random((batch, 8, 8)) < 0.45).astype(np.uint8)


@pytest.mark.sim
def test_an_interrupted_deploy_leaves_no_valid_network(board, tmp_path, capsys):
    a, b = small_network(1), small_network(2)
    with Device(board.url, timeout=30) as dev:
        deploy(dev, a)
        check_deployed(dev, a)
        with pytest.raises(_Interrupted):  # stopped after the first WRITE_WEIGHTS frame of b
            deploy(dev, b, progress=_stop_after_first_frame)
    with Device(board.url, timeout=30) as dev:  # a new client finds the device marked invalid
        assert dev.read_params()["weights_id"] == NO_NETWORK
        for network in (a, b):
            with pytest.raises(DeployError, match="holds no valid network"):
                check_deployed(dev, network)
        # the device itself refuses to compute on mixed weights, whatever the client checks
        counters = dev.counters()
        response = dev.transact(Command.RUN, b"\x00\x00\xff\xff", check=False)
        assert (Status(response.status), response.payload) == (Status.NO_NETWORK, b"")
        with pytest.raises(ProtocolError, match=r"NO_NETWORK.*deploy` again"):
            dev.run_events([0, EVENT_MARKER])
        after = dev.counters()
        assert {k: after[k] for k in ("steps", "in_events", "steps_sent")} == \
            {k: counters[k] for k in ("steps", "in_events", "steps_sent")}
    netfile = save_network(a, tmp_path / "a.sfn")
    np.save(tmp_path / "x.npy", _inputs(3))
    status = main(["run", "--port", board.url, "--network", str(netfile),
                   "--input", str(tmp_path / "x.npy")])
    assert status == 2 and "holds no valid network" in capsys.readouterr().err
    with Device(board.url, timeout=30) as dev:  # a completed deploy makes it valid again
        deploy(dev, b)
        check_deployed(dev, b)
        x = _inputs(4)
        assert np.array_equal(run_on_device(dev, b, x)["spikes"], run(b, x).spikes[-1])


@pytest.mark.sim
def test_a_bitstream_powers_up_holding_its_own_network():
    """A fresh device reports the fingerprint of the network it was built for and runs it
    without a deploy (its memories start with those weights)."""
    from spikeforge.link.protocol import design_info
    from spikeforge.sim.cosim_device import CosimDevice

    from ..boards.conftest import TIMEOUT

    network = small_network(1)
    with CosimDevice(network, divisor=4, timeout=TIMEOUT) as fresh, \
            Device(fresh.url, timeout=30) as dev:
        assert dev.info().design_hash == design_info(network, 1).design_hash
        assert dev.read_params()["weights_id"] == weights_fingerprint(network) != NO_NETWORK
        check_deployed(dev, network)
        x = _inputs(5)
        assert np.array_equal(run_on_device(dev, network, x)["spikes"], run(network, x).spikes[-1])


@pytest.mark.sim
def test_a_link_lost_during_deploy_is_a_clear_error(board):
    a, b = small_network(1), small_network(2)
    with Device(board.url, timeout=30) as dev:
        deploy(dev, a)

        def pull_the_cable(done, total):
            dev.serial.close()

        with pytest.raises(DeployError) as error:
            deploy(dev, b, progress=pull_the_cable)
    message = str(error.value)
    assert "the link to" in message and "failed" in message
    assert "reports no valid network" in message and "deploy` again" in message
    with Device(board.url, timeout=30) as dev:
        assert dev.read_params()["weights_id"] == NO_NETWORK
        deploy(dev, a)
        check_deployed(dev, a)


def test_a_closed_socket_is_a_link_error_not_a_traceback():
    """A device that hangs up: pyserial's SerialException becomes a LinkError that says so."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def hang_up():
        connection, _ = server.accept()
        connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        url = f"socket://127.0.0.1:{port}"
        with Device(url, timeout=5) as dev, pytest.raises(LinkError, match=f"link to {url} fail"):
            dev.info()
    finally:
        thread.join(timeout=5)
        server.close()


@pytest.mark.sim
def test_clear_empties_the_output_buffer_even_when_full(board):
    a = small_network(1)
    with Device(board.url, timeout=30) as dev:
        deploy(dev, a)
        dev.clear()
        # an interrupted run: steps sent, outputs never read
        words = [w for _ in range(3) for w in (*range(8), EVENT_MARKER)]
        accepted, _ = dev.run_events(words)
        assert accepted == len(words)
        deadline = time.monotonic() + 30
        while (c := dev.counters())["steps"] != c["steps_sent"] and time.monotonic() < deadline:
            pass
        assert c["output_level"] > 0
        dev.clear()
        c = dev.counters()
        assert c["output_level"] == 0 and c["steps"] == c["steps_sent"]
        # a full buffer: empty steps (each leaves at least its end-of-step word) until the
        # device stops accepting them (BUSY), then CLEAR
        steps = [EVENT_MARKER] * (MAX_PAYLOAD // 2)
        for _ in range(4 * dev.info().output_depth // len(steps) + 4):
            if dev.run_events(steps)[0] < len(steps):
                break
        else:
            pytest.fail("the output buffer never filled")
        # the buffers between the link and the core are (nearly) full of end-of-step words, as
        # many steps in flight as the link's count of them (what CLEAR waits to see at 0) holds
        c = dev.counters()
        bound = LinkTop(a, divisor=4).steps_in_flight
        assert bound - 3 <= c["steps_sent"] - c["steps"] <= bound
        dev.clear()  # the core finishes its steps into the void; not BUSY
        c = dev.counters()
        assert c["output_level"] == 0 and c["steps"] == c["steps_sent"]


@pytest.mark.sim
def test_the_next_client_is_not_hurt_by_an_aborted_one(board):
    a = small_network(1)
    with Device(board.url, timeout=30) as dev:
        deploy(dev, a)
        dev.clear()
        # a run interrupted before it read its outputs, then a request cut off after 5 bytes
        dev.run_events([w for _ in range(4) for w in (*range(8), EVENT_MARKER)])
        dev.serial.write(encode_request(Command.READ_COUNTERS, 1, dev.tag)[:5])
        dev.serial.flush()
    with Device(board.url, timeout=30) as dev:
        start = time.monotonic()
        dev.info()  # resynchronises: the partial frame does not swallow this request
        resync = time.monotonic() - start
        x = _inputs(5)
        result = run_on_device(dev, a, x)
    assert resync < 10
    assert np.array_equal(result["spikes"], run(a, x).spikes[-1])
