r"""Where each weight, accumulator and state word of a layer lives in block RAM.

With ``P`` lanes and ``N`` neurons (``P`` divides ``N``), neuron :math:`i` belongs to lane
:math:`i \bmod P` at local index :math:`q = \lfloor i / P \rfloor`, and each lane holds
:math:`Q = N / P` neurons. A synaptic row :math:`r` is an input :math:`j` (:math:`r = j`) or,
in a recurrent layer, an own neuron :math:`k` (:math:`r = N_{in} + k`). Lane :math:`p` stores

.. math::

    \mathrm{weights}_p[r\,Q + q] = \begin{cases} W_{qP+p,\ r} & r < N_{in} \\
                                                 V_{qP+p,\ r-N_{in}} & r \ge N_{in}\end{cases}

so one event (row :math:`r`) is :math:`Q` consecutive reads in every lane at once. The host
driver uses the same functions to write weights through a memory-access port.
"""

import numpy as np

from ..model import Layer

__all__ = ["check_lanes", "lane_depth", "lane_weights", "weight_address", "weight_rows"]


def check_lanes(layer: Layer, lanes):
    """Validate ``lanes`` for ``layer``; return ``Q = n / lanes``."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"lanes must be a positive integer, not {lanes!r}")
    n = layer.params.n
    if n % lanes:
        raise ValueError(
            f"lanes must divide the layer's neuron count so every lane holds the same number of "
            f"neurons: {lanes} lanes do not divide n = {n} (layer {layer.name or '?'})"
        )
    return n // lanes


def weight_rows(layer: Layer):
    """Number of synaptic rows: inputs, plus own neurons in a recurrent layer."""
    p = layer.params
    return p.n_in + (p.n if p.recurrent else 0)


def lane_depth(layer: Layer, lanes):
    """Words of weight memory per lane."""
    return weight_rows(layer) * check_lanes(layer, lanes)


def weight_address(layer: Layer, lanes, neuron, row):
    """``(lane, address)`` of the weight from ``row`` to ``neuron``."""
    q_per_lane = check_lanes(layer, lanes)
    return neuron % lanes, row * q_per_lane + neuron // lanes


def lane_weights(layer: Layer, lanes):
    """Initial contents of every lane's weight memory: a list of ``lanes`` integer lists.

    A convolutional or pooled layer is stored unrolled (:meth:`.Layer.dense`): the dense core
    holds one word per connection."""
    q_per_lane = check_lanes(layer, lanes)
    layer = layer.dense()
    rows = layer.weight.astype(np.int64).T  # (n_in, n): row r holds W[:, r]
    if layer.recurrent is not None:
        rows = np.concatenate([rows, layer.recurrent.astype(np.int64).T])
    # rows[r, q*P + p] -> lane p, address r*Q + q
    per_lane = rows.reshape(rows.shape[0], q_per_lane, lanes)
    return [per_lane[:, :, p].reshape(-1).tolist() for p in range(lanes)]
