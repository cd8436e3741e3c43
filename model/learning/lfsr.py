r"""The shared pseudo-random source of stochastic rounding: a 32-bit Galois LFSR.

Feedback polynomial :math:`x^{32} + x^{22} + x^2 + x + 1` (mask ``0x80200003``, maximal length
:math:`2^{32} - 1`). One step: shift right by one; if the bit shifted out was 1, XOR the mask.
The reference and the hardware start from the same nonzero seed and step it once per updated
synapse, in the same order (learning layers ascending, rows ascending, neurons ascending), so
both round every update identically.
"""

__all__ = ["LFSR_MASK", "lfsr_sequence", "lfsr_step"]

LFSR_MASK = 0x80200003


def lfsr_step(state: int) -> int:
    """The next state of the LFSR."""
    out = state & 1
    state >>= 1
    return state ^ LFSR_MASK if out else state


def lfsr_sequence(state: int, count: int):
    """``(values, next_state)``: ``count`` successive states starting with ``state``."""
    values = []
    for _ in range(count):
        values.append(state)
        state = lfsr_step(state)
    return values, state
