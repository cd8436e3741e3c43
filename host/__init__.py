"""The host side of a device: the link protocol, the serial driver and the co-simulation bridge.

:mod:`~spikeforge.link.protocol` defines the wire format once (the HDL imports it too);
:mod:`~spikeforge.host.driver` talks it over pyserial, to a board or to the co-simulated board top
(:mod:`~spikeforge.sim.cosim_device`). Importing this package imports neither torch nor pyserial.
"""

from ..link.protocol import Command, DesignInfo, LinkConfig, Param, ProtocolError, Status

__all__ = ["Command", "DesignInfo", "LinkConfig", "Param", "ProtocolError", "Status"]
