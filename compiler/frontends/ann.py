r"""ANN→SNN conversion of a ReLU MLP or VGG-style CNN with Spike-Norm (Sengupta et al., *Going
Deeper in Spiking Neural Networks: VGG and Residual Architectures*, Front. Neurosci. 2019).

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

Convolutions (:func:`sequential_layers`): a ``Conv2d`` becomes a layer with a convolutional
:class:`~spikeforge.model.Connectivity` (its kernel quantized like a matrix, Spike-Norm measured
on the convolution's drive), and an ``AvgPool2d`` of window :math:`k` on a layer's spikes
becomes a sum pool of the next layer's input with :math:`1/k^2` folded into that layer's float
weights before quantization — the paper's treatment of average pooling. Residual blocks are
not converted yet (the contract has no residual join); max pooling is refused.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...model import (
    Connectivity,
    Conv2d,
    IntFormat,
    Layer,
    LayerParams,
    Network,
    NeuronKind,
    Readout,
    ResetMode,
    Shortcut,
    run,
)
from ..ir import graph_from_network
from .registry import register

__all__ = ["ConversionError", "PlannedLayer", "ann_to_graph", "convert_mlp", "mlp_weights",
           "sequential_layers", "train_relu_cnn", "train_relu_mlp", "train_relu_resnet"]


class ConversionError(ValueError):
    """A model that is not a bias-free ReLU MLP of Linear layers."""


class PlannedLayer(NamedTuple):
    """One spiking layer of a converted model, before quantization (float64 weights)."""

    weight: np.ndarray
    connectivity: Connectivity | None  #: None: dense over a flat input
    shortcut: Shortcut | None = None  #: a residual join (the second conv of a ResidualBlock)
    shortcut_weight: np.ndarray | None = None


def mlp_weights(model):
    """The weight matrices of ``Linear → ReLU → … → Linear`` (a ``torch.nn.Sequential``)."""
    layers = sequential_layers(model)
    if any(layer.connectivity is not None for layer in layers):
        raise ConversionError("the model convolves or pools: use sequential_layers with its "
                              "input_shape")
    return [layer.weight for layer in layers]


def sequential_layers(model, input_shape=None):
    """The :class:`PlannedLayer` s of a bias-free ReLU ``torch.nn.Sequential`` of ``Conv2d``,
    ``AvgPool2d``, ``Flatten``, ``Linear`` layers and
    :class:`~.ann_blocks.ResidualBlock` s.

    An ``AvgPool2d`` of window ``k`` on the spikes of a layer is a sum pool of the next layer's
    input with :math:`1/k^2` folded into that layer's weights (before they are quantized), as
    Sengupta et al. treat average pooling. A residual block is two layers, the second with a
    residual join from the layer that produced the block's input (its shortcut the identity
    :math:`I`, or the block's 1×1 projection). ``input_shape`` ``(C, H, W)`` is the input map a
    first ``Conv2d`` reads."""
    import torch

    if not isinstance(model, torch.nn.Sequential):
        raise ConversionError(f"expected a torch.nn.Sequential of Conv2d, AvgPool2d, Linear and "
                              f"ReLU, not {type(model).__name__}")
    walk = _Walk(input_shape)
    for index, module in enumerate(model):
        walk.module(index, module)
    if walk.pool != 1:
        raise ConversionError("the model ends with a pooling layer; end it with a Linear layer")
    if not walk.layers or walk.expect_weight:
        raise ConversionError("the model must start and end with a Linear or Conv2d layer")
    return walk.layers


class _Walk:
    """The state of :func:`sequential_layers` between modules: the map the next weight layer
    reads (None: a flat vector), its pending pool window, and the layers so far."""

    def __init__(self, input_shape):
        self.shape = None if input_shape is None else tuple(int(v) for v in input_shape)
        self.flat = input_shape is None
        self.pool = 1
        self.expect_weight = True
        self.layers = []
        self.n = None if input_shape is None else int(np.prod(self.shape))

    def module(self, index, module):
        import torch

        where = f"module {index} ({type(module).__name__})"
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear):
            if not self.expect_weight:
                raise ConversionError(f"{where}: two weight layers need a ReLU between")
            if module.bias is not None and bool(module.bias.detach().abs().max() > 0):
                raise ConversionError(f"{where} has a bias; convert a bias-free model "
                                      f"(bias=False)")
            weight = module.weight.detach().double().numpy() / self.pool ** 2
            conv = (self._conv(where, module) if isinstance(module, torch.nn.Conv2d)
                    else self._linear(where, module))
            self.layers.append(PlannedLayer(weight, conv))
            self.pool, self.expect_weight = 1, False
        elif type(module).__name__ == "ResidualBlock":
            self._residual(where, module)
        elif isinstance(module, torch.nn.ReLU):
            if self.expect_weight:
                raise ConversionError(f"{where}: ReLU must follow a Linear or Conv2d layer")
            self.expect_weight = True
        elif isinstance(module, torch.nn.AvgPool2d):
            self._avg_pool(where, module)
        elif isinstance(module, torch.nn.Flatten):
            self.flat = True
        elif isinstance(module, torch.nn.Identity | torch.nn.Dropout):
            return
        elif isinstance(module, torch.nn.MaxPool2d):
            raise ConversionError(f"{where}: max pooling has no rate-coded spiking equivalent "
                                  "here; train with AvgPool2d (Sengupta et al. do too)")
        else:
            raise ConversionError(f"{where} is not supported; supported: Conv2d and Linear "
                                  "(bias-free), ReLU, AvgPool2d, Flatten, Dropout")

    def _conv(self, where, module):
        if self.shape is None or self.flat:
            raise ConversionError(f"{where} reads a flat vector: give the input map's shape "
                                  "(input_shape C, H, W) and put Conv2d layers before Flatten")
        for field in ("kernel_size", "stride", "dilation"):
            value = getattr(module, field)
            if value[0] != value[1]:
                raise ConversionError(f"{where}: {field} {value} is not square; the contract's "
                                      "convolution is K×K with one stride")
        padding = module.padding
        if isinstance(padding, str):
            padding = (module.kernel_size[0] // 2,) * 2 if padding == "same" else (0, 0)
        if padding[0] != padding[1] or module.padding_mode != "zeros":
            raise ConversionError(f"{where}: padding {module.padding} ({module.padding_mode}) "
                                  "must be the same zero padding on every side")
        if module.dilation[0] != 1 or module.groups != 1:
            raise ConversionError(f"{where}: dilation {module.dilation[0]} and groups "
                                  f"{module.groups} must both be 1")
        if module.in_channels != self.shape[0]:
            raise ConversionError(f"{where} takes {module.in_channels} channels but its input "
                                  f"map has {self.shape[0]}")
        try:
            conn = Connectivity(self.shape, self.pool, Conv2d(
                module.out_channels, module.kernel_size[0], module.stride[0], padding[0]))
        except ValueError as exc:
            raise ConversionError(f"{where}: {exc}") from None
        self.shape = conn.output_shape
        self.n = conn.neurons()
        return conn

    def _residual(self, where, block):
        """Two layers; the second adds the block's input through its shortcut."""
        if not self.expect_weight or self.shape is None or self.flat:
            raise ConversionError(f"{where} must read spikes of a map: put it after a ReLU (or "
                                  "first, with the input map's shape) and before Flatten")
        for conv in (block.conv1, block.conv2):
            if conv.bias is not None:
                raise ConversionError(f"{where} has a bias; convert a bias-free model")
        # an average pool before the block is a sum pool of both of its inputs, 1/k² folded
        source, block_input, pool = len(self.layers) - 1, self.shape, self.pool
        first = self._conv(f"{where}.conv1", block.conv1)
        self.pool = 1
        self.layers.append(PlannedLayer(block.conv1.weight.detach().double().numpy() / pool ** 2,
                                        first))
        second = self._conv(f"{where}.conv2", block.conv2)
        out_channels, stride = block.conv2.out_channels, block.conv1.stride[0]
        if block.shortcut is None:
            kernel = np.eye(out_channels).reshape(out_channels, out_channels, 1, 1) / pool ** 2
        else:
            kernel = block.shortcut.weight.detach().double().numpy() / pool ** 2
        try:
            shortcut = Shortcut(source, Connectivity(block_input, pool, Conv2d(out_channels, 1,
                                                                               stride, 0)))
            Layer(LayerParams(second.n_in, second.neurons()),
                  np.zeros(second.weight_shape(None), np.int64), connectivity=second,
                  shortcut=shortcut, shortcut_weight=np.zeros(kernel.shape, np.int64))
        except ValueError as exc:
            raise ConversionError(f"{where}: {exc}") from None
        self.layers.append(PlannedLayer(block.conv2.weight.detach().double().numpy(), second,
                                        shortcut, kernel))

    def _linear(self, where, module):
        if self.shape is not None and not self.flat and self.layers:
            raise ConversionError(f"{where} follows a Conv2d: put a Flatten between them")
        conn = None
        if self.shape is not None and self.pool != 1:
            conn = Connectivity(self.shape, self.pool)
        reads = int(np.prod(conn.pooled_shape)) if conn is not None else self.n
        if reads is not None and module.in_features != reads:
            raise ConversionError(f"{where} takes {module.in_features} inputs but the layer "
                                  f"before gives {reads}")
        self.shape, self.n = None, module.out_features
        return conn

    def _avg_pool(self, where, module):
        k, stride, padding = module.kernel_size, module.stride, module.padding
        k = k if isinstance(k, int) else (k[0] if k[0] == k[1] else None)
        stride = stride if isinstance(stride, int) else (stride[0] if stride[0] == stride[1]
                                                         else None)
        if k is None or stride != k or padding not in (0, (0, 0)) or module.ceil_mode:
            raise ConversionError(f"{where}: only square windows with stride = window, no "
                                  "padding and ceil_mode=False are supported")
        if self.shape is None or self.flat or self.expect_weight is False:
            raise ConversionError(f"{where} must follow a Conv2d's ReLU (it pools spikes)")
        if self.pool != 1:
            raise ConversionError(f"{where}: two pooling layers in a row; use one window")
        try:
            Connectivity(self.shape, k)
        except ValueError as exc:
            raise ConversionError(f"{where}: {exc}") from None
        self.pool = k


def _quantize(weight, bits, shortcut_weight=None):
    """``(W, K)``: ``weight`` (and a shortcut's kernel, else None) at one scale, the largest
    magnitude of either on the format's maximum."""
    fmt = IntFormat(bits)
    largest = float(np.abs(weight).max())
    if shortcut_weight is not None:
        largest = max(largest, float(np.abs(shortcut_weight).max()))
    scale = fmt.max / max(largest, 1e-12)
    quantize = lambda w: np.clip(np.rint(w * scale), fmt.min, fmt.max).astype(np.int64)  # noqa: E731
    return quantize(weight), None if shortcut_weight is None else quantize(shortcut_weight)


def convert_mlp(model, encoding, calibration, *, weight_bits=8, state_bits=24, name="ann2snn",
                input_shape=None, percentile=100.0):
    """Convert ``model`` with Spike-Norm thresholds measured on ``calibration`` samples
    (intensities the ``encoding`` takes); returns ``(network, thresholds)``. A convolutional
    model (:func:`sequential_layers`) needs the ``input_shape`` ``(C, H, W)`` of its input.
    ``percentile`` < 100 takes that percentile of each layer's drive instead of its maximum
    (Rueckauer et al. 2017's robust normalization: higher rates, a few clipped)."""
    if not 0 < percentile <= 100:
        raise ConversionError(f"percentile must be in (0, 100], not {percentile}")
    x = encoding.encode(calibration)
    state = IntFormat(state_bits)
    layers, thresholds = [], []
    planned = sequential_layers(model, input_shape)
    for index, (weight, conn, shortcut, shortcut_weight) in enumerate(planned):
        # a residual join's two weights share one scale, so their sum keeps its proportions
        w, k = _quantize(weight, weight_bits, shortcut_weight)
        n_in = w.shape[1] if conn is None else conn.n_in
        n = w.shape[0] if conn is None else conn.neurons(w.shape[0])
        last = index == len(planned) - 1
        common = dict(n_in=n_in, n=n, k_syn=0, k_mem=0, weight_format=IntFormat(weight_bits),
                      current_format=state, potential_format=state)
        if last:
            params = LayerParams(kind=NeuronKind.LI, theta=1, **common)
        else:
            # Spike-Norm: the largest weighted input of this layer on the converted network
            spikes = [x, *(run(Network(tuple(layers), encoding), x).spikes if layers else [])]
            probe = Layer(LayerParams(n_in, n, weight_format=IntFormat(weight_bits)), w,
                          connectivity=conn, shortcut=shortcut, shortcut_weight=k)
            short = None if shortcut is None else spikes[shortcut.source + 1]
            drives = probe.synaptic_sum(
                spikes[-1].reshape(-1, n_in),
                None if short is None else short.reshape(len(short) * short.shape[1], -1))
            drive = int(np.ceil(np.percentile(drives, percentile)))
            theta = min(max(1, drive), state.max)
            thresholds.append(theta)
            params = LayerParams(kind=NeuronKind.IF, theta=theta, reset=ResetMode.SUBTRACT,
                                 **common)
        kind = "fc" if conn is None or conn.conv is None else "conv"
        layers.append(Layer(params, w, name=f"{kind}{index}", connectivity=conn,
                            shortcut=shortcut, shortcut_weight=k))
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
    return _fit(torch.nn.Sequential(*modules), dataset, None, epochs, seed)


def train_relu_cnn(dataset, channels=(16, 32), epochs=30, seed=0):
    """A bias-free VGG-style ReLU CNN on ``dataset``'s input map: per entry of ``channels``, a
    3×3 convolution (zero padding 1), ReLU and 2×2 average pooling; then Flatten and a Linear
    classifier. Returns ``(model, test_accuracy)``."""
    import torch

    if dataset.input_shape is None:
        raise ConversionError(f"{dataset.name} has no input map shape: a CNN needs one")
    torch.manual_seed(seed)
    c, h, w = dataset.input_shape
    modules = []
    for out in channels:
        modules += [torch.nn.Conv2d(c, out, 3, padding=1, bias=False), torch.nn.ReLU(),
                    torch.nn.AvgPool2d(2)]
        c, h, w = out, h // 2, w // 2
    modules += [torch.nn.Flatten(), torch.nn.Linear(c * h * w, dataset.n_classes, bias=False)]
    return _fit(torch.nn.Sequential(*modules), dataset, dataset.input_shape, epochs, seed)


def train_relu_resnet(dataset, channels=(16, 32), epochs=30, seed=0):
    """A bias-free ResNet-style ReLU CNN on ``dataset``'s input map: a 3×3 convolution of
    ``channels[0]``, then per entry of ``channels`` a :class:`~.ann_blocks.ResidualBlock`
    (identity shortcut where the channels stay, a 1×1 projection where they change) and 2×2
    average pooling; then Flatten and a Linear classifier. Returns ``(model, test_accuracy)``."""
    import torch

    from .ann_blocks import ResidualBlock

    if dataset.input_shape is None:
        raise ConversionError(f"{dataset.name} has no input map shape: a CNN needs one")
    torch.manual_seed(seed)
    c, h, w = dataset.input_shape
    modules = [torch.nn.Conv2d(c, channels[0], 3, padding=1, bias=False), torch.nn.ReLU()]
    c = channels[0]
    for out in channels:
        modules += [ResidualBlock(c, out), torch.nn.AvgPool2d(2)]
        c, h, w = out, h // 2, w // 2
    modules += [torch.nn.Flatten(), torch.nn.Linear(c * h * w, dataset.n_classes, bias=False)]
    return _fit(torch.nn.Sequential(*modules), dataset, dataset.input_shape, epochs, seed)


def _fit(model, dataset, shape, epochs, seed):
    """Adam on cross-entropy over intensities scaled to 0..1; ``(model, test_accuracy)``."""
    import torch

    levels = dataset.encoding.levels
    view = (lambda x: x) if shape is None else (lambda x: x.reshape(len(x), *shape))
    xt = view(torch.tensor(dataset.x_train / levels, dtype=torch.float32))
    yt = torch.tensor(dataset.y_train, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        logits = model(view(torch.tensor(dataset.x_test / levels, dtype=torch.float32)))
    accuracy = float((logits.argmax(1).numpy() == dataset.y_test).mean())
    return model, accuracy


def _accepts(source):
    return type(source).__name__ == "Sequential" and type(source).__module__.startswith("torch")


@register("ann", suffixes=(".pt", ".pth"), accepts=_accepts,
          options=("encoding", "calibration", "weight_bits", "state_bits", "name", "input_shape"),
          describes="a bias-free ReLU torch.nn.Sequential (or a torch.save'd one, .pt)")
def ann_to_graph(model, *, encoding, calibration, weight_bits=8, state_bits=24, name="ann2snn",
                 input_shape=None):
    """``(ir_graph, report)`` of ``model`` converted with Spike-Norm (:func:`convert_mlp`);
    a path is loaded with :func:`.torch_file.load_torch_mlp` (never unpickles code)."""
    if isinstance(model, str | Path):
        from .torch_file import TorchFileError, load_torch_mlp

        try:
            model = load_torch_mlp(model)
        except TorchFileError as exc:
            raise ConversionError(str(exc)) from None
    network, thresholds = convert_mlp(model, encoding, calibration, weight_bits=weight_bits,
                                      state_bits=state_bits, name=name, input_shape=input_shape)
    return graph_from_network(network), {"spike_norm_thresholds": thresholds,
                                         "weight_bits": weight_bits}
