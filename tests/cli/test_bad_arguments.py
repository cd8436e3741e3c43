"""Bad arguments are refused as they are parsed, naming the argument; interrupts print one line
and leave no temporary files (issue 17)."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from spikeforge.cli.main import main
from spikeforge.model import (
    Layer,
    LayerParams,
    Network,
    RateEncoding,
    final_states,
    initial_state,
    run,
    save_network,
)


def _network():
    rng = np.random.default_rng(0)
    hidden = Layer(LayerParams(4, 3, theta=50), rng.integers(-100, 100, (3, 4)), name="hidden")
    out = Layer(LayerParams(3, 2, theta=50), rng.integers(-100, 100, (2, 3)), name="out")
    return Network((hidden, out), RateEncoding(8, 16), name="tiny")


@pytest.fixture
def net(tmp_path):
    return str(save_network(_network(), tmp_path / "tiny.sfn"))


def _refused(capsys, argv, message):
    """``argv`` is refused at parse time (status 2) with ``message`` and no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err


PARSE_TIME = [
    (["compile", "{net}", "--out", "{tmp}/d", "--samples", "99999999999999999999999"],
     "argument --samples: must be an integer in 1..4096, not 99999999999999999999999"),
    (["build", "{net}", "--board", "icebreaker", "--out", "{tmp}/b", "--baud", "0"],
     "argument --baud: must be an integer >= 1, not 0"),
    (["build", "{net}", "--board", "icebreaker", "--out", "{tmp}/b", "--lanes", "x"],
     "argument --lanes: must be an integer, not 'x'"),
    (["train", "--out", "{tmp}/t.sfn", "--epochs", "0"],
     "argument --epochs: must be an integer >= 1, not 0"),
    (["train", "--out", "{tmp}/t.sfn", "--steps", "0"],
     "argument --steps: must be an integer >= 1, not 0"),
    (["train", "--out", "{tmp}/t.sfn", "--theta", "-1"],
     "argument --theta: must be a finite number > 0, not -1"),
    (["train", "--out", "{tmp}/t.sfn", "--theta", "nan"],
     "argument --theta: must be a finite number > 0, not nan"),
    (["train", "--out", "{tmp}/t.sfn", "--batch-size", "0"],
     "argument --batch-size: must be an integer >= 1, not 0"),
    (["train", "--out", "{tmp}/t.sfn", "--weight-bits", "40"],
     "argument --weight-bits: must be an integer in 2..16, not 40"),
    (["train", "--out", "{tmp}", "--epochs", "1"], "argument --out: {tmp} is a directory"),
    (["eval", "{net}", "--limit", "0"], "argument --limit: must be an integer >= 1, not 0"),
    (["eval", "{net}", "--limit", "-5"], "argument --limit: must be an integer >= 1, not -5"),
    (["convert", "--dataset", "bogus", "--out", "{tmp}/c.sfn"],
     "argument --dataset: invalid choice: 'bogus'"),
    (["convert", "--model", "{tmp}/missing.pt", "--out", "{tmp}/c.sfn"],
     "argument --model: {tmp}/missing.pt: no such torch model file"),
    (["cosim", "{net}", "--density", "5"],
     "argument --density: must be a finite number in 0..1, not 5"),
    (["cosim", "{net}", "--samples", "0"], "argument --samples: must be an integer >= 1, not 0"),
    (["compile", "{net}", "--out", "{net}/design"],
     "argument --out: cannot create {net}/design: {net} is not a directory"),
    (["compile", "{net}", "--out", "{tmp}"], "argument --out: {tmp} exists"),
    (["info", "{tmp}"], "argument netfile: {tmp} is a directory, not a network file"),
    (["info", "{tmp}/missing.sfn"], "argument netfile: {tmp}/missing.sfn: no such network file"),
    (["deploy", "{net}", "--port", "loop://", "--timeout", "0"],
     "argument --timeout: must be a finite number > 0, not 0"),
    (["run", "--port", "loop://", "--network", "{net}", "--input", "{tmp}/x.txt"],
     "argument --input: {tmp}/x.txt: expected 'digits', a .npz spike dataset"),
    (["train", "--data", "{tmp}/x.npy", "--out", "{tmp}/n.sfn"],
     "argument --data: {tmp}/x.npy: expected a .npz spike dataset"),
    (["eval", "{net}", "--data", "{tmp}/missing.npz"],
     "argument --data: {tmp}/missing.npz: no such spike dataset file (.npz)"),
    (["train", "--data", "{tmp}/x.npz", "--test-fraction", "0", "--out", "{tmp}/n.sfn"],
     "argument --test-fraction: must be a finite number > 0, not 0"),
    (["run", "--port", "loop://", "--network", "{tmp}", "--input", "digits"],
     "argument --network: {tmp} is a directory, not a network file"),
    (["import", "{tmp}/g.nir", "--out", "{tmp}/i.sfn"],
     "argument model: {tmp}/g.nir: no such NIR file"),
]


@pytest.mark.parametrize(("argv", "message"), PARSE_TIME, ids=lambda v: " ".join(v)[:60]
                         if isinstance(v, list) else None)
def test_bad_argument_is_refused_at_parse_time(tmp_path, net, capsys, argv, message):
    for name in ("x.npz", "x.npy", "x.txt"):
        (tmp_path / name).write_bytes(b"")
    fill = {"net": net, "tmp": str(tmp_path)}
    _refused(capsys, [a.format(**fill) for a in argv], message.format(**fill))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_out_under_an_unwritable_folder(tmp_path, net, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    _refused(capsys, ["compile", net, "--out", str(locked / "design")],
             f"argument --out: cannot create {locked}/design: {locked} is not writable")


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 8, 5), np.uint8), "holds spikes of shape (2, 8, 5); tiny takes "
                                        "(batch >= 1, T >= 1, 4)"),
        (np.full((2, 8, 4), 2, np.uint8), "spikes must be 0 or 1 (one event each)"),
        (np.zeros((2, 8, 4), np.float32), "spikes must be integers 0/1, not float32"),
        (np.zeros((2, 5), np.int64), "has shape (2, 5); expected samples (batch, 4)"),
        (np.zeros(4, np.int64), "has shape (4,); expected samples (batch, 4)"),
        (np.full((2, 4), 17, np.int64), "sample intensities must be in 0..16"),
    ],
)
def test_input_of_the_wrong_shape_or_values_is_refused_before_the_device(
        tmp_path, net, capsys, array, message):
    path = tmp_path / "input.npy"
    np.save(path, array)
    # loop:// is a pyserial device that never answers: the input is refused before it is used
    code = main(["run", "--port", "loop://", "--network", net, "--input", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "argument --input:" in err and message in err, err


def test_reference_refuses_spike_values_other_than_0_and_1():
    network = _network()
    x = np.zeros((1, 3, 4), np.int64)
    x[0, 1, 2] = 3
    with pytest.raises(ValueError, match=r"input spikes must be 0 or 1 \(one event each\), not 3"):
        run(network, x)
    with pytest.raises(TypeError, match="input spikes must be numbers 0/1, not <U1"):
        run(network, np.full((1, 3, 4), "1"))
    trace = run(network, np.ones((1, 3, 4), bool))  # bool and 0/1 of any integer type are fine
    assert trace.spikes[0].shape == (1, 3, 3)


def test_final_states_of_an_empty_trace_is_a_clear_error():
    network = _network()
    trace = run(network, np.zeros((2, 0, 4), np.uint8))
    with pytest.raises(ValueError, match=r"the trace has no steps \(T = 0\)"):
        final_states(trace)
    states = final_states(run(network, np.zeros((2, 1, 4), np.uint8)))
    for got, start in zip(states, [initial_state(ly, 2) for ly in network.layers], strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(got, start, strict=True))


def _interrupt_compile(monkeypatch, interrupt):
    """Make ``compile`` call ``interrupt`` while its staging folder holds files."""
    import spikeforge.compiler.emit as emit

    def waiver_file():
        interrupt()
        return ""

    monkeypatch.setattr(emit, "waiver_file", waiver_file)


@pytest.mark.parametrize(
    ("interrupt", "code", "line"),
    [
        (lambda: (_ for _ in ()).throw(KeyboardInterrupt()), 130,
         "spikeforge compile: interrupted"),
        (lambda: os.kill(os.getpid(), signal.SIGTERM), 143, "spikeforge compile: terminated"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_interrupted_compile_prints_one_line_and_leaves_nothing(
        tmp_path, net, capsys, monkeypatch, interrupt, code, line):
    _interrupt_compile(monkeypatch, interrupt)
    before = set(os.listdir(tmp_path))
    assert main(["compile", net, "--out", str(tmp_path / "design")]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == line and not any("Traceback" in e for e in err)
    assert set(os.listdir(tmp_path)) == before  # no design, no .design-* staging folder


def _interruptible():
    """In the child before it starts: SIGINT to its default, so that Python turns it into
    KeyboardInterrupt even when this test run ignores it (a background job of a non-interactive
    shell, as CI may start it, inherits SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_a_real_process(tmp_path, net):
    """SIGINT delivered to a running ``spikeforge compile`` process: one line, status 130, no
    staging folder left."""
    script = textwrap.dedent(f"""
        import sys, time
        import spikeforge.compiler.emit as emit
        from spikeforge.cli.main import main

        def waiver_file():
            print("ready", flush=True)
            time.sleep(60)

        emit.waiver_file = waiver_file
        sys.exit(main(["compile", {net!r}, "--out", {str(tmp_path / "design")!r}]))
    """)
    before = set(os.listdir(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "spikeforge compile: interrupted"
    assert "Traceback" not in err
    assert set(os.listdir(tmp_path)) == before


def test_a_full_disk_during_compile_is_one_line_and_leaves_nothing(tmp_path, net, capsys,
                                                                     monkeypatch):
    def disk_full():
        raise OSError(28, "No space left on device")

    _interrupt_compile(monkeypatch, disk_full)
    before = set(os.listdir(tmp_path))
    assert main(["compile", net, "--out", str(tmp_path / "design")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "No space left on device" in err and "Traceback" not in err
    assert set(os.listdir(tmp_path)) == before


def test_a_killed_compile_leaves_a_staging_folder_the_next_compile_removes(tmp_path, net):
    """SIGKILL cannot be caught: the staging folder (named with the dead process's pid) stays,
    and the next compile to the same ``--out`` removes it and writes the design."""
    out = tmp_path / "design"
    script = textwrap.dedent(f"""
        import os, signal, sys
        import spikeforge.compiler.emit as emit
        from spikeforge.cli.main import main

        def waiver_file():
            os.kill(os.getpid(), signal.SIGKILL)

        emit.waiver_file = waiver_file
        sys.exit(main(["compile", {net!r}, "--out", {str(out)!r}]))
    """)
    before = set(os.listdir(tmp_path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    orphans = sorted(set(os.listdir(tmp_path)) - before)
    assert len(orphans) == 1 and orphans[0].startswith(".design.") and orphans[0].endswith(
        ".staging"), orphans
    assert (tmp_path / orphans[0] / "spikeforge_top.v").is_file()  # killed mid-way
    assert main(["compile", net, "--out", str(out)]) == 0
    assert set(os.listdir(tmp_path)) == before | {"design"}
    assert (out / "spikeforge_top.v").is_file() and (out / "report.json").is_file()


def test_staging_folders_of_live_processes_are_left(tmp_path):
    """Only orphans go: a staging folder whose pid is alive (this process), one not named by a
    pid, and a plain file with the staging name are left alone."""
    from spikeforge.compiler.emit import remove_orphans

    mine = tmp_path / f".design.{os.getpid()}.abc.staging"
    odd = tmp_path / ".design.notapid.staging"
    plain = tmp_path / ".design.999999999.x.staging"
    mine.mkdir()
    odd.mkdir()
    plain.write_text("")
    assert remove_orphans(tmp_path / "design") == []
    assert {p.name for p in tmp_path.iterdir()} == {mine.name, odd.name, plain.name}
