"""Random networks of every variant of the contract, for differential tests and benchmarks.

Every layer has a multiple of the lane count neurons; ``saturating`` narrows I and U so that
clamping happens often."""

import numpy as np
from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind, ResetMode
from spikeforge.model.decay import Decay
from spikeforge.model.encoding import SpikeEncoding
from spikeforge.model.network import Readout

__all__ = ["random_decay", "random_layer", "random_network", "random_spikes"]


def random_decay(rng, width, *, max_terms=4, max_shift=6):
    """A random valid decay (:class:`~spikeforge.model.decay.Decay`) of 1 to ``max_terms``
    terms: the first shift at most ``max_shift``, later ones up to ``width - 1``."""
    top = min(width - 1, max_shift)
    while True:
        count = int(rng.integers(1, max_terms + 1))
        first = int(rng.integers(0, top + 1))
        later = np.arange(first + 1, width)
        if later.size < count - 1:
            continue
        shifts = [first, *sorted(rng.choice(later, count - 1, replace=False).tolist())]
        signs = [1, *rng.choice([-1, 1], count - 1).tolist()]
        try:
            return Decay(tuple(zip(signs, shifts, strict=True)))
        except ValueError:  # d > 1 (a first shift of 0 followed by a positive term)
            continue


def random_layer(rng, n_in, n, kind, *, saturating=False, recurrent=False, bias=False,
                 reset=ResetMode.SUBTRACT, k_syn=None):
    """A layer with random formats, shifts and weights; ``saturating`` narrows I and U."""
    wbits = int(rng.integers(3, 9))
    cw = int(rng.integers(5, 9)) if saturating else int(rng.integers(10, 17))
    pw = int(rng.integers(5, 9)) if saturating else int(rng.integers(10, 17))
    wf, cf, pf = IntFormat(wbits), IntFormat(cw), IntFormat(pw)
    spiking = kind is not NeuronKind.LI
    extra = {}
    if kind is NeuronKind.ALIF:
        tw = int(rng.integers(4, 12))
        extra = dict(trace_format=IntFormat(tw, signed=False), k_adapt=int(rng.integers(0, tw)),
                     adapt_jump=int(rng.integers(0, (1 << tw))))
    params = LayerParams(
        n_in=n_in, n=n, kind=kind,
        k_syn=int(rng.integers(0, min(cw, 6))) if k_syn is None else k_syn,
        k_mem=0 if kind is NeuronKind.IF else int(rng.integers(0, min(pw, 6))),
        theta=int(rng.integers(1, min(pf.max, 4 * wf.max) + 1)) if spiking else 1,
        reset=reset, recurrent=recurrent and spiking, bias=bias,
        weight_format=wf, current_format=cf, potential_format=pf, **extra,
    )
    hi = wf.max + 1
    lo = wf.min
    weight = rng.integers(lo // 2 if not saturating else lo, hi, (n, n_in))
    rec = rng.integers(lo, hi, (n, n)) if params.recurrent else None
    c = rng.integers(cf.min // 4, cf.max // 4 + 1, n) if bias else None
    return Layer(params, weight, recurrent=rec, bias=c)


def random_network(rng, lanes, *, layers=2, kinds=None, saturating=False):
    """A network whose every layer has a multiple of ``lanes`` neurons."""
    n_in = int(rng.integers(1, 9))
    size = n_in
    built = []
    for index in range(layers):
        last = index == layers - 1
        kind = kinds[index] if kinds else NeuronKind(int(rng.integers(0, 4 if last else 3)))
        n = lanes * int(rng.integers(1, 5))
        built.append(random_layer(
            rng, size, n, kind, saturating=saturating, recurrent=bool(rng.integers(0, 2)),
            bias=bool(rng.integers(0, 2)), reset=ResetMode(int(rng.integers(0, 2))),
        ))
        size = n
    readout = Readout.SPIKE_COUNT if built[-1].params.spiking else Readout.MEMBRANE_MAX
    return Network(tuple(built), SpikeEncoding(8), readout=readout)


def random_spikes(rng, steps, n_in, rate=0.5):
    """Input spikes (T, n_in) of 0/1."""
    return (rng.random((steps, n_in)) < rate).astype(np.int64)
