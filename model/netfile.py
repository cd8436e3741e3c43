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

Version 2 added multi-term decays (a decay is an int or a list of signed shifts), the reset
amount ``theta_reset``, ``input_shift``, ``same_step_recurrence`` and the reset mode
``subtract_before_leak``; version 1 files (one shift per decay) load unchanged, and a version 1
manifest that uses any of these is refused. Files are written as version 2.

It is loaded with ``allow_pickle=False``; every defect (wrong format or version, missing or
unexpected array, wrong dtype or shape, a value that does not fit its format) is a
:class:`NetworkFileError` naming what is wrong and what was expected. Saving writes a temporary
file beside the target and renames it, so a failed save leaves nothing half-written.
"""

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .encoding import encoding_from_dict
from .layer import Layer
from .network import Network, Readout
from .params import LayerParams

__all__ = [
    "FORMAT",
    "VERSION",
    "NetworkFileError",
    "load_network",
    "network_to_bytes",
    "save_network",
]

FORMAT = "spikeforge-network"
VERSION = 2
#: versions this spikeforge reads
READS = (1, 2)


class NetworkFileError(ValueError):
    """A network file that cannot be loaded; the message says what is wrong and what to do."""


def _manifest(network: Network) -> dict:
    layers = []
    for index, layer in enumerate(network.layers):
        arrays = {
            name: {"key": f"layer{index}.{name}", "dtype": str(arr.dtype), "shape": list(arr.shape)}
            for name, arr in layer.arrays.items()
        }
        layers.append({"name": layer.name, "params": layer.params.to_dict(), "arrays": arrays})
    return {
        "format": FORMAT,
        "version": VERSION,
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
    """Write ``network`` to ``path`` atomically (temporary file + rename)."""
    path = Path(path)
    data = network_to_bytes(network)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def load_network(path) -> Network:
    """Load and validate a network file."""
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such network file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise NetworkFileError(
            f"{path}: not a spikeforge network file (expected a .npz archive written by "
            f"'spikeforge train', 'import' or 'convert'): {exc}"
        ) from None
    try:
        return _from_contents(contents)
    except NetworkFileError as exc:
        raise NetworkFileError(f"{path}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise NetworkFileError(f"{path}: {exc}") from None


def _from_contents(contents: dict) -> Network:
    if "manifest" not in contents:
        raise NetworkFileError("the archive has no 'manifest' entry")
    raw = contents.pop("manifest")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise NetworkFileError(f"'manifest' must be a 1-d uint8 array, not {raw.dtype}{raw.shape}")
    try:
        manifest = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkFileError(f"the manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise NetworkFileError(f"the manifest's format must be {FORMAT!r}")
    version = manifest.get("version")
    if isinstance(version, bool) or version not in READS:
        raise NetworkFileError(
            f"network file version {version!r} is not supported; this spikeforge reads versions "
            f"{', '.join(map(str, READS))}: re-export the network with this version"
        )
    for key in ("encoding", "layers"):
        if key not in manifest:
            raise NetworkFileError(f"the manifest has no {key!r}")
    if not isinstance(manifest["layers"], list) or not manifest["layers"]:
        raise NetworkFileError("the manifest's 'layers' must be a non-empty list")
    layers, used = [], set()
    for index, entry in enumerate(manifest["layers"]):
        if not isinstance(entry, dict) or "params" not in entry or "arrays" not in entry:
            raise NetworkFileError(f"layers[{index}] must be an object with 'params' and 'arrays'")
        params = LayerParams.from_dict(entry["params"])
        if version == 1 and params.version_2:
            raise NetworkFileError(
                f"layers[{index}] uses multi-term decays, theta_reset, input_shift, "
                "same_step_recurrence or reset 'subtract_before_leak', which a version 1 file "
                "cannot hold: set the manifest's version to 2 (or write the file again with "
                "this spikeforge)")
        arrays = {}
        for name, spec in entry["arrays"].items():
            if name not in ("weight", "recurrent", "bias"):
                raise NetworkFileError(f"layers[{index}] names an unknown array {name!r}")
            key = spec.get("key", f"layer{index}.{name}")
            if key not in contents:
                raise NetworkFileError(
                    f"array {key!r} of layers[{index}] is missing from the archive"
                )
            arr = contents[key]
            if str(arr.dtype) != spec.get("dtype"):
                raise NetworkFileError(
                    f"array {key!r} has dtype {arr.dtype}, "
                    f"but the manifest says {spec.get('dtype')}"
                )
            if list(arr.shape) != list(spec.get("shape", [])):
                raise NetworkFileError(
                    f"array {key!r} has shape {list(arr.shape)}, "
                    f"but the manifest says {spec.get('shape')}"
                )
            arrays[name] = arr
            used.add(key)
        if "weight" not in arrays:
            raise NetworkFileError(f"layers[{index}] has no 'weight' array")
        layers.append(Layer(params, name=entry.get("name", f"layer{index}"), **arrays))
    extra = sorted(set(contents) - used)
    if extra:
        raise NetworkFileError(f"the archive holds arrays the manifest does not name: {extra}")
    return Network(
        tuple(layers),
        encoding_from_dict(manifest["encoding"]),
        Readout(manifest.get("readout", "spike_count")),
        name=manifest.get("name", "network"),
        metadata=manifest.get("metadata", {}),
    )
