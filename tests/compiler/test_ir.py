"""The IR: network files map to it and back unchanged, it serializes to JSON and back, and every
malformed node or graph is refused naming what is wrong."""

import json

import numpy as np
import pytest
from spikeforge.compiler.ir import (
    ALIF,
    IF,
    LI,
    LIF,
    Affine,
    Graph,
    Input,
    Output,
    Recurrent,
    graph_from_network,
    graph_to_network,
    node_from_dict,
)
from spikeforge.model import IntFormat, RateEncoding, Readout, SpikeEncoding
from spikeforge.model.netfile import network_to_bytes
from spikeforge.sim.random_networks import random_network


@pytest.mark.parametrize("seed", range(6))
def test_network_file_maps_to_the_ir_and_back_unchanged(seed):
    network = random_network(np.random.default_rng(seed), 2, layers=3)
    graph = graph_from_network(network)
    assert graph.fused and graph.quantized
    assert len(graph.layers) == len(network.layers)
    again = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert network_to_bytes(graph_to_network(again)) == network_to_bytes(network)


def test_every_node_family_round_trips_through_its_dict():
    nodes = [Input(3, RateEncoding(8, 16)), Affine(np.ones((2, 3)), np.array([1.0, -2.0]),
                                                   IntFormat(4), name="w"),
             Recurrent(np.eye(2), name="v"),
             ALIF(2, k_syn=1, k_mem=2, theta=5, k_adapt=3, adapt_jump=7, name="a"),
             LIF(2, k_syn=1, k_mem=3, theta=9.5, compare=">", reset="zero"),
             LIF(2, k_syn=[5, 7, -10], k_mem=[2, -4], theta=9.5, compare=">", theta_reset=9.5,
                 reset="subtract_before_leak", input_shift=3, same_step_recurrence=True),
             IF(2, theta=4), LI(2, k_mem=1), Output(Readout.MEMBRANE_SUM)]
    for node in nodes:
        data = json.loads(json.dumps(node.to_dict()))
        back = node_from_dict(data)
        assert type(back) is type(node) and back.to_dict() == node.to_dict()


def floating_graph(**changes):
    nodes = dict(inp=Input(4, SpikeEncoding(5)), fc=Affine(np.full((3, 4), 0.25), name="fc"),
                 lif=LIF(3, k_mem=2, theta=0.7, compare=">", name="lif"),
                 out=Output(Readout.SPIKE_COUNT))
    nodes.update(changes)
    return Graph(tuple(v for v in nodes.values() if v is not None))


def test_float_graph_is_valid_but_not_a_network_yet():
    graph = floating_graph()
    assert graph.fused and not graph.quantized
    with pytest.raises(ValueError, match="run the quantize pass"):
        graph_to_network(graph)


BAD_NODES = {
    "negative n": (lambda: LIF(-1), "n must be an integer in 1..65536"),
    "shift too large": (lambda: LIF(3, k_mem=16, potential_format=IntFormat(16)),
                        r"k_mem shifts must be in 0\.\.15 for a 16-bit state, not 16"),
    "decay grows the state": (lambda: LIF(3, k_mem=[1, 1]), "strictly increasing"),
    "reset amount on a zero reset": (lambda: LIF(3, theta=4, reset="zero", theta_reset=2),
                                     "theta_reset applies to spiking layers with a subtract"),
    "input shift too large": (lambda: LI(3, input_shift=40), "input_shift"),
    "zero threshold": (lambda: LIF(3, theta=0), "theta must be positive"),
    "unknown compare": (lambda: IF(3, compare="<"), "compare must be one of"),
    "unsigned current": (lambda: LI(3, current_format=IntFormat(16, signed=False)),
                         "current_format must be signed"),
    "NaN weight": (lambda: Affine(np.array([[np.nan]])), "NaN"),
    "vector weight": (lambda: Affine(np.ones(3)), "2 dimension"),
    "bias shape": (lambda: Affine(np.ones((2, 3)), np.ones(3)), "bias has 3 values for 2"),
    "weight outside its format": (lambda: Affine(np.full((1, 1), 9.0), weight_format=IntFormat(4)),
                                  "does not fit s4"),
    "fractional weight with a format": (lambda: Affine(np.full((1, 1), 0.5),
                                                       weight_format=IntFormat(4)), "integers"),
    "non-square recurrence": (lambda: Recurrent(np.ones((2, 3))), "square"),
    "unknown readout": (lambda: Output("loudest"), "readout must be one of"),
    "ALIF jump too large": (lambda: ALIF(2, adapt_jump=1 << 16), "adapt_jump"),
    "unknown type": (lambda: node_from_dict({"type": "Conv2d"}), "unknown IR node type"),
    "unknown field": (lambda: node_from_dict({"type": "LI", "n": 2, "tau": 3}), "unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_NODES))
def test_malformed_nodes_are_refused(case):
    make, message = BAD_NODES[case]
    with pytest.raises((ValueError, TypeError), match=message):
        make()


BAD_GRAPHS = {
    "no input": (dict(inp=None), "from an Input to an Output"),
    "sizes do not chain": (dict(fc=Affine(np.ones((3, 5)), name="fc")),
                           r"node 1 \(Affine 'fc'\) takes 5 inputs but the node before it has 4"),
    "neuron size": (dict(lif=LIF(2, name="lif")), "has 2 neurons but its synapses have 3"),
    "neuron without synapses": (dict(fc=None), "must follow an Affine"),
    "readout mismatch": (dict(out=Output(Readout.MEMBRANE_MAX)), "needs an LI last layer"),
    "recurrence on a readout": (dict(fc=Affine(np.ones((3, 4))), lif=Recurrent(np.eye(3)),
                                     out=LI(3)), "Input and Output only at the ends|Output"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_malformed_graphs_are_refused(case):
    changes, message = BAD_GRAPHS[case]
    with pytest.raises((ValueError, TypeError), match=message):
        floating_graph(**changes)


def test_li_only_last_and_without_recurrence():
    inp, fc = Input(4, SpikeEncoding(5)), Affine(np.ones((3, 4)))
    with pytest.raises(ValueError, match="only the last layer"):
        Graph((inp, fc, LI(3), Affine(np.ones((2, 3))), LIF(2), Output()))
    with pytest.raises(ValueError, match="cannot have recurrent weights"):
        Graph((inp, fc, Recurrent(np.eye(3)), LI(3), Output(Readout.MEMBRANE_MAX)))
    with pytest.raises(ValueError, match="is 2 × 2 but its layer has 3"):
        Graph((inp, fc, Recurrent(np.eye(2)), LIF(3), Output()))


def test_an_unset_parameter_means_what_it_means_in_layer_params():
    """One set of defaults: a node's unset decays, threshold, reset, input shift and ALIF trace
    are those of the LayerParams it lowers to (IF has no leak, LI no threshold: not fields)."""
    from dataclasses import fields

    from spikeforge.model import LayerParams

    layer = LayerParams(1, 2)
    shared = ("k_syn", "k_mem", "theta", "reset", "input_shift", "k_adapt", "adapt_jump",
              "same_step_recurrence")
    for node in (LIF(2), ALIF(2), IF(2), LI(2)):
        names = [f.name for f in fields(node) if f.name in shared]
        assert names, type(node).__name__
        for name in names:
            assert getattr(node, name) == getattr(layer, name), (type(node).__name__, name)
