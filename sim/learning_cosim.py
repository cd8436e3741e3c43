"""One entry point for learning co-simulation: run trials on the Amaranth simulator or Verilator,
run the same trials in the integer reference, compare bit for bit, and summarize as JSON."""

import time

import numpy as np

from .learning_compare import compare_learning, expected_run

__all__ = ["LEARN_SIMS", "learning_report"]

LEARN_SIMS = ("amaranth", "verilator", "icarus")


def device_trials(network, config, spikes, targets, learn, sim, *, lanes=1, traces=True,
                  readback=None):
    """Per-trial device results and timing on ``sim``."""
    if sim == "amaranth":
        from .learning_amaranth import simulate_learning

        start = time.perf_counter()
        results = simulate_learning(network, config, spikes, targets, learn, lanes=lanes,
                                    traces=traces)
        return results, {"build_seconds": 0.0, "run_seconds": time.perf_counter() - start}
    if sim not in LEARN_SIMS:
        raise ValueError(f"sim must be one of {', '.join(LEARN_SIMS)}, not {sim!r}")
    from .learning_cocotb import cosimulate_learning

    return cosimulate_learning(network, config, spikes, targets, learn, sim=sim, lanes=lanes,
                               traces=traces, readback=readback)


def learning_report(network, config, spikes, targets, learn, sim, *, lanes=1, traces=True,
                    readback=None):
    """Device and reference over the same trials; returns ``(report, final reference network,
    per-trial device results)``."""
    learn = [bool(v) for v in learn]
    results, timing = device_trials(network, config, spikes, targets, learn, sim, lanes=lanes,
                                    traces=traces, readback=readback)
    start = time.perf_counter()
    final, expected = expected_run(network, config, spikes, targets, learn)
    ref_seconds = time.perf_counter() - start
    comparison = compare_learning(config, expected, results)
    last_read = max((t for t, r in enumerate(results) if r.get("weights") is not None),
                    default=None)
    report = {
        "sim": sim,
        "rule": config.rule.name.lower(),
        "config": config.to_dict(),
        "lanes": lanes,
        "trials": len(learn),
        "learning_trials": int(sum(learn)),
        "steps_per_trial": int(np.asarray(spikes).shape[1]),
        "traces_compared": bool(traces),
        "weights_compared_after_trials": int(sum(r.get("weights") is not None for r in results)),
        "final_weights_equal": bool(
            last_read == len(results) - 1
            and all(np.array_equal(expected[-1]["weights"][i], results[-1]["weights"][i])
                    for i in config.layers)),
        **comparison,
        "reference_seconds": round(ref_seconds, 3),
        **{k: round(v, 3) for k, v in timing.items()},
    }
    return report, final, results
