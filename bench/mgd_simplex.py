"""MGD (Gaussian Gram log-determinant): is the regular simplex the optimum for K <= d+1?

For each (d, K) with K <= d+1 and eps in {0.25, 0.5, 1, 2, 4}, runs the solver alone
(``spherecodes.solvers.solve("mgd", ...)``, no constructions) and compares its log det G with the
simplex closed form (K-1) log(1-a) + log(1+(K-1)a), a = exp(-2 eps^2 K/(K-1)). A positive
``solver - simplex`` beyond rounding would mean the simplex is not optimal. Writes
bench/results/mgd_simplex.csv.

    python bench/mgd_simplex.py [--seed 0] [--restarts 16]
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import print_table, write_csv

from spherecodes.objectives.mgd import simplex_logdet
from spherecodes.solvers import solve

CASES = [(3, 4), (4, 5), (5, 4), (6, 7), (8, 9), (10, 6)]
EPS = [0.25, 0.5, 1.0, 2.0, 4.0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restarts", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for d, K in CASES:
        for eps in EPS:
            t0 = time.perf_counter()
            res = solve("mgd", d, K, eps=eps, seed=args.seed, restarts=args.restarts)
            dt = time.perf_counter() - t0
            ref = simplex_logdet(K, eps)
            rows.append({"d": d, "K": K, "eps": eps, "simplex_logdet": ref, "solver_logdet": res.scores["logdet"],
                         "solver_minus_simplex": res.scores["logdet"] - ref,
                         "solver_max_cos": res.scores["max_cosine"], "simplex_max_cos": -1.0 / (K - 1),
                         "seconds": round(dt, 2)})
            print(rows[-1], flush=True)
    print_table(rows, floatfmt=".12g")
    worst = max(r["solver_minus_simplex"] for r in rows)
    best_gap = min(r["solver_minus_simplex"] for r in rows)
    print(f"max(solver - simplex) = {worst:.3e}   min(solver - simplex) = {best_gap:.3e}   over {len(rows)} cases")
    print(f"wrote {write_csv('mgd_simplex.csv', rows)}")


if __name__ == "__main__":
    main()
