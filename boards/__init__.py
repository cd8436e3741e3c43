"""Boards: amaranth-boards platforms (subclassed, never copied), their top level and the build.

``BOARDS`` maps the names the CLI takes to platform classes; see ``docs/boards.md``.
"""

from .icebreaker import SpikeforgeICEBreaker
from .ulx3s import SpikeforgeULX3S85F

__all__ = ["BOARDS", "board_platform"]

#: board name → platform class
BOARDS = {
    "icebreaker": SpikeforgeICEBreaker,
    "ulx3s-85f": SpikeforgeULX3S85F,
}


def board_platform(name):
    """A platform instance for board ``name``."""
    if name not in BOARDS:
        raise ValueError(f"board must be one of {', '.join(BOARDS)}, not {name!r}")
    return BOARDS[name]()
