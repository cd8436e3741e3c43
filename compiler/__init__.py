"""The compiler: front ends → IR → passes → emitted design (``docs/compiler.md``).

* :mod:`.ir`: typed node dataclasses and the :class:`~.ir.Graph` that maps one to one to the
  network file;
* :mod:`.frontends`: network files / spikeforge networks, NIR graphs, ReLU ANNs (Spike-Norm);
* :mod:`.passes`: fuse, quantize, check ranges, allocate, schedule, in that order;
* :mod:`.emit`: Verilog, memory images, ``report.json``; :mod:`.driver` runs it all.
"""

from .driver import FitError, compile_network, compile_source
from .passes import PASSES, Options

__all__ = ["PASSES", "FitError", "Options", "compile_network", "compile_source"]
