"""The demo's stage runner: queued long stages run side by side, keep their queued order in
the report, and a required stage's failure still stops the demo."""

import json

import pytest
from spikeforge.cli.common import CommandError
from spikeforge.cli.demo import _Stages

SCRIPT = """
import json, sys, time
name, seconds, code = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
start = time.time()
time.sleep(seconds)
if code:
    sys.exit(f"{name} cannot run here")
print(json.dumps({"name": name, "start": start, "end": time.time()}))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "stage.py"
    path.write_text(SCRIPT)
    return path


def test_queued_stages_run_side_by_side_in_queued_order(tmp_path, script):
    stages = _Stages(tmp_path / "out")
    stages.later("slow", ["slow", "2", "0"], script=script)
    stages.later("fast", ["fast", "1", "0"], script=script)
    stages.later("skipped", ["skipped", "0", "1"], optional=True, script=script)
    stages.run_later(2)
    # the two stages overlap: each slept while the other did (their own clocks, not the test's
    # elapsed time, which a loaded machine stretches; in turn, one would end before the other
    # starts)
    slow, fast = stages.results["slow"], stages.results["fast"]
    assert max(slow["start"], fast["start"]) < min(slow["end"], fast["end"])
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
