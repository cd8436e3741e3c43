"""The demo's stage runner: queued long stages run side by side, keep their queued order in
the report, and a required stage's failure still stops the demo."""

import json
import time

import pytest
from spikeforge.cli.common import CommandError
from spikeforge.cli.demo import _Stages

SCRIPT = """
import json, sys, time
name, seconds, code = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
time.sleep(seconds)
if code:
    sys.exit(f"{name} cannot run here")
print(json.dumps({"name": name}))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "stage.py"
    path.write_text(SCRIPT)
    return path


def test_queued_stages_run_side_by_side_in_queued_order(tmp_path, script):
    stages = _Stages(tmp_path / "out")
    stages.later("slow", ["slow", "2", "0"], script=script)
    stages.later("fast", ["fast", "0", "0"], script=script)
    stages.later("skipped", ["skipped", "0", "1"], optional=True, script=script)
    start = time.monotonic()
    stages.run_later(2)
    # the two sleeping stages overlap: well under the 2 s + start-ups of running them in turn
    assert time.monotonic() - start < 2 + 2 * _startup(script)
    assert list(stages.results) == ["slow", "fast", "skipped"]
    assert stages.results["slow"]["name"] == "slow"
    assert stages.results["fast"]["name"] == "fast"
    assert stages.results["skipped"]["skipped"] == "skipped cannot run here"
    assert stages.deferred == []


def test_a_required_queued_stage_that_fails_stops_the_demo(tmp_path, script):
    stages = _Stages(tmp_path / "out")
    stages.later("fine", ["fine", "0", "0"], script=script)
    stages.later("broken", ["broken", "0", "3"], script=script)
    with pytest.raises(CommandError, match="stage 'broken' failed"):
        stages.run_later(2)
    assert json.loads(json.dumps(stages.results["fine"]))["name"] == "fine"


def _startup(script):
    """Seconds one stage process takes to start and exit here (the machine may be loaded)."""
    import subprocess
    import sys
    start = time.monotonic()
    subprocess.run([sys.executable, str(script), "x", "0", "0", "--json"], capture_output=True,
                   check=True)
    return time.monotonic() - start
