#!/usr/bin/env python
"""Build (or extend) the built-in catalog ``spherecodes/data/builtin_catalog.h5`` with our own solvers.

For every (objective, d, K) of the grid that is not stored yet, calls ``spherecodes.generate``
and puts the result in the catalog (the catalog keeps the better code when one is already
there, so re-running with more restarts only improves it). Work is ordered from the cheapest
(small K * d) to the most expensive, so that a size or time budget keeps the most entries.
Objectives that are not registered in this version of spherecodes are skipped.

Examples
--------
Tiny grid, to check the pipeline::

    python scripts/build_builtin_catalog.py --objectives riesz --dims 3 --sizes 4-6

Full grid (hours), 30 MB budget::

    python scripts/build_builtin_catalog.py --time-budget 36000

Grid defaults: objectives riesz (s=1), tammes, softmax_code, mgd; d in {2,3,4,5,8,16,32,64,128};
K in 3..64, 100, 128, 200, 256, 500, 512, 1000.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Objectives of the built-in catalog and the parameters they are built with.
DEFAULT_OBJECTIVES: dict[str, dict[str, Any]] = {
    "riesz": {"s": 1.0},
    "tammes": {},
    "softmax_code": {},
    "mgd": {},
}
DEFAULT_DIMS = (2, 3, 4, 5, 8, 16, 32, 64, 128)
DEFAULT_SIZES = tuple(range(3, 65)) + (100, 128, 200, 256, 500, 512, 1000)
#: Bytes an entry costs besides its points (groups, attributes, JSON metadata), for the size budget.
ENTRY_OVERHEAD_BYTES = 8 * 1024


@dataclass
class Row:
    """One line of the summary table."""

    objective: str
    d: int
    K: int
    status: str  # stored / replaced / kept / present / invalid / failed / skipped
    primary: str = ""
    score: float = float("nan")
    seconds: float = 0.0
    note: str = ""


def parse_int_list(text: str) -> list[int]:
    """``"3-6,10,12"`` -> ``[3, 4, 5, 6, 10, 12]`` (inclusive ranges)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return sorted(set(out))


def plan(objectives: dict[str, dict[str, Any]], dims: list[int], sizes: list[int],
         rows: list[Row]) -> list[tuple[Any, dict[str, Any], int, int]]:
    """Requests (objective, normalised params, d, K) to build, cheapest first.

    Objectives that are not registered and sizes the objective rejects (``validate_size``)
    are recorded in ``rows`` and left out.
    """
    from spherecodes.errors import InvalidParameterError
    from spherecodes.objectives import OBJECTIVES

    todo = []
    for name, params in objectives.items():
        if name not in OBJECTIVES:
            rows.append(Row(name, 0, 0, "skipped", note="objective not registered in this version"))
            continue
        obj = OBJECTIVES[name]
        norm = obj.normalise_params(**params)
        for d in dims:
            for K in sizes:
                try:
                    obj.validate_size(d, K, norm)
                except InvalidParameterError as exc:
                    rows.append(Row(name, d, K, "invalid", note=str(exc)))
                    continue
                todo.append((obj, norm, d, K))
    # proven optima that a construction attains cost no search: they come first, so that a time budget
    # never leaves them out; then the cheapest solves (small K * d)
    todo.sort(key=lambda t: (not _construction_is_optimal(*t), t[3] * t[2], t[3], t[2], t[0].name))
    return todo


def _construction_is_optimal(obj: Any, params: dict[str, Any], d: int, K: int) -> bool:
    """True when the optimum of (objective, d, K) is proven and an exact construction applies."""
    from spherecodes.constructions import constructions_for
    from spherecodes.validation.known import known_optimum

    known = known_optimum(obj.name, d, K, **params)
    return known is not None and known.status == "proven_optimal" and bool(constructions_for(d, K))


def build(out: Path, *, objectives: dict[str, dict[str, Any]], dims: list[int], sizes: list[int],
          max_mb: float = 30.0, time_budget: float | None = None, restarts: int | None = None,
          seed: int | None = None, device: str | None = None, force: bool = False,
          generate: Callable[..., Any] | None = None, progress: Callable[[Row], None] | None = None,
          solve_budget: float | None = None, flush_every: int = 16) -> list[Row]:
    """Fill the catalog at ``out``; returns one Row per request considered.

    Parameters
    ----------
    max_mb : float
        Stop before an entry would take the file past this many MiB (estimated as the current
        size + K * d * 8 bytes + ENTRY_OVERHEAD_BYTES).
    time_budget : float, optional
        Stop starting new solves after this many seconds.
    force : bool
        Also re-solve entries that are already stored (the better code is kept).
    solve_budget : float, optional
        Seconds per solve (``generate(time_budget=...)``): the best code found by then is stored.
    flush_every : int
        Codes are written ``flush_every`` at a time (one copy-on-write of the file per batch
        instead of one per code).
    generate : callable, optional
        ``generate(objective, d, K, restarts=, seed=, device=, **params) -> Code``; defaults to
        ``spherecodes.generate`` (tests pass a fake).
    """
    from spherecodes.catalog import Catalog
    from spherecodes.keys import make_key

    extra: dict[str, Any] = {}
    if generate is None:
        from spherecodes.api import generate

        # the build writes the catalog itself; no LP bounds in the shipped certificates (seconds each)
        extra = {"catalog": False, "certify": True, "certify_lp": False}
        if solve_budget is not None:
            extra["time_budget"] = solve_budget
    rows: list[Row] = []
    todo = plan(objectives, dims, sizes, rows)
    cat = Catalog(out, "a")
    present = set(cat.keys())
    budget_bytes = max_mb * 2**20
    start = time.perf_counter()
    stopped = ""
    pending: list[tuple[Any, Any, float]] = []  # (objective, code, seconds)
    pending_bytes = 0

    def flush() -> None:
        nonlocal pending_bytes
        if not pending:
            return
        results = cat.put_many([code for _, code, _ in pending])
        for (obj_, code, secs), result in zip(pending, results):
            row = Row(obj_.name, code.d, code.K, result.action, obj_.primary,
                      float(result.new_scores[obj_.primary]), secs)
            rows.append(row)
            if progress is not None:
                progress(row)
        pending.clear()
        pending_bytes = 0

    for obj, params, d, K in todo:
        key = make_key(obj.name, params, d, K)
        if key in present and not force:
            rows.append(Row(obj.name, d, K, "present"))
            continue
        size = (out.stat().st_size if out.exists() else 0) + pending_bytes
        if size + K * d * 8 + ENTRY_OVERHEAD_BYTES > budget_bytes:
            stopped = f"size budget of {max_mb:g} MiB reached ({size / 2**20:.1f} MiB)"
            break
        if time_budget is not None and time.perf_counter() - start > time_budget:
            stopped = f"time budget of {time_budget:g} s used"
            break
        kwargs: dict[str, Any] = {"seed": seed, "device": device}
        if restarts is not None:
            kwargs["restarts"] = restarts
        t0 = time.perf_counter()
        try:
            code = generate(obj.name, d, K, **kwargs, **extra, **params)
        except Exception as exc:  # one failed solve must not end a build of hours
            row = Row(obj.name, d, K, "failed", seconds=time.perf_counter() - t0, note=f"{type(exc).__name__}: {exc}")
            rows.append(row)
            if progress is not None:
                progress(row)
            continue
        pending.append((obj, code, time.perf_counter() - t0))
        pending_bytes += K * d * 8 + ENTRY_OVERHEAD_BYTES
        if len(pending) >= flush_every:
            flush()
    flush()
    if stopped:
        rows.append(Row("-", 0, 0, "stopped", note=stopped))
    if out.exists():
        cat.compact()
    return rows


def format_table(rows: list[Row]) -> str:
    """Summary: one line per solved entry, then counts per status."""
    lines = [f"{'objective':<14}{'d':>5}{'K':>6}  {'status':<9}{'primary score':>28}{'time_s':>9}  note"]
    for r in rows:
        if r.status in ("present", "invalid"):
            continue
        score = f"{r.primary}={r.score:.12g}" if r.primary else ""
        lines.append(f"{r.objective:<14}{r.d:>5}{r.K:>6}  {r.status:<9}{score:>28}{r.seconds:>9.2f}  {r.note}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("totals: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from spherecodes.catalog.locations import builtin_catalog_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=builtin_catalog_path(), help="catalog file (default: the built-in one)")
    ap.add_argument("--objectives", default=",".join(DEFAULT_OBJECTIVES),
                    help="comma-separated objective names (default: %(default)s)")
    ap.add_argument("--dims", default=",".join(map(str, DEFAULT_DIMS)), help="e.g. 2,3,4 or 2-8")
    ap.add_argument("--sizes", default="3-64,100,128,200,256,500,512,1000", help="e.g. 3-64,100")
    ap.add_argument("--max-mb", type=float, default=30.0, help="size budget of the file in MiB (default 30)")
    ap.add_argument("--time-budget", type=float, default=None, help="stop starting solves after this many seconds")
    ap.add_argument("--restarts", type=int, default=None, help="restarts per solve (default: generate's)")
    ap.add_argument("--solve-budget", type=float, default=None, help="seconds per solve (best so far is stored)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--force", action="store_true", help="re-solve entries already stored (keeps the better)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    objectives = {}
    for name in [n.strip() for n in args.objectives.split(",") if n.strip()]:
        objectives[name] = DEFAULT_OBJECTIVES.get(name, {})

    def progress(row: Row) -> None:
        print(f"{row.objective} d={row.d} K={row.K}: {row.status} {row.primary}={row.score:.12g} "
              f"({row.seconds:.1f} s) {row.note}", file=sys.stderr, flush=True)

    rows = build(args.out, objectives=objectives, dims=parse_int_list(args.dims), sizes=parse_int_list(args.sizes),
                 max_mb=args.max_mb, time_budget=args.time_budget, restarts=args.restarts, seed=args.seed,
                 device=args.device, force=args.force, progress=progress, solve_budget=args.solve_budget)
    print(format_table(rows))
    if args.out.exists():
        print(f"{args.out}: {args.out.stat().st_size / 2**20:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
