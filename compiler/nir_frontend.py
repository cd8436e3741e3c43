"""The NIR front end's former home; it lives in :mod:`spikeforge.compiler.frontends.nir`.

Kept so that ``from spikeforge.compiler.nir_frontend import import_nir`` keeps working.
"""

from .frontends.nir import NEURONS, NIRImportError, import_nir, nir_to_graph, read_nir

__all__ = ["NEURONS", "NIRImportError", "import_nir", "nir_to_graph", "read_nir"]
