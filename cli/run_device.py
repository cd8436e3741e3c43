"""``spikeforge run --port PORT --network NETFILE --input INPUT``: inference on a device.

``INPUT`` is ``digits`` (the digits test split; ``--samples N`` of it), a ``.npz`` spike
dataset (its test split, ``--samples N`` of it, split as the network was trained on it; see
docs/data.md), or a ``.npy`` file of samples (batch, n_in) that the network's encoding turns
into spikes, or of spikes (batch, T, n_in). ``--check`` also runs the reference model and
reports whether every output spike is equal. The device must hold this network's weights
(``spikeforge deploy``).
"""

import numpy as np

from .common import (
    CommandError,
    dataset_arg,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
    log,
    number,
    spikes_file,
)
from .deploy import open_device

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port or pyserial URL")
    parser.add_argument("--network", required=True, type=existing_file("network file"),
                        help="network file (.sfn) on the device")
    parser.add_argument("--input", required=True, type=spikes_file,
                        help="'digits', a .npz spike dataset (its test split), or a .npy file of "
                        "samples (batch, n_in) or 0/1 spikes (batch, T, n_in)")
    parser.add_argument("--samples", type=integer(1), default=10, help="samples of a dataset input")
    parser.add_argument("--baud", type=integer(1), default=115200)
    parser.add_argument("--timeout", type=number(above=0), default=10.0,
                        help="seconds per response")
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
    if args.input.endswith(".npz"):
        dataset = dataset_arg(network, args.input)
        count = min(args.samples, len(dataset.y_test))
        return dataset.spikes("test", np.arange(count)), dataset.labels("test")[:count]
    try:
        data = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CommandError(f"argument --input: cannot read {args.input} as a .npy array: "
                           f"{exc}") from None
    return _input_spikes(args.input, data, network), labels


def _input_spikes(name, data, network):
    """Spikes (batch, T, n_in) of 0/1 from a loaded ``--input`` array, or a CommandError naming
    what shape was expected."""
    n_in = network.n_in
    if data.ndim == 3:
        if data.shape[2] != n_in or data.shape[0] < 1 or data.shape[1] < 1:
            raise CommandError(f"argument --input: {name} holds spikes of shape {data.shape}; "
                               f"{network.name} takes (batch >= 1, T >= 1, {n_in})")
        if not np.issubdtype(data.dtype, np.integer) and data.dtype != np.bool_:
            raise CommandError(f"argument --input: spikes must be integers 0/1, not {data.dtype}")
        if not ((data == 0) | (data == 1)).all():
            raise CommandError(f"argument --input: spikes must be 0 or 1 (one event each); "
                               f"{name} holds values {data.min()}..{data.max()}")
        return data.astype(np.uint8)
    if data.ndim != 2 or data.shape[1] != n_in or data.shape[0] < 1:
        raise CommandError(f"argument --input: {name} has shape {data.shape}; expected samples "
                           f"(batch, {n_in}) or spikes (batch, T, {n_in})")
    try:
        return network.encoding.encode(data)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"argument --input: {name}: {exc}") from None


def run(args):
    from spikeforge.host.deploy import DeployError, check_deployed
    from spikeforge.host.inference import run_on_device
    from spikeforge.link.protocol import ProtocolError

    network = load_network_arg(args.network)
    spikes, labels = _inputs(args, network)
    with open_device(args) as device:
        try:
            check_deployed(device, network)
            log(args, f"running {len(spikes)} samples of {spikes.shape[1]} steps ...")
            result = run_on_device(device, network, spikes)
        except (ProtocolError, DeployError, ValueError) as exc:
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
