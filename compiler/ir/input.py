"""The network's input: ``n`` spike channels and how a sample becomes spikes on them."""

from dataclasses import dataclass

from ...model import RateEncoding, SpikeEncoding, encoding_from_dict
from ...model.numerics import check_int
from .base import check_name, register_node

__all__ = ["Input"]


@register_node
@dataclass(frozen=True)
class Input:
    """``n`` binary inputs :math:`s_{in}[n] \\in \\{0,1\\}^n`, produced from a sample by
    ``encoding`` (:class:`~spikeforge.model.RateEncoding` or
    :class:`~spikeforge.model.SpikeEncoding`; its ``steps`` is the inference length ``T``)."""

    n: int
    encoding: RateEncoding | SpikeEncoding
    name: str = "input"

    def __post_init__(self):
        check_int("Input: n", self.n, 1, 65536)
        check_name(self.name)
        if isinstance(self.encoding, dict):
            object.__setattr__(self, "encoding", encoding_from_dict(self.encoding))
        if not isinstance(self.encoding, RateEncoding | SpikeEncoding):
            raise TypeError(f"Input: encoding must be a RateEncoding or SpikeEncoding, not "
                            f"{self.encoding!r}")

    def to_dict(self):
        return {"type": "Input", "n": self.n, "encoding": self.encoding.to_dict(),
                "name": self.name}
