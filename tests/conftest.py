"""Test-suite rules kept in one place.

**Slow tests** (``slow`` marker: full training, bitstreams, the 200-network sweeps) run unless
deselected: ``make test`` passes ``-m "not slow"``, ``make test-all`` runs everything, and
``pytest -m slow`` runs them alone. No conftest skips them behind the marker's back.

**The hostile-input probe** (issue 17): the cases of these tests are bad files, bad arguments,
bad frames, interrupts and lost links, each asserting a clear error (or success) with nothing
changed, never a traceback. They carry the ``hostile`` marker, so ``pytest -m hostile`` runs the
probe alone and ``pytest -m hostile --collect-only -q`` counts its cases.

**Parallel workers** (``pytest -n 2 --dist loadfile``, pytest-xdist; ``make test`` uses it):
a test module runs whole on one worker, so its module fixtures (a trained network, a Ray
cluster) are made once; the longest folders are collected first (``LONGEST_FIRST``); each
worker runs torch on one thread, so two workers share two cores instead of fighting over them;
simulator and Yosys builds are shared through the build cache under a lock per design
(:func:`spikeforge.toolchain.build_lock`)."""

import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # before torch is imported anywhere
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

#: test module → the test functions of the probe in it (``None``: every test of the module)
PROBE = {
    "tests/model/test_hostile_files.py": None,
    "tests/model/test_bad_input.py": None,
    "tests/cli/test_bad_arguments.py": None,
    "tests/cli/test_untrusted_model.py": None,
    "tests/cli/test_cli_fuzz.py": None,
    "tests/compiler/test_nir_import.py": ("test_bad_graph_is_refused_clearly",
                                          "test_unreadable_file_is_refused"),
    "tests/boards/test_bad_frames.py": None,
    "tests/boards/test_frame_fuzz.py": None,
    "tests/host/test_link_faults.py": None,
    "tests/boards/test_protocol_contract.py": None,
}


#: folders whose modules run first: the longest (simulator builds, the co-simulated board), so
#: that two workers do not end with one long module running alone
LONGEST_FIRST = ("tests/sim/", "tests/boards/", "tests/host/", "tests/hdl/", "tests/learning/")


def _rank(item):
    module = item.nodeid.partition("::")[0]
    return next((k for k, folder in enumerate(LONGEST_FIRST) if module.startswith(folder)),
                len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_rank)  # stable: each module stays whole and in order
    for item in items:
        module, _, name = item.nodeid.partition("::")
        if module in PROBE and (PROBE[module] is None
                                or name.split("[")[0] in PROBE[module]):
            item.add_marker(pytest.mark.hostile)
