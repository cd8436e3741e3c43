"""Datasets behind one interface: scikit-learn's digits, seeded Randman tasks, and users' own
spike data in a ``.npz`` file (:mod:`.spike_file`, converted from Tonic by :mod:`.tonic_events`)."""

from pathlib import Path

from .base import Dataset
from .digits import load_digits
from .randman import make_randman
from .spike_file import SpikeFileError, file_sha256, load_spike_file, save_spike_file
from .tonic_events import from_tonic

__all__ = [
    "DATASETS",
    "Dataset",
    "SpikeFileError",
    "check_fits",
    "data_metadata",
    "dataset_of",
    "file_sha256",
    "from_tonic",
    "load_dataset",
    "load_digits",
    "load_spike_file",
    "make_randman",
    "save_spike_file",
]

DATASETS = ("digits", "randman")


def load_dataset(name: str, steps: int | None = None, seed: int = 0) -> Dataset:
    """A built-in dataset by name (``digits`` or ``randman``)."""
    if name == "digits":
        return load_digits(steps=steps or 32)
    if name == "randman":
        return make_randman(steps=steps or 50, seed=seed)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")


def data_metadata(path, options) -> dict:
    """What a network file records of the data file it was trained on: enough to load the same
    split again (``dataset_of``) and to notice that the file has changed since."""
    return {"dataset": Path(path).name, "data_file": str(path), "data_sha256": file_sha256(path),
            "data_options": dict(options)}


def dataset_of(network, data=None) -> Dataset | None:
    """The dataset to evaluate ``network`` on: the file ``data`` if given (loaded with the
    options the network was trained with), else the built-in dataset or data file its metadata
    names, else None. Raises ``ValueError`` when the data does not fit the network."""
    meta = network.metadata
    options = meta.get("data_options", {}) if isinstance(meta.get("data_options"), dict) else {}
    options = {k: options[k] for k in ("test_fraction", "time_bin", "steps", "seed")
               if k in options}
    if data is None and meta.get("dataset") in DATASETS:
        return load_dataset(meta["dataset"], steps=network.steps)
    if data is None:
        data = meta.get("data_file")
        if not data or not Path(data).is_file():
            return None
        if meta.get("data_sha256") not in (None, file_sha256(data)):
            raise ValueError(f"{data} has changed since the network was trained on it; pass "
                             "--data FILE to use it anyway")
    dataset = load_spike_file(data, **options)
    check_fits(network, dataset)
    return dataset


def check_fits(network, dataset) -> None:
    """Channels, time steps and labels of ``dataset`` against ``network``'s input, encoding and
    output layer."""
    if dataset.n_in != network.n_in:
        raise ValueError(f"{dataset.name} has {dataset.n_in} channels but the network takes "
                         f"{network.n_in} inputs; train a network on it (spikeforge train "
                         "--data FILE) or pass the data it was trained on")
    steps = dataset.x_test.shape[1] if dataset.x_test.ndim == 3 else None
    if steps is not None and steps != network.steps:
        raise ValueError(f"{dataset.name} has {steps} time steps but the network runs "
                         f"{network.steps}; give the data with the network's T")
    n_out = network.layers[-1].params.n
    top = int(max(dataset.y_train.max(initial=0), dataset.y_test.max(initial=0)))
    if top >= n_out:
        raise ValueError(f"{dataset.name} has label {top} but the network's output layer has "
                         f"{n_out} neurons (classes 0..{n_out - 1})")
