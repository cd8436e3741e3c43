"""The network's output: how the class of a sample is read from the last neuron node."""

from dataclasses import dataclass

from ...model import Readout
from .base import check_name, register_node

__all__ = ["Output"]


@register_node
@dataclass(frozen=True)
class Output:
    r"""``readout``: ``spike_count`` (:math:`\arg\max_i \sum_n s_i[n]`, spiking last layer),
    ``membrane_max`` (:math:`\arg\max_i \max_n U_i[n]`) or ``membrane_sum``
    (:math:`\arg\max_i \sum_n U_i[n]`), both for an :class:`~.li.LI` last layer."""

    readout: Readout = Readout.SPIKE_COUNT
    name: str = "output"

    def __post_init__(self):
        check_name(self.name)
        try:
            object.__setattr__(self, "readout", Readout(self.readout))
        except ValueError:
            choices = ", ".join(r.value for r in Readout)
            raise ValueError(f"Output: readout must be one of {choices}, not "
                             f"{self.readout!r}") from None

    def to_dict(self):
        return {"type": "Output", "readout": self.readout.value, "name": self.name}
