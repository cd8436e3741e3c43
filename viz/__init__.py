"""Plots of spikeforge runs (matplotlib, written as PNG files)."""

from .plots import (
    accuracy_vs_bits,
    membrane_traces,
    resource_bars,
    spike_raster,
    training_curve,
)

__all__ = ["accuracy_vs_bits", "membrane_traces", "resource_bars", "spike_raster",
           "training_curve"]
