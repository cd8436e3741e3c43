"""The card's folders are one namespace, and a regular wheel ships every subpackage."""

import ast
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
MAPPED = ("model", "compiler", "hdl", "sim", "boards", "cli", "datasets", "host", "link", "viz")


def _declared_packages():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_subpackage_is_declared():
    found = {"spikeforge"}
    for top in MAPPED:
        for init in (ROOT / top).rglob("__init__.py") if (ROOT / top).is_dir() else ():
            rel = init.parent.relative_to(ROOT)
            found.add(".".join(("spikeforge", *rel.parts)))
    missing = sorted(found - _declared_packages())
    assert missing == [], f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_reference_model_does_not_import_torch():
    offenders = []
    for path in (ROOT / "model").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "torch"]
    assert offenders == []


def test_importing_the_model_leaves_torch_unloaded():
    import subprocess

    code = "import sys, spikeforge.model; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_regular_wheel_ships_every_subpackage(tmp_path):
    """A wheel (not the editable install) imports every subpackage from outside the checkout."""
    import subprocess

    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheel")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("spikeforge-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)],
                   check=True, capture_output=True)
    code = ("import importlib, spikeforge; "
            f"[importlib.import_module(p) for p in {sorted(_declared_packages())!r}]; "
            "print(spikeforge.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""})
    assert Path(out.stdout.strip()).is_relative_to(tmp_path / "site")
