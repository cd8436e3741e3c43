"""``spikeforge info``: what a network file holds."""

from .common import emit_json, existing_file, load_network_arg

__all__ = ["add_arguments", "describe", "run"]


def add_arguments(parser):
    parser.add_argument("netfile", type=existing_file("network file"), help="network file (.sfn)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def describe(network):
    layers = []
    for layer in network.layers:
        arrays = {
            name: {
                "shape": list(a.shape),
                "dtype": str(a.dtype),
                "min": int(a.min()),
                "max": int(a.max()),
            }
            for name, a in layer.arrays.items()
        }
        layers.append(
            {
                "name": layer.name,
                "params": layer.params.to_dict(),
                "arrays": arrays,
                "synapses": int(sum(a.size for n, a in layer.arrays.items() if n != "bias")),
            }
        )
    return {
        "name": network.name,
        "encoding": network.encoding.to_dict(),
        "readout": network.readout.value,
        "layers": layers,
        "synapses": sum(ly["synapses"] for ly in layers),
        "neurons": sum(ly.params.n for ly in network.layers),
        "metadata": {k: v for k, v in network.metadata.items() if k != "history"},
    }


def _extras(params):
    """Contract version 2 parameters, when a layer uses them."""
    out = " same-step recurrence" if params.get("same_step_recurrence") else ""
    if "theta_reset" in params:
        out += f" θ_r={params['theta_reset']}"
    if params.get("input_shift"):
        out += f" f={params['input_shift']}"
    return out


def run(args):
    network = load_network_arg(args.netfile)
    info = describe(network)
    if args.json:
        emit_json(info)
        return 0
    print(
        f"{info['name']}: {info['neurons']} neurons, {info['synapses']} synapses, "
        f"encoding {info['encoding']}, readout {info['readout']}"
    )
    for layer in info["layers"]:
        p = layer["params"]
        fmt = lambda f: f"{'s' if f['signed'] else 'u'}{f['width']}"  # noqa: E731
        print(
            f"  {layer['name']:<10} {p['kind'].upper():<4} {p['n_in']:>5} → {p['n']:<5} "
            f"k_syn={p['k_syn']} k_mem={p['k_mem']} θ={p['theta']} reset={p['reset']} "
            f"W {fmt(p['weight_format'])} I {fmt(p['current_format'])} "
            f"U {fmt(p['potential_format'])}{' recurrent' if p['recurrent'] else ''}"
            f"{_extras(p)}"
        )
    accuracy = info["metadata"].get("accuracy")
    if accuracy:
        print(f"  accuracy: {accuracy}")
    return 0
