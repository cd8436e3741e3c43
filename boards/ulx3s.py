"""ULX3S with an ECP5-85F: amaranth-boards' platform with spikeforge's build settings.

Small written memories (accumulators, state, spike buffers, event FIFOs) are LUT RAM, larger ones
block RAM (:data:`~spikeforge.boards.yosys.SMALL_RAMS_TO_LUTS`: a block RAM's clock-to-data time
alone is most of a 120 MHz cycle on this part). The UART is the board's FTDI (``uart`` 0),
115,200 baud from the 25 MHz clock (divisor 217, -0.01 %). The FSMs of the link top are
re-encoded one-hot (:data:`~spikeforge.boards.yosys.RECODE_FSMS`): their state registers are in
the link top's FSM domain, reset after configuration. Unlike the iCEBreaker's, the layers'
phase registers keep their encoding here: the ECP5 ``sync`` domain has no reset (the global
set/reset loads every flip-flop's ``init`` value), so the ``init`` attribute that
:data:`~spikeforge.boards.yosys.RECODE_PHASES` drops is what starts them.
"""

from amaranth_boards.ulx3s import ULX3S_85F_Platform

from .yosys import RECODE_FSMS, SMALL_RAM_WORDS, SMALL_RAMS_TO_LUTS

__all__ = ["SpikeforgeULX3S85F"]


class SpikeforgeULX3S85F(ULX3S_85F_Platform):
    """``ULX3S_85F_Platform`` with spikeforge's build settings."""

    board = "ulx3s-85f"
    clock_hz = 25_000_000
    #: the frequency nextpnr is asked to reach (its report says what it did reach)
    target_mhz = 120
    bitstream_suffix = ".bit"
    #: written memories of at most this many words are LUT RAM (``SMALL_RAMS_TO_LUTS``); the
    #: weight memories above it read through the block RAM's output register
    #: (``hdl/weight_bram.py``)
    lut_ram_words = SMALL_RAM_WORDS

    def toolchain_overrides(self, target_mhz, seed=None):
        """Amaranth template overrides: a later ``FREQUENCY`` preference for the oscillator pin
        asks nextpnr for ``target_mhz`` (the build checks Fmax against the real 25 MHz)."""
        return {
            "add_preferences":
                f'FREQUENCY PORT "{self.default_clk}_0__io" {target_mhz * 1e6:.0f} HZ;',
            "script_after_read": RECODE_FSMS + "\n" + SMALL_RAMS_TO_LUTS,
            "nextpnr_opts": "--timing-allow-fail"
                            + ("" if seed is None else f" --seed {int(seed)}"),
        }
