r"""Yosys commands that the board builds add after reading Amaranth's RTLIL.

:data:`RECODE_FSMS` lets Yosys's ``fsm`` pass extract and re-encode (one-hot) the state registers
of Amaranth's ``with m.FSM()`` blocks and the layers' phase registers. Amaranth gives every
register an ``init`` attribute, and ``fsm_detect`` leaves registers with one alone ("Register
has an initialization value"), so the host link's 20-state executor kept a binary encoding
whose decoders sat on its longest paths.

This is only correct for a ``sync`` domain with a reset. The iCEBreaker platform holds that
reset for the first microseconds after configuration, which loads the reset state (re-encoded
with the rest). The ECP5 platform's ``sync`` domain has no reset (the global set/reset loads
the ``init`` values), so its builds do not use this. Measured on the iCEBreaker build of the
digits-sized network: Fmax 30.4 MHz with the binary encodings, 35.5 MHz re-encoded (the link
alone; the phase registers came later).
"""

from ..hdl.event_fifo import NO_RW_COLLISION

__all__ = ["COLLISIONS_UNDEFINED_IN_MEMORY_CELLS", "RAM_COLLISIONS_UNDEFINED", "RECODE_FSMS",
           "SMALL_RAMS_TO_LUTS", "SMALL_RAM_WORDS", "SYNTH_NOABC"]

#: drop the ``init`` attribute of Amaranth FSM state registers (named ``fsm_state``) and of the
#: layers' ``phase`` registers (an enum set only to constants: an FSM to Yosys)
RECODE_FSMS = "setattr -unset init w:*fsm_state w:phase"

#: the command of :data:`RAM_COLLISIONS_UNDEFINED` on ``$mem_v2`` cells whose read port is
#: synchronous: from Verilog (the netlist simulations) that is after ``synth``'s ``coarse``
#: step has merged each read port's register (``-run begin:map_ram``)
COLLISIONS_UNDEFINED_IN_MEMORY_CELLS = ("setparam -set RD_COLLISION_X_MASK 1'b1 "
                                        f"t:$mem_v2 a:{NO_RW_COLLISION} %i")

#: leave a read-during-write at one address undefined in the memories marked
#: :data:`~spikeforge.hdl.event_fifo.NO_RW_COLLISION` (``RD_COLLISION_X_MASK``): the event FIFOs,
#: which ``tests/formal/test_event_fifo_formal.py`` proves never see one. Amaranth asks every
#: synchronous read port for the old word, which an iCE40 block RAM does not promise, so Yosys
#: emulates it with a copy of the write's address and data and a compare and a multiplexer
#: behind the read data: 79 logic cells for the two event FIFOs of the digits-sized UP5K build
#: (3,546 → 3,467 LC).
#: A memory that never sees the case needs none of it. The parameter is on the ``$mem_v2``
#: cell that collects a memory's ports (:data:`COLLISIONS_UNDEFINED_IN_MEMORY_CELLS`), hence
#: ``proc`` and ``memory_collect`` first: Amaranth's RTLIL has its read ports synchronous
#: already.
RAM_COLLISIONS_UNDEFINED = f"proc; memory_collect; {COLLISIONS_UNDEFINED_IN_MEMORY_CELLS}"

#: the largest memory (in words) that :data:`SMALL_RAMS_TO_LUTS` puts in LUT RAM
SMALL_RAM_WORDS = 384

#: ECP5: memories of at most :data:`SMALL_RAM_WORDS` words that are written (accumulators,
#: state, spike buffers, event FIFOs; the weights of small layers) become LUT RAM
#: (``ram_style = "distributed"``); larger ones (the weights of digits-sized layers, the link's
#: buffers) and ROMs stay in block RAM. A ``DP16KD`` without its output register takes
#: 5.6-5.8 ns from clock to data on the -6 part, which leaves 2.5 ns for logic at 120 MHz; LUT
#: RAM reads asynchronously into a flip-flop. Memory objects have no size to select on, so
#: ``memory_collect`` first packs each into a ``$mem_v2`` cell with a ``SIZE`` parameter
#: (``proc`` first: it needs processes lowered). Measured on the 64-128-10 ULX3S build: Fmax
#: 84.2 MHz with every memory in block RAM, 110.0 MHz with this alone.
SMALL_RAMS_TO_LUTS = ("proc\nmemory_collect\n"
                      f'setattr -set ram_style "distributed" r:SIZE<={SMALL_RAM_WORDS} '
                      "r:WR_PORTS>0 %i")

#: Synthesis with Yosys's own LUT mapping in place of ABC9 (which the WebAssembly Yosys aborts
#: on the learning core), by family; ``{top}`` is the top module. ``synth_ecp5`` has no
#: ``-noabc``: its script runs up to the LUT mapping, maps gates to LUT4s the way
#: ``synth_ice40 -noabc`` does (``gate2lut``, ``opt_lut``), then maps the cells. DSP inference
#: stays on in both, so a multiplier would show up as a DSP cell.
SYNTH_NOABC = {
    "ice40": "synth_ice40 -top {top} -dsp -noabc",
    "ecp5": ("synth_ecp5 -top {top} -run begin:map_luts; techmap -map +/lattice/latches_map.v; "
             "techmap -map +/gate2lut.v -D LUT_WIDTH=4; clean; opt_lut; "
             "synth_ecp5 -top {top} -run map_cells:check"),
}
