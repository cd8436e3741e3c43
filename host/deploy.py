"""Deploying a network's weights to a running device, and refusing a network it cannot run.

:func:`check_compatible` compares what the device reports (``INFO``) with what a bitstream of the
network would report (:func:`~spikeforge.link.protocol.design_info` with the device's lanes):
layer count, every layer's sizes, formats and neuron parameters, then the design hash (which also
covers the bias values and link parameters). Only the weights may differ: :func:`deploy` writes
them in the lane layout of :mod:`spikeforge.link.memory_layout`, reads every word back, and
records the weights' fingerprint in the ``WEIGHTS_ID`` parameter.

A deploy is a transaction: ``WEIGHTS_ID`` is set to :data:`NO_NETWORK` (0) before the first
weight is written and to the network's fingerprint only after every word read back equals what
was written. A deploy that stops half-way (the link lost, a read-back difference, Ctrl-C) leaves
a device that says "no valid network": :func:`check_deployed` (and so ``spikeforge run``) refuses
it, and so does the device itself (``RUN`` and ``LEARN`` are answered ``NO_NETWORK``), until a
deploy completes. A bitstream powers up holding the network it was built for, with that
network's fingerprint (:mod:`spikeforge.model.fingerprint`).
"""

import time

from ..link.memory_layout import lane_weights
from ..link.protocol import MAX_PAYLOAD, LinkConfig, Param, ProtocolError, design_info
from ..model.fingerprint import NO_NETWORK, weights_fingerprint

__all__ = ["NO_NETWORK", "DeployError", "check_compatible", "check_deployed", "deploy",
           "weights_fingerprint"]


class DeployError(ValueError):
    """The network does not match the bitstream, or the read-back differs."""


def check_deployed(device, network):
    """Raise :class:`DeployError` unless ``device`` holds exactly ``network``'s weights (its
    ``WEIGHTS_ID`` is their fingerprint)."""
    loaded = device.read_params()["weights_id"]
    wanted = weights_fingerprint(network)
    if loaded == NO_NETWORK:
        raise DeployError(f"the device holds no valid network (a deploy did not complete): "
                          f"run `spikeforge deploy` with {network.name} first")
    if loaded != wanted:
        raise DeployError(f"the device holds weights {loaded:08x}, not those of {network.name} "
                          f"({wanted:08x}): run `spikeforge deploy` first")


def check_compatible(network, info):
    """Raise :class:`DeployError` listing every difference between ``network`` and the device."""
    problems = []
    if len(network.layers) != len(info.layers):
        problems.append(f"the bitstream has {len(info.layers)} layers, the network "
                        f"{len(network.layers)}")
    else:
        expected = design_info(network, info.lanes, LinkConfig(info.output_depth))
        for index, (want, have) in enumerate(zip(expected.layers, info.layers, strict=True)):
            for field in want.__dataclass_fields__:
                a, b = getattr(have, field), getattr(want, field)
                if a != b:
                    problems.append(f"layer {index}: {field} is {a} in the bitstream but {b} in "
                                    f"the network")
        if not problems and expected.design_hash != info.design_hash:
            problems.append(
                f"design hash {info.design_hash.hex()} of the bitstream differs from "
                f"{expected.design_hash.hex()} of the network (bias values or link parameters "
                f"differ)")
    if problems:
        raise DeployError("this network does not match the bitstream on the device; rebuild "
                          "it with `spikeforge build`:\n  " + "\n  ".join(problems))


def deploy(device, network, *, verify=True, progress=None):
    """Write ``network``'s weights to ``device``; return a summary dict.

    ``progress(done, total)`` is called after each frame. With ``verify`` every word is read
    back and compared; a difference raises :class:`DeployError`.
    """
    start = time.perf_counter()
    info = device.info()
    check_compatible(network, info)
    device.write_param(Param.WEIGHTS_ID, NO_NETWORK)  # until the read-back verifies
    try:
        summary = _write_and_verify(device, network, info, verify, progress)
    except ProtocolError as exc:
        raise DeployError(
            f"deploy of {network.name} stopped: {exc}. The device holds partly written weights "
            "and reports no valid network, so `spikeforge run` refuses it: run "
            "`spikeforge deploy` again") from None
    fingerprint = weights_fingerprint(network)
    device.write_param(Param.WEIGHTS_ID, fingerprint)
    return {**summary, "weights_id": f"{fingerprint:08x}", "design_hash": info.design_hash.hex(),
            "seconds": time.perf_counter() - start}


def _write_and_verify(device, network, info, verify, progress):
    """Write every weight word, then read every one back (``verify``); a summary dict."""
    per_write = (MAX_PAYLOAD - 4) // info.weight_bytes
    per_read = MAX_PAYLOAD // info.weight_bytes
    plan = [(index, lane, words) for index, layer in enumerate(network.layers)
            for lane, words in enumerate(lane_weights(layer, info.lanes))]
    total = sum(len(words) for _, _, words in plan) * (2 if verify else 1)
    done = frames = 0
    for index, lane, words in plan:
        for addr in range(0, len(words), per_write):
            chunk = words[addr:addr + per_write]
            device.write_weights(index, lane, addr, chunk)
            done += len(chunk)
            frames += 1
            if progress:
                progress(done, total)
    mismatches = []
    if verify:
        for index, lane, words in plan:
            for addr in range(0, len(words), per_read):
                count = min(per_read, len(words) - addr)
                back = device.read_weights(index, lane, addr, count)
                frames += 1
                done += count
                if back != words[addr:addr + count]:
                    bad = next(k for k, (x, y) in enumerate(zip(back, words[addr:], strict=False))
                               if x != y)
                    mismatches.append(f"layer {index} lane {lane} address {addr + bad}: wrote "
                                      f"{words[addr + bad]}, read {back[bad]}")
                if progress:
                    progress(done, total)
        if mismatches:
            raise DeployError("read-back differs from the weights written (the device now "
                              "reports no valid network):\n  " + "\n  ".join(mismatches[:10]))
    words = sum(len(w) for _, _, w in plan)
    return {"weights": words, "frames": frames, "verified": bool(verify)}
