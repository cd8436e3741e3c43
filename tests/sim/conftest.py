"""Simulator tiers: skip with the reason when a simulator cannot be installed here."""

import pytest
from spikeforge.toolchain import missing_reason

__all__ = ["require"]


def require(sim):
    """Skip the calling test if simulator ``sim`` is not usable, saying why."""
    reason = missing_reason(sim)
    if reason:
        pytest.skip(reason)
