"""A co-simulated board the driver can open like a serial port: ``socket://127.0.0.1:PORT``.

``CosimDevice(network)`` generates the Verilog of :class:`~spikeforge.sim.cosim_top.CosimTop`,
builds it with cocotb's runner on Verilator (once per design, as every co-simulation:
:func:`spikeforge.sim.cocotb_runner._build`), starts the simulation in a background
thread with the socket bridge :mod:`spikeforge.sim.cosim_tb`, and gives the pyserial URL of the
bridge. The design is built from ``network`` (weights are its initial memory contents); any
network with the same design hash can then be deployed to it without a rebuild.

``spikeforge board --sim NET.sfn [--port TCP]`` serves one until it is stopped.
"""

import socket
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from ..link.protocol import DEFAULT_LINK
from ..toolchain import ToolMissing, configure_verilator, missing_reason
from .cocotb_runner import _build

__all__ = ["TOP", "CosimDevice", "cosim_verilog"]

TOP = "spikeforge_board"


#: what the design sees of an iCE40 UltraPlus: its SPRAM (``hdl/weight_spram.py``,
#: ``hdl/link_ram.py``)
ULTRAPLUS = SimpleNamespace(device="iCE40UP5K")


def cosim_verilog(network, lanes=1, divisor=4, timeout=None, link=DEFAULT_LINK, learning=None,
                  spram_weights=(), ultraplus=False):
    """``(verilog text, DesignInfo)`` of the co-simulated board (with learning units if
    ``learning`` is a :class:`~spikeforge.model.learning.LearningConfig`). With
    ``spram_weights`` (``(layer, lane)`` pairs), or ``ultraplus``, the board is elaborated as on
    an iCE40 UP5K: those weights, the link's buffers and (when no weights take them) its
    counters are ``SB_SPRAM256KA`` instances (see :func:`spram_model`)."""
    from amaranth.back import verilog

    from .cosim_top import CosimTop

    top = CosimTop(network, lanes=lanes, divisor=divisor, timeout=timeout, link=link,
                   learning=learning, spram_weights=spram_weights)
    platform = ULTRAPLUS if spram_weights or ultraplus else None
    return verilog.convert(top, name=TOP, emit_src=False, platform=platform), top.info


def spram_model() -> str:
    """The ``SB_SPRAM256KA`` simulation model Yosys ships (``<share>/ice40/cells_sim.v``): the
    vendor cell's behaviour (nibble write masks, data out undefined after a write), not ours."""
    from .netlist import yosys_share

    cells = (yosys_share() / "ice40" / "cells_sim.v").read_text()
    start = cells.index("module SB_SPRAM256KA")
    return cells[start:cells.index("endmodule", start) + len("endmodule")] + "\n"


class CosimDevice:
    """Context manager: a running co-simulated board and its ``url`` for pyserial.

    Parameters
    ----------
    network : spikeforge.model.Network
    lanes, divisor, timeout, link, learning
        As :class:`~spikeforge.sim.cosim_top.CosimTop` (``divisor`` clocks per UART bit).
    spram_weights : iterable of (int, int)
        Weight memories held in SPRAM, simulated with the vendor cell's model (an iCE40 UP5K
        board; its weights start empty, so deploy before running).
    ultraplus : bool
        Elaborate the board as on an iCE40 UP5K even with no weights in SPRAM (the link's
        buffers and counters in SPRAM).
    port : int
        TCP port on 127.0.0.1 (0: any free port; ``url`` names the one taken).
    """

    def __init__(self, network, *, lanes=1, divisor=4, timeout=None, link=DEFAULT_LINK,
                 learning=None, spram_weights=(), ultraplus=False, port=0):
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in 0..65535 (0: any free port), not "
                             f"{port!r}")
        reason = missing_reason("verilator")
        if reason:
            raise ToolMissing(reason)
        configure_verilator()
        self.port = port
        self.rtl, self.info = cosim_verilog(network, lanes, divisor, timeout, link, learning,
                                            spram_weights, ultraplus)
        self.sources = {f"{TOP}.v": self.rtl}
        if spram_weights or ultraplus:
            self.sources["sb_spram256ka.v"] = spram_model()
        self._tmp = None
        self._thread = None
        self._error = None
        self.url = None
        self.build_seconds = 0.0

    def _build(self):
        return _build("verilator", self.sources, top=TOP)

    @property
    def running(self):
        """The simulation (and its socket bridge) is still running."""
        return self._thread is not None and self._thread.is_alive()

    def _check_port(self):
        """Refuse a port that another program holds, before the build."""
        if self.port == 0:
            return
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", self.port))
        except OSError as exc:
            raise OSError(f"TCP port {self.port} on 127.0.0.1 is not free ({exc.strerror}): "
                          "choose another, or 0 for any free port") from None
        finally:
            probe.close()

    def start(self, wait=120.0):
        self._check_port()
        start = time.perf_counter()
        runner, build_dir = self._build()
        self.build_seconds = time.perf_counter() - start
        self._tmp = tempfile.TemporaryDirectory(prefix="spikeforge-board-")
        folder = Path(self._tmp.name)

        def simulate():
            try:
                runner.test(test_module="spikeforge.sim.cosim_tb", hdl_toplevel=TOP,
                            build_dir=build_dir, test_dir=folder,
                            results_xml=str(folder / "results.xml"),
                            extra_env={"SPIKEFORGE_BRIDGE_DIR": str(folder),
                                       "SPIKEFORGE_BRIDGE_PORT": str(self.port)},
                            log_file=folder / "sim.log")
            except BaseException as exc:  # reported by start() or close()
                self._error = exc

        self._thread = threading.Thread(target=simulate, name="spikeforge-cosim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + wait
        while not (folder / "port").exists():
            if not self._thread.is_alive() or time.monotonic() > deadline:
                log = folder / "sim.log"
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise RuntimeError(f"the co-simulated board did not start: {self._error}\n{tail}")
            time.sleep(0.05)
        self.url = f"socket://127.0.0.1:{(folder / 'port').read_text().strip()}"
        return self

    def close(self):
        if self._thread is not None:
            (Path(self._tmp.name) / "stop").write_text("stop\n")
            self._thread.join(timeout=60)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False
