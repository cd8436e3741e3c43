r"""A learning trial in the integer reference: the network runs one sample while the learning
rule (:func:`~spikeforge.model.learning.step.learning_step`) follows it step by step; at the end
of the trial every learning synapse is updated once,

.. math::

    W_{ir} \leftarrow \mathrm{sat}_W\big(W_{ir} + \lfloor (G_{ir} + r_{ir}) / 2^{k_\eta}
    \rfloor\big),

with :math:`r` the low :math:`k_\eta` bits of the shared LFSR, stepped once per synapse
(stochastic rounding), or :math:`2^{k_\eta - 1}` (round half up); a recurrent row updates
:math:`V`. All learning state then returns to zero, as the network state does; the LFSR keeps
running from trial to trial. With ``learn=False`` (frozen) the weights stay as they are. This is
what the hardware's :class:`~spikeforge.hdl.learning_core.LearningCore` does for each trial.
"""

from typing import NamedTuple

import numpy as np

from ..network import Network
from ..numerics import saturate
from ..reference import initial_state, layer_step
from .lfsr import lfsr_sequence
from .step import initial_learn_state, learning_step, rows_of
from .targets import check_targets

__all__ = ["TrialResult", "apply_update", "learn_samples", "presynaptic", "run_trial"]


class TrialResult(NamedTuple):
    network: Network  #: the network after the trial's update (unchanged if frozen)
    output: np.ndarray  #: (T, n_out) output spikes
    state: object  #: the LearnState at the end of the trial (before the update)
    history: list | None  #: with ``record``: the LearnState after every step
    lfsr: int  #: the LFSR state after the trial


def presynaptic(network, config, x_t, spikes_before):
    """``{layer index: z[n]}`` for the learning layers: input of step n, then own s[n]."""
    out = {}
    for index in config.layers:
        layer = network.layers[index]
        z = x_t if index == 0 else spikes_before[index - 1]
        if rows_of(layer, config) > layer.params.n_in:
            z = np.concatenate([z, spikes_before[index]])
        out[index] = np.asarray(z, np.int64)
    return out


def run_trial(network, config, spikes, targets, *, learn=True, record=False,
              lfsr=None) -> TrialResult:
    """Run one sample ``spikes`` (T, n_in) with ``targets`` (T, n_out) and learn from it.

    ``lfsr`` is the rounding LFSR's state (``config.lfsr_seed`` for the first trial).
    """
    config.check(network)
    x = np.asarray(spikes)
    if x.ndim != 2 or x.shape[1] != network.n_in:
        raise ValueError(f"spikes must have shape (T, {network.n_in}), not {x.shape}")
    steps = x.shape[0]
    tgt = check_targets(network, targets, steps)
    states = [initial_state(layer, 1) for layer in network.layers]
    lstate = initial_learn_state(network, config)
    output = np.zeros((steps, network.n_out), np.int64)
    history = [] if record else None
    for t in range(steps):
        before = [st.s[0] for st in states]
        inputs = [x[None, t]] + [st.s for st in states[:-1]]
        states = [layer_step(layer, s_in, st)[1]
                  for layer, s_in, st in zip(network.layers, inputs, states, strict=True)]
        post = {i: (states[i].u[0], states[i].b[0]) for i in config.layers}
        lstate = learning_step(network, config, lstate,
                               presynaptic(network, config, x[t], before), post,
                               states[-1].s[0], tgt[t])
        output[t] = states[-1].s[0]
        if record:
            history.append(lstate)
    lfsr = config.lfsr_seed if lfsr is None else lfsr
    updated = network
    if learn:
        updated, lfsr = apply_update(network, config, lstate, lfsr)
    return TrialResult(updated, output, lstate, history, lfsr)


def apply_update(network, config, state, lfsr):
    """``(network, lfsr)`` after the end-of-trial update from the accumulators
    ``state.layers[*].g``."""
    k = config.lr_shift
    for index in sorted(state.layers):
        traces = state.layers[index]
        layer = network.layers[index]
        p = layer.params
        if config.rounding == "stochastic":
            values, lfsr = lfsr_sequence(lfsr, traces.g.size)
            # synapse order: rows ascending, neurons ascending → transpose of (rows, n)
            r = (np.asarray(values, np.int64) & ((1 << k) - 1)).reshape(traces.g.shape[::-1]).T
        else:
            r = (1 << k) >> 1
        delta = np.right_shift(traces.g + r, k)
        weight = saturate(layer.weight.astype(np.int64) + delta[:, :p.n_in], p.weight_format)
        arrays = {"weight": weight}
        if delta.shape[1] > p.n_in:
            arrays["recurrent"] = saturate(layer.recurrent.astype(np.int64)
                                           + delta[:, p.n_in:], p.weight_format)
        network = network.replace_layer(index, layer.with_weights(**arrays))
    return network, lfsr


def learn_samples(network, config, spikes, targets, *, learn=True):
    """Run the samples (batch, T, n_in) one trial each, in order, the LFSR starting from its
    seed; return the final network and the output spike counts (batch, n_out) of each trial."""
    x = np.asarray(spikes)
    counts = np.zeros((x.shape[0], network.n_out), np.int64)
    lfsr = config.lfsr_seed
    for index in range(x.shape[0]):
        result = run_trial(network, config, x[index], targets[index], learn=learn, lfsr=lfsr)
        network, lfsr = result.network, result.lfsr
        counts[index] = result.output.sum(axis=0)
    return network, counts
