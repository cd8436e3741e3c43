r"""ANN→SNN conversion of a ReLU MLP with Spike-Norm (Sengupta et al., *Going Deeper in Spiking
Neural Networks: VGG and Residual Architectures*, Front. Neurosci. 2019).

A ReLU unit's activation :math:`a = \max(0, W x)` is approximated by the firing rate of an
integrate-and-fire neuron with reset by subtraction: over ``T`` steps with input rates
:math:`r_{in}`, :math:`U` integrates :math:`W s_{in}` and fires once per :math:`\theta` of
accumulated input, so :math:`r \approx \max(0, W r_{in}) / \theta` (bounded by one spike per
step). Spike-Norm picks each layer's :math:`\theta` in turn, on the *spiking* network with the
layers before it already converted: the maximum over calibration samples, time steps and
neurons of the layer's weighted input :math:`a[n] = W s_{in}[n]`. That guarantees no neuron is
ever driven more than one threshold per step (no rate is clipped), at the cost of low rates and
therefore long ``T``.

On the integer contract: hidden layers are ``IF`` with ``k_syn = 0`` (``I[n+1] = a[n]``: no
filter), ``k_mem = 0`` (no leak) and reset by subtraction; weights are quantized per layer to
``weight_bits`` (scale :math:`127 / \max|W|` for 8 bits) and :math:`\theta` is measured on those
integers. The output layer is a non-spiking ``LI`` with ``k_mem = 0`` read out by
``membrane_sum``: :math:`\sum_n U[n] = W \sum_n s[n]`, the ANN's logits evaluated on the spike
counts, so no threshold is needed at the output. Biases are not supported (train the MLP with
``bias=False``).
"""

import itertools
from pathlib import Path

import numpy as np

from ...model import IntFormat, Layer, LayerParams, Network, NeuronKind, Readout, ResetMode, run
from ..ir import graph_from_network
from .registry import register

__all__ = ["ConversionError", "ann_to_graph", "convert_mlp", "mlp_weights", "train_relu_mlp"]


class ConversionError(ValueError):
    """A model that is not a bias-free ReLU MLP of Linear layers."""


def mlp_weights(model):
    """The weight matrices of ``Linear → ReLU → … → Linear`` (a ``torch.nn.Sequential``)."""
    import torch

    if not isinstance(model, torch.nn.Sequential):
        raise ConversionError(f"expected a torch.nn.Sequential of Linear and ReLU, not "
                              f"{type(model).__name__}")
    weights, expect_linear = [], True
    for index, module in enumerate(model):
        if isinstance(module, torch.nn.Linear):
            if not expect_linear:
                raise ConversionError(f"module {index}: two Linear layers need a ReLU between")
            if module.bias is not None and bool(module.bias.detach().abs().max() > 0):
                raise ConversionError(f"module {index}: Linear has a bias; convert a bias-free "
                                      "MLP (torch.nn.Linear(..., bias=False))")
            weights.append(module.weight.detach().double().numpy())
            expect_linear = False
        elif isinstance(module, torch.nn.ReLU):
            if expect_linear:
                raise ConversionError(f"module {index}: ReLU must follow a Linear layer")
            expect_linear = True
        elif isinstance(module, torch.nn.Flatten | torch.nn.Identity | torch.nn.Dropout):
            continue
        else:
            raise ConversionError(f"module {index} is a {type(module).__name__}; supported: "
                                  "Linear (bias-free), ReLU, Flatten, Dropout")
    if not weights or expect_linear:
        raise ConversionError("the MLP must start and end with a Linear layer")
    for a, b in itertools.pairwise(weights):
        if b.shape[1] != a.shape[0]:
            raise ConversionError(f"Linear layers do not chain: {a.shape[0]} outputs feed "
                                  f"{b.shape[1]} inputs")
    return weights


def _quantize(weight, bits):
    fmt = IntFormat(bits)
    scale = fmt.max / max(float(np.abs(weight).max()), 1e-12)
    return np.clip(np.rint(weight * scale), fmt.min, fmt.max).astype(np.int64)


def convert_mlp(model, encoding, calibration, *, weight_bits=8, state_bits=24, name="ann2snn"):
    """Convert ``model`` with Spike-Norm thresholds measured on ``calibration`` samples
    (intensities the ``encoding`` takes); returns ``(network, thresholds)``."""
    weights = mlp_weights(model)
    x = encoding.encode(calibration)
    state = IntFormat(state_bits)
    layers, thresholds = [], []
    for index, weight in enumerate(weights):
        w = _quantize(weight, weight_bits)
        n, n_in = w.shape
        last = index == len(weights) - 1
        common = dict(n_in=n_in, n=n, k_syn=0, k_mem=0, weight_format=IntFormat(weight_bits),
                      current_format=state, potential_format=state)
        if last:
            params = LayerParams(kind=NeuronKind.LI, theta=1, **common)
        else:
            # Spike-Norm: the largest weighted input of this layer on the converted network
            spikes_in = x if not layers else run(Network(tuple(layers), encoding), x).spikes[-1]
            drive = int(np.einsum("btj,ij->bti", spikes_in.astype(np.int64), w).max())
            theta = min(max(1, drive), state.max)
            thresholds.append(theta)
            params = LayerParams(kind=NeuronKind.IF, theta=theta, reset=ResetMode.SUBTRACT,
                                 **common)
        layers.append(Layer(params, w, name=f"fc{index}"))
    network = Network(tuple(layers), encoding, Readout.MEMBRANE_SUM, name=name,
                      metadata={"source": "ann_conversion", "spike_norm_thresholds": thresholds})
    return network, thresholds


def train_relu_mlp(dataset, hidden=(128,), epochs=60, seed=0):
    """A bias-free ReLU MLP on ``dataset``'s intensities scaled to 0..1 (what the rate code
    turns into firing rates); returns ``(model, test_accuracy)``."""
    import torch

    torch.manual_seed(seed)
    sizes = (dataset.n_in, *hidden, dataset.n_classes)
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(torch.nn.Linear(sizes[i], sizes[i + 1], bias=False))
        if i < len(sizes) - 2:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    levels = dataset.encoding.levels
    xt = torch.tensor(dataset.x_train / levels, dtype=torch.float32)
    yt = torch.tensor(dataset.y_train, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        logits = model(torch.tensor(dataset.x_test / levels, dtype=torch.float32))
    accuracy = float((logits.argmax(1).numpy() == dataset.y_test).mean())
    return model, accuracy


def _accepts(source):
    return type(source).__name__ == "Sequential" and type(source).__module__.startswith("torch")


@register("ann", suffixes=(".pt", ".pth"), accepts=_accepts,
          options=("encoding", "calibration", "weight_bits", "state_bits", "name"),
          describes="a bias-free ReLU torch.nn.Sequential (or a torch.save'd one, .pt)")
def ann_to_graph(model, *, encoding, calibration, weight_bits=8, state_bits=24, name="ann2snn"):
    """``(ir_graph, report)`` of ``model`` converted with Spike-Norm (:func:`convert_mlp`);
    a path is loaded with :func:`.torch_file.load_torch_mlp` (never unpickles code)."""
    if isinstance(model, str | Path):
        from .torch_file import TorchFileError, load_torch_mlp

        try:
            model = load_torch_mlp(model)
        except TorchFileError as exc:
            raise ConversionError(str(exc)) from None
    network, thresholds = convert_mlp(model, encoding, calibration, weight_bits=weight_bits,
                                      state_bits=state_bits, name=name)
    return graph_from_network(network), {"spike_norm_thresholds": thresholds,
                                         "weight_bits": weight_bits}
