"""Plots of spikeforge runs (matplotlib, written as PNG files)."""

from .plots import accuracy_vs_bits, membrane_traces, spike_raster, training_curve

__all__ = ["spike_raster", "membrane_traces", "training_curve", "accuracy_vs_bits"]
