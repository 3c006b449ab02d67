"""Fault-injection suite: kills, concurrent writers, flipped bytes, a full disk, interrupted solves.

Prints one summary table (and writes bench/results/faults.csv):

1. ``kill-writer``     SIGKILL a catalog writer at a random moment, ``--kill-trials`` times (>= 50) on one
                       growing catalog: entries a writer reported as stored (``put`` returned) that are lost
                       or changed afterwards (must be 0), ``verify`` result, kills that landed mid-write.
2. ``concurrent``      4 writer processes x 50 puts of distinct keys (plus 50 offers each to one shared key)
                       and a reader, at the same time: entries lost (must be 0), the shared key holds the
                       best offer, reader errors.
3. ``flip-*``          one byte XOR-ed with a random non-zero value, anywhere in a catalog file or inside
                       the points of an entry: detected (the file refuses to open, ``verify`` fails, or
                       ``get`` raises), harmless (everything reads back identical), silent (something reads
                       back changed and nothing noticed: must be 0 for points), crashes (uncaught errors, a
                       dead reader, or one still reading after 30 s).
4. ``full-disk``       a catalog on a 1 MiB tmpfs (``mount -t tmpfs``; root needed) filled until puts fail:
                       what the failing puts raise, entries reported stored and lost (must be 0),
                       ``verify``; then a checkpointed solve on the full disk. Without root the full disk
                       is simulated (``full-disk-sim`` is always run too): ENOSPC injected at a random step
                       of a write (copy, dataset, attributes, fsync, rename).
5. ``kill-solver``     SIGKILL a checkpointing solve at a random moment: the checkpoint is intact (or not
                       yet written) and the resumed search ends at bit-identical points.
6. ``sigint``          Ctrl-C to ``spherecodes generate --checkpoint`` in a fresh process: seconds from the
                       signal to the process' exit, exit status, checkpoint intact.

Writers are forked from this process (they start in milliseconds); the catalog writers use the test
objective of tests/catalog/test_concurrency.py, whose helpers are reused here (``_start(target, a, ...)``
calls ``target(a, fd, ...)`` with the write end of a pipe as the second argument).

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/faults.py [--kill-trials 60] [--flip-trials 200] [--quick]
        [--seed 0] [--only flip-anywhere,flip-points] [--csv faults.csv]

``--only`` runs the named tests (the others are left out of the table and the CSV; ``--csv`` names
the file in bench/results/ so that a partial run does not overwrite the full table).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
from _common import REPO, print_table, write_csv

from spherecodes import Code
from spherecodes.catalog import Catalog
from spherecodes.errors import CatalogError, SpherecodesError
from spherecodes.objectives import register

FORK = mp.get_context("fork")


def _helpers():
    """tests/catalog/test_concurrency.py as a module (its writer/reader processes and test objective)."""
    spec = importlib.util.spec_from_file_location("_catalog_concurrency", REPO / "tests" / "catalog" /
                                                  "test_concurrency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


C = _helpers()


def _check_reported(path: Path, reported: list[tuple[str, str]]) -> tuple[int, bool, int]:
    """(entries lost or changed, verify ok, entries in the file) for the (key, sha256) pairs reported stored."""
    if not path.exists():
        return len(reported), True, 0
    cat = Catalog(path, "r")
    lost = 0
    for key, sha in reported:
        info = cat.info(key)
        if info is None or info.sha256 != sha or cat.get(key) is None:
            lost += 1
    return lost, cat.verify().ok, len(cat.keys())


# ----------------------------------------------------------------------------- 1. kill a writer
def kill_writer(trials: int, workdir: Path, seed: int) -> dict:
    path = workdir / "kill.h5"
    rnd = random.Random(seed)
    reported: list[tuple[str, str]] = []
    mid_write = verify_failures = lost_max = 0
    for t in range(trials):
        proc, r = C._start(C._put_loop, str(path), seed + t)
        time.sleep(rnd.uniform(0.01, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        reported += C._read_reports(r)
        mid_write += bool(C._temps(path))
        lost, ok, _ = _check_reported(path, reported)  # after every kill, not only at the end
        lost_max = max(lost_max, lost)
        verify_failures += not ok
    lost, ok, entries = _check_reported(path, reported)
    return {"test": "kill-writer", "trials": trials, "reported_stored": len(reported), "lost": max(lost, lost_max),
            "detected": "", "harmless": "", "crashes": 0,
            "notes": f"{mid_write} kills mid-write (temp file left); verify failed after {verify_failures} kills; "
                     f"{entries} entries in the file"}


# ----------------------------------------------------------------------------- 2. concurrent writers
def concurrent(workdir: Path, n_writers: int = 4, n_puts: int = 50) -> dict:
    path = workdir / "concurrent.h5"
    stop = workdir / "stop"
    t0 = time.perf_counter()
    reader, r_reader = C._start(C._reader, str(path), str(stop))
    writers = [C._start(C._writer, str(path), wid, n_puts) for wid in range(n_writers)]
    lines, crashes = [], 0
    for proc, r in writers:
        out = C._drain(r)
        proc.join()
        crashes += proc.exitcode != 0
        lines += [line.split(" ") for line in out]
    stop.touch()
    reader.join()
    reads, read_errors = map(int, C._drain(r_reader)[0].split(" "))
    cat = Catalog(path, "r")
    keys = set(cat.keys())
    lost = sum(key not in keys or cat.get(key) is None for key, _ in lines)
    shared = cat.info("catalog_test_energy[s=1]/d=3/K=8")
    best = min(float(e) for _, e in lines)
    shared_ok = shared is not None and shared.scores["energy"] == best
    return {"test": "concurrent", "trials": f"{n_writers}x{n_puts}", "reported_stored": len(lines), "lost": lost,
            "detected": "", "harmless": "", "crashes": crashes,
            "notes": f"{2 * n_writers * n_puts} puts in {time.perf_counter() - t0:.1f} s; shared key holds the best "
                     f"of {len(lines)} offers: {shared_ok}; reader: {reads} reads, {read_errors} errors; "
                     f"verify ok: {cat.verify().ok}"}


# ----------------------------------------------------------------------------- 3. flipped bytes
def _riesz_codes(n: int, rng) -> list[Code]:
    out = []
    for i in range(n):
        K, d = int(rng.integers(3, 30)), int(rng.integers(2, 7))
        x = rng.standard_normal((K, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out.append(Code(points=x, objective="riesz", params={"s": 1.0 + i / 8}, provenance={"trial": i}))
    return out


def _snapshot(cat: Catalog) -> dict:
    out = {}
    for key in cat.keys():
        code = cat.get(key)
        out[key] = (code.points.tobytes(), json.dumps(code.metadata(), sort_keys=True, default=str))
    return out


def _classify(path: Path, fd: int, original: dict) -> None:
    """Child: open the damaged file, verify it, read every entry; one JSON line on fd."""
    import warnings

    warnings.simplefilter("ignore")  # overflow warnings from norms of damaged numbers
    result: dict = {}
    try:
        cat = Catalog(path, "r")
        report = cat.verify()
        failing = {e.key for e in report.failures}
        points_changed, meta_changed, read_errors = [], [], 0
        for key, (pts, meta) in original.items():
            try:
                code = cat.get(key)
            except CatalogError:
                read_errors += 1
                continue
            if code is None:
                points_changed.append(key)
            elif code.points.tobytes() != pts:
                points_changed.append(key)
            elif json.dumps(code.metadata(), sort_keys=True, default=str) != meta:
                now, before = code.metadata(), json.loads(meta)
                meta_changed.append(",".join(k for k in sorted(before) if now.get(k) != before.get(k)))
        result = {"open": "ok", "verify_ok": report.ok, "failing": len(failing) + len(report.problems),
                  "read_errors": read_errors,
                  "points_silent": len([k for k in points_changed if k not in failing]) if report.ok else 0,
                  "meta_silent": len(meta_changed) if report.ok else 0, "meta_fields": sorted(set(meta_changed))}
    except CatalogError as exc:
        result = {"open": "CatalogError", "why": str(exc)[:120]}
    except Exception as exc:  # a bug: the library should raise CatalogError for a damaged file
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "spherecodes" in f.filename] or frames
        tb = ours[-1]  # the last frame in spherecodes: where the error should have been turned into CatalogError
        result = {"open": "uncaught", "why": f"{type(exc).__name__}: {str(exc)[:100]} at "
                                             f"{Path(tb.filename).name}:{tb.lineno} ({tb.name})"}
    os.write(fd, (json.dumps(result) + "\n").encode())
    os._exit(0)


#: seconds a reader of a damaged catalog may take before it counts as hung
READ_TIMEOUT_S = 30.0


def flip_bytes(trials: int, workdir: Path, seed: int, where: str) -> dict:
    rng = np.random.default_rng(seed)
    path = workdir / f"flip-{where}.h5"
    cat = Catalog(path)
    cat.put_many(_riesz_codes(20, rng))
    original = _snapshot(Catalog(path, "r"))
    raw = path.read_bytes()
    ranges = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                ranges.append((obj.id.get_offset(), obj.id.get_storage_size()))
        f.visititems(visit)
    counts, uncaught, meta_fields = Counter(), Counter(), Counter()
    bad: list[str] = []  # "offset^xor" of every crash and silent change, to replay them
    damaged = workdir / f"damaged-{where}.h5"
    for _ in range(trials):
        data = bytearray(raw)
        if where == "points":
            start, size = ranges[int(rng.integers(len(ranges)))]
            offset = start + int(rng.integers(size))
        else:
            offset = int(rng.integers(len(data)))
        xor = int(rng.integers(1, 256))
        data[offset] ^= xor
        flip = f"{offset}^{xor}"
        damaged.write_bytes(bytes(data))
        proc, r = C._start(_classify, damaged, original)
        proc.join(timeout=READ_TIMEOUT_S)  # its one-line answer fits in the pipe buffer
        if proc.is_alive():  # a reader stuck on the damaged file (libhdf5 can loop forever on a broken heap)
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            C._drain(r)
            counts["crash"] += 1
            uncaught[f"reader hung > {READ_TIMEOUT_S:g} s (killed)"] += 1
            bad.append(f"hung {flip}")
            continue
        lines = C._drain(r)
        if proc.exitcode != 0 or not lines:
            counts["crash"] += 1
            uncaught[f"reader died (exit {proc.exitcode})"] += 1
            bad.append(f"died {flip}")
            continue
        res = json.loads(lines[0])
        if res["open"] == "uncaught":
            counts["crash"] += 1
            uncaught[res["why"]] += 1
            bad.append(f"uncaught {flip}")
        elif res["open"] == "CatalogError" or not res["verify_ok"] or res["read_errors"]:
            counts["detected"] += 1
        elif res["points_silent"]:
            counts["silent_points"] += 1
            bad.append(f"silent-points {flip}")
        elif res["meta_silent"]:
            counts["silent_metadata"] += 1
            bad.append(f"silent-metadata {flip}")
            for name in res["meta_fields"]:
                meta_fields[name] += 1
        else:
            counts["harmless"] += 1
    notes = (f"silent metadata changes: {counts['silent_metadata']}"
             + (f" (fields: {dict(meta_fields)})" if meta_fields else "")
             + ("; uncaught: " + "; ".join(f"{n}x {w}" for w, n in uncaught.most_common(4)) if uncaught else "")
             + (f"; flips (byte^xor): {', '.join(bad[:10])}" if bad else ""))
    return {"test": f"flip-{where}", "trials": trials, "reported_stored": 20, "lost": counts["silent_points"],
            "detected": counts["detected"], "harmless": counts["harmless"], "crashes": counts["crash"],
            "notes": notes}


# ----------------------------------------------------------------------------- 4. full disk
def _mount_tmpfs(mnt: Path, size: str) -> bool:
    mnt.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _fill_catalog(path: Path, rng, max_failures: int = 5) -> tuple[list, Counter]:
    """Put codes until ``max_failures`` puts failed; (reported (key, sha256), Counter of what failures raised)."""
    cat = Catalog(path)
    reported, raised = [], Counter()
    for i in range(2000):
        x = rng.standard_normal((64, 8))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        try:
            res = cat.put(Code(points=x, objective="catalog_test_energy", params={"s": 1.0 + i / 1e4}))
            reported.append((res.key, cat.info(res.key).sha256))
        except SpherecodesError as exc:
            raised[f"{type(exc).__name__}"] += 1
        except OSError as exc:
            raised[f"OSError({errno.errorcode.get(exc.errno, exc.errno)})"] += 1
        except Exception as exc:
            raised[f"uncaught {type(exc).__name__}"] += 1
        if sum(raised.values()) >= max_failures:
            break
    return reported, raised


def full_disk(workdir: Path, seed: int) -> dict:
    mnt = workdir / "tmpfs"
    if not _mount_tmpfs(mnt, "1m"):
        return {"test": "full-disk", "trials": 0, "reported_stored": "", "lost": "", "detected": "", "harmless": "",
                "crashes": "", "notes": "could not mount a tmpfs (not root?): see full-disk-sim"}
    try:
        path = mnt / "cat.h5"
        reported, raised = _fill_catalog(path, np.random.default_rng(seed))
        temps = len(C._temps(path))
        lost, ok, entries = _check_reported(path, reported)
        # a checkpointed solve on the full disk: the search must go on and return its result
        from spherecodes.solvers import solve

        filler = mnt / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            fh.write(b"\0" * (1 << 20))
        try:
            r = solve("riesz", 3, 8, restarts=2, rounds=2, seed=0, checkpoint=mnt / "ck.npz")
            solve_note = f"checkpointed solve on the full disk returned energy={r.scores['energy']:.10g}"
        except SpherecodesError as exc:
            solve_note = f"checkpointed solve refused: {type(exc).__name__}: {str(exc)[:80]}"
        except Exception as exc:
            solve_note = f"checkpointed solve crashed: {type(exc).__name__}: {exc}"
        crashes = sum(n for k, n in raised.items() if k.startswith("uncaught"))
        return {"test": "full-disk", "trials": sum(raised.values()), "reported_stored": len(reported), "lost": lost,
                "detected": "", "harmless": "", "crashes": crashes,
                "notes": f"1 MiB tmpfs; failing puts raised {dict(raised)}; {entries} entries readable, verify ok: "
                         f"{ok}; temp files left: {temps}; {solve_note}"}
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


_STEPS = ["copyfile", "create_dataset", "attrs", "fsync", "replace"]


def _failing_put(path: str, fd: int, step: str) -> None:
    """Child: one put whose ``step`` raises ENOSPC; reports what put raised."""
    import shutil as sh

    from spherecodes import _fileio

    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device (injected)")

    if step == "copyfile":
        sh.copyfile = enospc
    elif step == "create_dataset":
        h5py.Group.create_dataset = enospc
    elif step == "attrs":
        h5py.AttributeManager.__setitem__ = enospc
    elif step == "fsync":
        _fileio.fsync_file = enospc  # the catalog's writer calls it through the module
    elif step == "replace":
        os.replace = enospc
    rng = np.random.default_rng(len(step))
    x = rng.standard_normal((9, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    try:
        Catalog(path).put(Code(points=x, objective="catalog_test_energy", params={"s": 7.5}))
        out = "stored"
    except SpherecodesError as exc:
        out = type(exc).__name__
    except OSError as exc:
        out = f"OSError({errno.errorcode.get(exc.errno, exc.errno)})"
    except Exception as exc:
        out = f"uncaught {type(exc).__name__}"
    os.write(fd, (out + "\n").encode())
    os._exit(0)


def full_disk_simulated(trials: int, workdir: Path, seed: int) -> dict:
    path = workdir / "sim.h5"
    reported: list[tuple[str, str]] = []
    cat = Catalog(path)
    rng = np.random.default_rng(seed)
    for i in range(10):
        x = rng.standard_normal((12, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        res = cat.put(Code(points=x, objective="catalog_test_energy", params={"s": 2.0 + i}))
        reported.append((res.key, cat.info(res.key).sha256))
    before = path.read_bytes()
    raised, unchanged = Counter(), 0
    rnd = random.Random(seed)
    for _ in range(trials):
        step = rnd.choice(_STEPS)
        proc, r = C._start(_failing_put, str(path), step)
        out = C._drain(r)
        proc.join()
        raised[f"{step}: {out[0] if out else 'died'}"] += 1
        unchanged += path.read_bytes() == before
    lost, ok, _ = _check_reported(path, reported)
    temps = len(C._temps(path))
    Catalog(path).put(Code(points=np.eye(3), objective="catalog_test_energy", params={"s": 99.0}))  # space is back
    cleaned = len(C._temps(path)) == 0
    crashes = sum(n for k, n in raised.items() if "uncaught" in k or "died" in k)
    return {"test": "full-disk-sim", "trials": trials, "reported_stored": len(reported), "lost": lost,
            "detected": "", "harmless": "", "crashes": crashes,
            "notes": f"ENOSPC at a random write step; put raised {dict(sorted(raised.items()))}; file unchanged in "
                     f"{unchanged}/{trials}; verify ok: {ok}; temp files left: {temps}, removed by the next "
                     f"write: {cleaned}"}


# ----------------------------------------------------------------------------- 5. kill a checkpointing solve
SOLVE = dict(restarts=2, rounds=10, patience=10, seed=3, s=1.0)


def _solve_child(path: str) -> None:
    from spherecodes.solvers import checkpoint as ckpt
    from spherecodes.solvers import solve

    ckpt.SAVE_INTERVAL_S = 0.0  # write at every round boundary: kills land in and between writes
    try:
        solve("riesz", 3, 14, checkpoint=path, **SOLVE)
    finally:
        os._exit(0)


def kill_solver(trials: int, workdir: Path, seed: int) -> dict:
    from spherecodes.solvers import checkpoint as ckpt
    from spherecodes.solvers import solve

    t0 = time.perf_counter()
    reference = solve("riesz", 3, 14, **SOLVE)
    duration = time.perf_counter() - t0
    rnd = random.Random(seed)
    counts = Counter()
    for t in range(trials):
        path = workdir / f"solve{t}.npz"
        proc = FORK.Process(target=_solve_child, args=(str(path),))
        proc.start()
        time.sleep(rnd.uniform(0.0, duration))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        temps = list(workdir.glob(f".{path.name}.tmp-*"))
        counts["temp_left"] += bool(temps)
        if not path.exists():
            if temps:  # killed during the first write: the next run starts afresh and removes the temp file
                solve("riesz", 3, 14, checkpoint=path, resume=True, **dict(SOLVE, rounds=0))
                counts["temp_removed"] += not any(t.exists() for t in temps)
            counts["no_checkpoint_yet"] += 1
            continue
        ok, _ = ckpt.check_checkpoint(path)
        if not ok:
            counts["damaged"] += 1
            continue
        counts["intact"] += 1
        resumed = solve("riesz", 3, 14, checkpoint=path, resume=True, **SOLVE)
        counts["temp_removed"] += bool(temps) and not any(t.exists() for t in temps)
        counts["resumed_identical" if np.array_equal(resumed.points, reference.points) else "resumed_differs"] += 1
    return {"test": "kill-solver", "trials": trials, "reported_stored": counts["intact"],
            "lost": counts["damaged"] + counts["resumed_differs"], "detected": "", "harmless": "", "crashes": 0,
            "notes": f"checkpoint intact {counts['intact']}, not yet written {counts['no_checkpoint_yet']}, "
                     f"damaged {counts['damaged']}; resumed bit-identical {counts['resumed_identical']}, "
                     f"differs {counts['resumed_differs']}; kills mid-write (temp file left) {counts['temp_left']}, "
                     f"removed by the next run {counts['temp_removed']}"}


# ----------------------------------------------------------------------------- 6. Ctrl-C latency
def sigint_latency(trials: int, workdir: Path, seed: int) -> dict:
    from spherecodes.solvers import checkpoint as ckpt

    rnd = random.Random(seed)
    latencies, statuses, intact = [], Counter(), 0
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", SPHERECODES_CATALOG=str(workdir / "u.h5"))
    for t in range(trials):
        path = workdir / f"int{t}.npz"
        proc = subprocess.Popen([sys.executable, "-m", "spherecodes", "generate", "riesz", "-d", "3", "-K", "60",
                                 "--seed", str(t), "--restarts", "4", "--rounds", "500", "--no-catalog", "-q",
                                 "--checkpoint", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        while not path.exists() and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.5))  # inside the search (it stops after 3 rounds without improvement)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        latencies.append(time.perf_counter() - t0)
        statuses[proc.returncode] += 1
        intact += ckpt.check_checkpoint(path)[0]
    lat = np.array(latencies)
    return {"test": "sigint", "trials": trials, "reported_stored": intact, "lost": trials - intact, "detected": "",
            "harmless": "", "crashes": sum(n for s, n in statuses.items() if s != 130),
            "notes": f"seconds from SIGINT to exit: median {np.median(lat):.3f}, max {lat.max():.3f}; exit statuses "
                     f"{dict(statuses)}; checkpoint intact {intact}/{trials}"}


#: Names of the tests, in the order they run (``--only`` picks some).
TESTS = ("kill-writer", "concurrent", "flip-anywhere", "flip-points", "full-disk", "full-disk-sim", "kill-solver",
         "sigint")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kill-trials", type=int, default=60)
    ap.add_argument("--flip-trials", type=int, default=200)
    ap.add_argument("--sim-trials", type=int, default=40)
    ap.add_argument("--solver-trials", type=int, default=20)
    ap.add_argument("--sigint-trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="few trials of each (a smoke run)")
    ap.add_argument("--only", default="", help=f"comma-separated tests to run, of: {', '.join(TESTS)}")
    ap.add_argument("--csv", default="faults.csv", help="file name of the CSV in bench/results/")
    args = ap.parse_args()
    only = [t for t in args.only.split(",") if t] or list(TESTS)
    unknown = sorted(set(only) - set(TESTS))
    if unknown:
        ap.error(f"unknown test(s) {', '.join(unknown)}; choose from {', '.join(TESTS)}")
    if args.quick:
        args.kill_trials, args.flip_trials, args.sim_trials, args.solver_trials, args.sigint_trials = 5, 20, 5, 3, 1
    register(C.FakeEnergy())
    rows = []
    with tempfile.TemporaryDirectory(prefix="spherecodes-faults-") as tmp:
        workdir = Path(tmp)
        os.environ["SPHERECODES_CATALOG"] = str(workdir / "user.h5")
        steps = {
            "kill-writer": lambda: kill_writer(args.kill_trials, workdir, args.seed + 1000),
            "concurrent": lambda: concurrent(workdir),
            "flip-anywhere": lambda: flip_bytes(args.flip_trials, workdir, args.seed, "anywhere"),
            "flip-points": lambda: flip_bytes(args.flip_trials // 2, workdir, args.seed + 1, "points"),
            "full-disk": lambda: full_disk(workdir, args.seed),
            "full-disk-sim": lambda: full_disk_simulated(args.sim_trials, workdir, args.seed),
            "kill-solver": lambda: kill_solver(args.solver_trials, workdir, args.seed),
            "sigint": lambda: sigint_latency(args.sigint_trials, workdir, args.seed),
        }
        for step in (steps[name] for name in TESTS if name in only):
            t0 = time.perf_counter()
            row = step()
            row["seconds"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(f"{row['test']}: {row['notes']}", flush=True)
        with contextlib.suppress(OSError):
            shutil.rmtree(workdir / "tmpfs", ignore_errors=True)
    print()
    print_table([{k: v for k, v in r.items() if k != "notes"} for r in rows])
    path = write_csv(args.csv, rows)
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
