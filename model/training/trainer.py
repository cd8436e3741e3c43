r"""Quantization-aware BPTT on the exact integer forward pass.

The loss is cross-entropy on the readout scores: output spike counts (``spike_count``) or the
LI readout's maximum membrane potential over time (``membrane_max``), as in snnTorch's and
Norse's tutorials. Adam on latent weights; the forward pass always uses the integer weights.

Decays are given as shifts (``k_syn``/``k_mem``: one int, or a list of signed shifts for a
multi-term decay, :mod:`spikeforge.model.decay`) or as time constants in steps
(``tau_syn``/``tau_mem``), fitted by :func:`spikeforge.model.discretize.discretize` with the
fewest terms whose :math:`d' = \sum_i s_i 2^{-k_i}` is within ``decay_tolerance`` of
:math:`d = 1/\tau` (forward Euler, as snnTorch's :math:`\beta = 1 - 1/\tau`).
"""

import itertools
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..decay import MAX_TERMS, Decay
from ..network import Readout
from ..numerics import IntFormat
from ..params import LayerParams, NeuronKind
from .architecture import ArchitectureError, LayerPlan, plan_architecture
from .augment import translate
from .modules import SpikingLayer, SpikingNetwork

__all__ = ["TrainConfig", "build_network", "fit_decays", "layer_plans", "predict", "train",
           "train_epoch"]


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train` (and of the network :func:`build_network` makes)."""

    hidden: tuple = (128,)
    arch: str | None = None  #: layer spec (:mod:`.architecture`); replaces ``hidden``
    input_shape: tuple | None = None  #: (C, H, W) of the input map, for ``arch``
    weight_bits: int = 8
    k_syn: int | list | Decay = 1  #: shift(s) of the synaptic decay (ignored if tau_syn is set)
    k_mem: int | list | Decay = 3  #: shift(s) of the membrane decay (ignored if tau_mem is set)
    tau_syn: float | None = None  #: synaptic time constant in steps, fitted to a decay
    tau_mem: float | None = None  #: membrane time constant in steps, fitted to a decay
    #: fractional state bits f (A = 2^f W s): lets a decay's floor act on states far below one
    #: weight unit, which low weight widths need; θ scales with 2^f
    input_shift: int = 0
    decay_tolerance: float = 0.01  #: relative tolerance on d = 1/τ of a fitted decay
    max_decay_terms: int = MAX_TERMS  #: most terms of a fitted decay
    #: threshold in latent-weight units, integer θ = round(theta · 2^(bits−1)); None: 4.0, or
    #: 2.0 for an ``arch`` that convolves (a 3×3 kernel's fan-in is far below a dense layer's)
    theta: float | None = None
    readout: str = "spike_count"
    surrogate: str = "fast_sigmoid"
    #: sharpness of the surrogate (:mod:`.surrogates`); None: 25, or 5 for an ``arch`` that
    #: convolves (a spike-count readout whose output neurons all fall silent in the first
    #: batches recovers only through the surrogate's tail, 1/26² of its peak one θ below
    #: threshold at 25 and 1/36 at 5; at 25 one digits CNN seed in ten kept a class dead)
    slope: float | None = None
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    #: decoupled weight decay λ of the latent float weights (AdamW: each step also multiplies
    #: them by 1 − lr·λ; Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization");
    #: 0: plain Adam
    weight_decay: float = 0.0
    #: random translations of up to this many pixels of each training image, drawn anew every
    #: epoch (:mod:`.augment`); image inputs (``input_shape``) only, 0: none
    augment: int = 0
    seed: int = 0
    device: str = "cpu"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        convolves = self.arch is not None and any(
            token.startswith("c") for token in self.arch.split("-"))
        if self.theta is None:
            self.theta = 2.0 if convolves else 4.0
        if self.slope is None:
            self.slope = 5.0 if convolves else 25.0

    def to_dict(self):
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        if self.input_shape is not None:
            data["input_shape"] = list(self.input_shape)
        for name in ("k_syn", "k_mem"):
            data[name] = Decay.of(getattr(self, name), name).to_json()
        return data


#: state width of the layers :func:`build_network` makes (s16 current and potential)
STATE_WIDTH = 16


def fit_decays(config: TrainConfig, width=STATE_WIDTH):
    """The synaptic and membrane decays of ``config`` and how each was obtained.

    Returns ``(k_syn, k_mem, report)``: two :class:`~spikeforge.model.decay.Decay` and, per
    decay, a dict with its terms, realized τ = 1/d' (steps), and, for a fitted τ, the wanted τ
    and the relative errors of d and τ. ``ValueError`` (naming the option) for a τ that is not
    a positive number or a tolerance no decay of ``max_decay_terms`` terms meets.
    """
    from spikeforge.model.discretize import discretize

    tol, terms = config.decay_tolerance, config.max_decay_terms
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"--decay-tolerance must be a number >= 0 (relative to d = 1/tau), "
                         f"not {tol!r}")
    if isinstance(terms, bool) or not isinstance(terms, int) or not 1 <= terms <= MAX_TERMS:
        raise ValueError(f"--max-decay-terms must be an integer in 1..{MAX_TERMS}, not "
                         f"{terms!r}")
    decays, report = {}, {}
    for name, tau, k in (("syn", config.tau_syn, config.k_syn),
                         ("mem", config.tau_mem, config.k_mem)):
        if tau is None:
            decay = Decay.of(k, f"--k-{name}")
            decay.check_width(f"--k-{name}", width)
            entry = {"terms": decay.to_json(), "n_terms": len(decay.terms),
                     "realized_tau": 1 / float(decay.d)}
        else:
            fit = discretize(tau, 1.0, "euler", tolerance=float(tol), max_terms=terms,
                             max_shift=width - 1, what=f"--tau-{name}")
            decay = fit.decay
            entry = {"tau": fit.tau, "terms": decay.to_json(), "n_terms": len(decay.terms),
                     "realized_tau": fit.realized_tau, "tau_error": fit.tau_relative_error,
                     "d_error": fit.d_relative_error}
        decays[name] = decay
        report[f"k_{name}"] = entry
    return decays["syn"], decays["mem"], report


def layer_plans(n_in, n_out, config: TrainConfig) -> list:
    """The layers ``config`` asks for: its ``arch`` spec on ``input_shape``, else dense
    ``n_in → hidden… → n_out``."""
    if config.arch is None:
        sizes = [n_in, *config.hidden, n_out]
        return [LayerPlan(a, b, None) for a, b in itertools.pairwise(sizes)]
    shape = config.input_shape
    if shape is None:
        if any(t.startswith(("c", "p")) for t in config.arch.split("-")):
            raise ArchitectureError(
                f"--arch {config.arch!r} convolves or pools a map, but the data's input map "
                "shape is not known: give --input-shape CHANNELS HEIGHT WIDTH")
        shape = (n_in, 1, 1)
    if int(np.prod(shape)) != n_in:
        raise ArchitectureError(f"--input-shape {'×'.join(map(str, shape))} has "
                                f"{int(np.prod(shape))} inputs but the data has {n_in} channels")
    return plan_architecture(config.arch, shape, n_out)


def build_network(n_in, n_out, encoding, config: TrainConfig, name="network") -> SpikingNetwork:
    """A feed-forward LIF network of :func:`layer_plans` with the config's formats."""
    generator = torch.Generator().manual_seed(config.seed)
    fmt = IntFormat(config.weight_bits)
    scale = 1 << (config.weight_bits - 1)
    theta = max(1, round(config.theta * scale * (1 << config.input_shift)))
    readout = Readout(config.readout)
    k_syn, k_mem, _ = fit_decays(config)
    plans = layer_plans(n_in, n_out, config)
    layers = []
    for index, plan in enumerate(plans):
        last = index == len(plans) - 1
        kind = NeuronKind.LI if last and readout is not Readout.SPIKE_COUNT else NeuronKind.LIF
        params = LayerParams(
            plan.n_in,
            plan.n,
            kind=kind,
            k_syn=k_syn,
            k_mem=k_mem,
            theta=1 if kind is NeuronKind.LI else theta,
            weight_format=fmt,
            input_shift=config.input_shift,
        )
        layers.append(
            SpikingLayer(params, name="output" if last else f"hidden{index}", generator=generator,
                         connectivity=plan.connectivity)
        )
    return SpikingNetwork(
        layers, encoding, readout, surrogate=config.surrogate, slope=config.slope, name=name
    )


def predict(net: SpikingNetwork, spikes, batch_size=512) -> np.ndarray:
    """Class predictions of the torch model (no gradient)."""
    out = []
    device = next(net.parameters()).device
    with torch.no_grad():
        for start in range(0, len(spikes), batch_size):
            traces = net(torch.as_tensor(spikes[start : start + batch_size], device=device))
            out.append(net.scores(traces).argmax(dim=1).cpu().numpy())
    return np.concatenate(out)


def train_epoch(net, opt, x_train, y_train, batch_size, rng):
    """One epoch of BPTT over shuffled mini-batches; returns (mean loss, train accuracy)."""
    loss_fn = nn.CrossEntropyLoss()
    order = torch.as_tensor(rng.permutation(len(x_train)), device=x_train.device)
    total, correct = 0.0, 0
    for first in range(0, len(order), batch_size):
        idx = order[first : first + batch_size]
        scores = net.scores(net(x_train[idx]))
        loss = loss_fn(scores, y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
        correct += int((scores.argmax(dim=1) == y_train[idx]).sum())
    return total / len(order), correct / len(order)


def train(dataset, config: TrainConfig, progress=None):
    """Train a network on ``dataset``; returns ``(net, history)``.

    ``progress`` is an optional callable ``(epoch, metrics)`` called after every epoch.
    """
    torch.manual_seed(config.seed)
    if config.arch is not None and config.input_shape is None:
        config.input_shape = getattr(dataset, "input_shape", None)
    net = build_network(dataset.n_in, dataset.n_classes, dataset.encoding, config, dataset.name)
    device = torch.device(config.device)
    net.to(device)
    if config.weight_decay:
        opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, config.epochs))
    x_train = torch.as_tensor(dataset.spikes("train"), dtype=net.dtype, device=device)
    y_train = torch.as_tensor(dataset.labels("train"), device=device)
    x_test = dataset.spikes("test")
    rng = np.random.default_rng(config.seed)
    if config.augment:
        shape = config.input_shape or getattr(dataset, "input_shape", None)
        if shape is None or np.ndim(getattr(dataset, "x_train", None)) != 2:
            raise ValueError(f"augment={config.augment} translates images, but the samples of "
                             f"{dataset.name!r} are not integer images of a known (C, H, W) "
                             f"shape (give the input shape, or train with augment 0)")
        shift_rng = np.random.default_rng([config.seed, 1])  # its own stream: order unchanged
    history = []
    for epoch in range(config.epochs):
        start = time.perf_counter()
        if config.augment:
            moved = translate(dataset.x_train, shape, config.augment, shift_rng)
            x_train = torch.as_tensor(dataset.encoding.encode(moved), dtype=net.dtype,
                                      device=device)
        net.train()
        loss, train_acc = train_epoch(net, opt, x_train, y_train, config.batch_size, rng)
        sched.step()
        net.eval()
        test_acc = float((predict(net, x_test) == dataset.labels("test")).mean())
        metrics = {
            "epoch": epoch + 1,
            "loss": loss,
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
            "seconds": time.perf_counter() - start,
        }
        history.append(metrics)
        if progress is not None:
            progress(epoch, metrics)
    return net, history
