r"""NeuroBench's metrics, computed by the ``neurobench`` package on the integer network.

:class:`IntegerNetwork` is a torch ``nn.Module`` whose forward pass is the reference
(:func:`spikeforge.model.run`) bit for bit, built so that NeuroBench's hooks see what the hardware
does:

* per layer an :class:`IntegerLinear` (an ``nn.Linear``) holding the integer weights ``W`` in
  the dtype of their format (int8 up to 8 bits, int16 up to 16), and for a recurrent layer a
  second one holding ``V``. It computes the accumulator sum :math:`W s` exactly in int64, which
  is what the hardware's synaptic engine adds up; NeuroBench counts its synaptic operations on a
  binarized copy of it;
* per layer a neuron module (:class:`IntegerNeuron`, or :class:`IntegerReadout` for an LI
  readout) that completes the synaptic input, :math:`A = 2^f\,W s + c`, :math:`R = 2^f\,V s`,
  as the hardware's neuron update does, and runs :func:`~spikeforge.model.reference.neuron_step`.
  The bias :math:`c` is the neuron module's parameter (in the current format's dtype), so
  NeuroBench's ``Footprint`` counts it; it never counts as a synaptic operation (NeuroBench zeroes
  biases in its count anyway).

Only :class:`IntegerNeuron` is registered as an activation, so ``ActivationSparsity`` is the
fraction of zeros among the spikes of the spiking layers, over all steps and samples; the
membrane of a non-spiking LI readout is not an activation and is left out.

Synaptic operations. With :math:`e^l_j` the events on input :math:`j` of layer :math:`l` over a
run (input spikes of step :math:`n` for layer 0, the previous layer's spikes of step :math:`n`
as they were before the update, and for a recurrent layer its own), NeuroBench's effective ACs
count (event, nonzero weight) pairs, while the hardware issues every column of an event whether
or not its weight is zero:

.. math::

    \text{RTL synops} = \sum_l n_l \sum_j e^l_j
    = \underbrace{\sum_l \sum_j e^l_j\, |\{i : W^l_{ij} \ne 0\}|}_{\text{Effective\_ACs}}
    + \underbrace{\sum_l \sum_j e^l_j\, |\{i : W^l_{ij} = 0\}|}_{\text{zero-weight ops}}

(:math:`W^l` the feed-forward and recurrent weights side by side). :func:`synops_breakdown`
computes both terms from the reference trace and the RTL's count from the cycle model
(:func:`spikeforge.hdl.schedule.schedule`), independently of NeuroBench.
"""

import numpy as np
import torch
from torch import nn

from ..model.network import Network, Trace, run
from ..model.reference import initial_state, neuron_step

__all__ = [
    "MISSING",
    "IntegerLinear",
    "IntegerNetwork",
    "IntegerNeuron",
    "IntegerReadout",
    "NeuroBenchMissing",
    "hardware_figures",
    "neurobench_metrics",
    "require_neurobench",
    "synops_breakdown",
]

MISSING = "NeuroBench metrics need the neurobench package: pip install 'spikeforge[neurobench]'"


class NeuroBenchMissing(ImportError):
    """The ``neurobench`` package cannot be imported."""


def require_neurobench():
    """The NeuroBench classes this module uses, or :class:`NeuroBenchMissing`."""
    try:
        from neurobench.benchmarks import Benchmark
        from neurobench.metrics.static import ConnectionSparsity, Footprint
        from neurobench.metrics.workload import (
            ActivationSparsity,
            ClassificationAccuracy,
            SynapticOperations,
        )
        from neurobench.models import TorchModel
    except ImportError as error:
        raise NeuroBenchMissing(f"{MISSING} ({error})") from error
    return (Benchmark, TorchModel, [Footprint, ConnectionSparsity],
            [ActivationSparsity, SynapticOperations, ClassificationAccuracy])


def _tensor(values, fmt):
    """An integer array as a tensor in the smallest dtype of ``fmt``, as a fixed parameter."""
    array = np.ascontiguousarray(np.asarray(values).astype(fmt.storage_dtype))
    return nn.Parameter(torch.from_numpy(array), requires_grad=False)


class IntegerLinear(nn.Linear):
    r""":math:`y = W x\ (+\,c)` exactly in int64, for integer weights ``W`` (n, n_in).

    The input is cast to int64 whatever its dtype: NeuroBench calls a binarized copy of the
    layer with binarized float inputs, and then :math:`y_i` counts the (input, nonzero weight)
    pairs of neuron :math:`i`."""

    def __init__(self, weight, fmt, bias=None, bias_fmt=None):
        nn.Module.__init__(self)  # nn.Linear's own __init__ would allocate float weights
        self.out_features, self.in_features = np.shape(weight)
        self.weight = _tensor(weight, fmt)
        if bias is None:
            self.register_parameter("bias", None)
        else:
            self.bias = _tensor(bias, bias_fmt)

    def forward(self, x):
        y = torch.as_tensor(x).to(torch.int64) @ self.weight.to(torch.int64).T
        if self.bias is not None:
            y = y + self.bias.to(torch.int64)
        return y


class _Neuron(nn.Module):
    r"""The neuron update of one layer: from the accumulator sums ``acc`` (:math:`W s`) and
    ``rec`` (:math:`V s`), :math:`A = 2^f\,\mathit{acc} + c`, :math:`R = 2^f\,\mathit{rec}`, then
    :func:`~spikeforge.model.reference.neuron_step`; the state stays in the module."""

    def __init__(self, layer):
        super().__init__()
        self.params = layer.params
        if layer.bias is None:
            self.register_parameter("bias", None)
        else:
            self.bias = _tensor(layer.bias, layer.params.current_format)
        self.state = None

    def reset(self, batch):
        self.state = initial_state(self, batch)  # reads only ``.params``

    def step(self, acc, rec):
        f = self.params.input_shift
        a = np.left_shift(acc.numpy().astype(np.int64), f)
        if self.bias is not None:
            a = a + self.bias.numpy().astype(np.int64)
        r = np.left_shift(rec.numpy().astype(np.int64), f)
        _, self.state, _ = neuron_step(self.params, a, r, self.state)
        return self.state


class IntegerNeuron(_Neuron):
    """A spiking layer's neurons; the output, :math:`s[n+1]` as float 0/1, is NeuroBench's
    activation."""

    def forward(self, acc, rec):
        return torch.from_numpy(self.step(acc, rec).s.astype(np.float32))


class IntegerReadout(_Neuron):
    """A non-spiking LI readout; the output is the membrane :math:`U[n+1]` (int64), which is not
    registered as an activation."""

    def forward(self, acc, rec):
        return torch.from_numpy(self.step(acc, rec).u)


class _Layer(nn.Module):
    def __init__(self, layer):
        super().__init__()
        p = layer.params
        self.synapses = IntegerLinear(layer.weight, p.weight_format)
        self.recurrent = (None if layer.recurrent is None
                          else IntegerLinear(layer.recurrent, p.weight_format))
        self.neurons = (IntegerNeuron if p.spiking else IntegerReadout)(layer)


class IntegerNetwork(nn.Module):
    """``network`` as an ``nn.Module``: input spikes (batch, T, n_in) of 0/1 → predicted classes.

    Layer :math:`l` at step :math:`n` reads layer :math:`l-1`'s spikes of step :math:`n` (its
    state before the update) and its own, as :func:`spikeforge.model.run` does. After a call,
    :attr:`trace` holds every layer's spikes and membranes (batch, T, n), int64."""

    def __init__(self, network: Network):
        super().__init__()
        self.readout = network.readout
        self.layers = nn.ModuleList(_Layer(layer) for layer in network.layers)
        self.trace = None

    def forward(self, x):
        x = torch.as_tensor(x)
        batch, steps, _ = x.shape
        for layer in self.layers:
            layer.neurons.reset(batch)
        spikes = [np.zeros((batch, steps, ly.neurons.params.n), np.int64) for ly in self.layers]
        u = [np.zeros_like(s) for s in spikes]
        for t in range(steps):
            own = [torch.from_numpy(ly.neurons.state.s.astype(np.float32)) for ly in self.layers]
            inputs = [x[:, t].to(torch.float32), *own[:-1]]
            for index, (layer, s_in) in enumerate(zip(self.layers, inputs, strict=True)):
                acc = layer.synapses(s_in)
                rec = (torch.zeros_like(acc) if layer.recurrent is None
                       else layer.recurrent(own[index]))
                layer.neurons(acc, rec)
                spikes[index][:, t] = layer.neurons.state.s
                u[index][:, t] = layer.neurons.state.u
        self.trace = Trace(spikes, [], u, [], [])
        return torch.from_numpy(self.trace.predict(self.readout))


def _samples(network, spikes):
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != network.n_in:
        raise ValueError(f"spikes must have shape (batch, T, {network.n_in}), not {x.shape}")
    return x


def synops_breakdown(network: Network, spikes, trace=None) -> dict:
    """Totals over all samples of ``spikes`` (batch, T, n_in), as integers: the RTL's ``synops``
    counter (cycle model), and its split into (event, nonzero weight) and (event, zero weight)
    pairs from the reference trace (see the module)."""
    from ..hdl.schedule import schedules

    x = _samples(network, spikes)
    if network.convolutional:
        raise ValueError("NeuroBench figures of convolutional networks are not computed yet "
                         "(its integer modules are dense); run it on a dense network")
    trace = run(network, x) if trace is None else trace
    nonzero = zero = 0
    for index, layer in enumerate(network.layers):
        # events of step n: the input, or spikes of step n, i.e. the trace's index n - 1
        sources = [(x if index == 0 else trace.spikes[index - 1][:, :-1], layer.weight)]
        if layer.recurrent is not None:
            sources.append((trace.spikes[index][:, :-1], layer.recurrent))
        for events, weight in sources:
            per_input = np.asarray(events, np.int64).sum(axis=(0, 1))
            zeros = (np.asarray(weight) == 0).sum(axis=0)
            zero += int(per_input @ zeros)
            nonzero += int(per_input @ (layer.params.n - zeros))
    rtl = sum(int(s.synops.sum()) for s in schedules(network, x, 1, trace))
    return {"rtl_synops": rtl, "effective_acs": nonzero, "zero_weight_ops": zero}


def neurobench_metrics(network: Network, spikes, labels, batch_size=120) -> dict:
    """NeuroBench's metrics of ``network`` on ``spikes`` (batch, T, n_in) with ``labels``, all
    computed by ``neurobench.benchmarks.Benchmark``, and the synaptic-operation cross-check.

    Per-sample values are NeuroBench's (``effective_acs``, ``effective_macs``, ``dense_synops``);
    ``*_total`` are over all samples, integers: ``rtl_synops_total`` (the hardware's counter,
    from the cycle model) ``== effective_acs_total + zero_weight_ops_total`` when NeuroBench
    agrees with the reference (``synops_consistent``)."""
    benchmark, torch_model, static, workload = require_neurobench()
    from torch.utils.data import DataLoader, TensorDataset

    x = _samples(network, spikes)
    y = np.asarray(labels, np.int64)
    check = synops_breakdown(network, x)  # first: it refuses spikes other than 0/1
    model = torch_model(IntegerNetwork(network))
    model.add_activation_module(IntegerNeuron)
    data = TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y))
    bench = benchmark(model, DataLoader(data, batch_size=batch_size), [], [], [static, workload])
    results = bench.run(quiet=True)
    synops = results.get("SynapticOperations")
    failed = [name for name, value in results.items() if value is None]
    if not isinstance(synops, dict):  # NeuroBench reports a failed workload metric as 0.0
        failed.append("SynapticOperations")
    if failed:
        raise RuntimeError(f"NeuroBench could not compute {', '.join(failed)} (its Benchmark "
                           "prints the error only when run without quiet=True)")
    count = len(x)
    acs_total = round(synops["Effective_ACs"] * count)
    return {
        "samples": count,
        "footprint_bytes": int(results["Footprint"]),
        "connection_sparsity": float(results["ConnectionSparsity"]),
        # NeuroBench says 0.0 where it found no activation; here that is None
        "activation_sparsity": (float(results["ActivationSparsity"])
                                if any(ly.params.spiking for ly in network.layers) else None),
        "classification_accuracy": float(results["ClassificationAccuracy"]),
        "effective_acs": float(synops["Effective_ACs"]),
        "effective_macs": float(synops["Effective_MACs"]),
        "dense_synops": float(synops["Dense"]),
        "rtl_synops": check["rtl_synops"] / count,
        "zero_weight_ops": check["zero_weight_ops"] / count,
        "effective_acs_total": acs_total,
        "rtl_synops_total": check["rtl_synops"],
        "zero_weight_ops_total": check["zero_weight_ops"],
        "synops_consistent": acs_total + check["zero_weight_ops"] == check["rtl_synops"],
    }


def hardware_figures(network: Network, spikes, lanes=1, fmax_mhz=None) -> dict:
    r"""Cycles and latency of one inference on the network core, and resource estimates.

    Cycles per inference are :math:`\sum_n` of the cycle model's step cycles
    (:func:`spikeforge.hdl.schedule.schedule`), mean and max over the samples of ``spikes``
    (batch, T, n_in); latency is cycles / clock at each board's oscillator clock and, for the
    boards in ``fmax_mhz`` (board → measured Fmax in MHz, e.g. a build report's ``fmax_mhz``),
    at Fmax. Logic and block RAM are :mod:`spikeforge.compiler.resources`' estimates; a network
    that does not fit a board says so (``fits``: false, ``fit_error``) instead of failing.
    Latency counts the core's compute only, not the transfer of spikes to and from it."""
    from ..boards import BOARDS
    from ..compiler.resources import FitError, check_fit
    from ..compiler.targets import get_target
    from ..hdl.schedule import schedules

    x = _samples(network, spikes)
    cycles = np.array([int(s.cycles.sum()) for s in schedules(network, x, lanes)])
    mean, worst = float(cycles.mean()), int(cycles.max())
    boards = {}
    for name, platform in BOARDS.items():
        mhz = platform.clock_hz / 1e6
        board = {"clock_mhz": mhz, "latency_us_mean": mean / mhz, "latency_us_max": worst / mhz}
        if fmax_mhz and fmax_mhz.get(name):
            fmax = float(fmax_mhz[name])
            board.update(fmax_mhz=fmax, latency_us_mean_at_fmax=mean / fmax,
                         latency_us_max_at_fmax=worst / fmax)
        try:
            fit = check_fit(network, lanes, get_target(name))
        except FitError as error:
            board.update(fits=False, fit_error=str(error))
        else:
            board.update(fits=True, luts_estimate=fit["luts_estimate"],
                         luts_available=fit["luts_available"],
                         bram_blocks_estimate=fit["bram_blocks"],
                         bram_blocks_available=fit["bram_blocks_available"], dsps=fit["dsps"])
        boards[name] = board
    return {"lanes": lanes, "samples": len(x), "steps": int(x.shape[1]),
            "cycles_per_inference_mean": mean, "cycles_per_inference_max": worst,
            "boards": boards}
