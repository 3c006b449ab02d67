"""Run the benchmark suite (every bench/*.py, or the ones named) and collect the CSVs they write.

Each script runs in its own process (``python bench/<name>.py [its arguments]``) with the current
environment, one after the other; its output streams through. Afterwards the CSV files it wrote
or updated under bench/results/ are listed, and a summary (script, exit status, seconds, CSVs) is
printed and written to bench/results/run_all.csv.

    python bench/run_all.py --list
    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/run_all.py                  # everything (hours)
    python bench/run_all.py scaling large_certificate --timeout 3600
    python bench/run_all.py scaling --args scaling="--K 100 1000 --iters 2"
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS, print_table, write_csv

BENCH = Path(__file__).resolve().parent
NOT_BENCHES = {"_common", "run_all"}


def available() -> list[str]:
    """Names of the bench scripts (bench/*.py without the helpers), sorted."""
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in NOT_BENCHES and not p.stem.startswith("_"))


def _csv_state() -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in RESULTS.glob("*.csv")} if RESULTS.exists() else {}


def run_one(name: str, extra: list[str], timeout: float | None) -> dict:
    """Run one bench script; returns its summary row."""
    before = _csv_state()
    cmd = [sys.executable, str(BENCH / f"{name}.py"), *extra]
    print(f"\n=== {name}: {' '.join(shlex.quote(c) for c in cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        status = subprocess.run(cmd, cwd=BENCH.parent, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
    seconds = time.perf_counter() - t0
    after = _csv_state()
    written = sorted(p.name for p, m in after.items() if before.get(p) != m and p.name != "run_all.csv")
    return {"script": name, "status": status, "seconds": round(seconds, 1), "csvs": " ".join(written) or "-"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="bench scripts to run (default: all); see --list")
    ap.add_argument("--list", action="store_true", help="list the bench scripts and exit")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per script (default: none)")
    ap.add_argument("--args", action="append", default=[], metavar='NAME="ARGS"',
                    help="extra arguments for one script, e.g. --args scaling=\"--K 100 1000\"")
    ap.add_argument("--stop-on-error", action="store_true", help="stop at the first script that fails")
    args = ap.parse_args()
    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n.removesuffix(".py") not in names]
    if unknown:
        print(f"unknown bench script(s): {', '.join(unknown)}; valid names are: {', '.join(names)}", file=sys.stderr)
        return 2
    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, sep, value = item.partition("=")
        if not sep or name not in names:
            print(f"--args {item!r}: write NAME=\"ARGS\" with NAME one of: {', '.join(names)}", file=sys.stderr)
            return 2
        extra[name] = shlex.split(value)
    chosen = [n.removesuffix(".py") for n in args.names] or names
    rows = []
    for name in chosen:
        rows.append(run_one(name, extra.get(name, []), args.timeout))
        if args.stop_on_error and rows[-1]["status"] != 0:
            break
    print()
    print_table(rows)
    print("\nwritten", write_csv("run_all.csv", rows))
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
