r"""On-chip learning on a device, over the host link: trials in, outputs and weights back.

A bitstream built with learning units (``spikeforge build --rule ...``) runs the trials of
:func:`spikeforge.model.learning.run_trial` itself. The host sends each trial as ``LEARN``
frames (per step: the input indices, ``LEARN_TARGET | k`` for every target spike, the end-of-step
word; after the last step the end-of-trial word that applies the update or freezes the weights),
reads the output spikes of every step from the output buffer, and after a trial may read the
learning layers' weights back. The device's rounding LFSR is set to ``lfsr_seed`` first, so the
integer reference, replaying the same trials from that seed, must produce the same outputs and
weights bit for bit: :func:`learn_on_device` returns what the device did, and
:func:`spikeforge.sim.learning_compare.compare_learning` compares it.
"""

import numpy as np

from ..link.protocol import (
    LEARN_TRIAL_FREEZE,
    LEARN_TRIAL_LEARN,
    MAX_PAYLOAD,
    Param,
    learn_step_words,
    learning_hash,
)
from ..model.learning import check_targets, rows_of
from .deploy import DeployError, check_compatible
from .inference import OutputGroups, send_words

__all__ = ["check_learning", "device_learning_report", "learn_on_device", "read_layer_rows"]


def check_learning(network, config, info):
    """Raise :class:`~spikeforge.host.deploy.DeployError` unless the device (``info``) runs
    ``network`` with exactly the learning configuration ``config``."""
    check_compatible(network, info)
    if not info.learning:
        raise DeployError("the bitstream on the device has no learning units; rebuild it with "
                          "`spikeforge build NETFILE --board ... --rule RULE`")
    rule = config.rule.name.lower()
    if info.rule_name != rule:
        raise DeployError(f"the device learns with {info.rule_name}, not {rule}; rebuild it or "
                          f"pass --rule {info.rule_name}")
    mask = sum(1 << index for index in config.layers)
    if info.learning_layers != mask:
        have = [i for i in range(16) if info.learning_layers >> i & 1]
        raise DeployError(f"the device's learning layers are {have}, not {list(config.layers)}")
    if info.learning_hash != learning_hash(config):
        raise DeployError(
            f"the device's learning configuration (hash {info.learning_hash.hex()}) differs from "
            f"this one ({learning_hash(config).hex()}): learning rate, shifts, formats, rounding, "
            f"LFSR seed and feedback seed must be those of the build")


def read_layer_rows(device, network, index):
    """(n, rows) weights of layer ``index`` as the device holds them: W, then V."""
    from ..sim.learning_compare import lane_words_to_rows

    info = device.info()
    layer = network.layers[index]
    depth = info.layers[index].depth
    per_read = MAX_PAYLOAD // info.weight_bytes
    words = []
    for lane in range(info.lanes):
        for addr in range(0, depth, per_read):
            words += device.read_weights(index, lane, addr, min(per_read, depth - addr))
    return lane_words_to_rows(layer, info.lanes, words)


def _send_trial(device, step_words, capacity):
    """Send one trial's words in ``LEARN`` frames of at most ``capacity`` steps (so the output
    buffer never fills); return its :class:`~spikeforge.host.inference.OutputGroups`."""
    per_frame = MAX_PAYLOAD // 2
    outputs = OutputGroups(device)
    pending, in_frame, sent = [], 0, 0
    for index, words in enumerate(step_words):
        pending += words
        in_frame += 1
        last = index == len(step_words) - 1
        if not last and in_frame < capacity and len(pending) + len(step_words[index + 1]) \
                <= per_frame:
            continue
        send_words(device.learn_events, pending)
        sent += in_frame
        outputs.read_until(sent)
        pending, in_frame = [], 0
    return outputs


def learn_on_device(device, network, config, spikes, targets, learn, *, readback=None,
                    progress=None):
    """Run trials (batch, T, n_in) with ``targets`` (batch, T, n_out) on ``device``.

    The device must hold ``network``'s weights (``deploy``) and have been built with ``config``.
    ``learn[b]`` says whether trial ``b`` applies its update; ``readback[b]`` (default: every
    trial) whether the learning layers' weights are read after it. Returns one dict per trial:
    ``output`` (T, n_out) spikes, ``counts`` (n_out,), ``weights`` {layer: (n, rows)} or None;
    ``progress(done, total)`` is called after each trial.
    """
    info = device.info()
    check_learning(network, config, info)
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != network.n_in:
        raise ValueError(f"spikes must have shape (batch, T, {network.n_in}), not {x.shape}")
    batch, steps = x.shape[:2]
    if len(learn) != batch:
        raise ValueError(f"learn has {len(learn)} entries for {batch} trials")
    readback = [True] * batch if readback is None else list(readback)
    n_out = network.n_out
    capacity = max(1, info.output_depth // (n_out + 1) - 1)  # steps whose outputs fit
    device.write_param(Param.LFSR, config.lfsr_seed)
    device.clear()
    results = []
    for b in range(batch):
        tgt = check_targets(network, targets[b], steps)
        step_words = [learn_step_words(x[b, t], tgt[t]) for t in range(steps)]
        step_words[-1].append(LEARN_TRIAL_LEARN if learn[b] else LEARN_TRIAL_FREEZE)
        outputs = _send_trial(device, step_words, capacity)
        out = np.zeros((steps, n_out), np.int64)
        for step, group in enumerate(outputs.groups[:steps]):
            out[step, group] = 1
        weights = None
        if readback[b]:
            weights = {index: read_layer_rows(device, network, index)[
                :, :rows_of(network.layers[index], config)] for index in config.layers}
        results.append({"output": out, "counts": out.sum(axis=0), "weights": weights})
        if progress:
            progress(b + 1, batch)
    return results


def device_learning_report(device, network, config, spikes, targets, learn, *, readback=None,
                           progress=None):
    """Deploy ``network``, run the trials on ``device`` and in the integer reference, compare;
    returns ``(report, final reference network, per-trial device results)`` like
    :func:`spikeforge.sim.learning_cosim.learning_report`: every trial's output spikes and
    counts, and the weights after the trials ``readback`` names (default: all); traces are not
    readable over the link. ``progress(done, total)`` is called after each trial."""
    import time

    from ..sim.learning_compare import compare_learning, expected_run
    from .deploy import deploy

    learn = [bool(v) for v in learn]
    check_learning(network, config, device.info())
    start = time.perf_counter()
    deploy(device, network)
    results = learn_on_device(device, network, config, spikes, targets, learn,
                              readback=readback, progress=progress)
    run_seconds = time.perf_counter() - start
    start = time.perf_counter()
    final, expected = expected_run(network, config, spikes, targets, learn)
    ref_seconds = time.perf_counter() - start
    comparison = compare_learning(config, expected, results)
    report = {
        "rule": config.rule.name.lower(),
        "config": config.to_dict(),
        "lanes": device.info().lanes,
        "trials": len(learn),
        "learning_trials": int(sum(learn)),
        "steps_per_trial": int(np.asarray(spikes).shape[1]),
        "traces_compared": False,
        "weights_compared_after_trials": sum(r["weights"] is not None for r in results),
        "final_weights_equal": bool(results) and results[-1]["weights"] is not None and all(
            np.array_equal(expected[-1]["weights"][i], results[-1]["weights"][i])
            for i in config.layers),
        **comparison,
        "device_trials": device.counters()["trials"],
        "reference_seconds": round(ref_seconds, 3),
        "run_seconds": round(run_seconds, 3),
    }
    return report, final, results
