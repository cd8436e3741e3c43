"""Differential sweep: many random networks through a Verilog simulator, every value compared.

``cosim_sweep(200, neuron_steps=10**6, sim="icarus")`` draws networks of every variant
(1, 2 or 4 lanes, 1 to 3 layers, every other one saturation-heavy; every part of contract
version 2: decays of 1 to 4 terms, reset amount, reset before the leak, input shift, same-step
recurrence, counted per layer under ``"features"``), drives random spikes at
several rates, and compares every step's output spikes and every neuron's i, u, b, s with
``spikeforge.model.run`` and every step's cycle count with the schedule model. Icarus builds
in about a second, Verilator in tens of seconds, so large sweeps run on Icarus.

    python -m spikeforge.sim.sweep [--networks N] [--neuron-steps M] [--sim S] [--seed S]
"""

import argparse
import json
import math
import sys
import time

import numpy as np

from ..model import ResetMode
from .cosim import cosim_report
from .random_networks import random_network, random_spikes

__all__ = ["FEATURES", "cosim_sweep"]

#: what the sweep counts, per layer: the parts of the contract a layer exercises
FEATURES = {
    "layers": lambda p: True,
    "decay_terms_1": lambda p: max(len(d.terms) for d in p.decays.values()) == 1,
    "decay_terms_2": lambda p: max(len(d.terms) for d in p.decays.values()) == 2,
    "decay_terms_3": lambda p: max(len(d.terms) for d in p.decays.values()) == 3,
    "decay_terms_4": lambda p: max(len(d.terms) for d in p.decays.values()) == 4,
    "theta_reset": lambda p: p.theta_reset is not None,
    "subtract_before_leak": lambda p: p.spiking and p.reset is ResetMode.SUBTRACT_BEFORE_LEAK,
    "input_shift": lambda p: p.input_shift > 0,
    "same_step_recurrence": lambda p: p.same_step_recurrence,
}


def cosim_sweep(networks, neuron_steps, sim="icarus", seed=0, progress=None):
    """Run ``networks`` random networks with ``neuron_steps`` in total; return the totals.

    Stops at the first network with a mismatch and reports it under ``"first_failure"``.
    """
    rng = np.random.default_rng(seed)
    each = math.ceil(neuron_steps / networks)
    totals = {"sim": sim, "seed": seed, "networks": 0, "neuron_steps": 0, "values_compared": 0,
              "mismatches": 0, "cycle_mismatches": 0, "cycles": 0, "synaptic_operations": 0,
              "saturations": 0, "features": dict.fromkeys(FEATURES, 0), "first_failure": None}
    start = time.perf_counter()
    for index in range(networks):
        lanes = (1, 2, 4)[index % 3]
        network = random_network(rng, lanes, layers=1 + index % 3, saturating=index % 2 == 1)
        neurons = sum(layer.params.n for layer in network.layers)
        samples = 2
        steps = max(1, math.ceil(each / (neurons * samples)))
        rate = float(rng.choice([0.2, 0.5, 1.0]))
        x = np.stack([random_spikes(rng, steps, network.n_in, rate) for _ in range(samples)])
        report = cosim_report(network, x, sim, lanes=lanes)
        totals["networks"] += 1
        for layer in network.layers:
            for name, test in FEATURES.items():
                totals["features"][name] += int(test(layer.params))
        totals["neuron_steps"] += report["neuron_steps_compared"]
        totals["values_compared"] += report["values_compared"]
        totals["mismatches"] += report["mismatches"]
        totals["cycle_mismatches"] += report["cycle_mismatches"]
        totals["cycles"] += report["cycles_measured"]
        totals["synaptic_operations"] += report["synaptic_operations"]
        totals["saturations"] += report["counters"]["saturations"]
        if report["mismatches"] or report["cycle_mismatches"] or not report["probe_order_ok"]:
            totals["first_failure"] = {"network": index, "lanes": lanes,
                                       "first_mismatch": report["first_mismatch"]}
            break
        if progress:
            progress(index + 1, totals)
    totals["seconds"] = round(time.perf_counter() - start, 1)
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description="random-network co-simulation sweep")
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--neuron-steps", type=int, default=10**6)
    parser.add_argument("--sim", default="icarus", choices=["icarus", "verilator", "amaranth"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def progress(done, totals):
        if done % 10 == 0:
            print(f"{done}/{args.networks} networks, {totals['neuron_steps']} neuron-steps, "
                  f"{totals['mismatches']} mismatches", file=sys.stderr, flush=True)

    totals = cosim_sweep(args.networks, args.neuron_steps, args.sim, args.seed, progress)
    json.dump(totals, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if totals["first_failure"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
