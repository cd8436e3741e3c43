"""Progress bars: on a terminal they count what finished; with ``--json`` or off a terminal they
print nothing; a build's stages are counted from the files its tools write."""

import argparse
import io
import threading
import time

from spikeforge.boards.build import STAGES, _watch_stages
from spikeforge.cli.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_counts_on_a_terminal_and_is_silent_otherwise(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with Progress(argparse.Namespace(json=False), 4, "cosim verilator", "sample") as bar:
        assert bar.enabled
        for done in range(1, 5):
            bar(done, 4)
    assert "cosim verilator" in terminal.getvalue() and "4/4" in terminal.getvalue()

    for args, stream in ((argparse.Namespace(json=True), _Terminal()),
                         (argparse.Namespace(json=False), io.StringIO())):
        monkeypatch.setattr("sys.stderr", stream)
        with Progress(args, 4, "cosim", "sample") as bar:
            assert not bar.enabled
            bar(4, 4)
        assert stream.getvalue() == ""


def test_build_stages_are_counted_from_the_files_the_tools_write(tmp_path):
    seen, stop = [], threading.Event()
    record = lambda done, total, status: seen.append((done, total, status))  # noqa: E731
    (tmp_path / "top.bin").write_bytes(b"old")  # a stale file from an earlier build is ignored
    since = time.time() + 0.01
    time.sleep(0.05)
    watcher = threading.Thread(target=_watch_stages, args=(tmp_path, "top", since, record, stop))
    watcher.start()
    for suffix in (".tim", ".asc", ".bin"):
        time.sleep(0.7)
        (tmp_path / f"top{suffix}").write_text("x")
    time.sleep(0.7)
    stop.set()
    watcher.join()
    assert seen[0] == (0, 3, "synthesis")
    assert next(s for s in seen if s[0] == 1) == (1, 3, "place and route")
    assert next(s for s in seen if s[0] == 2) == (2, 3, "bitstream")
    assert seen[-1][:2] == (3, 3) and len(STAGES) == 3
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
