"""``spikeforge learn``: on-chip learning on a device, against the reference.

The device (a :class:`~spikeforge.hdl.learning_core.LearningCore` around the network) runs
frozen evaluation trials, then learning trials, then frozen evaluation trials again; the integer
reference runs the same trials. Every learning layer's weights after every trial, and with
traces every synapse's traces after every step, are compared bit for bit. Inputs are the
dataset the network was trained on (its metadata, or ``--dataset``) with class-coded targets, or
seeded random spikes and targets for a network without one.

Where the device is: ``--sim amaranth|verilator|icarus`` simulate the learning core and drive its
command stream directly (traces are compared too); ``--sim board`` co-simulates the whole board
top and talks to it through the UART host link (``LEARN`` frames, as a board hears them);
``--port PORT`` is a board built with ``spikeforge build --rule`` (same learning options). Over
the link, the network's weights are deployed first, and every trial's output spikes and the
learning layers' weights are compared.
"""

from .common import (
    CommandError,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
    log,
    new_file,
    number,
)
from .progress import Progress

__all__ = ["add_arguments", "add_learning_options", "learning_config", "parse_rate", "run"]


def parse_rate(text):
    """``"2^-20"``, ``"2**-20"`` or a number → float."""
    text = str(text).strip().replace("**", "^")
    try:
        if "^" in text:
            base, exponent = text.split("^", 1)
            return float(base) ** float(exponent)
        return float(text)
    except ValueError:
        raise CommandError(f"--learning-rate must be a number like 2^-20, not {text!r}") from None


def add_learning_options(parser, *, required):
    """The options that fix a learning configuration (shared by ``learn`` and ``build``)."""
    parser.add_argument("--rule", choices=["superspike", "eprop"], required=required,
                        help="on-chip learning rule" + ("" if required else
                                                        " (adds learning units)"))
    parser.add_argument("--layers", default=None,
                        help="comma-separated learning layer indices (default: superspike the "
                        "last layer, eprop every layer)")
    parser.add_argument("--learning-rate", default="2^-20", help="a power of two, e.g. 2^-20")
    parser.add_argument("--seed", type=int, default=0, help="feedback matrices, random stimuli")
    for name, default in (("trace-shift", 6), ("error-shift", 4), ("k-err", 3), ("sg-shift", 6),
                          ("sg-cut", 8), ("sg-slope", 1), ("psi-shift", 4)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--rounding", choices=["stochastic", "nearest"], default="stochastic")


def learning_config(network, args):
    """The :class:`~spikeforge.model.learning.LearningConfig` of the options, or a clear error."""
    from spikeforge.model.learning import LearningConfig

    try:
        layers = None if args.layers is None else tuple(
            int(v) for v in args.layers.split(",") if v.strip())
    except ValueError:
        raise CommandError(
            f"--layers must be comma-separated integers, not {args.layers!r}") from None
    try:
        return LearningConfig.create(
            network, args.rule, layers=layers, learning_rate=parse_rate(args.learning_rate),
            seed=args.seed, trace_shift=args.trace_shift, error_shift=args.error_shift,
            k_err=args.k_err, sg_shift=args.sg_shift, sg_cut=args.sg_cut,
            sg_slope=args.sg_slope, psi_shift=args.psi_shift, rounding=args.rounding)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def add_arguments(parser):
    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    add_learning_options(parser, required=True)
    parser.add_argument("--sim", choices=["amaranth", "verilator", "icarus", "board"],
                        default="verilator",
                        help="simulator of the learning core, or 'board': the co-simulated "
                        "board top over its UART host link")
    parser.add_argument("--port", default=None,
                        help="a board built with `spikeforge build --rule ...` (serial port or "
                        "pyserial URL); replaces --sim")
    parser.add_argument("--baud", type=integer(1), default=115200)
    parser.add_argument("--timeout", type=number(above=0), default=60.0,
                        help="seconds per response")
    parser.add_argument("--samples", type=integer(1), default=8, help="learning trials")
    parser.add_argument("--eval", type=integer(0), default=0,
                        help="frozen test trials before and after learning (accuracy)")
    parser.add_argument("--dataset", choices=["digits", "randman"], default=None,
                        help="dataset (default: the network's metadata)")
    parser.add_argument("--steps", type=integer(1), default=None,
                        help="steps per trial (default T)")
    parser.add_argument("--period", type=integer(1), default=4,
                        help="target spike period (classes)")
    parser.add_argument("--lanes", type=integer(1), default=1)
    parser.add_argument("--no-traces", action="store_true",
                        help="compare weights only (faster), not every step's traces")
    parser.add_argument("--out", default=None, type=new_file,
                        help="write the learned network file here")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def stimulus(network, args):
    """``(spikes, targets, labels or None, n_eval, source)`` for eval + learn + eval trials."""
    import numpy as np
    from spikeforge.model.learning import class_targets

    name = args.dataset or network.metadata.get("dataset")
    if name:
        from spikeforge.datasets import load_dataset

        data = load_dataset(name, steps=network.steps)
        if data.n_in != network.n_in or data.n_classes != network.n_out:
            raise CommandError(
                f"dataset {name} has {data.n_in} inputs and {data.n_classes} classes, the network "
                f"{network.n_in} inputs and {network.n_out} outputs")
        rng = np.random.default_rng(args.seed)
        train = rng.permutation(len(data.y_train))[: args.samples]
        test = np.arange(min(args.eval, len(data.y_test)))
        x_train, x_test = data.spikes("train", train), data.spikes("test", test)
        steps = args.steps or x_train.shape[1]
        x = np.concatenate([x_test, x_train, x_test])[:, :steps]
        labels = np.concatenate([data.y_test[test], data.y_train[train], data.y_test[test]])
        targets = class_targets(labels, network.n_out, steps, period=args.period,
                                start=min(4, steps - 1))
        return x, targets, labels, len(test), f"{name}: {len(test)} test, {len(train)} train"
    rng = np.random.default_rng(args.seed)
    steps = args.steps or network.steps
    total = args.samples + 2 * args.eval
    x = (rng.random((total, steps, network.n_in)) < 0.3).astype(np.int64)
    targets = (rng.random((total, steps, network.n_out)) < 0.2).astype(np.int64)
    return x, targets, None, args.eval, f"random spikes and targets, seed {args.seed}"


def _over_the_link(network, config, x, targets, learn, args):
    """``(report, final, results)`` of the trials on ``--port`` or the co-simulated board."""
    from contextlib import ExitStack

    from spikeforge.host.deploy import DeployError
    from spikeforge.host.learning import device_learning_report
    from spikeforge.link.protocol import ProtocolError

    from .deploy import open_device

    with ExitStack() as stack:
        if args.port is None:
            from spikeforge.sim.cosim_device import CosimDevice

            board = stack.enter_context(CosimDevice(network, lanes=args.lanes, learning=config))
            args.port = board.url
        device = stack.enter_context(open_device(args))
        try:
            with Progress(args, len(learn), f"learn {args.rule}", "trial") as bar:
                return device_learning_report(device, network, config, x, targets, learn,
                                              progress=bar)
        except (DeployError, ProtocolError) as exc:
            raise CommandError(str(exc)) from None


def run(args):
    import numpy as np
    from spikeforge.sim.learning_cosim import learning_report
    from spikeforge.toolchain import ToolMissing

    network = load_network_arg(args.netfile)
    if args.samples < 0 or args.eval < 0:
        raise CommandError("--samples and --eval must not be negative")
    config = learning_config(network, args)
    x, targets, labels, n_eval, source = stimulus(network, args)
    learn = [False] * n_eval + [True] * args.samples + [False] * n_eval
    on_port = args.port is not None
    where = args.port or args.sim
    log(args, f"learn ({args.rule}) on {where}: {len(learn)} trials × {x.shape[1]} steps "
        f"({source}), learning layers {list(config.layers)}")
    try:
        if args.port or args.sim == "board":
            report, final, results = _over_the_link(network, config, x, targets, learn, args)
            report["sim"] = "device" if on_port else "board"
        else:
            report, final, results = learning_report(
                network, config, x, targets, learn, args.sim, lanes=args.lanes,
                traces=not args.no_traces)
    except ToolMissing as exc:
        raise CommandError(str(exc)) from None
    report["stimulus"] = source
    report["netfile"] = str(args.netfile)
    if labels is not None and n_eval:
        counts = np.asarray([r["counts"] for r in results])
        predicted = np.argmax(counts, axis=1)
        hit = predicted == labels
        report["accuracy_before"] = float(hit[:n_eval].mean())
        report["accuracy_after"] = float(hit[-n_eval:].mean())
    if args.out:
        from spikeforge.model import save_network

        save_network(final, args.out)
        report["out"] = args.out
    if args.json:
        emit_json(report)
    else:
        print(f"{report['sim']}: {report['trials']} trials, {report['values_compared']} values "
              f"compared, {report['mismatches']} mismatches, final weights equal: "
              f"{report['final_weights_equal']}")
        if "accuracy_after" in report:
            print(f"accuracy {report['accuracy_before']:.3f} → {report['accuracy_after']:.3f}")
        if report["first_mismatch"]:
            print(f"first mismatch: {report['first_mismatch']}")
    return 0 if report["mismatches"] == 0 else 1
