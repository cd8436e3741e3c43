"""Verilog of the network core, for the compiler's design folder and for every simulator."""

__all__ = ["TOP", "generate_verilog"]

#: module name of the generated network core
TOP = "spikeforge_top"


def generate_verilog(network, lanes=1, probe=True, host_access=False, name=TOP) -> str:
    """Verilog text of the network core (no source attributes, so it is reproducible)."""
    from amaranth.back import verilog

    from .network_core import NetworkCore

    core = NetworkCore(network, lanes=lanes, probe=probe, host_access=host_access)
    return verilog.convert(core, name=name, emit_src=False)
