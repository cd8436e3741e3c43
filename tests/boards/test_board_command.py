"""``spikeforge board --sim NET.sfn``: a co-simulated board a user without hardware deploys to
and runs on with the ordinary commands, then stops with Ctrl-C (bounded in time)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import save_network
from spikeforge.toolchain import missing_reason

from .test_protocol_contract import narrow_network

pytestmark = pytest.mark.sim

#: seconds for the board to come up (a first Verilator build of the design included)
START_LIMIT = 600
#: seconds for it to stop after Ctrl-C
STOP_LIMIT = 60


def _read_json(stream, lines, done):
    """Collect ``stream``'s lines until one JSON object is complete (``emit_json``)."""
    for line in stream:
        lines.append(line)
        if line.rstrip() == "}":
            break
    done.set()


def _interruptible():
    """In the child before it starts: SIGINT to its default, so that Python turns it into
    KeyboardInterrupt even when this test run ignores it (a background job of a non-interactive
    shell, as CI may start it, inherits SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_board_serves_deploy_and_run_then_stops_on_ctrl_c(tmp_path, capsys):
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    network = narrow_network()  # the design of test_protocol_contract's board: one build
    netfile = save_network(network, tmp_path / "narrow.sfn")
    x = (np.random.default_rng(3).random((2, 8, 8)) < 0.5).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    board = subprocess.Popen(
        [sys.executable, "-m", "spikeforge.cli.main", "board", "--sim", str(netfile), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)
    try:
        lines, done = [], threading.Event()
        threading.Thread(target=_read_json, args=(board.stdout, lines, done), daemon=True).start()
        assert done.wait(START_LIMIT), "the board did not come up"
        served = json.loads("".join(lines))
        url = served["url"]
        assert url.startswith("socket://127.0.0.1:") and served["network"] == network.name
        assert main(["deploy", str(netfile), "--port", url, "--timeout", "30"]) == 0
        assert main(["run", "--port", url, "--network", str(netfile), "--input",
                     str(tmp_path / "x.npy"), "--check", "--json", "--timeout", "30"]) == 0
        report = json.loads(capsys.readouterr().out)  # deploy logs on stderr only
        assert report["matches_reference"] is True and report["samples"] == 2
        start = time.monotonic()
        board.send_signal(signal.SIGINT)
        status = board.wait(timeout=STOP_LIMIT)
        stopped = time.monotonic() - start
    finally:
        if board.poll() is None:
            board.kill()
            board.wait()
    err = board.stderr.read()
    assert status == 0, err
    assert "serving" in err and "stopped the co-simulated board" in err
    assert "Traceback" not in err
    assert stopped < STOP_LIMIT



@pytest.mark.parametrize("argv, message", [
    (["board", "--sim", "{tmp}/missing.sfn"], "no such network file"),
    (["board", "--sim", "{net}", "--port", "70000"], "argument --port"),
    (["board", "--sim", "{net}", "--lanes", "0"], "argument --lanes"),
    (["board", "--sim", "{net}", "--divisor", "2"], "argument --divisor"),
    (["board"], "--sim"),
])
def test_board_refuses_bad_arguments_clearly(tmp_path, capsys, argv, message):
    netfile = save_network(narrow_network(), tmp_path / "narrow.sfn")
    argv = [a.format(tmp=tmp_path, net=netfile) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_board_refuses_a_port_that_is_taken(tmp_path, capsys):
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    netfile = save_network(narrow_network(), tmp_path / "narrow.sfn")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["board", "--sim", str(netfile), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"TCP port {port} on 127.0.0.1 is not free" in err and "Traceback" not in err
