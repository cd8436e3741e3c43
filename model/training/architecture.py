"""A small text spec of a network's layers, as ``spikeforge train --arch`` takes it.

Tokens joined by ``-``, applied to the input map ``(C, H, W)`` in order:

* ``c<C>k<K>[s<S>][p<P>]`` — a convolutional layer of ``C`` channels, ``K × K`` kernels, stride
  ``S`` (default 1) and zero padding ``P`` (default ``K // 2``: the map keeps its size at
  stride 1 for an odd ``K``);
* ``p<N>`` — sum pooling with window and stride ``N`` on the map the next layer reads;
* ``d<N>`` — a dense layer of ``N`` neurons over the (flattened) map.

The last token is the output layer, ``d<classes>``. ``c8k3-p2-c16k3-p2-d10`` on digits (1×8×8)
is 8×8×8 → pool → 16×4×4 → pool → 10. A spec without a convolution, ``d128-d10``, is the dense
network of ``--hidden 128``.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..connectivity import Connectivity, Conv2d

__all__ = ["ArchitectureError", "LayerPlan", "plan_architecture"]

_CONV = re.compile(r"c(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?")
_POOL = re.compile(r"p(\d+)")
_DENSE = re.compile(r"d(\d+)")


class ArchitectureError(ValueError):
    """An ``--arch`` spec that cannot be built; the message names the token and what to do."""


@dataclass(frozen=True)
class LayerPlan:
    """One layer of a spec: its neuron count and connectivity (None: dense over a flat input)."""

    n_in: int
    n: int
    connectivity: Connectivity | None


def plan_architecture(spec: str, input_shape, n_classes: int) -> list:
    """The :class:`LayerPlan` of every layer of ``spec`` on an input map ``input_shape``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ArchitectureError("--arch must be a non-empty spec such as c8k3-p2-c16k3-p2-d10")
    shape = tuple(int(v) for v in input_shape)
    plans, pool = [], 1
    tokens = spec.strip().split("-")
    for position, token in enumerate(tokens, 1):
        where = f"--arch token {position} ({token!r})"
        conv, pooling, dense = (r.fullmatch(token) for r in (_CONV, _POOL, _DENSE))
        if pooling:
            if pool != 1:
                raise ArchitectureError(f"{where}: two pooling tokens in a row; use one p<N>")
            pool = int(pooling[1])
            if pool < 1:
                raise ArchitectureError(f"{where}: a pooling window must be at least 1")
            continue
        try:
            if conv:
                channels, kernel = int(conv[1]), int(conv[2])
                stride = int(conv[3]) if conv[3] else 1
                padding = int(conv[4]) if conv[4] else kernel // 2
                conn = Connectivity(shape, pool, Conv2d(channels, kernel, stride, padding))
                plans.append(LayerPlan(conn.n_in, conn.neurons(), conn))
                shape = conn.output_shape
            elif dense:
                n = int(dense[1])
                if n < 1:
                    raise ArchitectureError(f"{where}: a layer needs at least one neuron")
                conn = Connectivity(shape, pool) if pool != 1 else None
                plans.append(LayerPlan(int(np.prod(shape)), n, conn))
                shape = (n, 1, 1)
            else:
                raise ArchitectureError(
                    f"{where} is not c<channels>k<kernel>[s<stride>][p<padding>], p<window> or "
                    "d<neurons>")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ArchitectureError):
                raise
            raise ArchitectureError(f"{where} does not fit the "
                                    f"{'×'.join(map(str, shape))} map it reads: {exc}") from None
        pool = 1
    if pool != 1:
        raise ArchitectureError("--arch ends with a pooling token; end it with the output layer "
                                f"d{n_classes}")
    if not tokens[-1].startswith("d") or plans[-1].n != n_classes:
        raise ArchitectureError(f"--arch must end with the output layer d{n_classes} (the data "
                                f"has {n_classes} classes), not {tokens[-1]!r}")
    return plans
