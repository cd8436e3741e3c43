"""The network file: one versioned, torch-free file holding a quantized network.

A network file is a ZIP archive in NumPy's ``.npz`` layout (conventionally named ``*.sfn``):

* ``manifest`` — the UTF-8 JSON manifest, stored as a uint8 array;
* ``layer<k>.weight``, ``layer<k>.recurrent``, ``layer<k>.bias`` — integer arrays.

The manifest::

    {"format": "spikeforge-network", "version": 2, "name": "...",
     "encoding": {"kind": "rate", "steps": 32, "levels": 16},
     "readout": "spike_count",
     "layers": [{"name": "hidden", "params": {...LayerParams.to_dict()...},
                 "arrays": {"weight": {"key": "layer0.weight", "dtype": "int8",
                                       "shape": [128, 64]}}}, ...],
     "metadata": {...free-form, e.g. training accuracy...}}

Version 3 added a layer's ``connectivity`` (:mod:`.connectivity`: an input spike map, sum
pooling and convolution), ``{"input_shape": [C, H, W], "pool": p, "conv": {"out_channels": ..,
"kernel": .., "stride": .., "padding": ..}}``, with the weight stored as the kernel
``(C_out, C_in, K, K)`` and the bias per output channel. A network without one is written as
version 2, which older readers take; a version 1 or 2 manifest with a connectivity is refused.

A layer may also hold a ``shortcut`` (:mod:`.shortcut`, a residual join; version 3),
``{"source": k, "connectivity": {...1×1 convolution...}}``, with its kernel in the array
``layer<k>.shortcut``.

Version 2 added multi-term decays (a decay is an int or a list of signed shifts), the reset
amount ``theta_reset``, ``input_shift``, ``same_step_recurrence`` and the reset modes
``subtract_before_leak`` and ``clear`` (added later: an older reader refuses it by name);
version 1 files (one shift per decay) load unchanged, and a version 1 manifest that uses any of
these is refused.

It is read by :func:`.archive.read_arrays` (never unpickles; entry sizes, their total, the
entry count and every ``.npy`` header checked before anything is decompressed) and the
manifest's nesting depth is checked before ``json`` parses it. Every defect (a damaged or
hostile archive, wrong format or version, a manifest field of the wrong type, a missing or
unexpected array, a dtype other than the storage dtype of its format — ``int8`` weights for
s1..s8, ``int32`` biases —, a wrong shape, a value that does not fit its format) is a
:class:`NetworkFileError` naming what is wrong and what was expected. Saving writes a temporary
file beside the target and renames it, so a failed save leaves nothing half-written.
"""

import glob
import io
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .archive import ArchiveError, Limits, read_arrays
from .connectivity import Connectivity
from .encoding import encoding_from_dict
from .layer import Layer
from .network import Network, Readout
from .params import LayerParams
from .shortcut import Shortcut

__all__ = [
    "FORMAT",
    "MAX_DEPTH",
    "VERSION",
    "Limits",
    "NetworkFileError",
    "load_network",
    "network_to_bytes",
    "save_network",
]

FORMAT = "spikeforge-network"
VERSION = 3
#: versions this spikeforge reads
READS = (1, 2, 3)
#: the deepest nesting of objects and lists a manifest may have (a real one has 5)
MAX_DEPTH = 32
#: the largest manifest read (bytes of JSON; a real one is a few kB)
MAX_MANIFEST_BYTES = 1 << 20
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


class NetworkFileError(ValueError):
    """A network file that cannot be loaded; the message says what is wrong and what to do."""


def _manifest(network: Network) -> dict:
    layers = []
    for index, layer in enumerate(network.layers):
        arrays = {
            name: {"key": f"layer{index}.{name}", "dtype": str(arr.dtype), "shape": list(arr.shape)}
            for name, arr in layer.arrays.items()
        }
        entry = {"name": layer.name, "params": layer.params.to_dict(), "arrays": arrays}
        if layer.connectivity is not None:
            entry["connectivity"] = layer.connectivity.to_dict()
        if layer.shortcut is not None:
            entry["shortcut"] = layer.shortcut.to_dict()
        layers.append(entry)
    return {
        "format": FORMAT,
        "version": VERSION if network.convolutional else 2,
        "name": network.name,
        "encoding": network.encoding.to_dict(),
        "readout": network.readout.value,
        "layers": layers,
        "metadata": network.metadata,
    }


def network_to_bytes(network: Network) -> bytes:
    """Serialize ``network`` to the bytes of a network file."""
    manifest = json.dumps(_manifest(network), indent=1, sort_keys=True).encode()
    arrays = {"manifest": np.frombuffer(manifest, dtype=np.uint8)}
    for index, layer in enumerate(network.layers):
        for name, arr in layer.arrays.items():
            arrays[f"layer{index}.{name}"] = arr
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save_network(network: Network, path) -> Path:
    """Write ``network`` to ``path`` atomically (temporary file + rename).

    The temporary file ``.<name>.<pid>.<random>.tmp`` is removed on any exception (Ctrl-C and
    the CLI's SIGTERM included); one left by a process that was killed outright (SIGKILL, power
    loss) is removed by the next save to the same path, once that process no longer exists."""
    path = Path(path)
    data = network_to_bytes(network)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _remove_orphans(path: Path) -> None:
    """Remove temporary files of earlier saves to ``path`` whose process has died."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would signal the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or a pid we cannot test: leave its file
    return True


def load_network(path, limits: Limits | None = None) -> Network:
    """Load and validate a network file; every defect is a :class:`NetworkFileError`.

    The archive is read within ``limits`` (:mod:`.archive`: sizes checked before anything is
    decompressed) and the manifest nests at most :data:`MAX_DEPTH` deep (checked before it is
    parsed)."""
    path = Path(path)
    if not path.is_file():
        what = "a directory, not" if path.is_dir() else "no such"
        raise NetworkFileError(f"{path}: {what} network file")
    try:
        contents = read_arrays(path, limits or Limits())
    except (ArchiveError, OSError) as exc:
        raise NetworkFileError(
            f"{path}: not a spikeforge network file (expected a .npz archive written by "
            f"'spikeforge train', 'import' or 'convert'): {exc}"
        ) from None
    try:
        return _from_contents(contents)
    except NetworkFileError as exc:
        raise NetworkFileError(f"{path}: {exc}") from None
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise NetworkFileError(f"{path}: {exc}") from None


def _parse_manifest(raw) -> dict:
    """The manifest object, its nesting depth checked before ``json`` recurses into it."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise NetworkFileError(f"'manifest' must be a 1-d uint8 array, not {raw.dtype}{raw.shape}")
    if raw.size > MAX_MANIFEST_BYTES:
        raise NetworkFileError(f"the manifest is {raw.size} bytes; at most {MAX_MANIFEST_BYTES}")
    try:
        text = raw.tobytes().decode()
    except UnicodeDecodeError as exc:
        raise NetworkFileError(f"the manifest is not UTF-8 text: {exc}") from None
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise NetworkFileError(f"the manifest nests {depth} levels deep; at most {MAX_DEPTH} "
                               "are allowed")
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise NetworkFileError(f"the manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise NetworkFileError(f"the manifest's format must be {FORMAT!r}")
    version = manifest.get("version")
    if type(version) is not int or version not in READS:
        raise NetworkFileError(
            f"network file version {version!r} is not supported; this spikeforge reads versions "
            f"{', '.join(map(str, READS))}: re-export the network with this version"
        )
    for key in ("encoding", "layers"):
        if key not in manifest:
            raise NetworkFileError(f"the manifest has no {key!r}")
    for key, kind, label in (("layers", list, "a non-empty list"),
                             ("encoding", dict, "an object"),
                             ("metadata", dict, "an object"),
                             ("name", str, "a string"),
                             ("readout", str, "a string")):
        if key in manifest and not isinstance(manifest[key], kind):
            raise NetworkFileError(f"the manifest's {key!r} must be {label}, not "
                                   f"{type(manifest[key]).__name__}")
    if not manifest["layers"]:
        raise NetworkFileError("the manifest's 'layers' must be a non-empty list")
    readouts = [r.value for r in Readout]
    if manifest.get("readout", "spike_count") not in readouts:
        raise NetworkFileError(f"the manifest's 'readout' must be one of {', '.join(readouts)}, "
                               f"not {manifest['readout']!r}")
    return manifest


def _nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text``, brackets inside strings ignored.

    One linear pass over the quotes, escapes and brackets; exact up to the first character that
    is not valid JSON, which is where the parser stops too."""
    depth = deepest = 0
    in_string = False
    for token in _TOKENS.findall(text):
        if token == '"':
            in_string = not in_string
        elif not in_string and len(token) == 1:
            depth += 1 if token in "[{" else -1
            deepest = max(deepest, depth)
    return deepest


def _array_spec(index, name, spec) -> tuple:
    """``(key, dtype, shape)`` of one manifest array entry, its types checked."""
    where = f"layers[{index}].arrays[{name!r}]"
    if not isinstance(spec, dict):
        raise NetworkFileError(f"{where} must be an object with key, dtype and shape")
    key, dtype, shape = spec.get("key", f"layer{index}.{name}"), spec.get("dtype"), spec.get(
        "shape")
    if not isinstance(key, str) or not isinstance(dtype, str):
        raise NetworkFileError(f"{where}: 'key' and 'dtype' must be strings")
    if not isinstance(shape, list) or not all(type(d) is int for d in shape):
        raise NetworkFileError(f"{where}: 'shape' must be a list of integers, not {shape!r}")
    return key, dtype, shape


def _storage_dtype(params, name) -> str:
    """The dtype the docs require: the weight format's storage dtype, ``int32`` for biases."""
    if name == "bias":
        return "int32"
    return str(params.weight_format.storage_dtype)


def _from_contents(contents: dict) -> Network:
    if "manifest" not in contents:
        raise NetworkFileError("the archive has no 'manifest' entry")
    manifest = _parse_manifest(contents.pop("manifest"))
    version = manifest["version"]
    layers, used = [], set()
    for index, entry in enumerate(manifest["layers"]):
        if not isinstance(entry, dict) or "params" not in entry or "arrays" not in entry:
            raise NetworkFileError(f"layers[{index}] must be an object with 'params' and 'arrays'")
        if not isinstance(entry["params"], dict):
            raise NetworkFileError(f"layers[{index}].params must be an object of parameters, "
                                   f"not {type(entry['params']).__name__}")
        if not isinstance(entry["arrays"], dict):
            raise NetworkFileError(f"layers[{index}].arrays must be an object mapping weight/"
                                   f"recurrent/bias to arrays, not "
                                   f"{type(entry['arrays']).__name__}")
        if not isinstance(entry.get("name", ""), str):
            raise NetworkFileError(f"layers[{index}].name must be a string")
        try:
            params = LayerParams.from_dict(entry["params"])
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise NetworkFileError(f"layers[{index}].params: {exc}") from None
        if version == 1 and params.version_2:
            raise NetworkFileError(
                f"layers[{index}] uses multi-term decays, theta_reset, input_shift, "
                "same_step_recurrence or reset 'subtract_before_leak' or 'clear', which a "
                "version 1 file cannot hold: set the manifest's version to 2 (or write the file "
                "again with this spikeforge)")
        connectivity = None
        if "connectivity" in entry:
            if version < 3:
                raise NetworkFileError(
                    f"layers[{index}] has a connectivity (pooling or convolution), which a "
                    f"version {version} file cannot hold: set the manifest's version to 3 (or "
                    "write the file again with this spikeforge)")
            try:
                connectivity = Connectivity.from_dict(entry["connectivity"])
            except (TypeError, ValueError, KeyError, OverflowError) as exc:
                raise NetworkFileError(f"layers[{index}].connectivity: {exc}") from None
        shortcut = None
        if "shortcut" in entry:
            if version < 3:
                raise NetworkFileError(
                    f"layers[{index}] has a shortcut (a residual join), which a version "
                    f"{version} file cannot hold: set the manifest's version to 3")
            try:
                shortcut = Shortcut.from_dict(entry["shortcut"])
            except (TypeError, ValueError, KeyError, OverflowError) as exc:
                raise NetworkFileError(f"layers[{index}].shortcut: {exc}") from None
        arrays = {}
        for name, spec in entry["arrays"].items():
            if name not in ("weight", "recurrent", "bias", "shortcut"):
                raise NetworkFileError(f"layers[{index}] names an unknown array {name!r}")
            key, dtype, shape = _array_spec(index, name, spec)
            if key not in contents:
                raise NetworkFileError(
                    f"array {key!r} of layers[{index}] is missing from the archive"
                )
            arr = contents[key]
            if str(arr.dtype) != dtype:
                raise NetworkFileError(
                    f"array {key!r} has dtype {arr.dtype}, but the manifest says {dtype}"
                )
            wanted = _storage_dtype(params, name)
            if dtype != wanted:
                raise NetworkFileError(
                    f"array {key!r} is {dtype}, but a {name} of layers[{index}] is stored as "
                    f"{wanted} (the storage dtype of its format): write the file with "
                    "save_network"
                )
            if list(arr.shape) != shape:
                raise NetworkFileError(
                    f"array {key!r} has shape {list(arr.shape)}, but the manifest says {shape}"
                )
            arrays[name] = arr
            used.add(key)
        if "weight" not in arrays:
            raise NetworkFileError(f"layers[{index}] has no 'weight' array")
        if "shortcut" in arrays:
            arrays["shortcut_weight"] = arrays.pop("shortcut")
        layers.append(Layer(params, name=entry.get("name", f"layer{index}"),
                            connectivity=connectivity, shortcut=shortcut, **arrays))
    extra = sorted(set(contents) - used)
    if extra:
        raise NetworkFileError(f"the archive holds arrays the manifest does not name: {extra}")
    try:
        encoding = encoding_from_dict(manifest["encoding"])
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise NetworkFileError(f"the manifest's 'encoding': {exc}") from None
    return Network(
        tuple(layers),
        encoding,
        Readout(manifest.get("readout", "spike_count")),
        name=manifest.get("name", "network"),
        metadata=manifest.get("metadata", {}),
    )
