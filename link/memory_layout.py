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

so one event (row :math:`r`) is :math:`Q` consecutive reads in every lane at once.

A pooled dense layer (a connectivity with a sum pool and no convolution) over a square pooled
map ``C × H_p × H_p`` runs on the convolution core as the convolution it is
(:func:`core_layer`: ``N`` output channels of kernel ``C × H_p × H_p``, a 1×1 output map), so
it keeps its ``N·C·H_p²`` weights, not the unrolled ``N·C·H·W``; its rows are then the pooled
inputs :math:`r = (c H_p + p_y) H_p + p_x`. A dense layer over a map without pooling, over a
pooled map that is not square, or with recurrent weights is stored unrolled
(:meth:`.Layer.dense`).

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
neurons of a dense row are. A layer with a residual join (:class:`~spikeforge.model.Shortcut`,
a 1×1 kernel :math:`V` over ``C_src`` source channels) stores it after the kernel, one row per
source channel, as the recurrent rows follow a dense layer's input rows:
:math:`\mathrm{weights}_p[(C_{in} K^2 + c)\,G + g] = V_{gP+p,\ c}`.
Neuron :math:`(o, y, x)` (index :math:`i = o H_o W_o + y W_o + x`)
keeps its accumulator in lane :math:`o \bmod P` at address :math:`g H_o W_o + y W_o + x`, so every
lane again holds :math:`Q = N / P` accumulators.

Neuron state
------------
A dense layer updates :math:`W` neurons a cycle (:func:`update_lanes`: :math:`W = P` when
``P`` is a power of two, else 1), so its state memory holds :math:`N / W` words of :math:`W`
neurons each: neuron :math:`i` in word :math:`\lfloor i / W \rfloor`, slot :math:`i \bmod W`
(with :math:`W = P`, the neurons of one accumulator address in all lanes). A convolutional layer
updates one neuron a cycle (its lanes split channels, whose neurons are not consecutive).

The host driver uses the same functions to write weights through a memory-access port.
"""

import numpy as np

from ..model import Connectivity, Conv2d, Layer

__all__ = ["check_lanes", "conv_groups", "core_layer", "is_convolutional", "kernel_rows",
           "lane_depth", "lane_weights", "probe_layers", "update_lanes", "weight_address",
           "weight_rows"]


def core_layer(layer: Layer) -> Layer:
    """``layer`` as its core holds it, computing exactly the same: a convolution or a dense
    layer as it is; a pooled dense layer over a square pooled map as a convolution whose kernel
    covers that map (``N`` output channels, output map 1×1, neuron ``i`` = channel ``i``, the
    same bias) unless it is recurrent; any other layer with a connectivity unrolled
    (:meth:`.Layer.dense`)."""
    conn = layer.connectivity
    if conn is None or conn.conv is not None:
        return layer
    if "_core" not in layer.__dict__:  # built once per layer (the layer is immutable)
        c, hp, wp = conn.pooled_shape
        core = layer.dense()
        if conn.pool > 1 and hp == wp and layer.recurrent is None:
            n = layer.params.n
            core = Layer(layer.params, layer.weight.reshape(n, c, hp, wp), bias=layer.bias,
                         name=layer.name, connectivity=Connectivity(
                             conn.input_shape, conn.pool, Conv2d(n, hp, 1, 0)))
        object.__setattr__(layer, "_core", core)
    return layer.__dict__["_core"]


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


def update_lanes(layer: Layer, lanes):
    r"""``W``: neurons a layer's update phase handles in one cycle with ``lanes`` lanes.

    A dense layer reads one accumulator address in every lane at once, neurons
    :math:`aP \ldots aP + P - 1`, so ``W = P``: consecutive neurons whose state word and spike
    addresses are bit fields when ``P`` is a power of two (other lane counts, and convolutions,
    whose lanes split channels, update one neuron a cycle)."""
    layer = core_layer(layer)
    check_lanes(layer, lanes)
    if is_convolutional(layer) or lanes & (lanes - 1):
        return 1
    return lanes


def probe_layers(network, lanes):
    """The layer of each probe port of a network core with ``lanes`` lanes: ``W`` ports per
    layer (:func:`update_lanes`), slot order, so port ``k`` of layer ``l`` reports neurons
    ``k, k + W, ...``."""
    return tuple(index for index, layer in enumerate(network.layers)
                 for _ in range(update_lanes(layer, lanes)))


def conv_groups(layer: Layer, lanes):
    """``G = C_out / lanes``: output channel groups per lane of a convolutional layer (or of a
    pooled dense layer held as one, :func:`core_layer`)."""
    layer = core_layer(layer)
    check_lanes(layer, lanes)
    return layer.connectivity.conv.out_channels // lanes


def weight_rows(layer: Layer):
    """Number of synaptic rows: inputs, plus own neurons in a recurrent layer; for a
    convolutional layer the kernel rows ``C_in·K²`` (one per input channel and kernel offset),
    plus one per source channel of a residual join."""
    layer = core_layer(layer)
    p = layer.params
    if is_convolutional(layer):
        return kernel_rows(layer) + (layer.shortcut.connectivity.input_shape[0]
                                     if layer.shortcut is not None else 0)
    return p.n_in + (p.n if p.recurrent else 0)


def kernel_rows(layer: Layer):
    """Rows of a convolutional layer's own kernel, ``C_in·K²`` (its shortcut's rows follow)."""
    layer = core_layer(layer)
    return layer.connectivity.input_shape[0] * layer.connectivity.conv.kernel ** 2


def _row_words(layer: Layer, lanes):
    """Words per row in each lane: ``Q = n / P`` (dense) or ``G = C_out / P`` (convolution)."""
    layer = core_layer(layer)
    q_per_lane = check_lanes(layer, lanes)
    return conv_groups(layer, lanes) if is_convolutional(layer) else q_per_lane


def lane_depth(layer: Layer, lanes):
    """Words of weight memory per lane: ``rows · Q`` (dense) or ``C_in K² · G`` (convolution)."""
    return weight_rows(layer) * _row_words(layer, lanes)


def weight_address(layer: Layer, lanes, neuron, row):
    """``(lane, address)`` of the weight from ``row`` to ``neuron``.

    For a convolutional layer ``neuron`` is any neuron of the output channel ``o`` (only its
    channel matters, :math:`o = \\lfloor i / (H_o W_o) \\rfloor`) and ``row`` is the kernel row
    :math:`c K^2 + iK + j` (or :math:`C_{in} K^2 + c` for source channel ``c`` of a residual
    join); for a pooled dense layer held as a convolution (:func:`core_layer`) the pooled
    input."""
    layer = core_layer(layer)
    words = _row_words(layer, lanes)
    if is_convolutional(layer):
        _, ho, wo = layer.connectivity.output_shape
        channel = neuron // (ho * wo)
        return channel % lanes, row * words + channel // lanes
    return neuron % lanes, row * words + neuron // lanes


def lane_weights(layer: Layer, lanes):
    """Initial contents of every lane's weight memory: a list of ``lanes`` integer lists.

    A convolutional layer holds its kernel (``lane_depth`` words per lane, ``C_out·C_in·K²`` in
    all), a pooled dense layer over a square map its weights as such a kernel, any other pooled
    one its unrolled matrix (:func:`core_layer`)."""
    q_per_lane = check_lanes(layer, lanes)
    layer = core_layer(layer)
    if is_convolutional(layer):
        kernel = layer.weight.astype(np.int64)  # (C_out, C_in, K, K)
        c_out = kernel.shape[0]
        rows = kernel.reshape(c_out, -1).T  # (C_in K², C_out): row r holds W[:, r]
        if layer.shortcut is not None:  # then the join's (C_src, C_out) rows
            rows = np.concatenate([rows, layer.shortcut_weight.astype(np.int64).reshape(
                c_out, -1).T])
        # rows[r, g*P + p] -> lane p, address r*G + g
        per_lane = rows.reshape(rows.shape[0], c_out // lanes, lanes)
        return [per_lane[:, :, p].reshape(-1).tolist() for p in range(lanes)]
    rows = layer.weight.astype(np.int64).T  # (n_in, n): row r holds W[:, r]
    if layer.recurrent is not None:
        rows = np.concatenate([rows, layer.recurrent.astype(np.int64).T])
    # rows[r, q*P + p] -> lane p, address r*Q + q
    per_lane = rows.reshape(rows.shape[0], q_per_lane, lanes)
    return [per_lane[:, :, p].reshape(-1).tolist() for p in range(lanes)]
