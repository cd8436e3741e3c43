"""Built-in datasets: scikit-learn's digits and seeded Randman tasks, behind one interface."""

from .base import Dataset
from .digits import load_digits
from .randman import make_randman

__all__ = ["DATASETS", "Dataset", "load_dataset", "load_digits", "make_randman"]

DATASETS = ("digits", "randman")


def load_dataset(name: str, steps: int | None = None, seed: int = 0) -> Dataset:
    """A built-in dataset by name (``digits`` or ``randman``)."""
    if name == "digits":
        return load_digits(steps=steps or 32)
    if name == "randman":
        return make_randman(steps=steps or 50, seed=seed)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")
