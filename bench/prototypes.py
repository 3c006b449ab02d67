"""The "prototype recipe" baseline vs our Tammes solver: max cosine reached and time, side by side.

The recipe, re-implemented here as a baseline (a widely used way to make fixed, well separated class
prototypes, e.g. hyperspherical prototype networks): start from Gaussian random unit vectors and run plain
SGD (learning rate 0.1) on the mean over points of the max cosine to the other points,
``L = mean_i max_{j != i} <w_i, w_j>``, renormalising the rows after every step, for a few thousand steps;
the best max cosine seen is reported.

Ours: ``spherecodes.generate("tammes", d, K)`` (surrogate stages, SLP polish, basin hopping; no
constructions), with a time budget: ``--budget`` seconds per method for K = 1000 (the recipe stops there
too) and ``--budget-small`` seconds for our solver at K = 100 (the recipe always does its ``--steps``).
The solver checks its budget between steps, so it can overrun it by one step (a batch of surrogate
iterations or one polish). Cases: K = 100 with d = 10, 25, 50, 99 and K = 1000 with d = 64, 512.
Known optima for reference: K <= d+1 max cosine -1/(K-1); d+1 < K <= 2d max cosine 0 (Rankin).
Writes bench/results/prototypes.csv.

    python bench/prototypes.py [--steps 5000] [--budget 300] [--budget-small 120] [--restarts-large 2]
                               [--only 100:10,1000:64]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from _common import print_table, write_csv

import spherecodes

CASES = [(100, 10), (100, 25), (100, 50), (100, 99), (1000, 64), (1000, 512)]


def prototype_recipe(K: int, d: int, *, steps: int, lr: float = 0.1, seed: int = 0,
                     time_budget: float | None = None) -> tuple[float, int]:
    """SGD on mean_i max_j cos, renormalising each step; returns (best max cosine seen, steps done)."""
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(K, d, generator=gen, dtype=torch.float64)
    W = W / W.norm(dim=1, keepdim=True)
    eye = torch.eye(K, dtype=torch.bool)
    best = math.inf
    t0 = time.perf_counter()
    done = 0
    for _ in range(steps):
        W.requires_grad_(True)
        C = (W @ W.T).masked_fill(eye, -math.inf)
        row_max = C.max(dim=1).values
        best = min(best, float(row_max.detach().max()))
        loss = row_max.mean()
        (g,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W = W - lr * g
            W = W / W.norm(dim=1, keepdim=True)
        done += 1
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
    with torch.no_grad():
        C = (W @ W.T).masked_fill(eye, -math.inf)
        best = min(best, float(C.max()))
    return best, done


def optimum(K: int, d: int) -> str:
    if K <= d + 1:
        return f"{-1.0 / (K - 1):.6g}"
    if K <= 2 * d:
        return "0"
    return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per method for K = 1000")
    ap.add_argument("--budget-small", type=float, default=120.0, help="seconds for our solver at K = 100")
    ap.add_argument("--restarts-large", type=int, default=2, help="our restarts for K = 1000")
    ap.add_argument("--only", type=str, default=None, help="e.g. 100:10,1000:64")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = [tuple(int(v) for v in c.split(":")) for c in args.only.split(",")] if args.only else CASES
    rows = []
    for K, d in cases:
        large = K >= 1000
        budget = args.budget if large else None
        t0 = time.perf_counter()
        base, steps = prototype_recipe(K, d, steps=args.steps, seed=args.seed, time_budget=budget)
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        code = spherecodes.generate("tammes", d, K, seed=args.seed, use_constructions=False, catalog=False,
                                    restarts=args.restarts_large if large else None,
                                    time_budget=budget if large else args.budget_small)
        t_ours = time.perf_counter() - t0
        rows.append({"K": K, "d": d, "optimum": optimum(K, d), "recipe_max_cos": base, "recipe_steps": steps,
                     "recipe_s": round(t_base, 1), "ours_max_cos": code.scores["max_cosine"],
                     "ours_min_angle_deg": code.scores["min_angle_deg"], "ours_s": round(t_ours, 1),
                     "ours_stop": code.provenance.get("stop_reason", "")})
        print(rows[-1], flush=True)
    print_table(rows, floatfmt=".6g")
    print(f"wrote {write_csv('prototypes.csv', rows)}")


if __name__ == "__main__":
    main()
