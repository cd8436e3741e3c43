"""ANN→SNN conversion of VGG-style CNNs (Sengupta et al. 2019): layer mapping with the average
pool folded into the next weights, Spike-Norm's invariant, accuracy against the ANN at T = 32,
and every unsupported module refused by name."""

import numpy as np
import pytest
from spikeforge.compiler.frontends.ann import (
    ConversionError,
    convert_mlp,
    sequential_layers,
    train_relu_cnn,
)
from spikeforge.datasets import load_dataset
from spikeforge.model import Connectivity, Conv2d, run

torch = pytest.importorskip("torch")
nn = torch.nn


def _vgg():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(4, 6, 3, padding="same", bias=False), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(24, 10, bias=False))


def test_layers_and_the_folded_average_pool():
    model = _vgg()
    layers = sequential_layers(model, (1, 8, 8))
    conns = [layer.connectivity for layer in layers]
    assert conns == [Connectivity((1, 8, 8), 1, Conv2d(4, 3, 1, 1)),
                     Connectivity((4, 8, 8), 2, Conv2d(6, 3, 1, 1)),
                     Connectivity((6, 4, 4), 2, None)]
    # 1/k² of the average pool is in the next layer's weights
    assert np.array_equal(layers[1][0], model[3].weight.detach().double().numpy() / 4)
    assert np.array_equal(layers[2][0], model[7].weight.detach().double().numpy() / 4)
    # the pooled sum with folded weights is the ANN's average pool followed by the layer
    x = torch.rand(3, 4, 8, 8, dtype=torch.float64)
    ann = nn.functional.conv2d(nn.functional.avg_pool2d(x, 2),
                               model[3].weight.detach().double(), padding=1)
    pooled = x.reshape(3, 4, 4, 2, 4, 2).sum(dim=(3, 5))
    folded = nn.functional.conv2d(pooled, torch.tensor(layers[1][0]), padding=1)
    assert torch.allclose(ann, folded)  # float ANN arithmetic, not an integer path


def test_spike_norm_bounds_every_drive_by_its_threshold():
    data = load_dataset("digits", steps=16)
    network, thresholds = convert_mlp(_vgg(), data.encoding, data.x_train[:40],
                                      input_shape=(1, 8, 8))
    assert [ly.name for ly in network.layers] == ["conv0", "conv1", "fc2"]
    x = data.spikes("train", np.arange(40))
    trace = run(network, x)
    inputs = [x, *trace.spikes[:-1]]
    for index, theta in enumerate(thresholds):
        layer = network.layers[index]
        s_in = inputs[index].reshape(-1, layer.params.n_in)
        drive = layer.synaptic_sum(s_in)
        assert drive.max() == theta  # Spike-Norm: θ is the largest drive on calibration data


def test_vgg_digits_within_one_point_of_the_ann_at_t32():
    data = load_dataset("digits", steps=32)
    model, ann_accuracy = train_relu_cnn(data, epochs=30)
    network, _ = convert_mlp(model, data.encoding, data.x_train[:200], input_shape=(1, 8, 8))
    snn = run(network, data.spikes("test")).predict(network.readout)
    snn_accuracy = float((snn == data.labels("test")).mean())
    assert ann_accuracy >= 0.93
    assert ann_accuracy - snn_accuracy <= 0.01


@pytest.mark.parametrize(("modules", "message"), [
    (lambda: [nn.Conv2d(1, 4, 3, bias=True), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)],
     "module 0 \\(Conv2d\\) has a bias"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
              nn.Linear(36, 10, bias=False)], "module 2 \\(MaxPool2d\\): max pooling"),
    (lambda: [nn.Conv2d(1, 4, 3, dilation=2, bias=False)], "dilation 2 and groups 1"),
    (lambda: [nn.Conv2d(1, 4, (3, 1), bias=False)], "kernel_size \\(3, 1\\) is not square"),
    (lambda: [nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect", bias=False)],
     "zero padding"),
    (lambda: [nn.Conv2d(2, 4, 3, bias=False)], "takes 2 channels but its input map has 1"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.ReLU(), nn.Linear(144, 10, bias=False)],
     "put a Flatten between"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(2), nn.ReLU()],
     "must follow a Conv2d's ReLU"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.ReLU(), nn.AvgPool2d(2, stride=1)],
     "stride = window"),
    (lambda: [nn.Conv2d(1, 4, 9, bias=False)], "9×9 kernel is larger than the 8×8"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.ReLU(), nn.Flatten(),
              nn.Linear(100, 10, bias=False)], "takes 100 inputs but the layer before gives 144"),
    (lambda: [nn.Conv2d(1, 4, 3, bias=False), nn.ReLU(), nn.AvgPool2d(2)],
     "ends with a pooling layer"),
])
def test_unsupported_models_are_refused_by_module(modules, message):
    with pytest.raises(ConversionError, match=message):
        sequential_layers(nn.Sequential(*modules()), (1, 8, 8))


def test_a_conv_model_needs_the_input_shape():
    with pytest.raises(ConversionError, match="give the input map's shape"):
        sequential_layers(_vgg())


def _resnet(projection):
    from spikeforge.compiler.frontends.ann_blocks import ResidualBlock

    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(), nn.AvgPool2d(2),
                         ResidualBlock(4, 6 if projection else 4), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear((6 if projection else 4) * 4, 10, bias=False))


@pytest.mark.parametrize("projection", [False, True])
def test_a_residual_block_is_two_layers_joined_to_its_input(projection):
    model = _resnet(projection)
    layers = sequential_layers(model, (1, 8, 8))
    assert [layer.shortcut is not None for layer in layers] == [False, False, True, False]
    joined = layers[2]
    channels = 6 if projection else 4
    # the block reads layer 0's spikes, pooled by 2: both of its inputs carry the pool's 1/4
    assert joined.shortcut.source == 0
    assert joined.shortcut.connectivity == Connectivity((4, 8, 8), 2, Conv2d(channels, 1, 1, 0))
    assert layers[1].connectivity == Connectivity((4, 8, 8), 2, Conv2d(channels, 3, 1, 1))
    assert np.array_equal(layers[1].weight, model[3].conv1.weight.detach().double().numpy() / 4)
    expected = (model[3].shortcut.weight.detach().double().numpy() if projection
                else np.eye(4).reshape(4, 4, 1, 1)) / 4
    assert np.array_equal(joined.shortcut_weight, expected)


def test_resnet_spike_norm_bounds_the_joined_drive():
    data = load_dataset("digits", steps=16)
    network, thresholds = convert_mlp(_resnet(True), data.encoding, data.x_train[:30],
                                      input_shape=(1, 8, 8))
    x = data.spikes("train", np.arange(30))
    trace = run(network, x)
    joined = network.layers[2]
    drive = joined.synaptic_sum(trace.spikes[1].reshape(-1, joined.params.n_in),
                                trace.spikes[0].reshape(-1, network.layers[0].params.n))
    assert drive.max() == thresholds[2]
    # a shared scale: the joined layer's largest weight, kernel or shortcut, is 127
    assert max(np.abs(joined.weight).max(), np.abs(joined.shortcut_weight).max()) == 127


def test_a_converted_resnet_compiles_and_runs_on_the_hardware_exactly():
    """The converted block (its join from layer 0, pooled; a pooled dense readout held as a
    kernel) through the compiler and on the Amaranth simulation of the generated hardware:
    every spike, state and cycle equal to the reference."""
    from spikeforge.compiler import compile_network
    from spikeforge.hdl.schedule import schedule
    from spikeforge.sim.amaranth_sim import simulate_network

    data = load_dataset("digits", steps=8)
    network, _ = convert_mlp(_resnet(True), data.encoding, data.x_train[:30],
                             input_shape=(1, 8, 8))
    report = compile_network(network, lanes=2)
    assert report["formats"][2]["connectivity"]["join"] == {
        "source": 0, "input_shape": [4, 8, 8], "pool": 2, "stride": 1}
    x = data.spikes("test", np.arange(1))[0]
    result = simulate_network(network, x, lanes=2)
    trace = run(network, x[None])
    assert trace.spikes[0].sum() > 0 and trace.spikes[2].sum() > 0
    for index in range(len(network.layers)):
        for got, want in ((result.i, trace.i), (result.u, trace.u),
                          (result.spikes, trace.spikes)):
            np.testing.assert_array_equal(got[index], want[index][0])
    np.testing.assert_array_equal(result.step_cycles, schedule(network, x, 2, trace).cycles)


def test_resnet_digits_against_its_ann():
    # four layers of two steps' latency each: at T = 48 the robust (99.9th percentile)
    # Spike-Norm is within a point of the ANN (measured 97.50 % against 97.78 %)
    from spikeforge.compiler.frontends.ann import train_relu_resnet

    data = load_dataset("digits", steps=48)
    model, ann_accuracy = train_relu_resnet(data, channels=(16,), epochs=30)
    network, _ = convert_mlp(model, data.encoding, data.x_train[:200], input_shape=(1, 8, 8),
                             percentile=99.9)
    snn = run(network, data.spikes("test")).predict(network.readout)
    assert ann_accuracy >= 0.95
    assert ann_accuracy - float((snn == data.labels("test")).mean()) <= 0.01


def test_a_bad_percentile_is_refused():
    data = load_dataset("digits", steps=8)
    with pytest.raises(ConversionError, match="percentile must be in \\(0, 100\\]"):
        convert_mlp(_vgg(), data.encoding, data.x_train[:4], input_shape=(1, 8, 8),
                    percentile=0)
