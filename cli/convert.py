"""``spikeforge convert``: a ReLU MLP or VGG-style CNN to an integrate-and-fire SNN with
Spike-Norm thresholds."""

from .common import CommandError, emit_json, existing_file, integer, log, new_file, number

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    from spikeforge.datasets import DATASETS

    parser.add_argument("--dataset", choices=DATASETS, default="digits",
                        help="dataset (calibration and test)")
    parser.add_argument("--model", default=None, type=existing_file("torch model file"),
                        help="a torch.save'd torch.nn.Sequential of bias-free Linear, Conv2d, "
                             "ReLU, AvgPool2d and Flatten layers, loaded with weights_only=True: "
                             "a file that would run code is refused (default: train one on the "
                             "dataset)")
    parser.add_argument("--ann", choices=("mlp", "cnn", "resnet"), default="mlp",
                        help="the ANN trained when no --model is given: a 64-128-10 MLP, a "
                             "VGG-style CNN (3×3 conv 16, avg-pool 2, 3×3 conv 32, avg-pool 2, "
                             "linear) or a ResNet-style CNN (3×3 conv 16, a residual block, "
                             "avg-pool 2, linear)")
    parser.add_argument("--percentile", type=number(hi=100, above=0), default=100.0,
                        help="Spike-Norm threshold: this percentile of each layer's drive on the "
                             "calibration samples (default 100: the maximum, as Sengupta et al.; "
                             "99.9 is Rueckauer et al.'s robust normalization)")
    parser.add_argument("--input-shape", type=integer(1, 4096), nargs=3, default=None,
                        metavar=("C", "H", "W"),
                        help="the input map a convolutional --model reads (default: the "
                             "dataset's, digits 1 8 8)")
    parser.add_argument("--steps", type=integer(1), default=32,
                        help="time steps T of the rate code")
    parser.add_argument("--calibration", type=integer(1), default=200,
                        help="training samples Spike-Norm measures thresholds on")
    parser.add_argument("--weight-bits", type=integer(2, 16), default=8)
    parser.add_argument("--epochs", type=integer(1), default=40, help="ANN training epochs")
    parser.add_argument("--out", required=True, type=new_file, help="network file to write (.sfn)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args):
    from functools import partial

    import numpy as np
    import torch
    from spikeforge.compiler.frontends.ann import (
        ConversionError,
        convert_mlp,
        train_relu_cnn,
        train_relu_mlp,
        train_relu_resnet,
    )
    from spikeforge.compiler.frontends.torch_file import TorchFileError, load_torch_mlp
    from spikeforge.datasets import load_dataset
    from spikeforge.model import run as run_reference
    from spikeforge.model import save_network

    data = load_dataset(args.dataset, steps=args.steps)
    if not hasattr(data.encoding, "levels"):
        raise CommandError(f"dataset {args.dataset!r} is not rate-coded; conversion needs rates")
    shape = tuple(args.input_shape) if args.input_shape else data.input_shape
    if args.model:
        try:
            model = load_torch_mlp(args.model)  # weights_only: never unpickles code
        except TorchFileError as exc:
            raise CommandError(str(exc)) from None
        convolutional = any(isinstance(m, torch.nn.Conv2d) for m in model)
        if convolutional and shape is None:
            raise CommandError(f"{args.model} is convolutional and {args.dataset} has no input "
                               "map shape: give --input-shape C H W")
        levels = data.encoding.levels
        x_test = torch.tensor(data.x_test / levels, dtype=torch.float32)
        if convolutional:
            x_test = x_test.reshape(len(x_test), *shape)
        try:
            with torch.no_grad():
                logits = model(x_test)
        except RuntimeError as exc:
            raise CommandError(f"{args.model} cannot run on {args.dataset}'s samples: "
                               f"{str(exc).splitlines()[0]}") from None
        ann_accuracy = float((logits.argmax(1).numpy() == data.y_test).mean())
    else:
        log(args, f"training a ReLU {args.ann.upper()} on {args.dataset} ({args.epochs} epochs)")
        try:
            trainer = {"mlp": train_relu_mlp, "cnn": train_relu_cnn,
                       "resnet": partial(train_relu_resnet, channels=(16,))}[args.ann]
            model, ann_accuracy = trainer(data, epochs=args.epochs)
        except ConversionError as exc:
            raise CommandError(str(exc)) from None
    try:
        network, thresholds = convert_mlp(model, data.encoding,
                                          data.x_train[:args.calibration],
                                          weight_bits=args.weight_bits, input_shape=shape,
                                          percentile=args.percentile)
    except ConversionError as exc:
        raise CommandError(str(exc)) from None
    trace = run_reference(network, data.spikes("test"))
    snn_accuracy = float((trace.predict(network.readout) == data.labels("test")).mean())
    network.metadata.update(dataset=args.dataset, ann_accuracy=ann_accuracy,
                            accuracy={"int": snn_accuracy})
    try:
        save_network(network, args.out)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    report = {"out": str(args.out), "steps": args.steps, "ann_accuracy": ann_accuracy,
              "snn_accuracy": snn_accuracy, "drop_pp": 100 * (ann_accuracy - snn_accuracy),
              "thresholds": thresholds, "weight_bits": args.weight_bits,
              "mean_hidden_rate": float(np.mean([s.mean() for s in trace.spikes[:-1]]))}
    if args.json:
        emit_json(report)
    else:
        print(f"ANN {ann_accuracy:.2%} → SNN (IF, Spike-Norm, T={args.steps}, "
              f"{args.weight_bits}-bit) {snn_accuracy:.2%}; thresholds {thresholds}")
    return 0
