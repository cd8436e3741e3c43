r"""Which memories of a synthesized netlist have read data that passes logic before a register.

A block RAM without its output register is slow from clock to data: an ECP5 ``DP16KD`` takes
5.6-5.8 ns on the ULX3S's speed grade, 149.8 MHz with nothing after it (``boards/ceiling.py``).
A design only gets past that with two-cycle reads through the block RAM's own output
register, and a read can move into that register only where the data reaches a flip-flop and
nothing else. This module finds the memories whose data does not: for every memory cell, every
cell input its read data drives that is not a flip-flop's data input. Data that leave a
``DP16KD`` through its output register (``REGMODE = "OUTREG"``, the layers' weights on the ECP5:
``hdl/weight_bram.py``) are registered already and may drive logic.

Reads the JSON netlist that Yosys writes for nextpnr (``{name}.json`` in a build folder).
"""

import json
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["MEMORY_CELLS", "memory_outputs"]

#: memory cell type → the prefix of its read data ports
MEMORY_CELLS = {"DP16KD": "DO", "SB_RAM40_4K": "RDATA", "SB_SPRAM256KA": "DATAOUT"}


def _is_flop_data(cell_type, port):
    return (cell_type == "TRELLIS_FF" and port == "DI") or (
        cell_type.startswith("SB_DFF") and port == "D")


def _memory_name(cell_name):
    """The memory a cell belongs to: Yosys names a memory's blocks ``<memory>.<i>.<j>``, the
    SPRAM wrapper's cell ``<memory>.spram``, and a two-cycle weight memory
    (``hdl/weight_bram.py``) its blocks ``<memory>.dp16kd_<i>_<j>``."""
    return re.sub(r"(\.\d+\.\d+|\.spram|\.dp16kd_\d+_\d+)$", "", cell_name)


def _registered_ports(cell):
    """The read data ports of a memory cell that come from its own output register (an ECP5
    ``DP16KD`` port with ``REGMODE = "OUTREG"``, ``hdl/weight_bram.py``): logic may follow
    them."""
    if cell["type"] != "DP16KD":
        return ()
    return tuple(f"DO{port}" for port in "AB"
                 if cell.get("parameters", {}).get(f"REGMODE_{port}") == "OUTREG")


def memory_outputs(netlist, top):
    """The memories of module ``top`` in ``netlist`` (a path or the parsed JSON).

    Returns ``{"cells": n, "memories": [name, ...], "registered": [name, ...],
    "through_logic": [name, ...]}``: how many memory cells there are, the memories they make up,
    those read through their block RAMs' output registers, and those with read data that drives
    anything but a flip-flop's data input (sorted names).
    """
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    try:
        cells = netlist["modules"][top]["cells"]
    except KeyError:
        raise ValueError(f"no module {top!r} in the netlist") from None
    sinks = defaultdict(list)  # net bit → the (cell type, port) inputs it drives
    for cell in cells.values():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "input":
                for bit in bits:
                    sinks[bit].append((cell["type"], port))
    memories, registered_memories, through_logic, count = set(), set(), set(), 0
    for name, cell in cells.items():
        prefix = MEMORY_CELLS.get(cell["type"])
        if prefix is None:
            continue
        count += 1
        memories.add(_memory_name(name))
        registered = _registered_ports(cell)
        if registered:
            registered_memories.add(_memory_name(name))
        data = [bit for port, bits in cell["connections"].items()
                if port.startswith(prefix) and not (registered and port.startswith(registered))
                for bit in bits if isinstance(bit, int)]
        if any(not _is_flop_data(*sink) for bit in data for sink in sinks[bit]):
            through_logic.add(_memory_name(name))
    return {"cells": count, "memories": sorted(memories),
            "registered": sorted(registered_memories), "through_logic": sorted(through_logic)}
