"""Bitstreams for both boards from the YoWASP tools: Fmax, utilization and DSP count.

A digits-sized network (64 → 128 → 10, 8-bit weights, 16-bit I and U; random weights with a
fixed seed unless ``--netfile`` gives a trained one) is built with the board top (network core,
UART host link) for the iCEBreaker (iCE40 UP5K) and the ULX3S (ECP5-85F). nextpnr is asked for
the bar's frequency and reports the Fmax it reached. Bars: UP5K 0 DSP and Fmax >= 40 MHz,
ECP5-85F Fmax >= 120 MHz. ``--quick`` builds an 8 → 12 → 4 network instead (a smoke test).

Fmax depends on placement luck, so each design is placed and routed with ``--seeds`` nextpnr
seeds (default 3) and the median is reported with the spread (lowest and highest). The
synthesized netlist's logic depth (:mod:`spikeforge.boards.logic_depth`), which placement does
not change, is reported too: the most LUT levels in front of any register, against the levels
the board's goal leaves room for (UP5K 60 MHz: four; ECP5-85F 160 MHz: three), and how many
register inputs are deeper than that.
Both boards report which memories' read data passes logic before a register
(:mod:`spikeforge.boards.memory_outputs`; a read through a block RAM's output register needs
none), a measure without a bar.

Capacity: the largest dense ``H → H → 10`` network each board holds at 8 and 4 bits (``H`` a
multiple of 16, by the compiler's fit check, which counts SPRAM on the UP5K), in synapses against
the digits network's 9,472 (bar: 4× on the UP5K); and unless ``--quick`` a ``256 → 256 → 10``
network is built for the UP5K (its first layer's weights in SPRAM).

Device ceilings (:mod:`spikeforge.boards.ceiling`): the same flow builds a block-RAM read that
lands in a register with no logic between, the fastest path any design with one-cycle block-RAM
reads has, and compares its Fmax with the board's goal (UP5K 60 MHz, ECP5-85F 160 MHz); on the
ECP5 also through the ``DP16KD``'s output register (a two-cycle read).

``--core-alone`` also builds each board's network core alone, its ports between registers
(:mod:`spikeforge.boards.core_alone`), with the same seeds: its median Fmax against the goal and
against the whole design's (the host link beside the core) in the same run, and its logic depth.

``--decay-terms 1,4`` builds the same network twice, every decay of the second with four signed
terms (contract version 2), and compares: the peer of the 4-term build is the 1-term build of the
same run; the limits are +5 % logic and no Fmax loss beyond the 1-term build's seed spread.

    python benchmarks/boards.py [--json] [--out FILE] [--quick] [--netfile X.sfn] [--seeds 3]
                                [--decay-terms 1,4] [--boards icebreaker,ulx3s-85f]
                                [--core-alone] [--build-dir DIR]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import add_output_arguments, median_build, write_result

BARS = {"icebreaker": 40.0, "ulx3s-85f": 120.0}
#: the issue's Fmax goals, against which the device ceilings are set
GOALS = {"icebreaker": 60.0, "ulx3s-85f": 160.0}
LUTS = {"icebreaker": "ICESTORM_LC", "ulx3s-85f": "TRELLIS_COMB"}
#: the issue's logic goal for the digits-sized network (the benchmark's own, not ``--netfile``)
LOGIC_GOALS = {"icebreaker": 3500}
BRAMS = {"icebreaker": "ICESTORM_RAM", "ulx3s-85f": "DP16KD"}


#: the most LUT levels a register input may have for each board's Fmax goal, with the goal:
#: UP5K 60 MHz (16.7 ns: 1.4 ns clock-to-output, 1.2 ns setup, about 3.3 ns a level with its
#: routing in the digits builds); ECP5-85F 160 MHz (6.25 ns: 0.52 ns clock-to-output, 1.4-1.9 ns
#: a level with its routing, so four levels take 6.1-6.9 ns; ``boards/logic_depth.py``)
GOAL_LEVELS = {"icebreaker": (4, "60 MHz"), "ulx3s-85f": (3, "160 MHz")}

#: four-term decays close to the one-term defaults (k_syn 1, k_mem 3): the widest adder trees
FOUR_TERMS = {"k_syn": [1, -4, 6, -9], "k_mem": [3, -6, 8, -11]}


def digits_sized(n_in=64, n_hidden=128, n_out=10, seed=0, decays=None):
    """The benchmark network; ``decays`` (LayerParams keyword arguments) replaces the default
    one-term decays of both layers."""
    from spikeforge.model import Layer, LayerParams, Network, RateEncoding

    decays = decays or {}
    rng = np.random.default_rng(seed)
    hidden = Layer(LayerParams(n_in, n_hidden, **decays),
                   rng.integers(-128, 128, (n_hidden, n_in)), name="hidden")
    out = Layer(LayerParams(n_hidden, n_out, **decays),
                rng.integers(-128, 128, (n_out, n_hidden)), name="out")
    terms = f"-{len(decays['k_mem'])}term" if decays else ""
    return Network((hidden, out), RateEncoding(steps=32, levels=16),
                   name=f"random-{n_in}-{n_hidden}-{n_out}{terms}")


def _with_decays(network, decays):
    """``network`` with every layer's decays replaced (weights and the rest kept)."""
    from dataclasses import replace

    from spikeforge.model import Layer, Network

    layers = tuple(Layer(replace(ly.params, **decays), ly.weight, ly.recurrent, ly.bias,
                         name=ly.name) for ly in network.layers)
    return Network(layers, network.encoding, name=f"{network.name}-{len(decays['k_mem'])}term")


DIGITS_SYNAPSES = 64 * 128 + 128 * 10


def _capacity_rows(boards):
    """The largest dense network per board and width, by the compiler's fit check."""
    from spikeforge.compiler.resources import largest_dense
    from spikeforge.compiler.targets import get_target

    rows = []
    for board in boards:
        for bits in (8, 4):
            h, synapses = largest_dense(get_target(board), bits)
            ratio = synapses / DIGITS_SYNAPSES
            bar = 4.0 if board == "icebreaker" else None
            rows.append({"metric": f"{board} largest dense {h}-{h}-10, {bits}-bit",
                         "value": synapses, "unit": "synapses", "versus": "digits 64-128-10",
                         "versus_value": DIGITS_SYNAPSES, "ratio": ratio, "limit": bar,
                         "meets": bar is None or ratio >= bar})
    return rows


def _logic(board, report):
    return report["utilization"].get(LUTS[board], {"used": 0})["used"]


def _rows(board, report, label="", logic_goal=None):
    bar = BARS[board]
    util = report["utilization"]
    low, high = report["fmax_spread_mhz"]
    rows = [
        {"metric": f"{board}{label} Fmax (median)", "value": report["fmax_mhz"], "unit": "MHz",
         "versus": f"bar {bar:g} MHz", "versus_value": bar,
         "ratio": report["fmax_mhz"] / bar, "limit": 1.0, "spread": [low, high],
         "meets": report["fmax_mhz"] >= bar},
        {"metric": f"{board}{label} DSP blocks", "value": report["dsp"], "unit": "blocks",
         "versus": "multiplier-free", "versus_value": 0, "ratio": None, "limit": 0,
         "meets": report["dsp"] == 0},
    ]
    for name, cell in (("logic cells", LUTS[board]), ("block RAMs", BRAMS[board])):
        used = util.get(cell, {"used": 0, "total": 0})
        rows.append({"metric": f"{board}{label} {name}", "value": used["used"], "unit": cell,
                     "versus": "device total", "versus_value": used["total"],
                     "ratio": used["used"] / used["total"] if used["total"] else None,
                     "limit": 1.0, "meets": used["used"] <= used["total"]})
    if logic_goal:
        used = util[LUTS[board]]["used"]
        rows.append({"metric": f"{board}{label} logic cells (goal)", "value": used,
                     "unit": LUTS[board], "versus": f"goal {logic_goal:,}",
                     "versus_value": logic_goal, "ratio": used / logic_goal, "limit": 1.0,
                     "meets": used <= logic_goal})
    if report.get("logic_levels"):
        rows.append(_depth_row(board, label, report["logic_levels"]))
    memories = report.get("memory_outputs")
    if memories:  # a two-cycle read through a block RAM's output register needs none listed
        through = memories["through_logic"]
        rows.append({"metric": f"{board}{label} memories read through logic",
                     "value": len(through), "unit": "memories",
                     "versus": "memories in the design", "versus_value": len(memories["memories"]),
                     "ratio": None, "limit": None, "meets": True, "memories": through})
        registered = memories.get("registered", [])
        rows.append({"metric": f"{board}{label} memories read through their output registers",
                     "value": len(registered), "unit": "memories",
                     "versus": "memories in the design", "versus_value": len(memories["memories"]),
                     "ratio": None, "limit": None, "meets": True, "memories": registered})
    return rows


def _depth_row(board, label, depth):
    """The deepest register input of a build's netlist against the board's goal levels."""
    levels, goal = GOAL_LEVELS[board]
    return {"metric": f"{board}{label} LUT levels (deepest)", "value": depth["max"],
            "unit": "levels", "versus": f"{goal} goal: {levels}", "versus_value": levels,
            "ratio": depth["max"] / levels, "limit": 1.0, "meets": depth["max"] <= levels,
            "deeper_than_goal": sum(depth["histogram"][levels + 1:]),
            "deepest": depth["deepest"][:5]}


def _decay_cost_rows(board, one, many, terms):
    """The cost of ``terms``-term decays against the one-term build of the same run."""
    logic = _logic(board, many) / _logic(board, one)
    low, _ = one["fmax_spread_mhz"]
    return [
        {"metric": f"{board} logic, {terms}-term decays", "value": _logic(board, many),
         "unit": LUTS[board], "versus": "1-term build", "versus_value": _logic(board, one),
         "ratio": logic, "limit": 1.05, "meets": logic <= 1.05},
        {"metric": f"{board} Fmax, {terms}-term decays", "value": many["fmax_mhz"],
         "unit": "MHz", "versus": "1-term build (lowest seed)", "versus_value": low,
         "ratio": many["fmax_mhz"] / one["fmax_mhz"], "limit": low / one["fmax_mhz"],
         "meets": many["fmax_mhz"] >= low},
    ]


def _ceiling_rows(board, root):
    """The board's block-RAM read ceiling (and on the ECP5 with the output register) against
    its Fmax goal."""
    from spikeforge.boards import board_platform
    from spikeforge.boards.ceiling import measure_ceiling

    rows = []
    for output_register in (False, True) if board == "ulx3s-85f" else (False,):
        kind = "2-cycle" if output_register else "1-cycle"  # 2: the output register
        print(f"building the {kind} block-RAM read probe for {board} ...", file=sys.stderr,
              flush=True)
        folder = root / f"{board}-ceiling-{'outreg' if output_register else 'noreg'}"
        probe = measure_ceiling(board_platform(board), folder, output_register=output_register)
        goal = GOALS[board]
        rows.append({"metric": f"{board} ceiling, {kind} BRAM read", "value":
                     probe["fmax_mhz"], "unit": "MHz", "versus": f"goal {goal:g} MHz",
                     "versus_value": goal, "ratio": probe["fmax_mhz"] / goal, "limit": 1.0,
                     "meets": probe["fmax_mhz"] >= goal, "critical_source": probe["source"],
                     "clock_to_out_ns": probe["clock_to_out_ns"],
                     "routing_ns": probe["routing_ns"]})
    return rows


def _core_alone_rows(board, network, whole, root, seeds):
    """The core alone (median of ``seeds``) against the goal and the whole design's median."""
    from spikeforge.boards import board_platform
    from spikeforge.boards.core_alone import measure_core_alone

    def build(seed):
        print(f"building the core of {network.name} alone for {board}, seed {seed} ...",
              file=sys.stderr, flush=True)
        return measure_core_alone(network, board_platform(board),
                                  root / f"{board}-core-alone-seed{seed}", seed=seed)

    report = median_build(build, seeds)
    goal = GOALS[board]
    return report, [
        {"metric": f"{board} core alone Fmax (median)", "value": report["fmax_mhz"],
         "unit": "MHz", "versus": f"goal {goal:g} MHz", "versus_value": goal,
         "ratio": report["fmax_mhz"] / goal, "limit": 1.0, "meets": report["fmax_mhz"] >= goal,
         "spread": report["fmax_spread_mhz"], "critical": report["critical"]},
        {"metric": f"{board} core alone vs whole design", "value": report["fmax_mhz"],
         "unit": "MHz", "versus": "whole design (median)", "versus_value": whole["fmax_mhz"],
         "ratio": report["fmax_mhz"] / whole["fmax_mhz"], "limit": None, "meets": True},
        _depth_row(board, " core alone", report["logic_levels"]),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_output_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="a small network (smoke test)")
    parser.add_argument("--netfile", help="build this network file instead")
    parser.add_argument("--boards", default="icebreaker,ulx3s-85f")
    parser.add_argument("--seeds", type=int, default=3,
                        help="nextpnr seeds per design; the median Fmax is reported (default 3)")
    parser.add_argument("--decay-terms", default="1",
                        help="'1,4' also builds the network with 4-term decays and compares")
    parser.add_argument("--core-alone", action="store_true",
                        help="also build each board's network core alone, ports between registers")
    parser.add_argument("--build-dir", help="keep the builds here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, not {args.seeds}")
    if args.decay_terms not in ("1", "1,4"):
        parser.error(f"--decay-terms is '1' or '1,4', not {args.decay_terms!r}")

    from spikeforge.boards import board_platform
    from spikeforge.boards.build import build_bitstream

    if args.netfile:
        from spikeforge.model import load_network

        network = load_network(args.netfile)
    elif args.quick:
        network = digits_sized(8, 12, 4)
    else:
        network = digits_sized()
    variants = {1: network}
    if args.decay_terms == "1,4":
        variants[4] = _with_decays(network, FOUR_TERMS)
    boards = [b for b in args.boards.split(",") if b]
    result = {"network": network.name, "quick": args.quick, "seeds": args.seeds,
              "shape": [network.n_in] + [ly.params.n for ly in network.layers], "boards": {},
              "summary": []}
    with tempfile.TemporaryDirectory(prefix="spikeforge-boards-") as tmp:
        root = Path(args.build_dir or tmp)
        for board in boards:
            reports = {}
            for terms, net in variants.items():
                def build(seed, net=net, terms=terms, board=board):
                    print(f"building {net.name} for {board}, seed {seed} ...", file=sys.stderr,
                          flush=True)
                    return build_bitstream(net, board_platform(board),
                                           root / f"{board}-{terms}term-seed{seed}", seed=seed)
                reports[terms] = median_build(build, args.seeds)
            result["boards"][board] = reports[1]
            goal = None if args.netfile or args.quick else LOGIC_GOALS.get(board)
            result["summary"] += _rows(board, reports[1], logic_goal=goal)
            if 4 in reports:
                result["boards"][f"{board} 4-term"] = reports[4]
                result["summary"] += _rows(board, reports[4], " 4-term")
                result["summary"] += _decay_cost_rows(board, reports[1], reports[4], 4)
            if args.core_alone:
                alone, rows = _core_alone_rows(board, network, reports[1], root, args.seeds)
                result["boards"][f"{board} core alone"] = alone
                result["summary"] += rows
        for board in boards:
            result["summary"] += _ceiling_rows(board, root)
    result["summary"] += _capacity_rows(boards)
    if "icebreaker" in boards and not args.quick:
        big = digits_sized(256, 256, 10)
        print(f"building {big.name} for icebreaker ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="spikeforge-boards-") as tmp:
            report = build_bitstream(big, board_platform("icebreaker"),
                                     Path(args.build_dir or tmp) / "icebreaker-256", seed=1)
        result["boards"]["icebreaker 256-256-10"] = report
        used = report["utilization"]
        result["summary"].append(
            {"metric": "icebreaker 256-256-10 builds (seed 1)", "value": report["fmax_mhz"],
             "unit": "MHz", "versus": "board clock", "versus_value": report["clock_mhz"],
             "ratio": report["fmax_mhz"] / report["clock_mhz"], "limit": 1.0,
             "meets": report["fmax_mhz"] >= report["clock_mhz"],
             "logic_cells": used["ICESTORM_LC"]["used"],
             "block_rams": used["ICESTORM_RAM"]["used"],
             "sprams": used.get("ICESTORM_SPRAM", {"used": 0})["used"], "dsp": report["dsp"]})
    write_result(result, args.out, args.json, sort_keys=True)
    if not args.json:
        for row in result["summary"]:
            ratio = "" if row["ratio"] is None else f"{row['ratio']:.3f}"
            print(f"{row['metric']:<36} {row['value']:>10} {row['unit']:<14} "
                  f"{row['versus']:<26} {ratio:>6} {'ok' if row['meets'] else 'BELOW BAR'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
