"""``spikeforge bench``: runs the benchmark scripts and gathers their summaries in one table."""

import json

from spikeforge.cli.bench import BENCHMARKS, benchmarks_folder
from spikeforge.cli.main import main


def test_every_registered_benchmark_is_a_script():
    missing = [n for n in BENCHMARKS if not (benchmarks_folder() / f"{n}.py").exists()]
    assert missing == []


def test_bench_reports_a_ratio_against_the_peer(tmp_path, capsys):
    status = main(["bench", "--only", "train_throughput", "--quick", "--out", str(tmp_path),
                   "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["failures"] == {}
    (row,) = report["rows"]
    assert row["benchmark"] == "train_throughput" and row["value"] > 0
    assert row["versus_value"] > 0
    # value and peer are rounded to one sample/s and the ratio (of the unrounded pair) to 0.01,
    # so the ratio lies between the extremes the rounded pair allows
    value, peer = row["value"], row["versus_value"]
    lowest, highest = (value - 0.5) / (peer + 0.5), (value + 0.5) / (peer - 0.5)
    assert lowest - 0.005 <= row["ratio"] <= highest + 0.005
    saved = json.loads((tmp_path / "train_throughput.json").read_text())
    assert saved["summary"][0]["ratio"] == row["ratio"]
    assert json.loads((tmp_path / "bench.json").read_text())["rows"] == report["rows"]
