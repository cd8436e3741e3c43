"""Front ends, each registered per source type (:data:`FRONTENDS`):

* ``network_file``: ``.sfn`` files, :class:`~spikeforge.model.Network`,
  :class:`~spikeforge.model.training.SpikingNetwork` (:mod:`.network_file`);
* ``nir``: ``.nir`` files and ``nir.NIRGraph`` from snnTorch, Norse, ... (:mod:`.nir`);
* ``ann``: a bias-free ReLU ``torch.nn.Sequential`` converted with Spike-Norm (:mod:`.ann`).

:func:`load` picks one by the source's suffix or type and returns ``(ir_graph, report)``.
"""

from . import ann, network_file, nir  # noqa: F401  (registers the front ends)
from .registry import FRONTENDS, Frontend, FrontendError, frontend_for, load, register

__all__ = ["FRONTENDS", "Frontend", "FrontendError", "frontend_for", "load", "register"]
