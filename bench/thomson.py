"""Thomson problem on S^2 (Riesz s=1): default settings vs the best-known energies, N = 2..100.

Prints N, best known, found, relative error, restarts, rounds, seconds, and the totals;
writes bench/results/thomson.csv. The solver runs alone: no catalog (catalog=False: the built-in
catalog holds these codes, and a lookup is not a solve) and no constructions (use_constructions=False),
so that small N are found by the search, not by the icosahedron / simplex constructions.

    python bench/thomson.py [--nmin 2] [--nmax 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import median, print_table, read_csv, shared_reference, write_csv

import spherecodes

REL_TOL = 1e-9  # the reference prints 9 decimals; relative 1e-9 or absolute 5e-9 (see its README)
ABS_TOL = 5e-9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nmin", type=int, default=2)
    ap.add_argument("--nmax", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = {int(r["N"]): float(r["energy"]) for r in read_csv(shared_reference("thomson_s2.csv"))}
    rows = []
    for N in range(args.nmin, args.nmax + 1):
        if N not in ref:
            continue
        t0 = time.perf_counter()
        code = spherecodes.generate("riesz", 3, N, s=1.0, seed=args.seed + N, use_constructions=False,
                                    catalog=False)
        dt = time.perf_counter() - t0
        E = code.scores["energy"]
        rel = (E - ref[N]) / ref[N]
        ok = abs(rel) <= REL_TOL or abs(E - ref[N]) <= ABS_TOL
        rows.append({"N": N, "best_known": ref[N], "found": E, "rel_err": rel, "ok": "yes" if ok else "NO",
                     "restarts": code.provenance["restarts"], "rounds": code.provenance["rounds"],
                     "success_rate_round0": round(code.provenance["success_rate"], 3), "seconds": round(dt, 2)})
        print(f"N={N:4d} E={E:.9f} ref={ref[N]:.9f} rel={rel:+.2e} {'ok' if ok else 'MISS'} {dt:.1f}s", flush=True)
    print()
    print_table(rows, ".12g")
    n_ok = sum(r["ok"] == "yes" for r in rows)
    times = [r["seconds"] for r in rows]
    print(f"\nreached best known (rel <= {REL_TOL:g} or abs <= {ABS_TOL:g}): {n_ok}/{len(rows)}; "
          f"total {sum(times):.1f} s, median {median(times):.2f} s per N, max {max(times):.1f} s")
    print("written", write_csv("thomson.csv", rows))


if __name__ == "__main__":
    main()
