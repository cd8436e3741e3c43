"""iCEBreaker (Lattice iCE40 UP5K): amaranth-boards' platform with spikeforge's build settings.

* The network core's memories are block RAM (Yosys leaves only an output FIFO of a few words to
  flip-flops): a digits-sized network fills all 30 (:mod:`spikeforge.compiler.resources` counts
  them before a build).
* The link's frame and output buffers use the UltraPlus SPRAM (:mod:`spikeforge.hdl.link_ram`).
* Amaranth FSMs and the layers' phase registers are re-encoded by Yosys
  (:data:`~spikeforge.boards.yosys.RECODE_FSMS`, :data:`~spikeforge.boards.yosys.RECODE_PHASES`),
  and ABC9 maps LUTs knowing what a level of routing costs
  (:data:`~spikeforge.boards.yosys.ICE40_LUT_MAPPING`).
* nextpnr is asked for :attr:`SpikeforgeICEBreaker.target_mhz` instead of the 12 MHz of the
  oscillator, so that the reported Fmax says what the design can reach.
* The UART is the FTDI channel B of the board (pins 6/9), 115,200 baud from the 12 MHz clock.
"""

from amaranth_boards.icebreaker import ICEBreakerPlatform

from .yosys import ICE40_LUT_MAPPING, RECODE_FSMS, RECODE_PHASES

__all__ = ["SpikeforgeICEBreaker"]


class SpikeforgeICEBreaker(ICEBreakerPlatform):
    """``ICEBreakerPlatform`` plus the Yosys script spikeforge's designs need."""

    board = "icebreaker"
    clock_hz = 12_000_000
    #: the frequency nextpnr is asked to reach (its report says what it did reach)
    target_mhz = 40
    bitstream_suffix = ".bin"

    def toolchain_overrides(self, target_mhz, seed=None):
        """Keyword arguments for ``build()``: Amaranth's documented template overrides.

        ``target_mhz`` replaces the 12 MHz constraint of the oscillator pin for place and route
        only (a later ``set_frequency`` wins), so nextpnr optimizes for it; a design that misses
        it is still valid on the board as long as its Fmax exceeds 12 MHz, which the build checks.
        """
        return {
            "script_after_read": RECODE_PHASES + "\n" + RECODE_FSMS,
            **ICE40_LUT_MAPPING,
            "add_constraints": f"set_frequency {self.default_clk}_0__io {target_mhz}",
            "nextpnr_opts": "--timing-allow-fail"
                            + ("" if seed is None else f" --seed {int(seed)}"),
        }
