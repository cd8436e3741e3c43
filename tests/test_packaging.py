"""The card's folders are one namespace, and a regular wheel ships every subpackage."""

import ast
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
MAPPED = ("model", "compiler", "hdl", "sim", "boards", "cli", "datasets", "host", "viz")


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
