"""Multiplier-free arithmetic helpers shared by the cores.

Everything here elaborates to adders, shifts, comparators and multiplexers only.
"""

from amaranth.hdl import Const, Mux, Value, signed

__all__ = [
    "accumulator_width", "below", "clamp", "const_mul", "input_accumulator_width",
    "overflows", "recurrent_accumulator_width", "saturate", "signed_width",
]

def const_mul(value, const):
    """``value * const`` for a non-negative integer constant, as a sum of shifted copies.

    Yosys would map ``value * const`` to a ``$mul`` cell; a sum of shifts cannot be.
    """
    if const < 0:
        raise ValueError(f"const must be a non-negative integer, not {const}")
    total = Const(0, 1)
    bit = 0
    while const >> bit:
        if (const >> bit) & 1:
            total = total + (value << bit)
        bit += 1
    return total

def below(value, const):
    r"""``value < const`` for an unsigned ``value`` and an integer constant, as plain logic.

    Yosys maps a comparison to a carry chain, whose fixed entry and exit delays, on the ECP5,
    outweigh a few LUT levels for a comparison with a constant. Bit by bit from the lowest:
    :math:`x_{[0,i]} < c_{[0,i]}` is :math:`\lnot x_i \lor (x_{[0,i)} < c_{[0,i)})` where
    :math:`c_i = 1` and :math:`\lnot x_i \land (x_{[0,i)} < c_{[0,i)})` where :math:`c_i = 0`,
    a chain of ANDs and ORs that the LUT mapping flattens.
    """
    if const <= 0:
        return Const(0, 1)
    if const >= 1 << len(value):
        return Const(1, 1)
    less = Const(0, 1)
    for bit in range(len(value)):
        less = (~value[bit] | less) if (const >> bit) & 1 else (~value[bit] & less)
    return less

def clamp(value, lo, hi):
    """``(min(max(value, lo), hi), saturated)``; ``saturated`` is 1 if ``value`` was clamped.

    Where ``lo … hi`` is the whole range of a ``W``-bit two's complement number and ``value``
    is signed, this is :func:`saturate` (a reduction of ``value``'s top bits, no comparator's
    carry chain in front of the result's multiplexer: on the ECP5 the neuron update's two
    comparators were the core's critical path); the result is at most ``W`` bits wide there."""
    value = Value.cast(value)
    width = hi.bit_length() + 1 if isinstance(hi, int) and hi >= 0 else None
    if (width is not None and value.shape().signed and isinstance(lo, int)
            and (lo, hi) == (-(1 << (width - 1)), (1 << (width - 1)) - 1)):
        if value.shape().width <= width:
            return value, Const(0, 1)
        overflow = overflows(value, width)
        return _saturated(value, width, overflow), overflow
    # an unsigned value cannot be below 0 (and Verilator flags a constant comparison)
    low = Const(0, 1) if not value.shape().signed and lo <= 0 else value < lo
    high = value > hi
    return Mux(high, hi, Mux(low, lo, value)), low | high

def overflows(value, width):
    """A signed ``value`` does not fit ``width`` bits: it differs from the sign extension of
    its low ``width`` bits (its bits from ``width - 1`` up are neither all zeros nor all ones)."""
    return value != value[:width].as_signed()

def _saturated(value, width, overflow):
    """``value`` as ``width`` signed bits, or its sign's limit where ``overflow`` is set."""
    limit = Mux(value[-1], Const(-(1 << (width - 1)), signed(width)),
                Const((1 << (width - 1)) - 1, signed(width)))
    return Mux(overflow, limit, value[:width].as_signed())

def saturate(value, width):
    """``clamp(value, -2^(width-1), 2^(width-1) - 1)`` for a signed ``value``, as a signed
    ``width``-bit value: it overflows when its bits from ``width - 1`` up are neither all zeros
    nor all ones, a reduction of a few LUTs instead of two comparators' carry chains."""
    value = Value.cast(value)
    if not value.shape().signed:
        raise TypeError(f"saturate takes a signed value, not {value.shape()}")
    if value.shape().width <= width:
        return value
    return _saturated(value, width, overflows(value, width))

def signed_width(lo, hi):
    """Smallest two's complement width holding every integer in ``lo..hi``."""
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width

def accumulator_width(params):
    """Width of the exact synaptic sum ``a[n]`` of one neuron (bias excluded).

    At most ``n_in + n`` (with recurrence) weights are added, each in ``weight_format``.
    """
    rows = params.n_in + (params.n if params.recurrent else 0)
    wf = params.weight_format
    return signed_width(rows * wf.min, rows * wf.max)


def _rows_width(params, rows):
    wf = params.weight_format
    return signed_width(rows * wf.min, rows * wf.max)


def input_accumulator_width(params):
    """Width of the accumulator the update reads as ``acc``: the whole synaptic sum
    (:func:`accumulator_width`), or only its feed-forward part ``W s_in`` (``n_in`` rows) in a
    layer with same-step recurrence, which keeps ``V s`` in a second accumulator."""
    if params.same_step_recurrence:
        return _rows_width(params, params.n_in)
    return accumulator_width(params)


def recurrent_accumulator_width(params):
    """Width of the second accumulator of a layer with same-step recurrence: ``V s``, ``n``
    rows."""
    return _rows_width(params, params.n)
