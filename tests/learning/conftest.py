"""The larger learning co-simulation sweeps run only when asked for with ``-m slow``."""

import pytest


def pytest_collection_modifyitems(config, items):
    expression = config.getoption("markexpr") or ""
    if "slow" in expression and "not slow" not in expression:
        return
    skip = pytest.mark.skip(reason="large learning co-simulation sweep: run with -m slow")
    for item in items:
        if "slow" in item.keywords and item.path.parent == config.rootpath / "tests" / "learning":
            item.add_marker(skip)
