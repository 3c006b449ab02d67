"""Shared helpers for the benchmark scripts: reference tables, CSV writing, table printing."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def shared_reference(name: str) -> Path:
    """Path of a public reference table vendored with the tests (tests/data/reference, sources in its README)."""
    return REPO / "tests" / "data" / "reference" / name


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(name: str, rows: list[dict]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def print_table(rows: list[dict], floatfmt: str = ".6g") -> None:
    """Print rows (dicts with the same keys) as an aligned text table."""
    if not rows:
        print("(no rows)")
        return
    keys = list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))


def median(values):
    return statistics.median(values) if values else float("nan")


def vm_hwm_bytes() -> int:
    """Peak resident set size of this process (VmHWM), bytes; 0 when /proc is not there."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
