r"""LUT levels in front of each register of a synthesized iCE40 or ECP5 netlist: a measure of
what limits Fmax that placement does not change.

nextpnr's Fmax for one design moves by a few MHz from one placement seed to the next, and its
report names one critical path. The *logic depth* of a register's input (the most LUTs a
signal passes through from a register, a RAM or a pin to that register's D, enable or reset
input) is fixed by synthesis alone, and counts every path at once. Each level costs a LUT and
the route in front of it, on top of the register's clock-to-output and setup times:

- iCE40 UP5K: 0.9-1.2 ns of logic plus 1.5-4 ns of routing a level (nextpnr's path reports of
  the digits network), 1.4 ns clock-to-output and about 1.2 ns setup, so a design reaches
  60 MHz (16.7 ns) only with about four levels at most on every path.
- ECP5-85F (speed grade 6): 0.24 ns of logic plus 1.1-1.7 ns of routing a level, even between
  neighbouring tiles (a route that stays inside a slice costs 0.13 ns), and 0.52 ns
  clock-to-output. Four levels take 6.1-6.9 ns, so 160 MHz (6.25 ns) leaves room for three.

Carries add no level (an adder's sum LUT reads its carry and counts as one level; the chain's
own delay is not counted), and neither do the ECP5 slice's wide-LUT multiplexers
(``PFUMX``, ``L6MUX21``) on their data inputs, which the two LUTs in front of them reach
inside the slice; their select input comes over the routing and counts as a level. An ECP5 LUT
RAM (``TRELLIS_DPR16X4``) reads asynchronously like a LUT: its read address counts a level,
and its write inputs end a path like a register's. Block-RAM and SPRAM inputs count like
registers'.

Reads the JSON netlist that Yosys writes for nextpnr (``{name}.json`` in a build folder).
"""

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FAMILIES", "Family", "logic_levels"]


@dataclass(frozen=True)
class Family:
    """How one FPGA family's cells count: ``levels`` maps each combinational cell type to the
    levels each of its input ports adds to the cell's outputs; the inputs of cells whose type
    starts with one of ``endpoints`` end a path, except ``ignored`` ones (clocks, and a LUT
    RAM's read address, which is a combinational input); ``outputs`` are the ports whose net
    names an endpoint."""
    name: str
    levels: dict
    endpoints: tuple
    ignored: frozenset
    outputs: tuple


#: the families whose netlists :func:`logic_levels` reads, by name
FAMILIES = {family.name: family for family in (
    Family("ice40",
           {"SB_LUT4": dict.fromkeys(("I0", "I1", "I2", "I3"), 1),
            "SB_CARRY": dict.fromkeys(("I0", "I1", "CI"), 0)},
           ("SB_DFF", "SB_RAM40_4K", "SB_SPRAM256KA"),
           frozenset({"C", "CLK", "RCLK", "WCLK", "CLOCK"}),
           ("Q", "RDATA", "DATAOUT")),
    Family("ecp5",
           {"LUT4": dict.fromkeys(("A", "B", "C", "D"), 1),
            "CCU2C": {**dict.fromkeys(("A0", "B0", "C0", "D0", "A1", "B1", "C1", "D1"), 1),
                      "CIN": 0},
            "PFUMX": {"ALUT": 0, "BLUT": 0, "C0": 1},
            "L6MUX21": {"D0": 0, "D1": 0, "SD": 1},
            "TRELLIS_DPR16X4": {"RAD": 1}},
           ("TRELLIS_FF", "TRELLIS_DPR16X4", "DP16KD"),
           frozenset({"CLK", "CLKA", "CLKB", "WCK", "RAD"}),
           ("Q", "DOB0", "DOA0", "DO")),
)}


def _family_of(cells):
    """The family whose cells the netlist holds, by its cell types."""
    types = {cell["type"] for cell in cells.values()}
    for family in FAMILIES.values():
        if types & set(family.levels):
            return family
    raise ValueError(f"the netlist holds no iCE40 or ECP5 logic cells (cell types "
                     f"{sorted(types)[:8]}): logic depth reads a netlist synthesized by "
                     f"synth_ice40 or synth_ecp5")


def _register_name(names):
    """The signal a register's output drives, as the design names it (without the suffixes
    Yosys adds to nets it made up, such as ``_SB_DFF_Q`` or ``_TRELLIS_FF_Q``, and without a
    bit index)."""
    public = [name for name in names if not name.startswith("$")]
    if not public:
        return "?"
    return re.sub(r"_(SB|TRELLIS|LUT4|CCU2C|PFUMX|L6MUX21|DP16KD)_.*$", "", min(public, key=len))


def logic_levels(netlist, top, *, family=None, deepest=12):
    """The logic depth of every register input of module ``top`` in ``netlist`` (a path or
    the parsed JSON), for ``family`` (``"ice40"`` or ``"ecp5"``; by default the one whose cells
    the netlist holds).

    Returns ``{"family": name, "max": L, "histogram": [n_0, ..., n_L], "deepest": [{"register":
    name, "levels": l, "bits": n}, ...]}``: the most levels of any register input, how many
    register (and memory) cells have each depth from 0 to ``L`` (a list, so the report reads
    back from JSON unchanged), and up to ``deepest`` registers by name within one level of
    ``max`` (the most levels first, then the most bits that deep), with how many of their bits
    are that deep.
    """
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    try:
        module = netlist["modules"][top]
    except KeyError:
        raise ValueError(f"no module {top!r} in the netlist (it has "
                         f"{sorted(netlist.get('modules', {}))[:8]})") from None
    cells = module["cells"]
    if family is None:
        family = _family_of(cells)
    elif family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: expected one of {sorted(FAMILIES)}")
    else:
        family = FAMILIES[family]
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
            ports = family.levels.get(cell["type"])
            if ports is None:  # a register, memory or pin starts a path
                depth[top_bit] = 0
                stack.pop()
                continue
            sources = [(b, added) for port, added in ports.items()
                       for b in cell["connections"].get(port, [])]
            pending = [b for b, _ in sources if b not in depth and isinstance(b, int)]
            if pending:
                stack.extend(pending)
                continue
            depth[top_bit] = max((depth.get(b, 0) + added for b, added in sources), default=0)
            stack.pop()
        return depth[bit]

    histogram, by_register = Counter(), {}
    for cell_name, cell in cells.items():
        if not cell["type"].startswith(family.endpoints):
            continue
        inputs = [bit for port, direction in cell["port_directions"].items()
                  if direction == "input" and port not in family.ignored
                  for bit in cell["connections"][port]]
        levels = max((level(bit) for bit in inputs), default=0)
        histogram[levels] += 1
        output = next((cell["connections"][port] for port in family.outputs
                       if cell["connections"].get(port)), [])
        name = _register_name(names.get(output[0], [])) if output else "?"
        by_register.setdefault(cell_name if name == "?" else name, Counter())[levels] += 1
    top_levels = max(histogram, default=0)
    ranked = sorted(((max(bits), bits[max(bits)], name) for name, bits in by_register.items()
                     if max(bits) >= top_levels - 1), key=lambda row: (-row[0], -row[1], row[2]))
    return {"family": family.name, "max": top_levels,
            "histogram": [histogram[n] for n in range(top_levels + 1)],
            "deepest": [{"register": name, "levels": levels, "bits": bits}
                        for levels, bits, name in ranked[:deepest]]}
