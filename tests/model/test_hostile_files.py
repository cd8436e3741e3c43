"""Crafted network files: every one is a ``NetworkFileError``, in bounded memory (issue 17).

Each case builds a ZIP by hand (:func:`_zip`: names, declared sizes, CRCs and compression exactly
as given) so that the archive can lie in the ways a hostile or damaged file does.
"""

import contextlib
import io
import json
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikeforge.model import (
    Layer,
    LayerParams,
    Network,
    NetworkFileError,
    RateEncoding,
    load_network,
)
from spikeforge.model.netfile import MAX_DEPTH, network_to_bytes

MB = 1 << 20
STORED, DEFLATED = 0, 8


def _network():
    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(4, 3, theta=50), rng.integers(-100, 100, (3, 4)), name="hidden")
    out = Layer(LayerParams(3, 2, theta=50), rng.integers(-100, 100, (2, 3)), name="out")
    return Network((hidden, out), RateEncoding(8, 16))


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_header(descr, shape) -> bytes:
    """An ``.npy`` 1.0 header alone (what np.save writes before the data)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def _entry(name, data, method=DEFLATED, size=None, crc=None, payload=None):
    """One ZIP entry: ``payload`` is what is stored (default: ``data`` compressed by
    ``method``); ``size`` and ``crc`` are what the directory declares (default: the truth)."""
    if payload is None:
        if method == DEFLATED:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = packer.compress(data) + packer.flush()
        else:
            payload = data
    return {"name": name.encode(), "payload": payload, "method": method,
            "size": len(data) if size is None else size,
            "crc": zlib.crc32(data) if crc is None else crc}


def _zip(entries, *, count=None, zip64_locator=False) -> bytes:
    """A ZIP archive of ``entries`` written byte by byte (``count`` overrides the end record)."""
    out, directory = bytearray(), bytearray()
    for e in entries:
        offset = len(out)
        fields = (20, 0, e["method"], 0, 0, e["crc"], len(e["payload"]), e["size"])
        out += b"PK\x03\x04" + struct.pack("<HHHHHIII", *fields)
        out += struct.pack("<HH", len(e["name"]), 0) + e["name"] + e["payload"]
        directory += b"PK\x01\x02" + struct.pack("<HHHHHHIII", 20, 20, *fields[1:])
        directory += struct.pack("<HHHHHII", len(e["name"]), 0, 0, 0, 0, 0, offset) + e["name"]
    start = len(out)
    out += directory
    if zip64_locator:
        out += b"PK\x06\x07" + struct.pack("<IQI", 0, len(out), 1)
    n = len(entries) if count is None else count
    out += b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, n, n, len(directory), start, 0)
    return bytes(out)


def _good_entries(manifest=None, arrays=None):
    """The entries of a valid file, with the manifest and arrays optionally replaced."""
    with np.load(io.BytesIO(network_to_bytes(_network())), allow_pickle=False) as archive:
        contents = {k: archive[k] for k in archive.files}
    text = json.loads(contents.pop("manifest").tobytes())
    if manifest is not None:
        manifest(text)
    contents.update(arrays or {})
    raw = json.dumps(text).encode() if not isinstance(text, bytes) else text
    entries = [_entry("manifest.npy", _npy(np.frombuffer(raw, np.uint8)))]
    return entries + [_entry(f"{k}.npy", _npy(v)) for k, v in contents.items()]


def _with(key, value):
    return lambda m: m.__setitem__(key, value)


def _layer0(key, value):
    return lambda m: m["layers"][0].__setitem__(key, value)


def _replace(entries, name, **changes):
    """``entries`` with the one called ``name`` rebuilt with ``changes``."""
    return [_entry(name, **changes) if e["name"] == name.encode() else e for e in entries]


def _bomb(declared, real):
    """A deflated ``layer0.weight`` of ``real`` zero bytes (a valid header first) that declares
    ``declared`` bytes: about a thousandth of ``real`` on disk."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunks = [packer.compress(_npy_header("|i1", (real - 128,)))]
    zeros = bytes(MB)
    for _ in range(real // MB):
        chunks.append(packer.compress(zeros))
    payload = b"".join(chunks) + packer.flush()
    weight = _good_entries()
    return _zip(_replace(weight, "layer0.weight.npy", data=b"", payload=payload, size=declared,
                         crc=0))


def _deep(depth):
    return ("[" * depth + "]" * depth).encode()


def _deep_manifest():
    raw = b'{"format": "spikeforge-network", "version": 2, "metadata": ' + _deep(100_000) + b"}"
    return _zip([_entry("manifest.npy", _npy(np.frombuffer(raw, np.uint8)))])


#: name → (bytes of the file, what the error must say)
CASES = {
    "corrupt deflate stream": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=_npy(np.zeros((3, 4), np.int8)),
        payload=b"\xff" * 40)), "entry 'layer0.weight' is corrupt"),
    "wrong CRC": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=_npy(np.zeros((3, 4), np.int8)), crc=1234)),
        "entry 'layer0.weight' is corrupt"),
    "header claims 2**40 elements": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=_npy_header("|i1", (2**40,)) + bytes(12))),
        "claims shape \\(1099511627776,\\)"),
    "header claims a negative shape": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=_npy_header("|i1", (-3, 4)))),
        "claims shape \\(-3, 4\\)"),
    "zip bomb (declares 256 MiB)": (lambda: _bomb(256 * MB, 256 * MB),
                                    "declares 268435456 bytes.*refused before decompressing"),
    "zip bomb that lies about its size": (lambda: _bomb(4096, 64 * MB), "is corrupt|holds other"),
    "declared sizes over the total": (lambda: _zip(
        [_entry(f"a{i}.npy", b"", method=STORED, size=12 * MB) for i in range(2)]),
        "more than 16777216 bytes together"),
    "60,000 entries in the end record": (lambda: _zip(_good_entries(), count=60_000),
                                          "lists 60000 entries; at most 256"),
    "ZIP64 locator": (lambda: _zip(_good_entries(), zip64_locator=True), "ZIP64"),
    "manifest nested 100,000 deep": (_deep_manifest, "nests 100001 levels deep; at most 32"),
    "raw entry without .npy": (lambda: _zip([*_good_entries(), _entry("layer0.bias", b"\x01")]),
                               "entry 'layer0.bias' is not a NumPy array"),
    "raw bytes in a .npy entry": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=b"\x01\x02\x03" * 10)),
        "'layer0.weight' is not a valid .npy array"),
    "object array (a pickle)": (lambda: _zip(_replace(
        _good_entries(), "layer0.weight.npy", data=_npy_header("|O", (3, 4)) + bytes(96))),
        "holds object; entries must be plain numeric"),
    "duplicate entry": (lambda: _zip(_good_entries() + _good_entries()[1:2]),
                        "appears twice"),
    "bzip2 entry": (lambda: _zip(_replace(_good_entries(), "layer0.weight.npy",
                                          data=_npy(np.zeros((3, 4), np.int8)), method=12,
                                          payload=b"BZh9")),
                    "compression method 12"),
    "arrays as a string": (lambda: _zip(_good_entries(_layer0("arrays", "weight"))),
                           "layers\\[0\\].arrays must be an object.*not str"),
    "arrays as a list": (lambda: _zip(_good_entries(_layer0("arrays", ["layer0.weight"]))),
                         "layers\\[0\\].arrays must be an object.*not list"),
    "array spec as a string": (lambda: _zip(_good_entries(
        lambda m: m["layers"][0]["arrays"].__setitem__("weight", "layer0.weight"))),
        "arrays\\['weight'\\] must be an object"),
    "shape as a string": (lambda: _zip(_good_entries(
        lambda m: m["layers"][0]["arrays"]["weight"].__setitem__("shape", "3x4"))),
        "'shape' must be a list of integers"),
    "params as a list": (lambda: _zip(_good_entries(_layer0("params", [["n", 3]]))),
                         "layers\\[0\\].params must be an object of parameters, not list"),
    "format as a nested object": (lambda: _zip(_good_entries(lambda m: m["layers"][0]["params"]
                                  .__setitem__("weight_format", [8]))),
                                  "weight_format must be an object with width/signed"),
    "metadata as a list": (lambda: _zip(_good_entries(_with("metadata", [1, 2]))),
                           "'metadata' must be an object, not list"),
    "metadata as a string": (lambda: _zip(_good_entries(_with("metadata", "x"))),
                             "'metadata' must be an object, not str"),
    "version true": (lambda: _zip(_good_entries(_with("version", True))),
                     "version True is not supported"),
    "version 2.0": (lambda: _zip(_good_entries(_with("version", 2.0))),
                    "version 2.0 is not supported"),
    "encoding as a list": (lambda: _zip(_good_entries(_with("encoding", ["rate"]))),
                           "'encoding' must be an object, not list"),
    "unknown readout": (lambda: _zip(_good_entries(_with("readout", "vote"))),
                        "'readout' must be one of spike_count"),
    "name as a number": (lambda: _zip(_good_entries(_with("name", 7))),
                         "'name' must be a string, not int"),
    "manifest not UTF-8": (lambda: _zip([_entry("manifest.npy", _npy(np.full(4, 255, np.uint8)))]),
                           "not UTF-8"),
    "manifest of int16": (lambda: _zip([_entry("manifest.npy", _npy(np.zeros(4, np.int16)))]),
                          "must be a 1-d uint8 array"),
    "pickle file": (lambda: b"\x80\x04\x95" + bytes(40), "not a ZIP archive"),
    "empty file": (lambda: b"", "not a ZIP archive"),
}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    paths = {}
    for index, (name, (make, _)) in enumerate(CASES.items()):
        paths[name] = folder / f"case{index}.sfn"
        paths[name].write_bytes(make())
    return paths


@pytest.mark.parametrize("name", list(CASES))
def test_crafted_file_is_a_network_file_error_in_bounded_memory(crafted, name):
    tracemalloc.start()
    try:
        with pytest.raises(NetworkFileError, match=CASES[name][1]):
            load_network(crafted[name])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"{name}: {peak} bytes allocated while refusing it"


def test_peak_memory_of_a_process_refusing_every_crafted_file(crafted):
    """The issue's bound, as the operating system counts it: the whole process (Python, NumPy
    and spikeforge included) peaks under 100 MB of resident memory (VmHWM: ``ru_maxrss`` would
    count the forking parent) while it refuses every crafted file."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("VmHWM is read from /proc (Linux); tracemalloc bounds the rest elsewhere")
    script = (
        "import sys\n"
        "from spikeforge.model import NetworkFileError, load_network\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        load_network(path)\n"
        "    except NetworkFileError:\n"
        "        continue\n"
        "    sys.exit(f'{path} loaded')\n"
        "status = open('/proc/self/status').read()\n"
        "print(status.split('VmHWM:')[1].split()[0])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, *map(str, crafted.values())],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) * 1024 <= 100 * MB


def test_a_directory_is_named(tmp_path):
    with pytest.raises(NetworkFileError, match="a directory, not network file"):
        load_network(tmp_path)


def test_a_manifest_at_the_depth_limit_is_parsed(tmp_path):
    """Depth ``MAX_DEPTH`` is allowed (the file then fails later, on its missing format)."""
    raw = b'{"a": ' + _deep(MAX_DEPTH - 1) + b"}"
    path = tmp_path / "deep.sfn"
    path.write_bytes(_zip([_entry("manifest.npy", _npy(np.frombuffer(raw, np.uint8)))]))
    with pytest.raises(NetworkFileError, match="format must be 'spikeforge-network'"):
        load_network(path)


def test_a_hand_written_zip_of_a_good_network_loads(tmp_path):
    """The crafted files differ from a good one only where they say: the writer is sound."""
    path = tmp_path / "good.sfn"
    path.write_bytes(_zip(_good_entries()))
    loaded, reference = load_network(path), _network()
    for a, b in zip(loaded.layers, reference.layers, strict=True):
        assert np.array_equal(a.weight, b.weight) and a.params == b.params


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12,
)


def _paths(obj, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(obj, dict | list):
        for key, value in obj.items() if isinstance(obj, dict) else enumerate(obj):
            yield from _paths(value, (*prefix, key))


_MANIFEST = json.loads(np.load(io.BytesIO(network_to_bytes(_network())))["manifest"].tobytes())
_PATHS = list(_paths(_MANIFEST))[1:]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(_PATHS), value=_JSON)
def test_any_value_anywhere_in_the_manifest_loads_or_is_a_network_file_error(where, value):
    manifest = json.loads(json.dumps(_MANIFEST))
    target = manifest
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    raw = json.dumps(manifest).encode()
    entries = [_entry("manifest.npy", _npy(np.frombuffer(raw, np.uint8)))]
    entries += _good_entries()[1:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.sfn"
        path.write_bytes(_zip(entries))
        with contextlib.suppress(NetworkFileError):  # anything else (a traceback) fails
            load_network(path)
