"""The 32-bit fingerprint of a network's weights: what a device's ``WEIGHTS_ID`` says it holds.

A bitstream powers up with the fingerprint of the network it was built for (those weights are
its initial memory contents); ``spikeforge deploy`` writes :data:`NO_NETWORK` before its first
weight and the new fingerprint after the read-back verifies; the device refuses ``RUN`` and
``LEARN`` while it reads :data:`NO_NETWORK` (``docs/host_protocol.md``).
"""

import hashlib

import numpy as np

__all__ = ["NO_NETWORK", "weights_fingerprint"]

#: ``WEIGHTS_ID`` of a device that holds no complete network (a deploy under way or
#: interrupted); no fingerprint takes this value
NO_NETWORK = 0


def weights_fingerprint(network) -> int:
    """A 32-bit fingerprint of every weight array of ``network``.

    SHA-256 over, layer by layer, ``b"weight"`` then the weights as little-endian int64 in
    row-major order, for a recurrent layer ``b"recurrent"`` then its recurrent weights the
    same way, and for a layer with a residual join ``b"shortcut"`` then the join's kernel; the
    fingerprint is the digest's first 4 bytes read as a little-endian integer, or
    1 where that is 0 (:data:`NO_NETWORK`)."""
    digest = hashlib.sha256()
    for layer in network.layers:
        for name, array in (("weight", layer.weight), ("recurrent", layer.recurrent),
                            ("shortcut", layer.shortcut_weight)):
            if array is not None:
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
    return int.from_bytes(digest.digest()[:4], "little") or 1
