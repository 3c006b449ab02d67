"""Crash safety and concurrent writers of spherecodes.catalog.Catalog.

Writers are separate processes (forked from the test process, so they start in milliseconds and
share the test objective; one test also spawns a fresh interpreter). A writer reports a key on a
pipe only after ``put`` returned; whatever moment it is SIGKILLed at, every reported key must be
readable afterwards and ``verify`` must pass.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest
from _helpers import PlainEnergy

from spherecodes.catalog import Catalog
from spherecodes.code import Code
from spherecodes.objectives import OBJECTIVES, register

FORK = mp.get_context("fork")


class FakeEnergy(PlainEnergy):
    name = "catalog_test_energy"


@pytest.fixture(autouse=True)
def fake_objective(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    obj = register(FakeEnergy())
    yield obj
    OBJECTIVES.pop(obj.name, None)


def random_code(rng, s):
    K, d = int(rng.integers(3, 120)), int(rng.integers(2, 12))
    x = rng.standard_normal((K, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Code(points=x, objective="catalog_test_energy", params={"s": s})


def _put_loop(path, fd, seed, n_max=10**6, crash_after=None, crash_point=None):
    """Child: put codes with distinct keys; write 'key sha256' to fd after each put returned."""
    rng = np.random.default_rng(seed)
    cat = Catalog(path)
    for i in range(n_max):
        if crash_after is not None and i == crash_after:
            _arm_crash(crash_point)
        res = cat.put(random_code(rng, s=1.0 + (seed % 1000) / 500 + i / 1e6))  # distinct keys
        info = cat.info(res.key)
        os.write(fd, f"{res.key} {info.sha256}\n".encode())
    os._exit(0)


def _arm_crash(point):
    """Make this process SIGKILL itself at a given step of the next write."""
    import shutil

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "after_copy":
        orig = shutil.copyfile
        shutil.copyfile = lambda *a, **k: (orig(*a, **k), die())
    elif point == "mid_write":
        orig_cd = h5py.Group.create_dataset
        h5py.Group.create_dataset = lambda self, *a, **k: (orig_cd(self, *a, **k), die())
    elif point == "before_replace":
        os.replace = lambda *a, **k: die()
    else:
        raise ValueError(point)


def _drain(r_fd):
    """All lines written to a pipe until every writer closed it."""
    chunks = []
    while True:
        b = os.read(r_fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r_fd)
    return b"".join(chunks).decode().splitlines()


def _reports(lines):
    """(key, sha256) pairs; a line cut short by the kill is not a report."""
    pairs = [tuple(line.split(" ")) for line in lines]
    return [p for p in pairs if len(p) == 2 and len(p[1]) == 64]


def _read_reports(r_fd):
    return _reports(_drain(r_fd))


def _start(target, *args, **kwargs):
    r, w = os.pipe()
    p = FORK.Process(target=target, args=(*args[:1], w, *args[1:]), kwargs=kwargs)
    p.start()
    os.close(w)
    return p, r


def _temps(path):
    return sorted(path.parent.glob(f".{path.name}.tmp-*"))


def _check_all_reported(path, reported):
    if not path.exists():  # killed before its first put returned
        assert reported == []
        return None
    cat = Catalog(path, "r")
    for key, sha in reported:
        info = cat.info(key)
        assert info is not None, f"reported key {key} lost"
        assert info.sha256 == sha
        assert cat.get(key) is not None
    report = cat.verify()
    assert report.ok, report.summary()
    return cat


def _kill_trials(path, n_trials, seed0):
    reported = []
    mid_write = 0
    rnd = random.Random(seed0)
    for t in range(n_trials):
        p, r = _start(_put_loop, str(path), seed0 + t)
        time.sleep(rnd.uniform(0.01, 0.25))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        assert p.exitcode == -signal.SIGKILL
        reported += _read_reports(r)
        mid_write += bool(_temps(path))
        _check_all_reported(path, reported)
    return reported, mid_write


def test_random_kills_lose_nothing(tmp_path):
    path = tmp_path / "c.h5"
    reported, _ = _kill_trials(path, 5, seed0=100)
    assert len(reported) > 0
    # the next writer clears temporary files left by killed ones
    Catalog(path).put(random_code(np.random.default_rng(0), s=0.5))
    assert _temps(path) == []


@pytest.mark.slow
def test_many_random_kills_lose_nothing(tmp_path):
    path = tmp_path / "c.h5"
    reported, mid_write = _kill_trials(path, 60, seed0=1000)
    assert len(reported) >= 60
    assert mid_write > 0  # some kills did land inside a write (a temp file was left behind)
    assert len(Catalog(path, "r").keys()) >= len(reported)


@pytest.mark.parametrize("point", ["after_copy", "mid_write", "before_replace"])
def test_kill_at_each_step_of_a_write(tmp_path, point):
    path = tmp_path / "c.h5"
    p, r = _start(_put_loop, str(path), 7, n_max=10, crash_after=3, crash_point=point)
    p.join()
    assert p.exitcode == -signal.SIGKILL
    reported = _read_reports(r)
    assert len(reported) == 3
    cat = _check_all_reported(path, reported)
    assert len(cat.keys()) == 3  # the interrupted put left nothing half-done in the catalog
    assert len(_temps(path)) == 1  # ... only a temp file, which the next writer removes
    Catalog(path).put(random_code(np.random.default_rng(1), s=0.25))
    assert _temps(path) == [] and len(Catalog(path).keys()) == 4


def test_kill_during_the_first_write_leaves_no_catalog(tmp_path):
    path = tmp_path / "c.h5"
    p, r = _start(_put_loop, str(path), 8, n_max=10, crash_after=0, crash_point="before_replace")
    p.join()
    assert _read_reports(r) == [] and not path.exists()
    assert Catalog(path).get("catalog_test_energy[s=1]/d=3/K=5") is None


CHILD = textwrap.dedent("""
    import os, sys
    import numpy as np
    from spherecodes.catalog import Catalog
    from spherecodes.code import Code
    cat = Catalog(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    print("ready", flush=True)
    for i in range(10**6):
        K, d = int(rng.integers(3, 60)), int(rng.integers(2, 8))
        x = rng.standard_normal((K, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        res = cat.put(Code(points=x, objective="riesz", params={"s": 1.0 + i / 1e4}))
        print(res.key, cat.info(res.key).sha256, flush=True)
""")


@pytest.mark.slow  # a fresh interpreter imports torch: seconds
def test_kill_a_spawned_interpreter(tmp_path):
    path = tmp_path / "c.h5"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), str(path), "3"], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    proc.stdout.readline()  # first put done (includes one-off imports and compilation)
    time.sleep(random.uniform(0.05, 0.3))
    proc.send_signal(signal.SIGKILL)
    out = proc.communicate()[0].decode().splitlines()
    assert proc.returncode == -signal.SIGKILL
    reported = _reports(out)
    assert len(reported) >= 1
    _check_all_reported(path, reported)


# ------------------------------------------------------------------ concurrent writers
def _writer(path, fd, wid, n):
    rng = np.random.default_rng(wid)
    cat = Catalog(path)
    for i in range(n):
        res = cat.put(random_code(rng, s=10.0 + wid + i / 100))
        # every writer also offers a code for one shared key: only the best may survive
        x = rng.standard_normal((8, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        shared = cat.put(Code(points=x, objective="catalog_test_energy", params={"s": 1.0}))
        os.write(fd, f"{res.key} {shared.new_scores['energy']!r}\n".encode())
    os._exit(0)


def _reader(path, fd, stop_file):
    cat = Catalog(path)
    reads = errors = 0
    while True:
        try:
            for key in cat.keys():
                if cat.get(key) is None:
                    errors += 1
                reads += 1
        except Exception:
            errors += 1
        if os.path.exists(stop_file):
            break
    os.write(fd, f"{reads} {errors}\n".encode())
    os._exit(0)


@pytest.mark.parametrize("n_writers", [2, 4])
def test_concurrent_writers_lose_nothing(tmp_path, n_writers):
    path = tmp_path / "c.h5"
    n = 8
    stop = tmp_path / "stop"
    reader, r_reader = _start(_reader, str(path), str(stop))
    writers = [_start(_writer, str(path), wid, n) for wid in range(n_writers)]
    lines = []
    for p, r in writers:
        p.join()
        assert p.exitcode == 0
        lines += [line.split(" ") for line in _drain(r)]
    stop.touch()
    reader.join()
    reads, errors = map(int, _drain(r_reader)[0].split(" "))
    assert errors == 0 and reads > 0
    assert len(lines) == n * n_writers
    cat = Catalog(path, "r")
    keys = set(cat.keys())
    assert {key for key, _ in lines} <= keys
    shared_key = "catalog_test_energy[s=1]/d=3/K=8"
    assert len(keys) == n * n_writers + 1
    best = min(float(e) for _, e in lines)
    assert cat.info(shared_key).scores["energy"] == best
    assert cat.verify().ok

