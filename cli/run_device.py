"""``spikeforge run --port PORT --network NETFILE --input INPUT``: inference on a device.

``INPUT`` is ``digits`` (the digits test split; ``--samples N`` of it), or a ``.npy`` file of
samples (batch, n_in) that the network's encoding turns into spikes, or of spikes
(batch, T, n_in). ``--check`` also runs the reference model and reports whether every output
spike is equal. The device must hold this network's weights (``spikeforge deploy``).
"""

import numpy as np

from .common import CommandError, emit_json, load_network_arg, log
from .deploy import open_device

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port or pyserial URL")
    parser.add_argument("--network", required=True, help="network file (.sfn) on the device")
    parser.add_argument("--input", required=True, help="'digits' or a .npy file")
    parser.add_argument("--samples", type=int, default=10, help="samples of a dataset input")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per response")
    parser.add_argument("--check", action="store_true",
                        help="compare with the reference model (exact equality)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _inputs(args, network):
    labels = None
    if args.input == "digits":
        from spikeforge.datasets import load_dataset

        dataset = load_dataset("digits", steps=network.steps)
        spikes = dataset.spikes("test", np.arange(args.samples))
        labels = dataset.labels("test")[:args.samples]
        return spikes, labels
    try:
        data = np.load(args.input)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read input {args.input}: {exc}") from None
    try:
        spikes = data if data.ndim == 3 else network.encoding.encode(data)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"input {args.input}: {exc}") from None
    return spikes, labels


def run(args):
    from spikeforge.host.deploy import weights_fingerprint
    from spikeforge.host.inference import run_on_device
    from spikeforge.host.protocol import ProtocolError

    network = load_network_arg(args.network)
    spikes, labels = _inputs(args, network)
    with open_device(args) as device:
        try:
            loaded = device.read_params()["weights_id"]
            if loaded != weights_fingerprint(network):
                raise CommandError(
                    f"the device holds weights {loaded:08x}, not those of {network.name} "
                    f"({weights_fingerprint(network):08x}): run `spikeforge deploy` first")
            log(args, f"running {len(spikes)} samples of {spikes.shape[1]} steps ...")
            result = run_on_device(device, network, spikes)
        except (ProtocolError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    report = {
        "samples": len(spikes),
        "steps": int(spikes.shape[1]),
        "predictions": result["predictions"].tolist(),
        "scores": result["scores"].tolist(),
        "output_spikes": int(result["spikes"].sum()),
        "counters": result["counters"],
    }
    if labels is not None:
        report["accuracy"] = float(np.mean(result["predictions"] == labels))
    if args.check:
        from spikeforge.model import run as reference_run

        trace = reference_run(network, spikes)
        if network.layers[-1].params.spiking:
            exact = bool(np.array_equal(result["spikes"], trace.spikes[-1]))
        else:
            exact = bool(np.array_equal(result["u"], trace.u[-1]))
        report["matches_reference"] = exact
    if args.json:
        emit_json(report)
    else:
        print(f"predictions: {report['predictions']}")
        if "accuracy" in report:
            print(f"accuracy: {report['accuracy']:.3f}")
        if "matches_reference" in report:
            print(f"matches the reference model exactly: {report['matches_reference']}")
        c = report["counters"]
        print(f"device: {c['steps']} steps, {c['events']} events, {c['synops']} synaptic ops, "
              f"{c['cycles']} cycles")
    if args.check and not report["matches_reference"]:
        return 1
    return 0
