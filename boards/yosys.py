r"""Yosys commands that the board builds add after reading Amaranth's RTLIL.

:data:`RECODE_FSMS` lets Yosys's ``fsm`` pass extract and re-encode (one-hot) the state registers
of Amaranth's ``with m.FSM()`` blocks, :data:`RECODE_PHASES` the layers' phase registers.
Amaranth gives every register an ``init`` attribute, and ``fsm_detect`` leaves registers with
one alone ("Register has an initialization value"), so the host link's executor (over 30 states)
kept a binary encoding whose decoders sat on its longest paths.

Dropping ``init`` is only correct for a register that a reset puts in its initial state (the
re-encoded reset state). The FSMs' state registers are in the link top's FSM domain
(:data:`~spikeforge.hdl.link_top.FSM_DOMAIN`), reset in the first cycles after configuration on
every board, so both boards use :data:`RECODE_FSMS`. The phase registers are in ``sync``, which
the iCEBreaker platform resets for the first microseconds after configuration; the ECP5
platform's ``sync`` has no reset (the global set/reset loads the ``init`` values), so only the
iCEBreaker builds use :data:`RECODE_PHASES`. Measured on the iCEBreaker build of the
digits-sized network: Fmax 30.4 MHz with the binary encodings, 35.5 MHz re-encoded (the link
alone; the phase registers came later); on the ECP5 the whole design from 157.9 to 164.8 MHz
(with the link's word checks from registers, ``docs/boards.md``).
"""

__all__ = ["ICE40_LUT_MAPPING", "ICE40_MIN_CONTROL_USE", "ICE40_WIRE_DELAY_PS", "RECODE_FSMS",
           "RECODE_PHASES", "SMALL_RAMS_TO_LUTS", "SMALL_RAM_WORDS", "SYNTH_NOABC"]

#: drop the ``init`` attribute of Amaranth FSM state registers (named ``fsm_state``; all of them
#: in :data:`~spikeforge.hdl.link_top.FSM_DOMAIN`, which has a reset on every board) and ask for
#: a one-hot encoding: Yosys's own choice (``auto``) is binary for one of 32 states
RECODE_FSMS = ("setattr -unset init w:*fsm_state\n"
               'setattr -set fsm_encoding "one-hot" w:*fsm_state')

#: drop the ``init`` attribute of the layers' ``phase`` registers (an enum set only to
#: constants: an FSM to Yosys), for a ``sync`` domain with a reset (the iCEBreaker's)
RECODE_PHASES = "setattr -unset init w:phase"

#: the wire delay (ps) ABC9 adds to each LUT level when it maps an iCE40 design
#: (:data:`ICE40_LUT_MAPPING`); ``synth_ice40`` uses 250
ICE40_WIRE_DELAY_PS = 2500

#: iCE40: a register keeps a clock enable or a synchronous reset (``SB_DFFE*``, ``SB_DFF*SR``)
#: only when at least this many flip-flops share that signal; a smaller one's is folded into the
#: LUT in front of its data input (``dfflegalize -mince -minsrst``). The enable and reset pins are
#: shared by the eight cells of a logic block and reached through slower routing (3.5-3.6 ns as
#: the last hop of the UP5K's critical paths, against 1.8 ns into a LUT), so a one-bit flag with
#: its own enable paid that hop and took a block's pin for itself. Measured on the UP5K build of
#: the digits-sized network (medians of seeds 1-3, one netlist): 54.1 MHz with every enable
#: kept, 57.3 MHz folding the enables of fewer than 4 flip-flops (56.0 at 2, 54.4 at 3, 52.1 at
#: 6, 53.1 at 8, 54.8 at 16); folding the small resets too saves 28 logic cells
#: (``docs/boards.md``, "Small enables and resets folded into LUTs")
ICE40_MIN_CONTROL_USE = 4

#: iCE40: ``synth_ice40`` stops before its flip-flop mapping (``synth_opts``); these commands
#: (``script_after_synth``) run that step with :data:`ICE40_MIN_CONTROL_USE`, then the LUT
#: mapping with ABC9 told :data:`ICE40_WIRE_DELAY_PS` per level, then the rest of
#: ``synth_ice40``. The routing between two LUTs of the UP5K builds measures 1.8-4.3 ns
#: (nextpnr's critical paths), so with 250 ps ABC9 trades levels for logic cells as if a level
#: cost one LUT's delay; with the routing's cost it keeps cones shallow. The commands are
#: ``synth_ice40``'s own ``map_ffs`` and ``map_luts`` steps (Yosys 0.70) with those two numbers.
ICE40_LUT_MAPPING = {
    "synth_opts": "-run begin:map_ffs",
    "script_after_synth": "\n".join([
        "dfflegalize -cell $_DFF_?_ 0 -cell $_DFFE_?P_ 0 -cell $_DFF_?P?_ 0 -cell $_DFFE_?P?P_ 0 "
        "-cell $_SDFF_?P?_ 0 -cell $_SDFFCE_?P?P_ 0 -cell $_DLATCH_?_ x "
        f"-mince {ICE40_MIN_CONTROL_USE} -minsrst {ICE40_MIN_CONTROL_USE}",
        "techmap -map +/ice40/ff_map.v",
        "opt_expr -mux_undef",
        "simplemap",
        "ice40_opt -full",
        "check -latchonly -assert",
        "techmap -map +/ice40/latches_map.v",
        "read_verilog -D ICE40_HX -icells -lib -specify +/ice40/abc9_model.v",
        f"abc9 -W {ICE40_WIRE_DELAY_PS}",
        "ice40_wrapcarry -unwrap",
        "techmap -map +/ice40/ff_map.v",
        "clean",
        "opt_lut -tech ice40",
        "synth_ice40 -run map_cells:blif",
    ]),
}

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
