r"""Read/write collisions of block RAMs that the design never relies on, marked for Yosys.

A synchronous read port of an Amaranth :class:`~amaranth.lib.memory.Memory` that is not
transparent promises the *old* word when the same address is written in the same cycle. iCE40
and ECP5 block RAMs do not keep that promise, so Yosys builds it around every such memory
(``emulate_read_first``: the write delayed by a register and an address comparator in front of
the read data), and that comparator sits on the longest paths of a layer. The memories of a
:class:`~spikeforge.hdl.lif_layer.LIFLayer` whose collisions never matter, and the event FIFOs'
(never read and written at one address in a cycle: ``tests/formal/test_event_fifo_formal.py``;
83 logic cells on the digits-sized UP5K build), carry the attribute ``no_rw_check``; Yosys
honours it only on read ports it builds itself from flip-flops, while Amaranth hands it finished
synchronous ports. :func:`relax_collisions` therefore sets ``COLLISION_X_MASK`` (the collision
returns an undefined word) on every non-transparent read port of those memories in the RTLIL
that Amaranth writes for the board build.
"""

import re

__all__ = ["relax_collisions"]

_MEMORY = re.compile(r"^\s*memory\b.*\s(\\\S+)\s*$")
_MEMID = re.compile(r'^\s*parameter \\MEMID "\\\\(\S+)"\s*$')
_MASK = re.compile(r"^(\s*parameter \\(TRANSPARENCY_MASK|COLLISION_X_MASK) )(\d+)'([01]+)\s*$")


def relax_collisions(rtlil):
    """``rtlil`` with ``COLLISION_X_MASK`` set on the read ports of ``no_rw_check`` memories.

    Returns ``(text, ports)``: the new RTLIL and the number of read ports changed.
    """
    lines = rtlil.split("\n")
    marked = set()  # names of no_rw_check memories in the current module
    pending_attr = False
    changed = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("module "):
            marked = set()
        stripped = line.strip()
        if stripped.startswith("attribute \\no_rw_check"):
            pending_attr = True
        elif stripped.startswith("attribute "):
            pass
        else:
            match = _MEMORY.match(line)
            if match and pending_attr:
                marked.add(match.group(1)[1:])
            pending_attr = False
        if stripped.startswith("cell $memrd_v2 "):
            end = index
            while lines[end].strip() != "end":
                end += 1
            body = lines[index:end]
            memid = next((m.group(1) for m in map(_MEMID.match, body) if m), None)
            if memid in marked:
                masks = {m.group(2): (pos, m) for pos, m in
                         ((pos, _MASK.match(text)) for pos, text in enumerate(body)) if m}
                transparent = masks["TRANSPARENCY_MASK"][1].group(4)
                pos, found = masks["COLLISION_X_MASK"]
                relaxed = "".join("0" if bit == "1" else "1" for bit in transparent)
                if relaxed != found.group(4):
                    lines[index + pos] = f"{found.group(1)}{found.group(3)}'{relaxed}"
                    changed += 1
            index = end
        index += 1
    return "\n".join(lines), changed
