"""``spikeforge board --sim NETFILE [--port TCP]``: serve a co-simulated board on a local socket.

The board is the design a bitstream of ``NETFILE`` would hold (the board-independent top with
its UART, host link and network core), simulated by Verilator (built once per design, then
cached) with a socket bridge in place of the serial cable (:mod:`spikeforge.sim.cosim_device`).
Until it is stopped (Ctrl-C, SIGTERM), any client, ``spikeforge deploy``/``run``/``learn`` or
one written from ``docs/host_protocol.md``, reaches it at ``socket://127.0.0.1:PORT``, one
connection at a time; its state persists across connections, as on a powered board. A
network of the same design (same sizes, formats, neuron parameters) deploys to it without a
rebuild.
"""

import sys
import time

from .common import CommandError, emit_json, existing_file, integer, load_network_arg, log

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--sim", type=existing_file("network file"), required=True,
                        metavar="NETFILE",
                        help="network file (.sfn) whose design the co-simulated board holds")
    parser.add_argument("--port", type=integer(0, 65535), default=0,
                        help="TCP port on 127.0.0.1 (default 0: any free port, printed)")
    parser.add_argument("--lanes", type=integer(1, 64), default=1,
                        help="parallel lanes of the design (as `spikeforge build --lanes`)")
    parser.add_argument("--divisor", type=integer(4, 1 << 16), default=4,
                        help="clock cycles per UART bit of the simulated line (default 4)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (the URL) on stdout once serving")


def run(args):
    from spikeforge.sim.cosim_device import CosimDevice
    from spikeforge.toolchain import ToolMissing

    network = load_network_arg(args.sim)
    try:
        board = CosimDevice(network, lanes=args.lanes, divisor=args.divisor, port=args.port)
    except ToolMissing as exc:
        raise CommandError(f"the co-simulated board needs Verilator: {exc}") from None
    except ValueError as exc:
        raise CommandError(f"{network.name} cannot be put on a board: {exc}") from None
    log(args, f"building the co-simulated board of {network.name} (Verilator; the first build "
              "of a design takes minutes) ...")
    try:
        try:
            board.start(wait=600.0)
        except (OSError, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        if args.json:
            emit_json({"url": board.url, "network": network.name,
                       "design_hash": board.info.design_hash.hex(),
                       "build_seconds": board.build_seconds})
            sys.stdout.flush()
        log(args, f"serving {network.name} at {board.url} (Ctrl-C stops); try: spikeforge "
                  f"deploy {args.sim} --port {board.url}")
        while board.running:
            time.sleep(0.2)
        raise CommandError("the co-simulation stopped unexpectedly")
    except KeyboardInterrupt:
        log(args, "stopped the co-simulated board")
        return 0
    finally:
        board.close()  # ends the simulation once no client is connected
