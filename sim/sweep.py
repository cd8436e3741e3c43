"""Differential sweep: many random networks through a Verilog simulator, every value compared.

``cosim_sweep(200, neuron_steps=10**6, sim="icarus")`` draws networks of every variant
(1, 2 or 4 lanes, 1 to 3 layers, every other one saturation-heavy; every part of contract
version 2: decays of 1 to 4 terms, reset amount, reset before the leak, input shift, same-step
recurrence, counted per layer under ``"features"``), drives random spikes at
several rates, and compares every step's output spikes and every neuron's i, u, b, s with
``spikeforge.model.run`` and every step's cycle count with the schedule model. Icarus builds
in about a second, Verilator in tens of seconds, so large sweeps run on Icarus. With
``family="conv"`` (``--conv``) the networks are convolutional
(:func:`~spikeforge.sim.random_networks.random_conv_network`: 1 or 2 convolutions with random
pooling, kernel, stride and padding, half of them followed by a pooled dense layer; every fourth
a residual block, :func:`~spikeforge.sim.random_networks.random_residual_network`, its join from
a layer or from the input), counted under ``"conv_features"``.

    python -m spikeforge.sim.sweep [--networks N] [--neuron-steps M] [--sim S] [--seed S]
                                   [--conv] [--workers N] [--address HOST:PORT]
                                   [--engine ray|pool]

With ``--workers N`` (or ``--address`` of a Ray cluster) contiguous blocks of networks run in
parallel, on Ray or a process pool (:mod:`spikeforge.sim.engine`); every network is drawn from
a generator of its own (``default_rng([seed, index])``), so the totals do not depend on the
number of workers.
"""

import argparse
import itertools
import json
import math
import sys
import time

import numpy as np

from ..model import ResetMode
from .cosim import cosim_report
from .engine import EngineError, JobFailed, run_jobs
from .random_networks import (
    random_conv_network,
    random_network,
    random_residual_network,
    random_spikes,
)

__all__ = ["CONV_FEATURES", "FEATURES", "cosim_sweep", "sweep_block"]

#: what the sweep counts, per layer: the parts of the contract a layer exercises
FEATURES = {
    "layers": lambda p: True,
    "decay_terms_1": lambda p: max(len(d.terms) for d in p.decays.values()) == 1,
    "decay_terms_2": lambda p: max(len(d.terms) for d in p.decays.values()) == 2,
    "decay_terms_3": lambda p: max(len(d.terms) for d in p.decays.values()) == 3,
    "decay_terms_4": lambda p: max(len(d.terms) for d in p.decays.values()) == 4,
    "theta_reset": lambda p: p.theta_reset is not None,
    "subtract_before_leak": lambda p: p.spiking and p.reset is ResetMode.SUBTRACT_BEFORE_LEAK,
    "clear_reset": lambda p: p.spiking and p.reset is ResetMode.CLEAR,
    "input_shift": lambda p: p.input_shift > 0,
    "same_step_recurrence": lambda p: p.same_step_recurrence,
}


#: what a convolutional sweep counts, per layer with a connectivity
CONV_FEATURES = {
    "conv": lambda c: c.conv is not None,
    "pool": lambda c: c.pool > 1,
    "stride_2": lambda c: c.conv is not None and c.conv.stride > 1,
    "padding": lambda c: c.conv is not None and c.conv.padding > 0,
    "pooled_dense": lambda c: c.conv is None,
}

#: what a convolutional sweep counts, per layer with a residual join (counted with the above)
JOIN_FEATURES = {
    "join": lambda s: True,
    "join_from_input": lambda s: s.source < 0,
    "join_projection": lambda s: s.connectivity.conv.stride > 1 or s.connectivity.pool > 1,
}


def _network(index, seed, family="dense"):
    """Network ``index`` of a sweep with ``seed``, its lanes and its random generator: drawn
    from a generator of its own, ``default_rng([seed, index])``, so a network is the same
    whichever block or worker runs it."""
    rng = np.random.default_rng([seed, index])
    lanes = (1, 2, 4)[index % 3]
    if family == "conv" and index % 4 == 3:
        return random_residual_network(rng, lanes, saturating=index % 2 == 1), lanes, rng
    if family == "conv":
        return random_conv_network(rng, lanes, saturating=index % 2 == 1), lanes, rng
    network = random_network(rng, lanes, layers=1 + index % 3, saturating=index % 2 == 1)
    return network, lanes, rng


def _empty(sim, seed):
    return {"sim": sim, "seed": seed, "networks": 0, "neuron_steps": 0, "values_compared": 0,
            "mismatches": 0, "cycle_mismatches": 0, "cycles": 0, "synaptic_operations": 0,
            "saturations": 0, "features": dict.fromkeys(FEATURES, 0),
            "conv_features": dict.fromkeys((*CONV_FEATURES, *JOIN_FEATURES), 0),
            "first_failure": None}


#: the counts of a sweep (summed over blocks)
COUNTS = ("networks", "neuron_steps", "values_compared", "mismatches", "cycle_mismatches",
          "cycles", "synaptic_operations", "saturations")


def sweep_block(job, common=None, progress=None):
    """Networks ``job["start"]`` to ``job["stop"] - 1`` of a sweep (``job``: also ``each``, the
    neuron-steps per network, ``sim`` and ``seed``); their totals, stopping at the first
    failure."""
    totals = _empty(job["sim"], job["seed"])
    for index in range(job["start"], job["stop"]):
        network, lanes, rng = _network(index, job["seed"], job.get("family", "dense"))
        neurons = sum(layer.params.n for layer in network.layers)
        samples = 2
        steps = max(1, math.ceil(job["each"] / (neurons * samples)))
        rate = float(rng.choice([0.2, 0.5, 1.0]))
        x = np.stack([random_spikes(rng, steps, network.n_in, rate) for _ in range(samples)])
        report = cosim_report(network, x, job["sim"], lanes=lanes)
        totals["networks"] += 1
        for layer in network.layers:
            for name, test in FEATURES.items():
                totals["features"][name] += int(test(layer.params))
            for name, test in CONV_FEATURES.items():
                conn = layer.connectivity
                totals["conv_features"][name] += int(conn is not None and test(conn))
            for name, test in JOIN_FEATURES.items():
                join = layer.shortcut
                totals["conv_features"][name] += int(join is not None and test(join))
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
    return totals


def _blocks(networks, workers):
    """Contiguous blocks of network indices: one for one worker, else about four per worker
    (so that a slow block does not leave the others idle)."""
    count = 1 if workers == 1 else min(networks, 4 * workers)
    edges = [round(k * networks / count) for k in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def cosim_sweep(networks, neuron_steps, sim="icarus", seed=0, progress=None, *, workers=1,
                address=None, engine=None, family="dense"):
    """Run ``networks`` random networks with ``neuron_steps`` in total; return the totals.

    Stops at the first network with a mismatch and reports it under ``"first_failure"``.
    ``progress(done, totals)`` follows the networks (``totals`` is None when blocks run in
    parallel: a block's totals arrive when it ends).

    Network ``i`` is drawn from ``default_rng([seed, i])``, so the totals are the same on any
    number of ``workers``: with more than one, or an ``address`` or ``engine``, contiguous
    blocks of networks run as jobs of :func:`spikeforge.sim.engine.run_jobs` (Ray tasks or a
    process pool) and their totals are added in order up to the block of the first failure.
    """
    each = math.ceil(neuron_steps / networks)
    start = time.perf_counter()
    if family not in ("dense", "conv"):
        raise ValueError(f"family must be 'dense' or 'conv', not {family!r}")
    job = {"each": each, "sim": sim, "seed": seed, "family": family}
    if workers == 1 and address is None and engine in (None, "serial"):
        totals = sweep_block({**job, "start": 0, "stop": networks}, progress=progress)
        ran_on, count = "serial", 1
    else:
        jobs = [{**job, "start": a, "stop": b} for a, b in _blocks(networks, workers or 1)]

        done = 0

        def block_done(index, part):
            nonlocal done
            done += part["networks"] if isinstance(part, dict) else 0
            if progress:
                progress(done, None)

        ran = run_jobs(sweep_block, jobs, workers, address, engine, on_result=block_done)
        totals, ran_on, count = _empty(sim, seed), ran.engine, ran.workers
        for part, block in zip(ran.results, jobs, strict=True):
            if isinstance(part, JobFailed):
                totals["first_failure"] = {"network": block["start"], "block": [
                    block["start"], block["stop"]], "error": part.error}
                break
            for name in COUNTS:
                totals[name] += part[name]
            for name in FEATURES:
                totals["features"][name] += part["features"][name]
            for name in (*CONV_FEATURES, *JOIN_FEATURES):
                totals["conv_features"][name] += part["conv_features"][name]
            if part["first_failure"] is not None:
                totals["first_failure"] = part["first_failure"]
                break
    totals["engine"], totals["workers"] = ran_on, count
    totals["seconds"] = round(time.perf_counter() - start, 1)
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description="random-network co-simulation sweep")
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--neuron-steps", type=int, default=10**6)
    parser.add_argument("--sim", default="icarus", choices=["icarus", "verilator", "amaranth"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conv", action="store_true",
                        help="random convolutional networks (pooling, kernels, strides, padding, "
                             "residual joins)")
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel workers (default 1: this process, no Ray needed)")
    parser.add_argument("--address", default=None, metavar="HOST:PORT",
                        help="run the blocks on this Ray cluster (`ray start --head` prints it)")
    parser.add_argument("--engine", choices=["ray", "pool"], default=None,
                        help="with --workers > 1: Ray tasks or a local process pool (default: "
                        "ray when installed)")
    parser.add_argument("--json", action="store_true",
                        help="print the totals as one JSON object (always done; the flag is "
                             "accepted as every spikeforge report takes it)")
    args = parser.parse_args(argv)
    if args.networks < 1 or args.neuron_steps < 1 or args.workers < 1:
        parser.error("--networks, --neuron-steps and --workers must be at least 1")
    if args.address is not None and args.engine == "pool":
        parser.error(f"--address {args.address} joins a Ray cluster; it does not go with "
                     "--engine pool")

    def progress(done, totals):
        if totals is None:
            print(f"{done}/{args.networks} networks", file=sys.stderr, flush=True)
        elif done % 10 == 0:
            print(f"{done}/{args.networks} networks, {totals['neuron_steps']} neuron-steps, "
                  f"{totals['mismatches']} mismatches", file=sys.stderr, flush=True)

    try:
        totals = cosim_sweep(args.networks, args.neuron_steps, args.sim, args.seed, progress,
                             workers=args.workers, address=args.address, engine=args.engine,
                             family="conv" if args.conv else "dense")
    except EngineError as exc:
        print(f"sweep: error: {exc}", file=sys.stderr)
        return 2
    json.dump(totals, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if totals["first_failure"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
