"""Bad parameters and bad network files get clear errors, and a failed save leaves nothing."""

import io
import json
import zipfile

import numpy as np
import pytest
from spikeforge.model import (
    IntFormat,
    Layer,
    LayerParams,
    Network,
    NetworkFileError,
    RateEncoding,
    load_network,
    save_network,
)
from spikeforge.model.netfile import network_to_bytes


def _network():
    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(4, 3, theta=50), rng.integers(-100, 100, (3, 4)), name="hidden")
    out = Layer(LayerParams(3, 2, theta=50), rng.integers(-100, 100, (2, 3)), name="out")
    return Network((hidden, out), RateEncoding(8, 16))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k_mem": 17}, "k_mem shifts must be in 0..15 for a 16-bit state, not 17"),
        ({"k_syn": -1}, "k_syn must be a shift >= 0 or a list of signed shifts, not -1"),
        ({"k_mem": [3, 3]}, "k_mem: decay shifts must be strictly increasing"),
        ({"k_mem": [3, -4, 5, -6, 7]}, "k_mem: a decay has 1 to 4 terms, not 5"),
        ({"k_mem": [-3, 5]}, "k_mem: the first (largest) decay term must be positive"),
        ({"k_mem": [0, 1]}, "k_mem: a decay removes at most the whole state per step"),
        ({"k_mem": [3, 2.5]}, "k_mem: decay terms are signed integers"),
        ({"theta_reset": 0}, "theta_reset must be an integer in 1..32767, not 0"),
        ({"reset": "zero", "theta_reset": 5}, "theta_reset applies to spiking layers with"),
        ({"same_step_recurrence": True}, "same_step_recurrence applies to recurrent layers"),
        ({"input_shift": 16}, "input_shift must be an integer in 0..15, not 16"),
        ({"theta": 0}, "theta must be an integer in 1..32767, not 0"),
        ({"theta": -5}, "theta must be an integer in 1..32767, not -5"),
        ({"theta": 40000}, "theta must be an integer in 1..32767, not 40000"),
        ({"n": 0}, "n must be an integer in 1..65536, not 0"),
        ({"kind": "izhikevich"}, "kind must be one of lif, if, alif, li, not 'izhikevich'"),
        ({"reset": "hard"},
         "reset must be one of subtract, zero, subtract_before_leak, clear, not 'hard'"),
        ({"kind": "if", "k_mem": 3}, "k_mem must be 0 for IF neurons"),
        ({"kind": "li", "theta": 9}, "theta must be left at 1"),
        ({"adapt_jump": 3}, "k_adapt and adapt_jump apply to ALIF layers only"),
        ({"theta": 2.5}, "theta must be an integer, not 2.5"),
        ({"weight_format": IntFormat(8, signed=False)}, "weight_format must be signed"),
    ],
)
def test_parameters_out_of_range_are_named(kwargs, message):
    args = {"n_in": 4, "n": 3, **kwargs}
    with pytest.raises(
        (ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        LayerParams(**args)


def test_width_zero_is_refused():
    with pytest.raises(ValueError, match=r"width must be an integer in 1\.\.32, not 0"):
        IntFormat(0)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match=r"weight must have shape \(3, 4\), not \(4, 3\)"):
        Layer(LayerParams(4, 3), np.zeros((4, 3), np.int8))
    hidden = Layer(LayerParams(4, 3), np.zeros((3, 4), np.int8), name="hidden")
    out = Layer(LayerParams(5, 2), np.zeros((2, 5), np.int8), name="out")
    with pytest.raises(ValueError, match="layer 1 \\(out\\) takes 5 inputs but layer 0"):
        Network((hidden, out), RateEncoding(8, 16))


def test_weights_that_do_not_fit_name_the_value():
    weight = np.zeros((3, 4), np.int64)
    weight[1, 2] = 200
    with pytest.raises(
        ValueError, match=r"weight\[1, 2\] = 200 does not fit s8: allowed -128..127"
    ):
        Layer(LayerParams(4, 3), weight)


def test_round_trip(tmp_path):
    net = _network()
    loaded = load_network(save_network(net, tmp_path / "n.sfn"))
    assert [ly.params for ly in loaded.layers] == [ly.params for ly in net.layers]
    for a, b in zip(loaded.layers, net.layers, strict=True):
        assert np.array_equal(a.weight, b.weight) and a.weight.dtype == b.weight.dtype
    assert loaded.encoding == net.encoding


def _rewrite(tmp_path, mutate_manifest=None, mutate_arrays=None):
    """Write a network file whose manifest or arrays were edited."""
    with np.load(io.BytesIO(network_to_bytes(_network())), allow_pickle=False) as archive:
        contents = {k: archive[k] for k in archive.files}
    manifest = json.loads(contents.pop("manifest").tobytes())
    if mutate_manifest:
        mutate_manifest(manifest)
    if mutate_arrays:
        mutate_arrays(contents)
    contents["manifest"] = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    path = tmp_path / "bad.sfn"
    with open(path, "wb") as handle:  # a file handle: np.savez would append ".npz" to a name
        np.savez(handle, **contents)
    return path


def _set(path, value):
    def mutate(manifest):
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("manifest_edit", "array_edit", "message"),
    [
        (_set(["version"], 4), None, "version 4 is not supported"),
        (
            lambda m: (_set(["version"], 1)(m), _set(["layers", 0, "params", "k_mem"], [3, -6])(m)),
            None,
            "which a version 1 file cannot hold",
        ),
        (_set(["format"], "onnx"), None, "format must be 'spikeforge-network'"),
        (None, lambda a: a.pop("layer1.weight"), "'layer1.weight' of layers\\[1\\] is missing"),
        (
            None,
            lambda a: a.__setitem__("layer0.weight", a["layer0.weight"].astype(np.float32)),
            "has dtype float32, but the manifest says int8",
        ),
        (
            None,
            lambda a: a.__setitem__("layer0.weight", np.zeros((4, 3), np.int8)),
            "has shape \\[4, 3\\], but the manifest says \\[3, 4\\]",
        ),
        (
            _set(["layers", 0, "arrays", "weight", "dtype"], "int16"),
            lambda a: a.__setitem__("layer0.weight", np.full((3, 4), 300, np.int16)),
            "'layer0.weight' is int16, but a weight of layers\\[0\\] is stored as int8",
        ),
        (
            _set(["layers", 0, "params", "weight_format"], {"width": 4, "signed": True}),
            lambda a: a.__setitem__("layer0.weight", np.full((3, 4), 100, np.int8)),
            "= 100 does not fit s4",
        ),
        (
            _set(["layers", 0, "params", "k_mem"], 17),
            None,
            "k_mem shifts must be in 0..15 for a 16-bit state, not 17",
        ),
        (
            _set(["layers", 0, "params", "theta"], 0),
            None,
            "theta must be an integer in 1..32767, not 0",
        ),
        (_set(["layers", 0, "params", "colour"], "red"), None, "unknown layer parameter"),
        (
            None,
            lambda a: a.__setitem__("stray", np.zeros(3, np.int8)),
            "does not name: \\['stray'\\]",
        ),
        (_set(["encoding"], {"kind": "morse"}), None, "encoding kind must be one of"),
        (
            lambda m: (
                _set(["layers", 1, "params", "n_in"], 5)(m),
                _set(["layers", 1, "arrays", "weight", "shape"], [2, 5])(m),
            ),
            lambda a: a.__setitem__("layer1.weight", np.zeros((2, 5), np.int8)),
            "takes 5 inputs but layer 0",
        ),
    ],
)
def test_defective_files_are_refused(tmp_path, manifest_edit, array_edit, message):
    path = _rewrite(tmp_path, manifest_edit, array_edit)
    with pytest.raises(NetworkFileError, match=message):
        load_network(path)


def test_garbage_and_truncated_files_are_refused(tmp_path):
    garbage = tmp_path / "garbage.sfn"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(NetworkFileError, match="not a spikeforge network file"):
        load_network(garbage)
    truncated = tmp_path / "truncated.sfn"
    truncated.write_bytes(network_to_bytes(_network())[:200])
    with pytest.raises(NetworkFileError, match="not a spikeforge network file"):
        load_network(truncated)
    with pytest.raises(NetworkFileError, match="no such network file"):
        load_network(tmp_path / "missing.sfn")
    no_manifest = tmp_path / "no_manifest.sfn"
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("x.npy", b"")
    with pytest.raises(NetworkFileError):
        load_network(no_manifest)


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "net.sfn"
    save_network(_network(), target)
    before = target.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("spikeforge.model.netfile.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        save_network(_network(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.sfn"]
    assert target.read_bytes() == before


def test_a_killed_save_leaves_a_temporary_file_the_next_save_removes(tmp_path):
    """SIGKILL cannot be caught: the orphan is removed by the next save to the same path."""
    import subprocess
    import sys

    target = tmp_path / "net.sfn"
    script = (
        "import os, signal, sys\n"
        "import spikeforge.model.netfile as netfile\n"
        "from spikeforge.model import Layer, LayerParams, Network, RateEncoding\n"
        "netfile.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "layer = Layer(LayerParams(2, 2), [[1, 2], [3, 4]])\n"
        "netfile.save_network(Network((layer,), RateEncoding(4, 4)), sys.argv[1])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(target)], timeout=120)
    assert proc.returncode == -9
    orphans = [p.name for p in tmp_path.iterdir()]
    assert len(orphans) == 1 and orphans[0].startswith(".net.sfn.") and orphans[0].endswith(".tmp")
    save_network(_network(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.sfn"]
