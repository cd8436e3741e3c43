"""The host side (driver, deploy) against the co-simulated board of ``tests/boards``."""

from ..boards.conftest import TIMEOUT, board, device  # noqa: F401  (fixtures)
