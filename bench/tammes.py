"""Tammes problem on S^2: default ``generate("tammes", 3, N)`` vs the best-known minimum angles, N = 2..60 (..130).

Prints N, best known (degrees), found, difference, seconds, whether an exact construction was returned,
and the totals (how many N are within 1e-6 degrees, total time); writes bench/results/tammes.csv.
Reference: the bundled table ``known_table("tammes_s2")``: /work/shared/reference/tammes_s2.csv (Sloane's
tables, N <= 60; see its source column) extended with putative-optimum chords for N = 61..130.

    python bench/tammes.py [--nmin 2] [--nmax 60] [--seed 0] [--restarts R] [--rounds R] [--no-constructions]
                           [--only 49,57] [--store CATALOG.h5]
    python bench/tammes.py --only 49,57 --seeds 100,200,300,400,500,600 --out tammes_seeds_49_57.csv

``--store`` puts every code found into that catalog (it keeps the better code of a key).

The seed of N is ``seed + N`` (reproducible); restarts/rounds default to the library defaults. ``--seeds``
runs every N once per listed seed S, as ``--seed S`` would (generate's seed is S + N), and writes one row
per (S, N): seed, N, found_deg, ok, seconds, rounds (how often the default search reaches the best known
over seeds). Angles are
written at full precision (repr of the float64).
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import print_table, write_csv

import spherecodes
from spherecodes.validation.known import known_table

TOL_DEG = 1e-6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nmin", type=int, default=2)
    ap.add_argument("--nmax", type=int, default=60)
    ap.add_argument("--only", type=str, default=None, help="comma-separated list of N (overrides nmin/nmax)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restarts", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--no-constructions", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="tammes.csv")
    ap.add_argument("--store", default=None, help="catalog file to put the codes in (keeps the better per key)")
    ap.add_argument("--seeds", type=str, default=None,
                    help="comma-separated seeds S: one run per (S, N), as --seed S; the seed-table layout")
    args = ap.parse_args()
    if args.seeds:
        seed_table(args)
        return
    torch.set_num_threads(args.threads)
    ref = {int(r["N"]): float(r["min_angle_deg"]) for r in known_table("tammes_s2")}
    store = spherecodes.Catalog(args.store) if args.store else None
    Ns = [int(n) for n in args.only.split(",")] if args.only else range(args.nmin, args.nmax + 1)
    rows = []
    for N in Ns:
        if N not in ref:
            continue
        t0 = time.perf_counter()
        code = spherecodes.generate("tammes", 3, N, seed=args.seed + N, restarts=args.restarts, rounds=args.rounds,
                                    use_constructions=not args.no_constructions, catalog=False)
        dt = time.perf_counter() - t0
        if store is not None:
            store.put(code)
        found = code.scores["min_angle_deg"]
        rows.append({"N": N, "best_known_deg": ref[N], "found_deg": found, "diff_deg": found - ref[N],
                     "ok": abs(found - ref[N]) <= TOL_DEG, "seconds": round(dt, 2),
                     "rounds": code.provenance.get("rounds"), "construction": code.provenance.get("construction") or "",
                     "one_vs_rest": code.scores["one_vs_rest"]})
        print(f"N={N:3d} best {ref[N]:.7f} found {found:.10f} diff {found - ref[N]:+.2e} {dt:7.2f} s "
              f"{'ok' if rows[-1]['ok'] else 'MISS'} {rows[-1]['construction']}", flush=True)
    print_table(rows, floatfmt=".10g")
    ok = sum(r["ok"] for r in rows)
    total = sum(r["seconds"] for r in rows)
    missed = [r["N"] for r in rows if not r["ok"]]
    print(f"TOTAL: {ok}/{len(rows)} within {TOL_DEG:g} deg of the best known; time {total:.1f} s "
          f"(median {sorted(r['seconds'] for r in rows)[len(rows) // 2]:.1f} s); missed N = {missed}")
    print(f"wrote {write_csv(args.out, rows)}")


def seed_table(args: argparse.Namespace) -> None:
    """One run per (seed, N): does the default search reach the best-known angle whatever the seed?"""
    ref = {int(r["N"]): float(r["min_angle_deg"]) for r in known_table("tammes_s2")}
    Ns = [int(n) for n in args.only.split(",")] if args.only else range(args.nmin, args.nmax + 1)
    rows = []
    for N in Ns:
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            code = spherecodes.generate("tammes", 3, N, seed=seed + N, restarts=args.restarts, rounds=args.rounds,
                                        use_constructions=not args.no_constructions, catalog=False)
            dt = time.perf_counter() - t0
            found = code.scores["min_angle_deg"]
            rows.append({"seed": seed, "N": N, "found_deg": found, "ok": abs(found - ref[N]) <= TOL_DEG,
                         "seconds": round(dt, 1), "rounds": code.provenance.get("rounds")})
            print(f"N={N:3d} seed={seed} found {found!r} {'ok' if rows[-1]['ok'] else 'MISS'} {dt:.1f} s", flush=True)
    for N in sorted({r["N"] for r in rows}):
        mine = [r for r in rows if r["N"] == N]
        print(f"N={N}: {sum(r['ok'] for r in mine)}/{len(mine)} seeds within {TOL_DEG:g} deg of the best known")
    print(f"wrote {write_csv(args.out, rows)}")


if __name__ == "__main__":
    main()
