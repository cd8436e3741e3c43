r"""Hardware throughput: synaptic operations per lane per cycle at full input rate, P = 1, 2, 4.

One LIF layer per shape (``--shapes INPUTSxNEURONS,...``) gets every input spike in every step, so
its synaptic engine is never starved. The update phase handles ``P`` neurons a cycle and emits
one spike a cycle, :math:`U = \sum_g \max(1, c_g)` cycles over the ``N / P`` state words
(:mod:`spikeforge.hdl.schedule`), so the whole-step figure is :math:`E N / (P (U + 10) + E N)`
with ``E`` inputs. The default shapes are a wide fan-in layer (128 -> 32) and the digits hidden
layer (64 -> 128), the smaller fan-in. The
generated Verilog runs on Verilator (the C++ harness of the differential tests); every
step is compared with the reference model, the
``step_cycles`` counter of every step with the schedule model, and

* SOP/lane/cycle = synaptic operations (RTL ``synops`` counter) / (P x all step cycles), the
  update phase included (goal >= 0.95; the physical limit is 1.0),
* SOP/lane/issue-cycle = the same over the cycles the synaptic engine issues (1.0 means no
  bubble in the weight-read pipeline),
* co-simulation speed in clock cycles per second.

    python benchmarks/throughput.py [--json] [--out FILE] [--sim verilator] [--steps T]
                                    [--shapes 128x32,64x128]
"""

import argparse
import sys

import numpy as np
from common import add_output_arguments, write_result

GOAL, LIMIT = 0.95, 1.0
LANES = (1, 2, 4)


def full_rate_network(inputs, neurons, seed):
    """One LIF layer with 8-bit weights, 16-bit I and U; every variant is covered elsewhere."""
    from spikeforge.model import IntFormat, Layer, LayerParams, Network, NeuronKind, ResetMode
    from spikeforge.model.encoding import SpikeEncoding

    rng = np.random.default_rng(seed)
    params = LayerParams(
        n_in=inputs, n=neurons, kind=NeuronKind.LIF, k_syn=2, k_mem=3, theta=400,
        reset=ResetMode.SUBTRACT, recurrent=False, bias=False, weight_format=IntFormat(8),
        current_format=IntFormat(16), potential_format=IntFormat(16),
    )
    weight = rng.integers(-128, 128, (neurons, inputs))
    return Network((Layer(params, weight),), SpikeEncoding(8))


def measure(network, lanes, steps, sim):
    from spikeforge.hdl.schedule import schedule
    from spikeforge.sim.cosim import cosim_report

    x = np.ones((1, steps, network.n_in), np.uint8)
    report = cosim_report(network, x, sim, lanes=lanes)
    predicted = schedule(network, x[0], lanes)
    cycles = report["cycles_measured"]
    synops = report["counters"]["synops"]
    return {
        "lanes": lanes,
        "steps": steps,
        "neuron_steps_compared": report["neuron_steps_compared"],
        "mismatches": report["mismatches"],
        "cycles_per_step_predicted": predicted.cycles.tolist(),
        "cycles_per_step_measured": int(cycles // steps),
        "cycle_mismatches": report["cycle_mismatches"],
        "synaptic_operations": synops,
        "sop_per_lane_per_cycle": synops / (lanes * cycles),
        "sop_per_lane_per_issue_cycle": predicted.sop_per_lane_cycle(lanes),
        "cycles_per_second": report["cycles_per_second"],
        "build_seconds": report["build_seconds"],
        "run_seconds": report["run_seconds"],
    }


def table(rows):
    head = (f"{'shape':>8} {'P':>2} {'cyc/step pred':>13} {'measured':>9} {'SOP/lane/cyc':>12} "
            f"{'per issue':>9} {'mismatch':>8} {'cycles/s':>9} {'build s':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        pred = r["cycles_per_step_predicted"][0]
        lines.append(
            f"{r['shape']:>8} {r['lanes']:>2} {pred:>13} {r['cycles_per_step_measured']:>9} "
            f"{r['sop_per_lane_per_cycle']:>12.4f} {r['sop_per_lane_per_issue_cycle']:>9.3f} "
            f"{r['mismatches'] + r['cycle_mismatches']:>8} {r['cycles_per_second']:>9.0f} "
            f"{r['build_seconds']:>8.1f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_output_arguments(parser)
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus", "amaranth"])
    parser.add_argument("--shapes", default="128x32,64x128",
                        help="comma-separated INPUTSxNEURONS layers (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    shapes = [tuple(int(v) for v in shape.split("x")) for shape in args.shapes.split(",")]
    rows = []
    for inputs, neurons in shapes:
        network = full_rate_network(inputs, neurons, args.seed)
        for lanes in LANES:
            print(f"{inputs}x{neurons}, P = {lanes}: {args.sim} ...", file=sys.stderr, flush=True)
            row = measure(network, lanes, args.steps, args.sim)
            rows.append({"shape": f"{inputs}x{neurons}", **row})
    worst = min(r["sop_per_lane_per_cycle"] for r in rows)
    result = {
        "benchmark": "throughput",
        "sim": args.sim,
        "shapes": [{"inputs": i, "neurons": n, "input_rate": 1.0} for i, n in shapes],
        "goal": GOAL,
        "limit": LIMIT,
        "rows": rows,
        "min_sop_per_lane_per_cycle": worst,
        "meets_goal": worst >= GOAL,
        "cycles_equal": all(r["cycle_mismatches"] == 0 for r in rows),
        "mismatches": sum(r["mismatches"] for r in rows),
        "summary": [
            {"metric": f"SOP/lane/cycle at full rate, {r['shape']}, P = {r['lanes']}",
             "value": round(r["sop_per_lane_per_cycle"], 4), "unit": "",
             "versus": "physical limit 1.0, goal 0.95", "versus_value": LIMIT,
             "ratio": round(r["sop_per_lane_per_cycle"] / LIMIT, 4), "limit": GOAL,
             "meets": r["sop_per_lane_per_cycle"] >= GOAL}
            for r in rows
        ] + [
            {"metric": f"co-sim speed on {args.sim}, {r['shape']}, P = {r['lanes']}",
             "value": round(r["cycles_per_second"]), "unit": "cycles/s", "versus": None,
             "versus_value": None, "ratio": None, "limit": None, "meets": None}
            for r in rows[:1]
        ] + [
            {"metric": "cycles per step, predicted = measured (every step)",
             "value": sum(r["cycle_mismatches"] for r in rows), "unit": "mismatches",
             "versus": "schedule model", "versus_value": 0, "ratio": None, "limit": 0,
             "meets": all(r["cycle_mismatches"] == 0 for r in rows)},
        ],
    }
    write_result(result, args.out, args.json)
    if not args.json:
        print(table(rows))
        print(f"min SOP/lane/cycle {worst:.4f} (goal {GOAL}, limit {LIMIT}); "
              f"predicted = measured: {result['cycles_equal']}")
    ok = result["cycles_equal"] and result["mismatches"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
