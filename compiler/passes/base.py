"""What a pass is, and the options the passes read.

A pass is a class with a ``name`` and ``run(graph, options, report) -> graph``: it takes an IR
:class:`~spikeforge.compiler.ir.Graph`, returns the (possibly rewritten) graph and adds its
section ``report[name]``. Passes that need the integer network (ranges, allocation, schedule)
run after ``quantize`` and read ``graph_to_network(graph)``.
"""

from dataclasses import dataclass

import numpy as np

from ..targets import Target, get_target

__all__ = ["Options", "Pass"]


@dataclass(frozen=True, eq=False)
class Options:
    """Options of a compilation.

    Parameters
    ----------
    target : str or Target
        ``icebreaker``, ``ulx3s-85f`` or ``generic`` (unlimited).
    lanes : int
        Parallel synaptic lanes ``P`` of every layer (divides every layer's ``n``).
    weight_bits : int or None
        Quantize float weights to this many bits; ``None`` requires integer-valued weights.
    state_bits : int or None
        Width of ``I`` and ``U`` for layers whose formats are open; ``None`` chooses.
    fraction_bits : int or None
        Fractional bits ``f`` (``input_shift``) of layers the quantize pass scales; ``None``
        chooses them from the state bounds (:mod:`.quantize`).
    inputs : array (batch, T, n_in) or None
        Input spike trains for which the schedule pass predicts cycles per inference.
    """

    target: str | Target = "generic"
    lanes: int = 1
    weight_bits: int | None = None
    state_bits: int | None = None
    fraction_bits: int | None = None
    inputs: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "target", get_target(self.target))
        if isinstance(self.lanes, bool) or not isinstance(self.lanes, int) or self.lanes < 1:
            raise ValueError(f"lanes must be a positive integer, not {self.lanes!r}")
        for name, lo in (("weight_bits", 2), ("state_bits", 4)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not lo <= value <= 32):
                raise ValueError(f"{name} must be an integer in {lo}..32 or None, not {value!r}")
        value = self.fraction_bits
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= 31):
            raise ValueError(f"fraction_bits must be an integer in 0..31 or None, not {value!r}")


class Pass:
    """Base of the passes; subclasses set ``name`` and implement :meth:`run`."""

    name = ""

    def run(self, graph, options: Options, report: dict):  # pragma: no cover - interface
        raise NotImplementedError
