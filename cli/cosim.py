"""``spikeforge cosim``: the hardware against the reference model, every step, every neuron.

Inputs are the test samples of ``--data FILE.npz``, or of the dataset the network was trained
on (its metadata: a built-in dataset or the data file), or seeded random spike trains for a
network without one.
"""

from .common import (
    CommandError,
    add_data_arguments,
    dataset_arg,
    emit_json,
    existing_file,
    integer,
    load_network_arg,
    log,
    number,
)
from .progress import Progress

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument("--sim", choices=["amaranth", "verilator", "icarus"], default="verilator")
    parser.add_argument("--lanes", type=integer(1), default=1, help="parallel lanes P")
    parser.add_argument(
        "--netlist",
        choices=["ice40", "ecp5"],
        default=None,
        help="simulate the Yosys post-synthesis netlist for this FPGA family instead of the RTL "
        "(ice40 on icarus or verilator; ecp5 on verilator)",
    )
    parser.add_argument("--harness", choices=["c++", "cocotb"], default=None,
                        help="how Verilator is driven: a compiled C++ loop (default on the RTL) "
                        "or the cocotb testbench (Icarus and netlists always use cocotb)")
    parser.add_argument("--samples", type=samples_count, default=2,
                        help="test samples to run, or 'all' (the whole test set)")
    add_data_arguments(parser)
    parser.add_argument("--steps", type=integer(1), default=None,
                        help="time steps per sample (default T)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random stimuli")
    parser.add_argument("--density", type=number(0, 1), default=0.2,
                        help="random stimulus spike density, 0..1")
    parser.add_argument(
        "--consumer-gap",
        type=integer(0),
        default=0,
        help="cycles the output consumer waits after each event (backpressure)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def samples_count(text):
    """``--samples``: a count ≥ 1, or ``all``."""
    if text == "all":
        return ALL
    return integer(1)(text)


#: ``--samples all``: every test sample of the network's dataset
ALL = -1


def stimulus(network, samples, steps, seed, density, data=None):
    """Input spikes (samples, steps, n_in) and where they came from: the test split of ``data``
    (a ``.npz`` file; errors if it does not fit), else of the network's own dataset when it
    fits, else random spikes."""
    import numpy as np

    if data is not None:
        dataset = dataset_arg(network, data)
    else:
        try:
            dataset = dataset_arg(network, None)
        except CommandError:
            dataset = None  # the recorded dataset does not fit: random stimuli, as without one
    if dataset is not None:
        count = len(dataset.y_test) if samples == ALL else min(samples, len(dataset.y_test))
        x = dataset.spikes("test", np.arange(count))
        return x[:, :steps] if steps else x, f"{dataset.name} test samples"
    if samples == ALL:
        raise CommandError("--samples all needs a network trained on a dataset (its metadata "
                           "names none, or the dataset's inputs do not match): give a count")
    rng = np.random.default_rng(seed)
    t = steps or network.steps
    return (rng.random((samples, t, network.n_in)) < density).astype(
        np.uint8
    ), f"random spikes, density {density}, seed {seed}"


def run(args):
    from spikeforge.sim.cosim import cosim_report
    from spikeforge.toolchain import ToolMissing

    network = load_network_arg(args.netfile)
    x, source = stimulus(network, args.samples, args.steps, args.seed, args.density, args.data)
    log(
        args,
        f"cosim on {args.sim}: {x.shape[0]} sample(s) × {x.shape[1]} steps ({source}), "
        f"{args.lanes} lane(s){f', {args.netlist} netlist' if args.netlist else ''}",
    )
    try:
        with Progress(args, x.shape[0], f"cosim {args.sim}", "sample") as bar:
            report = cosim_report(
                network, x, args.sim, lanes=args.lanes, consumer_gap=args.consumer_gap,
                netlist=args.netlist, harness=args.harness, progress=bar,
            )
    except ToolMissing as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    report["stimulus"] = source
    report["netfile"] = str(args.netfile)
    if args.json:
        emit_json(report)
    else:
        print(
            f"{args.sim} ({report['design']}): {report['neuron_steps_compared']} neuron-steps "
            "compared, "
            f"{report['mismatches']} mismatches, cycles predicted {report['cycles_predicted']} "
            f"measured {report['cycles_measured']}, SOP/lane/cycle "
            f"{report['sop_per_lane_per_cycle']:.3f}"
        )
        if report["first_mismatch"]:
            print(f"first mismatch: {report['first_mismatch']}")
    ok = report["mismatches"] == 0 and report["cycle_mismatches"] == 0
    return 0 if ok else 1
