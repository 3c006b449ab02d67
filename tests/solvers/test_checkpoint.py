"""Interrupt and resume: checkpoints of the global search (spherecodes.solvers.checkpoint).

The bit-exact tests interrupt in-process at a known point (a signal sent from the progress
callback at a round boundary, or a KeyboardInterrupt raised inside a round); the subprocess
tests send a real SIGINT / SIGTERM to ``spherecodes generate --checkpoint`` at a random moment.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes import Code, generate
from spherecodes.cli import cli
from spherecodes.errors import InvalidParameterError
from spherecodes.solvers import checkpoint as ckpt
from spherecodes.solvers import solve
from spherecodes.solvers.solve import SearchInterrupted

solve_module = importlib.import_module("spherecodes.solvers.solve")  # the package attribute is the function

# a search with a few rounds to interrupt, small enough to run in about a second
SEARCH = dict(restarts=2, rounds=4, patience=4, seed=11)
D, K = 3, 7


def _signal_at(round_index: int, signum: int = signal.SIGINT):
    """A progress callback that sends ``signum`` to this process right after round ``round_index``."""

    def progress(info: dict) -> None:
        if info["round"] == round_index and not info.get("resumed"):
            os.kill(os.getpid(), signum)

    return progress


def _same_search(a, b) -> None:
    assert np.array_equal(a.points, b.points)  # bit-identical
    assert a.scores == b.scores
    assert np.array_equal(a.restart_scores, b.restart_scores)
    assert a.rounds == b.rounds and a.stop_reason == b.stop_reason and a.seed == b.seed
    assert [h["best"] for h in a.history] == [h["best"] for h in b.history]


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted search."""
    return solve("riesz", D, K, **SEARCH)


@pytest.mark.parametrize("round_index", [0, 1, 3])
def test_sigint_at_a_round_boundary_then_resume_is_bit_identical(tmp_path, reference, round_index):
    path = tmp_path / "search.npz"
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(round_index), **SEARCH)
    exc = info.value
    assert exc.signal_name == "SIGINT" and exc.exit_status == 130
    assert exc.checkpoint == path.resolve() and exc.rounds_done == round_index
    assert "resume=True" in str(exc) and str(path.resolve()) in str(exc)
    state = ckpt.load_checkpoint(path)
    assert state.round == round_index and state.stop_reason == ""
    assert state.pool_points.shape == (SEARCH["restarts"], K, D)
    resumed = solve("riesz", D, K, checkpoint=path, resume=True, **SEARCH)
    _same_search(resumed, reference)


@pytest.fixture
def default_signal_handlers():
    """Python's default SIGINT / SIGTERM handlers for the test, whatever the suite started with.

    A suite started in the background (``nohup python -m pytest &``) begins with SIGINT ignored, so a
    SIGINT sent by a test would never raise KeyboardInterrupt.
    """
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


def test_sigterm_is_handled_like_sigint(tmp_path, reference, default_signal_handlers):
    path = tmp_path / "search.npz"
    found = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(2, signal.SIGTERM), **SEARCH)
    assert info.value.signal_name == "SIGTERM" and info.value.exit_status == 128 + signal.SIGTERM
    _same_search(solve("riesz", D, K, checkpoint=path, resume=True, **SEARCH), reference)
    # the handlers found before the call are restored afterwards
    assert signal.getsignal(signal.SIGTERM) == found[signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) == found[signal.SIGINT]


def test_handlers_found_before_the_call_are_restored_even_when_sigint_starts_ignored(tmp_path):
    """The background-suite situation: SIGINT ignored before the search stays ignored after it."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        solve("riesz", D, K, checkpoint=tmp_path / "search.npz", **SEARCH)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("call", [3, 5])
def test_interrupt_inside_a_round_repeats_that_round(tmp_path, monkeypatch, reference, call):
    """A KeyboardInterrupt in the middle of an L-BFGS run: the last completed round is saved."""
    path = tmp_path / "search.npz"
    real = solve_module.riemannian_lbfgs
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(solve_module, "riemannian_lbfgs", flaky)
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, **SEARCH)
    monkeypatch.setattr(solve_module, "riemannian_lbfgs", real)
    # riesz runs one L-BFGS stage per round: call n interrupts round n-1, so n-2 rounds were completed
    assert info.value.rounds_done == call - 2
    _same_search(solve("riesz", D, K, checkpoint=path, resume=True, **SEARCH), reference)


def test_interrupt_during_round_zero_saves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "search.npz"

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_module, "riemannian_lbfgs", stop)
    with pytest.raises(SearchInterrupted, match="during round 0") as info:
        solve("riesz", D, K, checkpoint=path, **SEARCH)
    assert info.value.checkpoint is None and info.value.rounds_done is None
    assert not path.exists()


def test_without_a_checkpoint_ctrl_c_is_a_plain_keyboard_interrupt(default_signal_handlers):
    with pytest.raises(KeyboardInterrupt) as info:
        solve("riesz", D, K, progress=_signal_at(1), **SEARCH)
    assert not isinstance(info.value, SearchInterrupted)


def test_other_objectives_resume_bit_identically(tmp_path):
    for objective in ("tammes", "mgd"):
        kwargs = dict(restarts=2, rounds=2, patience=2, seed=5)
        ref = solve(objective, 3, 6, **kwargs)
        path = tmp_path / f"{objective}.npz"
        with pytest.raises(SearchInterrupted):
            solve(objective, 3, 6, checkpoint=path, progress=_signal_at(1), **kwargs)
        _same_search(solve(objective, 3, 6, checkpoint=path, resume=True, **kwargs), ref)


def test_generate_passes_checkpoint_and_resume_through(tmp_path):
    kwargs = dict(restarts=2, rounds=4, seed=3, use_constructions=False, catalog=False, certify=False)
    ref = generate("riesz", 3, 11, **kwargs)
    path = tmp_path / "gen.npz"
    with pytest.raises(SearchInterrupted):
        generate("riesz", 3, 11, checkpoint=path, progress=_signal_at(2), **kwargs)
    resumed = generate("riesz", 3, 11, checkpoint=path, resume=True, **kwargs)
    assert np.array_equal(resumed.points, ref.points)
    assert resumed.provenance["seed"] == ref.provenance["seed"] == 3


def test_finished_checkpoint_returns_the_result_without_new_work(tmp_path, monkeypatch, reference):
    path = tmp_path / "search.npz"
    _same_search(solve("riesz", D, K, checkpoint=path, **SEARCH), reference)
    assert ckpt.load_checkpoint(path).stop_reason == reference.stop_reason

    def forbidden(*args, **kwargs):
        raise AssertionError("a finished search must not optimise again")

    monkeypatch.setattr(solve_module, "riemannian_lbfgs", forbidden)
    again = solve("riesz", D, K, checkpoint=path, resume=True, **SEARCH)
    _same_search(again, reference)


def test_more_rounds_on_resume_continue_the_same_search(tmp_path):
    longer = solve("riesz", D, K, **dict(SEARCH, rounds=5, patience=50))
    path = tmp_path / "search.npz"
    short = solve("riesz", D, K, checkpoint=path, **dict(SEARCH, rounds=2, patience=50))
    assert short.rounds == 2
    resumed = solve("riesz", D, K, checkpoint=path, resume=True, **dict(SEARCH, rounds=5, patience=50))
    _same_search(resumed, longer)


def test_seed_is_taken_from_the_checkpoint(tmp_path):
    path = tmp_path / "search.npz"
    kwargs = dict(restarts=2, rounds=3, patience=3)
    with pytest.raises(SearchInterrupted):
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(1), **kwargs)  # seed drawn at random
    seed = ckpt.load_checkpoint(path).seed
    resumed = solve("riesz", D, K, checkpoint=path, resume=True, **kwargs)
    assert resumed.seed == seed
    assert np.array_equal(resumed.points, solve("riesz", D, K, seed=seed, **kwargs).points)


def test_checkpoint_is_a_loadable_code(tmp_path):
    path = tmp_path / "search.npz"
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(2), **SEARCH)
    code = Code.load(path)
    assert code.objective == "riesz" and code.K == K and code.d == D
    assert code.scores["energy"] == info.value.best_scores["energy"]
    assert np.all(np.isfinite(code.points))


# ------------------------------------------------------------------ bad requests
def test_existing_checkpoint_needs_resume(tmp_path):
    path = tmp_path / "search.npz"
    solve("riesz", D, K, checkpoint=path, restarts=1, rounds=0, seed=0)
    with pytest.raises(InvalidParameterError, match="resume=True") as info:
        solve("riesz", D, K, checkpoint=path, restarts=1, rounds=0, seed=0)
    assert info.value.param == "checkpoint"


def test_resume_needs_a_checkpoint():
    with pytest.raises(InvalidParameterError) as info:
        solve("riesz", D, K, resume=True)
    assert info.value.param == "resume"


@pytest.mark.parametrize("change,field", [({"seed": 12}, "seed"), ({"restarts": 4}, "restarts"),
                                          ({"s": 2.0}, "params"), ({"dtype": "float32"}, "dtype")])
def test_resume_with_other_options_names_what_differs(tmp_path, change, field):
    path = tmp_path / "search.npz"
    solve("riesz", D, K, checkpoint=path, restarts=3, rounds=0, seed=11)
    kwargs = dict(dict(restarts=3, rounds=0, seed=11), **change)
    with pytest.raises(InvalidParameterError, match=f"{field}: checkpoint"):
        solve("riesz", D, K, checkpoint=path, resume=True, **kwargs)


def test_resume_with_a_missing_file_starts_a_new_search(tmp_path):
    path = tmp_path / "new.npz"
    a = solve("riesz", D, K, checkpoint=path, resume=True, restarts=2, rounds=1, seed=4)
    b = solve("riesz", D, K, restarts=2, rounds=1, seed=4)
    assert np.array_equal(a.points, b.points) and path.exists()


@pytest.mark.parametrize("bad", ["", "no/such/dir/x.npz", ".", 5])
def test_unusable_checkpoint_paths(tmp_path, monkeypatch, bad):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError) as info:
        solve("riesz", D, K, checkpoint=bad, restarts=1, rounds=0, seed=0)
    assert info.value.param == "checkpoint"


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _member_data_range(path, name):
    """Byte range of the stored data of zip member ``name`` (an uncompressed .npz member)."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw = path.read_bytes()
    n_name, n_extra = struct.unpack("<HH", raw[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + n_name + n_extra
    return start, start + info.compress_size


def test_damaged_checkpoints_are_detected(tmp_path):
    path = tmp_path / "search.npz"
    solve("riesz", D, K, checkpoint=path, restarts=2, rounds=1, seed=0)
    good = path.read_bytes()
    original = ckpt.load_checkpoint(path)
    assert ckpt.check_checkpoint(path)[0]
    rng = np.random.default_rng(0)
    lo, hi = _member_data_range(path, "pool.npy")
    anywhere = [int(o) for o in rng.integers(0, len(good), 30)]
    in_pool = [int(o) for o in rng.integers(lo, hi, 10)]
    detected = 0
    for offset in anywhere + in_pool:
        path.write_bytes(good)
        _flip(path, offset)
        ok, reason = ckpt.check_checkpoint(path)
        if ok:
            # the flip hit bytes that no saved value depends on (a zip timestamp, ...): nothing changed
            assert offset not in in_pool
            state = ckpt.load_checkpoint(path)
            assert np.array_equal(state.pool_points, original.pool_points)
            assert np.array_equal(state.rng_state, original.rng_state)
            assert state.pool_scores == original.pool_scores and state.round == original.round
        else:
            detected += 1
            assert "delete it" in reason
            with pytest.raises(InvalidParameterError) as info:
                solve("riesz", D, K, checkpoint=path, resume=True, restarts=2, rounds=1, seed=0)
            assert info.value.param == "checkpoint"
    print(f"flipped bytes: {detected} of {len(anywhere) + len(in_pool)} detected, the rest changed no saved value")
    assert detected >= len(in_pool)
    path.write_bytes(good[: len(good) // 2])  # a truncated file
    assert not ckpt.check_checkpoint(path)[0]


def test_failed_checkpoint_writes_do_not_stop_the_search(tmp_path, monkeypatch, reference, caplog):
    path = tmp_path / "search.npz"

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt, "save_checkpoint", full_disk)
    result = solve("riesz", D, K, checkpoint=path, **SEARCH)
    _same_search(result, reference)
    assert "could not write" in caplog.text and not path.exists()
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(1), **SEARCH)
    assert info.value.checkpoint is None and "No space left" in info.value.save_error
    assert "could not be written" in str(info.value)


def test_a_second_signal_while_saving_does_not_break_the_write(tmp_path, monkeypatch, reference):
    path = tmp_path / "search.npz"
    real = ckpt.save_checkpoint
    writes = []

    def impatient(*args, **kwargs):
        writes.append(1)
        if len(writes) == 2:  # the write after the interrupt: press Ctrl-C again
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(ckpt, "save_checkpoint", impatient)
    with pytest.raises(SearchInterrupted) as info:
        solve("riesz", D, K, checkpoint=path, progress=_signal_at(2), **SEARCH)
    assert len(writes) == 2 and info.value.checkpoint is not None
    assert ckpt.load_checkpoint(path).round == 2
    monkeypatch.setattr(ckpt, "save_checkpoint", real)
    _same_search(solve("riesz", D, K, checkpoint=path, resume=True, **SEARCH), reference)


def test_periodic_writes_follow_the_interval(tmp_path, monkeypatch):
    path = tmp_path / "search.npz"
    real = ckpt.save_checkpoint
    rounds_written = []

    def spy(p, state, meta=None):
        rounds_written.append(state.round)
        return real(p, state, meta)

    monkeypatch.setattr(ckpt, "save_checkpoint", spy)
    monkeypatch.setattr(ckpt, "SAVE_INTERVAL_S", 0.0)
    solve("riesz", D, K, checkpoint=path, **SEARCH)
    assert rounds_written == [*range(SEARCH["rounds"] + 1), SEARCH["rounds"]]  # every round, then the end
    path.unlink()
    rounds_written.clear()
    monkeypatch.setattr(ckpt, "SAVE_INTERVAL_S", 1e9)
    solve("riesz", D, K, checkpoint=path, **SEARCH)
    assert rounds_written == [0, SEARCH["rounds"]]  # round 0 and the end only


# ------------------------------------------------------------------ command line
def _interrupt_after_calls(monkeypatch, n):
    real = solve_module.riemannian_lbfgs
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(solve_module, "riemannian_lbfgs", flaky)
    return real


def test_cli_prints_a_resume_command_that_works(tmp_path, monkeypatch):
    runner = CliRunner()
    base = ["generate", "riesz", "-d", "3", "-K", "10", "--s", "2", "--seed", "9", "--restarts", "2", "--rounds", "4",
            "--no-catalog", "--no-constructions", "-q"]
    ref_out = tmp_path / "ref.npz"
    assert runner.invoke(cli, [*base, "--out", str(ref_out)]).exit_code == 0
    ckfile = tmp_path / "ck.npz"
    real = _interrupt_after_calls(monkeypatch, 3)
    result = runner.invoke(cli, [*base, "--checkpoint", str(ckfile), "--out", str(tmp_path / "x.npz")])
    monkeypatch.setattr(solve_module, "riemannian_lbfgs", real)
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output and "search state saved to" in result.output
    line = next(x for x in result.output.splitlines() if "resume with:" in x)
    argv = shlex.split(line.split("resume with:", 1)[1])
    assert argv[:2] == ["spherecodes", "generate"] and argv[-1] == "--resume" and str(ckfile) in argv
    out = tmp_path / "resumed.npz"
    argv = [a if a != str(tmp_path / "x.npz") else str(out) for a in argv[1:]]
    resumed = runner.invoke(cli, argv)
    assert resumed.exit_code == 0, resumed.output
    assert np.array_equal(Code.load(out).points, Code.load(ref_out).points)


@pytest.mark.parametrize("args,needle", [
    (["--resume"], "checkpoint"),
    (["--checkpoint", "{dir}"], "directory"),
])
def test_cli_checkpoint_bad_input_exits_2(tmp_path, args, needle):
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, ["generate", "riesz", "-d", "3", "-K", "5", "-q", "--no-catalog", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------ real signals to a subprocess
# K = 60: a perturbation round takes a good fraction of a second, so the search (which stops after 3 rounds
# without improvement; the CLI has no --patience) is still running when the signal comes
CHILD_ARGS = ["-m", "spherecodes", "generate", "riesz", "-d", "3", "-K", "60", "--seed", "5", "--restarts", "3",
              "--rounds", "400", "--no-catalog", "--no-constructions", "-q"]


def _run_and_signal(tmp_path, signum):
    """Start `spherecodes generate --checkpoint`, signal it once the checkpoint exists; (proc, stderr, latency)."""
    ckfile = tmp_path / "ck.npz"
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", SPHERECODES_CATALOG=str(tmp_path / "c.h5"))
    proc = subprocess.Popen([sys.executable, *CHILD_ARGS, "--param", "s=1", "--checkpoint", str(ckfile)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not ckfile.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child never wrote its first checkpoint"
        time.sleep(0.02)
    time.sleep(np.random.default_rng().uniform(0.02, 0.25))  # a random moment inside the search
    t0 = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc, err.decode(), time.monotonic() - t0, ckfile


@pytest.mark.slow  # a fresh interpreter imports torch: seconds
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_real_signal_stops_saves_and_resumes_identically(tmp_path, signum):
    proc, err, latency, ckfile = _run_and_signal(tmp_path, signum)
    print(f"{signal.Signals(signum).name}: process ended {latency:.3f} s after the signal")
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert "search state saved to" in err and "--resume" in err
    ok, reason = ckpt.check_checkpoint(ckfile)
    assert ok, reason
    state = ckpt.load_checkpoint(ckfile)
    assert state.stop_reason == ""  # interrupted, not finished
    # continue the subprocess's search here for one more round; it must equal an uninterrupted run
    rounds = state.round + 1
    kwargs = dict(s=1.0, seed=5, restarts=3, rounds=rounds, patience=400)
    resumed = solve("riesz", 3, 60, checkpoint=ckfile, resume=True, **kwargs)
    _same_search(resumed, solve("riesz", 3, 60, **kwargs))
    assert json.loads(json.dumps(resumed.scores))  # finite, plain


def test_checkpoint_file_is_replaced_atomically(tmp_path, monkeypatch):
    """A crash between writing the temporary file and the rename leaves the old checkpoint intact."""
    path = tmp_path / "search.npz"
    solve("riesz", D, K, checkpoint=path, restarts=2, rounds=1, seed=0)
    before = path.read_bytes()
    state = ckpt.load_checkpoint(path)

    def crash(*args, **kwargs):
        raise OSError(errno.EIO, "simulated crash before the rename")

    monkeypatch.setattr(ckpt.os, "replace", crash)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(path, state)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["search.npz"]  # no temporary file left behind


def test_temporary_files_of_killed_writers_are_removed(tmp_path):
    path = tmp_path / "search.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".search.npz.tmp-{int(dead.stdout)}-0123abcd"
    live = tmp_path / f".search.npz.tmp-{os.getpid()}-0123abcd"  # a write of a running process: kept
    stale.write_bytes(b"half a checkpoint")
    live.write_bytes(b"in progress")
    solve("riesz", D, K, checkpoint=path, restarts=1, rounds=0, seed=0)
    assert not stale.exists() and live.exists() and path.exists()
