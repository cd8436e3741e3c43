"""spikeforge: bit-exact spiking neural networks from PyTorch and NIR to multiplier-free FPGAs.

The integer semantics live in :mod:`spikeforge.model`; everything else (training, compiler,
hardware, co-simulation, boards) is checked against it.
"""

__version__ = "0.1.0"
