r"""LUT levels in front of each register of a synthesized iCE40 netlist: a measure of what
limits Fmax that placement does not change.

nextpnr's Fmax for one design moves by a few MHz from one placement seed to the next, and its
report names one critical path. The *logic depth* of a register's input (the most LUTs a
signal passes through from a register, a RAM or a pin to that register's D, enable or reset
input) is fixed by synthesis alone, and counts every path at once. On the iCE40 UP5K each LUT
level costs 0.9-1.2 ns of logic plus 1.5-4 ns of routing (nextpnr's path reports of the digits
network), on top of 1.4 ns clock-to-output and about 1.2 ns setup, so a design reaches
60 MHz (16.7 ns) only with about four levels at most on every path, and each level that the
deepest cones lose is worth roughly 3 ns.

Carry chains (``SB_CARRY``) add no level here: an adder's sum LUT reads its carry and counts
as one level, while the chain's own delay (0.28 ns a bit) is not counted. Block-RAM and SPRAM
inputs count like registers'.

Reads the JSON netlist that Yosys writes for nextpnr (``{name}.json`` in a build folder).
"""

import json
import re
from collections import Counter
from pathlib import Path

__all__ = ["LUT_INPUTS", "logic_levels"]

#: the inputs of the cells that count, by cell type: a LUT adds a level, a carry none
LUT_INPUTS = {"SB_LUT4": ("I0", "I1", "I2", "I3")}
_CARRY_INPUTS = {"SB_CARRY": ("I0", "I1", "CI")}
#: inputs that end a path (a register's or a memory's), by cell type prefix; the clock is not
_ENDPOINT_PREFIXES = ("SB_DFF", "SB_RAM40_4K", "SB_SPRAM256KA")
_CLOCKS = {"C", "CLK", "RCLK", "WCLK", "CLOCK"}


def _register_name(names):
    """The signal a register's output drives, as the design names it (without the
    ``_SB_…`` suffixes Yosys adds to nets it made up, and without a bit index)."""
    public = [name for name in names if not name.startswith("$")]
    if not public:
        return "?"
    return re.sub(r"_SB_.*$", "", min(public, key=len))


def logic_levels(netlist, top, *, deepest=12):
    """The logic depth of every register input of module ``top`` in ``netlist`` (a path or
    the parsed JSON).

    Returns ``{"max": L, "histogram": [n_0, ..., n_L], "deepest": [{"register": name,
    "levels": l, "bits": n}, ...]}``: the most levels of any register input, how many register
    (and memory) cells have each depth from 0 to ``L`` (a list, so the report reads back from
    JSON unchanged), and up to ``deepest`` registers by name within one level of ``max`` (the
    most levels first), with how many of their bits are that deep.
    """
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    try:
        module = netlist["modules"][top]
    except KeyError:
        raise ValueError(f"no module {top!r} in the netlist (it has "
                         f"{sorted(netlist.get('modules', {}))[:8]})") from None
    cells = module["cells"]
    names = {}
    for name, net in module["netnames"].items():
        for bit in net["bits"]:
            names.setdefault(bit, []).append(name)
    driver = {}
    for cell_name, cell in cells.items():
        for port, direction in cell["port_directions"].items():
            if direction == "output":
                for bit in cell["connections"][port]:
                    driver[bit] = cell_name

    depth = {}

    def level(bit):
        """LUT levels from the nearest register, memory or pin to ``bit`` (iteratively: a
        cone can be deeper than Python's recursion limit through long carry chains)."""
        stack = [bit]
        while stack:
            top_bit = stack[-1]
            if top_bit in depth or not isinstance(top_bit, int) or top_bit not in driver:
                depth.setdefault(top_bit, 0)
                stack.pop()
                continue
            cell = cells[driver[top_bit]]
            inputs = LUT_INPUTS.get(cell["type"]) or _CARRY_INPUTS.get(cell["type"])
            if inputs is None:  # a register, memory or pin starts a path
                depth[top_bit] = 0
                stack.pop()
                continue
            sources = [b for port in inputs for b in cell["connections"].get(port, [])]
            pending = [b for b in sources if b not in depth and isinstance(b, int)]
            if pending:
                stack.extend(pending)
                continue
            deepest_input = max((depth.get(b, 0) for b in sources), default=0)
            depth[top_bit] = deepest_input + (cell["type"] in LUT_INPUTS)
            stack.pop()
        return depth[bit]

    histogram, by_register = Counter(), {}
    for cell in cells.values():
        if not cell["type"].startswith(_ENDPOINT_PREFIXES):
            continue
        inputs = [bit for port, direction in cell["port_directions"].items()
                  if direction == "input" and port not in _CLOCKS
                  for bit in cell["connections"][port]]
        levels = max((level(bit) for bit in inputs), default=0)
        histogram[levels] += 1
        output = cell["connections"].get("Q") or cell["connections"].get("RDATA") \
            or cell["connections"].get("DATAOUT") or []
        name = _register_name(names.get(output[0], [])) if output else "?"
        by_register.setdefault(name, Counter())[levels] += 1
    top_levels = max(histogram, default=0)
    ranked = sorted(((max(bits), bits[max(bits)], name) for name, bits in by_register.items()
                     if max(bits) >= top_levels - 1), key=lambda row: (-row[0], row[2]))
    return {"max": top_levels, "histogram": [histogram[n] for n in range(top_levels + 1)],
            "deepest": [{"register": name, "levels": levels, "bits": bits}
                        for levels, bits, name in ranked[:deepest]]}
