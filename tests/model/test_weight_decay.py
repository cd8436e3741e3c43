"""Decoupled weight decay (``TrainConfig.weight_decay``, AdamW): each step multiplies the latent
weights by 1 − lr·λ before Adam's update, so with lr·λ = 1 every weight restarts from zero each
step and ends within a few Adam steps' size (a few lr) of zero; without it the weights keep
their initial scale. The network trained either way still evaluates exactly."""

import numpy as np
import pytest
import torch
from spikeforge.datasets import load_digits
from spikeforge.model import run
from spikeforge.model.training.trainer import TrainConfig, predict, train

LR = 1e-3


@pytest.fixture(scope="module")
def digits():
    return load_digits(steps=8)


def _trained(digits, weight_decay):
    torch.set_num_threads(1)
    net, _ = train(digits, TrainConfig(hidden=(16,), epochs=1, lr=LR, seed=3,
                                       weight_decay=weight_decay))
    return net


def _largest_weight(net):
    return max(float(p.detach().abs().max()) for p in net.parameters())


def test_a_decay_of_one_over_lr_keeps_every_weight_near_zero(digits):
    decayed = _trained(digits, 1 / LR)
    plain = _trained(digits, 0.0)
    assert _largest_weight(decayed) <= 20 * LR
    assert _largest_weight(plain) > 0.05


def test_a_decayed_network_evaluates_exactly(digits):
    net = _trained(digits, 0.5)
    network = net.to_network()
    x = digits.spikes("test")[:40]
    reference = run(network, x).predict(network.readout)
    with torch.no_grad():
        assert np.array_equal(predict(net, x), reference)
