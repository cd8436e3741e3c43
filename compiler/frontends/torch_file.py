"""Loading a ``torch.save``'d model without ever running code from the file.

``torch.load(weights_only=False)`` unpickles, and a pickle can call any Python function while it
loads (``os.system`` included): opening a ``.pt`` file from someone else would run their code.
:func:`load_torch_mlp` loads with ``weights_only=True`` — PyTorch's restricted unpickler, which
builds tensors, plain containers and only the classes named in an allowlist, and refuses any
other global *before* calling it — with the allowlist limited to the modules a convertible MLP
is made of (:data:`MLP_MODULES`, and spikeforge's
:class:`~.ann_blocks.ResidualBlock`). Anything else (a custom class, a function call, a file that is
not a torch checkpoint) is a :class:`TorchFileError` and nothing from the file has run.
"""

from pathlib import Path

__all__ = ["MLP_MODULES", "TorchFileError", "load_torch_mlp"]

#: the ``torch.nn`` module classes a ``.pt`` file may hold (names in ``torch.nn``)
MLP_MODULES = ("Sequential", "Linear", "Conv2d", "AvgPool2d", "ReLU", "Flatten", "Identity",
               "Dropout")


class TorchFileError(ValueError):
    """A ``.pt`` file that cannot be loaded safely as a ``torch.nn.Sequential`` MLP."""


def load_torch_mlp(path):
    """The ``torch.nn.Sequential`` saved (``torch.save(model, path)``) in ``path``, loaded with
    ``weights_only=True`` and only :data:`MLP_MODULES` allowed; raises :class:`TorchFileError`."""
    import pickle
    import warnings

    import torch

    path = Path(path)
    cannot = f"{path}: cannot load a torch model:"
    if not path.is_file():
        raise TorchFileError(f"{cannot} not a file (expected a torch.save'd torch.nn.Sequential)")
    from .ann_blocks import ResidualBlock

    allowed = [getattr(torch.nn, name) for name in MLP_MODULES] + [ResidualBlock]
    try:
        with torch.serialization.safe_globals(allowed), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the restricted unpickler warns on protocol 4
            model = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        detail = str(exc).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
        detail = detail.split(" was not an allowed global")[0].split(". Please")[0]
        if "Unsupported global" not in detail:
            raise TorchFileError(f"{cannot} not a torch checkpoint that loads without running "
                                 f"code ({detail}); nothing from it ran") from None
        raise TorchFileError(
            f"{cannot} refused to load: the file asks for something other than tensors and the "
            f"modules {', '.join(MLP_MODULES)} ({detail}); spikeforge never unpickles code. "
            "Save a torch.nn.Sequential of bias-free Linear/Conv2d, ReLU and AvgPool2d layers with "
            "torch.save(model, path)") from None
    except Exception as exc:  # any failure of the restricted unpickler: nothing from the file ran
        raise TorchFileError(f"{cannot} not a torch checkpoint ({exc})") from None
    if not isinstance(model, torch.nn.Sequential):
        raise TorchFileError(
            f"{cannot} it holds a {type(model).__name__}, not a torch.nn.Sequential: save the "
            "module itself (torch.save(model, path)), not its state_dict")
    return model
