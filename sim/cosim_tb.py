"""cocotb testbench that bridges a TCP socket to the serial line of :class:`CosimTop`.

Run by :class:`spikeforge.sim.cosim_device.CosimDevice`. It listens on ``127.0.0.1``, port
``$SPIKEFORGE_BRIDGE_PORT`` (0 or unset: any free port; the port is written to
``$SPIKEFORGE_BRIDGE_DIR/port``), serves one client connection at a time (pyserial's
``socket://`` URL), and stops when ``$SPIKEFORGE_BRIDGE_DIR/stop`` exists and no client is
connected. Device state persists across connections, as on a powered board.

Each round it pushes the client's bytes into ``h_tx`` (one per clock), runs the clock for a
chunk of cycles, and sends what arrived on ``h_rx`` back. When nothing is in flight it waits for
the client (wall time) for up to 50 ms before running the next chunk, so simulated time still
passes on a silent line and the device's receive timeout can fire.
"""

import os
import select
import socket
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, Timer

from .cocotb_clock import PERIOD_NS, start

CHUNK = 1024


async def _push(dut, data):
    """Push ``data`` into the host-to-line FIFO, one byte per clock (falling-edge driven)."""
    for byte in data:
        dut.h_tx__payload.value = byte
        dut.h_tx__valid.value = 1
        await FallingEdge(dut.clk)
    dut.h_tx__valid.value = 0


async def _drain(dut):
    """All bytes waiting in the line-to-host FIFO."""
    out = bytearray()
    while int(dut.h_rx__valid.value):
        out.append(int(dut.h_rx__payload.value))
        dut.h_rx__ready.value = 1
        await FallingEdge(dut.clk)
        dut.h_rx__ready.value = 0
        await Timer(1, unit="ns")
    return bytes(out)


@cocotb.test()
async def bridge(dut):
    folder = Path(os.environ["SPIKEFORGE_BRIDGE_DIR"])
    await start(dut, {"h_tx__valid": 0, "h_tx__payload": 0, "h_rx__ready": 0}, reset_cycles=4)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(os.environ.get("SPIKEFORGE_BRIDGE_PORT") or 0)))
    server.listen(1)
    server.settimeout(0.2)
    (folder / "port.tmp").write_text(str(server.getsockname()[1]))
    (folder / "port.tmp").replace(folder / "port")
    client = None
    pending = b""
    capacity = 2048
    while True:
        if client is None:
            if (folder / "stop").exists():
                break
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            client.setblocking(False)
            pending = b""
        closing = False
        try:
            data = client.recv(1 << 16)
            if not data:
                closing = True
            pending += data
        except BlockingIOError:
            pass
        free = capacity - int(dut.h_tx_level.value) - 4
        if pending and free > 0:
            await _push(dut, pending[:free])
            pending = pending[free:]
        await Timer(CHUNK * PERIOD_NS, unit="ns")
        await FallingEdge(dut.clk)
        out = await _drain(dut)
        if out and not closing:
            try:
                client.sendall(out)
            except OSError:
                closing = True
        if closing:
            client.close()
            client = None
            continue
        quiet = not pending and not out and not int(dut.line_busy.value)
        if quiet:
            select.select([client], [], [], 0.05)
    server.close()
