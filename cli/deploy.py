"""``spikeforge deploy NETFILE --port PORT``: load a network's weights into a running device.

The device's design (sizes, formats, neuron parameters, design hash) must match the network;
otherwise nothing is written and the differences are listed. Every word is read back.
"""

from .common import CommandError, emit_json, existing_file, integer, load_network_arg, log, number
from .progress import Progress

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument("--port", required=True,
                        help="serial port or pyserial URL (/dev/ttyUSB1, socket://host:port)")
    parser.add_argument("--baud", type=integer(1), default=115200)
    parser.add_argument("--timeout", type=number(above=0), default=10.0,
                        help="seconds per response")
    parser.add_argument("--no-verify", action="store_true", help="skip the read-back")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def open_device(args):
    """A :class:`~spikeforge.host.driver.Device` on ``args.port``, or a clean error."""
    from spikeforge.host.driver import Device

    try:
        return Device(args.port, baud=args.baud, timeout=args.timeout)
    except Exception as exc:  # pyserial raises SerialException or OSError
        raise CommandError(f"cannot open {args.port}: {exc}") from None


def run(args):
    from spikeforge.host.deploy import DeployError, deploy
    from spikeforge.link.protocol import ProtocolError

    network = load_network_arg(args.netfile)
    with open_device(args) as device:
        try:
            with Progress(args, None, "deploy", "frame") as bar:
                summary = deploy(device, network, verify=not args.no_verify, progress=bar)
        except (DeployError, ProtocolError) as exc:
            raise CommandError(str(exc)) from None
    summary["network"] = network.name
    if args.json:
        emit_json(summary)
    else:
        log(args, f"deployed {summary['weights']} weights of {network.name} in "
                  f"{summary['frames']} frames, {summary['seconds']:.2f} s"
                  f"{', verified by read-back' if summary['verified'] else ''}; weights id "
                  f"{summary['weights_id']}")
    return 0
