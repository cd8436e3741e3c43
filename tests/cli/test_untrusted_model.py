"""``spikeforge convert --model FILE.pt`` never runs code from the file (issue 17)."""

import pickle
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional dependency (convert needs it)")

from spikeforge.compiler.frontends import load  # noqa: E402
from spikeforge.compiler.frontends.ann import ConversionError  # noqa: E402
from spikeforge.compiler.frontends.torch_file import TorchFileError, load_torch_mlp  # noqa: E402


class _Payload:
    """Unpickling this calls ``exec``: it would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran')",))


def _mlp():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16, bias=False),
                               torch.nn.ReLU(), torch.nn.Dropout(0.1),
                               torch.nn.Linear(16, 10, bias=False))


def _hostile_files(tmp_path, marker):
    """The same payload in every container a user could be handed."""
    files = {}
    files["zip.pt"] = tmp_path / "zip.pt"
    torch.save({"model": _Payload(marker)}, files["zip.pt"])
    files["legacy.pt"] = tmp_path / "legacy.pt"
    with open(files["legacy.pt"], "wb") as handle:
        torch.save(_Payload(marker), handle, _use_new_zipfile_serialization=False)
    files["raw.pt"] = tmp_path / "raw.pt"
    files["raw.pt"].write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    files["inside_module.pt"] = tmp_path / "inside_module.pt"
    model = _mlp()
    model[1].hook = _Payload(marker)  # a payload hidden in an allowed module's attributes
    torch.save(model, files["inside_module.pt"])
    return files


def test_a_saved_mlp_loads_with_weights_only(tmp_path):
    path = tmp_path / "mlp.pt"
    model = _mlp()
    torch.save(model, path)
    loaded = load_torch_mlp(path)
    assert [type(m).__name__ for m in loaded] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["zip.pt", "legacy.pt", "raw.pt", "inside_module.pt"])
def test_a_pickle_carrying_code_is_refused_without_running_it(tmp_path, name):
    marker = tmp_path / "marker"
    path = _hostile_files(tmp_path, marker)[name]
    assert not marker.exists()
    with pytest.raises(TorchFileError, match=r"refused to load|not a torch checkpoint"):
        load_torch_mlp(path)
    with pytest.raises(ConversionError):  # the compiler's front end goes the same way
        load(path, encoding=None, calibration=None)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: torch.save(_mlp().state_dict(), p), "holds a OrderedDict, not a torch.nn"),
        (lambda p: p.write_text("not a checkpoint"), "not a torch checkpoint"),
        (lambda p: p.mkdir(), "not a file"),
    ],
)
def test_files_that_are_not_a_saved_mlp_are_named(tmp_path, make, message):
    path = tmp_path / "model.pt"
    make(path)
    with pytest.raises(TorchFileError, match=message):
        load_torch_mlp(path)


def test_convert_cli_refuses_the_pickle_with_one_line(tmp_path):
    marker = tmp_path / "marker"
    path = _hostile_files(tmp_path, marker)["zip.pt"]
    proc = subprocess.run(
        [sys.executable, "-m", "spikeforge.cli.main", "convert", "--model", str(path),
         "--out", str(tmp_path / "out.sfn")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "refused to load" in proc.stderr and "never unpickles code" in proc.stderr
    assert not marker.exists() and not (tmp_path / "out.sfn").exists()
