"""Collision relaxing of the board build's RTLIL: exactly the memories that never collide."""

import numpy as np
from amaranth.back import rtlil
from amaranth.hdl import Module
from amaranth.lib.memory import Memory
from spikeforge.boards.rtlil import relax_collisions
from spikeforge.hdl.network_core import NetworkCore
from spikeforge.model import Layer, LayerParams, Network, RateEncoding


def _network():
    rng = np.random.default_rng(1)
    hidden = Layer(LayerParams(6, 8, recurrent=True), rng.integers(-8, 8, (8, 6)),
                   recurrent=rng.integers(-8, 8, (8, 8)))
    out = Layer(LayerParams(8, 4), rng.integers(-8, 8, (4, 8)))
    return Network((hidden, out), RateEncoding(steps=4, levels=4))


def _masks(text):
    """(MEMID, TRANSPARENCY_MASK, COLLISION_X_MASK) of every $memrd_v2 cell."""
    rows, block = [], None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("cell $memrd_v2"):
            block = {}
        elif block is not None and stripped == "end":
            rows.append((block["MEMID"], block["TRANSPARENCY_MASK"], block["COLLISION_X_MASK"]))
            block = None
        elif block is not None and stripped.startswith("parameter "):
            _, name, value = stripped.split(" ", 2)
            block[name.lstrip("\\")] = value.strip('"').lstrip("\\")
    return rows


def test_only_unchecked_memories_are_relaxed():
    core = NetworkCore(_network(), lanes=2, host_access=True)
    text = rtlil.convert(core, ports=None)
    before = _masks(text)
    relaxed, changed = relax_collisions(text)
    after = _masks(relaxed)
    assert len(before) == len(after)
    expected = 0
    for (memid, transparent, old), (memid2, transparent2, new) in zip(before, after,
                                                                       strict=True):
        assert (memid, transparent) == (memid2, transparent2)
        width = transparent.split("'")[1]
        # the weights (``mem`` of a ``WeightBRAM``), accumulators, state, spike buffers, event
        # FIFOs: every memory of the core
        unchecked = memid.split(".")[-1].startswith(("mem", "acc", "state", "spike_buffer",
                                                     "storage"))
        if unchecked:
            expected += 1
            # every write port that is not transparent to this read port: collision undefined
            want = "".join("0" if bit == "1" else "1" for bit in width)
            assert new.split("'")[1] == want, memid
        else:
            assert new == old, memid
    # 2 layers, each 2 lanes of weights and of accumulators, a state memory and a spike buffer;
    # 3 event FIFOs
    assert changed == expected == 15


def test_a_memory_without_the_attribute_keeps_its_promise():
    """Every memory of the core is unchecked now; one that is not keeps its collision mask."""
    m = Module()
    for name, attrs in (("checked", {}), ("unchecked", {"no_rw_check": 1})):
        memory = m.submodules[name] = Memory(shape=8, depth=16, init=[], attrs=attrs)
        write, read = memory.write_port(), memory.read_port()
        m.d.comb += [write.en.eq(1), write.addr.eq(1), read.addr.eq(1)]
    text = rtlil.convert(m, ports=[])
    relaxed, changed = relax_collisions(text)
    masks = {memid.split(".")[-1]: (old, new) for (memid, _, old), (_, _, new)
             in zip(_masks(text), _masks(relaxed), strict=True)}
    assert changed == 1
    assert masks["checked"][0] == masks["checked"][1]
    assert masks["unchecked"][1] != masks["unchecked"][0]
