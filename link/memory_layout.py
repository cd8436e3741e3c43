r"""Where each weight, accumulator and state word of a layer lives in block RAM.

Dense layers
------------
With ``P`` lanes and ``N`` neurons (``P`` divides ``N``), neuron :math:`i` belongs to lane
:math:`i \bmod P` at local index :math:`q = \lfloor i / P \rfloor`, and each lane holds
:math:`Q = N / P` neurons. A synaptic row :math:`r` is an input :math:`j` (:math:`r = j`) or,
in a recurrent layer, an own neuron :math:`k` (:math:`r = N_{in} + k`). Lane :math:`p` stores

.. math::

    \mathrm{weights}_p[r\,Q + q] = \begin{cases} W_{qP+p,\ r} & r < N_{in} \\
                                                 V_{qP+p,\ r-N_{in}} & r \ge N_{in}\end{cases}

so one event (row :math:`r`) is :math:`Q` consecutive reads in every lane at once. A pooled
dense layer (a connectivity without a convolution) is stored unrolled (:meth:`.Layer.dense`).

Convolutional layers
--------------------
A layer whose connectivity has a convolution (``C_out`` kernels ``C_in × K × K``, output map
``H_o × W_o``) stores its *kernel*, ``C_out·C_in·K²`` words in all. The lanes split the output
channels: channel :math:`o` belongs to lane :math:`o \bmod P` as channel group
:math:`g = \lfloor o / P \rfloor` (``P`` divides ``C_out``, :math:`G = C_{out}/P` groups). A
kernel row is :math:`r = c K^2 + iK + j` (:math:`C_{in} K^2` rows), and lane :math:`p` stores

.. math::

    \mathrm{weights}_p[r\,G + g] = W_{gP+p,\ c,\ i,\ j}

so the :math:`G` channel groups of one kernel offset are consecutive words, as the :math:`Q`
neurons of a dense row are. Neuron :math:`(o, y, x)` (index :math:`i = o H_o W_o + y W_o + x`)
keeps its accumulator in lane :math:`o \bmod P` at address :math:`g H_o W_o + y W_o + x`, so every
lane again holds :math:`Q = N / P` accumulators.

The host driver uses the same functions to write weights through a memory-access port.
"""

import numpy as np

from ..model import Layer

__all__ = ["check_lanes", "conv_groups", "is_convolutional", "lane_depth", "lane_weights",
           "weight_address", "weight_rows"]


def is_convolutional(layer: Layer) -> bool:
    """Whether ``layer`` has a convolution (and so keeps its kernel, not a dense matrix)."""
    conn = layer.connectivity
    return conn is not None and conn.conv is not None


def check_lanes(layer: Layer, lanes):
    """Validate ``lanes`` for ``layer``; return ``Q = n / lanes`` (accumulators per lane).

    A dense layer needs ``lanes`` to divide its neuron count, a convolutional one to divide its
    output channel count ``C_out`` (lanes split the channels)."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"lanes must be a positive integer, not {lanes!r}")
    n = layer.params.n
    if is_convolutional(layer):
        c_out = layer.connectivity.conv.out_channels
        if c_out % lanes:
            raise ValueError(
                f"lanes must divide a convolutional layer's output channel count, since the "
                f"lanes split the channels: {lanes} lanes do not divide C_out = {c_out} (layer "
                f"{layer.name or '?'}); choose a lane count that divides {c_out}")
        return n // lanes
    if n % lanes:
        raise ValueError(
            f"lanes must divide the layer's neuron count so every lane holds the same number of "
            f"neurons: {lanes} lanes do not divide n = {n} (layer {layer.name or '?'})"
        )
    return n // lanes


def conv_groups(layer: Layer, lanes):
    """``G = C_out / lanes``: output channel groups per lane of a convolutional layer."""
    check_lanes(layer, lanes)
    return layer.connectivity.conv.out_channels // lanes


def weight_rows(layer: Layer):
    """Number of synaptic rows: inputs, plus own neurons in a recurrent layer; for a
    convolutional layer the kernel rows ``C_in·K²`` (one per input channel and kernel offset)."""
    p = layer.params
    if is_convolutional(layer):
        return layer.connectivity.input_shape[0] * layer.connectivity.conv.kernel ** 2
    return p.n_in + (p.n if p.recurrent else 0)


def _row_words(layer: Layer, lanes):
    """Words per row in each lane: ``Q = n / P`` (dense) or ``G = C_out / P`` (convolution)."""
    q_per_lane = check_lanes(layer, lanes)
    return conv_groups(layer, lanes) if is_convolutional(layer) else q_per_lane


def lane_depth(layer: Layer, lanes):
    """Words of weight memory per lane: ``rows · Q`` (dense) or ``C_in K² · G`` (convolution)."""
    return weight_rows(layer) * _row_words(layer, lanes)


def weight_address(layer: Layer, lanes, neuron, row):
    """``(lane, address)`` of the weight from ``row`` to ``neuron``.

    For a convolutional layer ``neuron`` is any neuron of the output channel ``o`` (only its
    channel matters, :math:`o = \\lfloor i / (H_o W_o) \\rfloor`) and ``row`` is the kernel row
    :math:`c K^2 + iK + j`."""
    words = _row_words(layer, lanes)
    if is_convolutional(layer):
        _, ho, wo = layer.connectivity.output_shape
        channel = neuron // (ho * wo)
        return channel % lanes, row * words + channel // lanes
    return neuron % lanes, row * words + neuron // lanes


def lane_weights(layer: Layer, lanes):
    """Initial contents of every lane's weight memory: a list of ``lanes`` integer lists.

    A convolutional layer holds its kernel (``lane_depth`` words per lane, ``C_out·C_in·K²`` in
    all); a pooled dense layer is stored unrolled (:meth:`.Layer.dense`), one word per
    connection."""
    q_per_lane = check_lanes(layer, lanes)
    if is_convolutional(layer):
        kernel = layer.weight.astype(np.int64)  # (C_out, C_in, K, K)
        c_out = kernel.shape[0]
        rows = kernel.reshape(c_out, -1).T  # (C_in K², C_out): row r holds W[:, r]
        # rows[r, g*P + p] -> lane p, address r*G + g
        per_lane = rows.reshape(rows.shape[0], c_out // lanes, lanes)
        return [per_lane[:, :, p].reshape(-1).tolist() for p in range(lanes)]
    layer = layer.dense()
    rows = layer.weight.astype(np.int64).T  # (n_in, n): row r holds W[:, r]
    if layer.recurrent is not None:
        rows = np.concatenate([rows, layer.recurrent.astype(np.int64).T])
    # rows[r, q*P + p] -> lane p, address r*Q + q
    per_lane = rows.reshape(rows.shape[0], q_per_lane, lanes)
    return [per_lane[:, :, p].reshape(-1).tolist() for p in range(lanes)]
