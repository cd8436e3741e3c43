"""``spikeforge train``: quantization-aware surrogate-gradient training; writes a network file."""

from .common import CommandError, add_data_arguments, emit_json, integer, log, new_file, number
from .progress import Progress

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    from spikeforge.datasets import DATASETS
    from spikeforge.model.training import SURROGATES

    parser.add_argument("--dataset", choices=DATASETS, default=None,
                        help="built-in dataset (default digits)")
    add_data_arguments(parser, split_options=True)
    parser.add_argument("--steps", type=integer(1), default=None,
                        help="time steps T (dataset default; of --data event lists: default the "
                             "last event's step + 1)")
    parser.add_argument("--hidden", type=integer(1, 65536), nargs="+", default=[128],
                        help="hidden layer sizes (dense layers)")
    parser.add_argument("--arch", default=None,
                        help="layer spec, replacing --hidden: c<C>k<K>[s<S>][p<P>] convolution, "
                             "p<N> sum pooling, d<N> dense, joined by '-', ending with "
                             "d<classes> (e.g. c8k3-p2-c16k3-p2-d10 on digits)")
    parser.add_argument("--input-shift", type=integer(0, 15), default=0,
                        help="fractional state bits f (A = 2^f W s): decays floor below one "
                             "weight unit, which low --weight-bits need (default 0)")
    parser.add_argument("--input-shape", type=integer(1, 4096), nargs=3, default=None,
                        metavar=("C", "H", "W"),
                        help="the input channels as a C×H×W map for --arch (digits: 1 8 8)")
    parser.add_argument("--weight-bits", type=integer(2, 16), default=8)
    parser.add_argument(
        "--k-syn", type=int, nargs="+", default=None,
        help="synaptic decay: shift k (d = 2^-k), or signed shifts of a multi-term decay "
        "(5 7 -10: d = 2^-5 + 2^-7 - 2^-10); default 1",
    )
    parser.add_argument(
        "--k-mem", type=int, nargs="+", default=None,
        help="membrane decay, as --k-syn; default 3",
    )
    parser.add_argument(
        "--tau-syn", type=float, default=None,
        help="synaptic time constant in steps (instead of --k-syn), fitted to a decay",
    )
    parser.add_argument(
        "--tau-mem", type=float, default=None,
        help="membrane time constant in steps (instead of --k-mem), fitted to a decay",
    )
    parser.add_argument(
        "--decay-tolerance", type=number(above=0), default=0.01,
        help="fitted decays: relative tolerance on d = 1/tau (default 0.01)",
    )
    parser.add_argument(
        "--max-decay-terms", type=integer(1, 4), default=4,
        help="fitted decays: at most this many shift terms, 1..4 (default 4)",
    )
    parser.add_argument(
        "--theta",
        type=number(above=0),
        default=None,
        help="threshold in units of the weight scale 2^(bits-1) (default 4.0; 2.0 for an "
             "--arch with convolutions)",
    )
    parser.add_argument(
        "--readout", choices=["spike_count", "membrane_max", "membrane_sum"], default="spike_count"
    )
    parser.add_argument("--surrogate", choices=sorted(SURROGATES), default="fast_sigmoid")
    parser.add_argument(
        "--slope",
        type=number(above=0),
        default=None,
        help="sharpness of the surrogate gradient (default 25; 5 for an --arch with "
             "convolutions)",
    )
    parser.add_argument("--epochs", type=integer(1), default=30)
    parser.add_argument("--batch-size", type=integer(1), default=64)
    parser.add_argument("--lr", type=number(above=0), default=2e-3)
    parser.add_argument("--weight-decay", type=number(0), default=0.0, metavar="LAMBDA",
                        help="decoupled weight decay of the latent weights (AdamW; default 0: "
                             "Adam); 0.05 for the digits CNN recipe of benchmarks/cnn_digits.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", type=integer(0, 16), default=0, metavar="PIXELS",
                        help="shift each training image by up to PIXELS in x and y, drawn "
                             "anew every epoch (image datasets: --arch nets; default 0: none)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    parser.add_argument("--threads", type=integer(1), default=None, help="torch CPU threads")
    parser.add_argument("--out", required=True, type=new_file, help="network file to write (.sfn)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    import numpy as np
    import torch
    from spikeforge.model import run as run_reference
    from spikeforge.model import save_network
    from spikeforge.model.training.trainer import TrainConfig, fit_decays, layer_plans, train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device != "cpu" and not _device_available(args.device):
        raise CommandError(f"torch device {args.device!r} is not available here; use --device cpu")
    if not 2 <= args.weight_bits <= 16:
        raise CommandError(f"--weight-bits must be in 2..16, not {args.weight_bits}")
    decays = _decay_options(args)
    dataset, data_meta = _dataset(args)
    config = TrainConfig(
        hidden=tuple(args.hidden),
        arch=args.arch,
        input_shift=args.input_shift,
        input_shape=tuple(args.input_shape) if args.input_shape else None,
        weight_bits=args.weight_bits,
        **decays,
        theta=args.theta,
        readout=args.readout,
        surrogate=args.surrogate,
        slope=args.slope,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        seed=args.seed,
        device=args.device,
        augment=args.augment,
    )
    if config.arch is not None and config.input_shape is None:
        config.input_shape = dataset.input_shape
    try:
        _, _, decay_report = fit_decays(config)
        layer_plans(dataset.n_in, dataset.n_classes, config)  # a bad --arch fails before training
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    bar = Progress(args, args.epochs, f"train {dataset.name}", "epoch")

    def progress(epoch, metrics):
        bar(bar.bar.n + 1, status=f"loss {metrics['loss']:.3f}, test "
                                  f"{metrics['test_accuracy']:.3f}")

    try:
        net, history = train(dataset, config, progress=progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.close()
    network = net.cpu().to_network()
    trace = run_reference(network, dataset.spikes("test"))
    int_accuracy = float((trace.predict(network.readout) == dataset.labels("test")).mean())
    seconds = sum(m["seconds"] for m in history)
    samples = len(dataset.y_train) * config.epochs
    metadata = {
        "dataset": dataset.name,
        **data_meta,
        "train_config": config.to_dict(),
        "history": history,
        "accuracy": {"torch": history[-1]["test_accuracy"], "int": int_accuracy},
    }
    network = net.cpu().to_network(metadata)
    try:
        save_network(network, args.out)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    report = {
        "out": str(args.out),
        "dataset": dataset.name,
        "epochs": config.epochs,
        "train_seconds": round(seconds, 2),
        "samples_per_second": round(samples / seconds, 1) if seconds else None,
        "torch_test_accuracy": history[-1]["test_accuracy"],
        "int_test_accuracy": int_accuracy,
        "weight_bits": config.weight_bits,
        "layers": [_layer_line(ly) for ly in network.layers],
        "weight_words": sum(ly.weight.size for ly in network.layers),
        "weight_words_unrolled": sum(ly.dense().weight.size for ly in network.layers),
        "decays": [{"layer": ly.name, **decay_report} for ly in network.layers],
    }
    if args.json:
        emit_json(report)
    else:
        log(args, f"wrote {args.out}")
        for name, entry in decay_report.items():
            print(f"{name} (every layer): {_decay_line(entry)}")
        correct = int(np.sum(trace.predict(network.readout) == dataset.labels("test")))
        print(
            f"integer test accuracy: {int_accuracy:.2%} ({correct}/{len(dataset.y_test)}), "
            f"torch: {history[-1]['test_accuracy']:.2%}"
        )
    return 0


def _layer_line(layer):
    """``LIF 64→512 (conv 8×3×3 on 1×8×8 → 8×8×8)``: kind, sizes and connectivity."""
    p, conn = layer.params, layer.connectivity
    line = f"{p.kind.name} {p.n_in}→{p.n}"
    if conn is None:
        return line
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    pool = f"sum-pool {conn.pool}, " if conn.pool != 1 else ""
    if conn.conv is None:
        return f"{line} ({pool}dense on {shape(conn.input_shape)})"
    k = conn.conv.kernel
    return (f"{line} ({pool}conv {conn.conv.out_channels}×{k}×{k} stride {conn.conv.stride} "
            f"padding {conn.conv.padding} on {shape(conn.input_shape)} → "
            f"{shape(conn.output_shape)})")


def _dataset(args):
    """The training data and what the network file records of it."""
    from spikeforge.datasets import SpikeFileError, data_metadata, load_dataset, load_spike_file

    if args.data is None:
        return load_dataset(args.dataset or "digits", steps=args.steps, seed=args.seed), {}
    if args.dataset is not None:
        raise CommandError("give either --dataset (built-in) or --data (a file), not both")
    options = {"test_fraction": args.test_fraction, "time_bin": args.time_bin,
               "steps": args.steps, "seed": args.seed}
    try:
        dataset = load_spike_file(args.data, **options)
    except SpikeFileError as exc:
        raise CommandError(f"argument --data: {exc}") from None
    return dataset, data_metadata(args.data, options)


def _decay_options(args):
    """TrainConfig's decay fields from the options; ``--k-*`` and ``--tau-*`` exclude each other."""
    out = {"decay_tolerance": args.decay_tolerance, "max_decay_terms": args.max_decay_terms}
    for name, default in (("syn", 1), ("mem", 3)):
        k, tau = getattr(args, f"k_{name}"), getattr(args, f"tau_{name}")
        if k is not None and tau is not None:
            raise CommandError(f"give either --k-{name} or --tau-{name}, not both")
        if tau is not None:
            out[f"tau_{name}"] = tau
        k = default if k is None else (k[0] if len(k) == 1 else list(k))
        out[f"k_{name}"] = k
    return out


def _decay_line(entry):
    """``d = 2^-5 + 2^-7 - 2^-10 (3 terms), τ 25 → 25.13 steps (+0.5 %)``."""
    from spikeforge.model.decay import Decay

    text = f"{Decay.of(entry['terms'])} ({entry['n_terms']} term(s)), "
    if "tau" in entry:
        return text + (f"τ {entry['tau']:g} → {entry['realized_tau']:.4g} steps "
                       f"({entry['tau_error']:+.2%})")
    return text + f"τ {entry['realized_tau']:.4g} steps"


def _device_available(device):
    import torch

    try:
        torch.empty(1, device=device)
        return True
    except (RuntimeError, AssertionError):
        return False
