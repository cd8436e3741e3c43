"""``--arch`` specs: the layers they plan on an input map, and every bad spec refused by token."""

import pytest
from spikeforge.model import Connectivity, Conv2d
from spikeforge.model.training.architecture import ArchitectureError, plan_architecture
from spikeforge.model.training.trainer import TrainConfig, layer_plans


def test_digits_cnn_plan():
    plans = plan_architecture("c8k3-p2-c16k3-p2-d10", (1, 8, 8), 10)
    assert [(p.n_in, p.n) for p in plans] == [(64, 512), (512, 256), (256, 10)]
    assert plans[0].connectivity == Connectivity((1, 8, 8), 1, Conv2d(8, 3, 1, 1))
    assert plans[1].connectivity == Connectivity((8, 8, 8), 2, Conv2d(16, 3, 1, 1))
    assert plans[2].connectivity == Connectivity((16, 4, 4), 2, None)


def test_stride_padding_and_dense_stacks():
    plans = plan_architecture("c4k3s2p0-d32-d10", (2, 9, 9), 10)
    assert plans[0].connectivity.output_shape == (4, 4, 4)
    assert [(p.n_in, p.n, p.connectivity) for p in plans[1:]] == [(64, 32, None),
                                                                  (32, 10, None)]


def test_a_dense_spec_is_the_hidden_network():
    config = TrainConfig(arch="d128-d10")
    assert [(p.n_in, p.n, p.connectivity) for p in layer_plans(64, 10, config)] == [
        (p.n_in, p.n, None) for p in layer_plans(64, 10, TrainConfig(hidden=(128,)))]


def test_a_convolving_spec_defaults_to_its_own_threshold_and_surrogate():
    """A 3×3 kernel's fan-in is far below a dense layer's (θ = 2, not 4), and a CNN whose
    spike-count outputs all fall silent early needs the broader surrogate (slope 5, not 25) to
    wake them: at 25 one digits CNN seed in ten kept a class dead (88 % accuracy)."""
    from spikeforge.datasets import load_digits
    from spikeforge.model.training.trainer import build_network

    cnn, dense = TrainConfig(arch="c8k3-p2-d10"), TrainConfig(arch="d128-d10")
    assert (cnn.theta, cnn.slope) == (2.0, 5.0)
    assert (dense.theta, dense.slope) == (4.0, 25.0)
    assert TrainConfig(arch="c8k3-p2-d10", slope=12.0, theta=3.0).slope == 12.0
    digits = load_digits(steps=4)
    cnn.input_shape = digits.input_shape
    net = build_network(digits.n_in, digits.n_classes, digits.encoding, cnn)
    assert net.slope == 5.0 and all(ly.surrogate == ("fast_sigmoid", 5.0) for ly in net.layers)


@pytest.mark.parametrize(("spec", "message"), [
    ("", "non-empty spec"),
    ("c8x3-d10", "token 1 \\('c8x3'\\) is not c<channels>"),
    ("c8k3-p2-d9", "must end with the output layer d10"),
    ("c8k3-p2", "ends with a pooling token"),
    ("c8k3-p2-p2-d10", "two pooling tokens in a row"),
    ("c8k3-p9-d10", "token 3 \\('d10'\\) does not fit the 8×8×8 map it reads: a pooling window"),
    ("c8k11p0-d10", "token 1 \\('c8k11p0'\\) does not fit the 1×8×8 map it reads: a 11×11 "
                    "kernel is larger"),
    ("c8k3s0-d10", "conv stride must be an integer in 1"),
    ("c0k3-d10", "conv out_channels must be"),
    ("d0-d10", "at least one neuron"),
])
def test_bad_specs_name_the_token(spec, message):
    with pytest.raises(ArchitectureError, match=message):
        plan_architecture(spec, (1, 8, 8), 10)


def test_a_map_spec_needs_an_input_shape():
    with pytest.raises(ArchitectureError, match="give --input-shape"):
        layer_plans(64, 10, TrainConfig(arch="c8k3-d10"))
    with pytest.raises(ArchitectureError, match="--input-shape 1×8×9 has 72 inputs but the data "
                                                "has 64"):
        layer_plans(64, 10, TrainConfig(arch="c8k3-d10", input_shape=(1, 8, 9)))
