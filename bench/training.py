"""Benchmark: test accuracy on scikit-learn's digits with learned vs fixed (code) classifiers.

Each configuration is trained with :func:`spherecodes.training.train` (small MLP, Adam, CPU) for
several seeds; the table shows test accuracy mean +- std (sample std over seeds) and the mean NC1 /
NC2 one-vs-rest distance of the training features. Results go to ``bench/results/training.csv``.

Configurations, for d = 16 >= K - 1 = 9 and for d = 3 < K - 1:

- CE with a learned (cosine) classifier, and the class-mean (CMF) classifier;
- CE with fixed proxies: the simplex (d >= K - 1), random Gaussian proxies, and for d < K - 1 a
  "best code" computed here by projected-gradient Riesz s=1 minimisation (a bench-only helper,
  NOT the library solver; its energy is printed next to the best-known Thomson value for d = 3);
- CE with rotated ("partially learnable") simplex proxies;
- HUG (MHE, relaxed Eq. 6) with fixed proxies; HUG (MGD) with learnable proxies, both with the exact
  intra-class term of Eq. 10 and with the relaxed one of the HUG slides (sum_i |x_i - w_c|);
- HingeCE with fixed proxies (tau+ = 13 pi / 36, tau- = pi).

Run: ``OMP_NUM_THREADS=1 python bench/training.py [--seeds 5] [--epochs 25]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from spherecodes.training import train

K = 10
THOMSON_S2_N10 = 32.716949460  # best-known Thomson energy, unordered pairs (/work/shared/reference/thomson_s2.csv)


def riesz_pgd_code(d: int, K: int, s: float = 1.0, starts: int = 20, steps: int = 3000, seed: int = 0) -> np.ndarray:
    """Bench-only helper: a low Riesz s-energy code by projected gradient descent with backtracking.

    Minimises sum_{i<j} |x_i - x_j|^-s over K points on S^{d-1} from ``starts`` random starts:
    gradient step, projection of every row back onto the sphere, step halved when the energy rises.
    Returns the lowest-energy configuration found (float64, unit rows).
    """
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(K, k=1)

    def energy(X):
        diff = X[:, None, :] - X[None, :, :]
        r = np.sqrt(np.sum(diff * diff, axis=-1))[iu]
        return float(np.sum(r ** (-s)))

    def grad(X):
        diff = X[:, None, :] - X[None, :, :]
        r2 = np.sum(diff * diff, axis=-1)
        np.fill_diagonal(r2, 1.0)
        w = -s * r2 ** (-(s + 2) / 2)
        np.fill_diagonal(w, 0.0)
        return np.sum(w[:, :, None] * diff, axis=1)

    best, best_e = None, math.inf
    for _ in range(starts):
        X = rng.normal(size=(K, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        e, step = energy(X), 0.05
        for _ in range(steps):
            Y = X - step * grad(X)
            Y /= np.linalg.norm(Y, axis=1, keepdims=True)
            e_new = energy(Y)
            if e_new < e:
                X, e, step = Y, e_new, step * 1.2
            else:
                step *= 0.5
                if step < 1e-14:
                    break
        if e < best_e:
            best, best_e = X, e
    return best


def random_proxies(d: int, seed: int) -> np.ndarray:
    X = np.random.default_rng(1000 + seed).normal(size=(K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def configurations(best_small: np.ndarray) -> list[dict]:
    out = []
    for d in (16, 3):
        simplex_like = "construction:simplex" if d >= K - 1 else best_small
        fixed_name = "fixed simplex" if d >= K - 1 else "fixed best code (inline PGD Riesz s=1)"
        out += [
            dict(name="CE, learned classifier", d=d, head="learnable", loss="ce"),
            dict(name="CE, class-mean classifier (CMF)", d=d, head="class_mean", loss="ce"),
            dict(name=f"CE, {fixed_name}", d=d, head="fixed", loss="ce", proxies=simplex_like),
            dict(name="CE, fixed random proxies", d=d, head="fixed", loss="ce", proxies="random"),
            dict(name=f"CE, rotated {fixed_name.removeprefix('fixed ')}", d=d, head="rotated", loss="ce",
                 proxies=simplex_like),
            dict(name=f"HUG-MHE (Eq. 6), {fixed_name}", d=d, head="fixed", loss="hug", proxies=simplex_like,
                 hug_variant="mhe"),
            dict(name="HUG-MGD (Eq. 10), learnable proxies", d=d, head="learnable", loss="hug", hug_variant="mgd"),
            dict(name="HUG-MGD (relaxed intra, slides), learnable proxies", d=d, head="learnable", loss="hug",
                 hug_variant="mgd", hug_relaxed=True),
            dict(name=f"HingeCE, {fixed_name}", d=d, head="fixed", loss="hinge_ce", proxies=simplex_like),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "training.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()

    best_small = riesz_pgd_code(3, K, s=1.0)
    iu = np.triu_indices(K, k=1)
    e_small = float(np.sum(1.0 / np.linalg.norm(best_small[iu[0]] - best_small[iu[1]], axis=1)))
    print(f"inline PGD Riesz s=1 code, d=3, K={K}: energy {e_small:.9f} "
          f"(best known Thomson N=10: {THOMSON_S2_N10:.9f}, rel. gap {e_small / THOMSON_S2_N10 - 1:.1e})")

    rows = []
    for cfg in configurations(best_small):
        accs, nc1s, ovrs, times = [], [], [], []
        for seed in range(args.seeds):
            proxies = cfg.get("proxies")
            if isinstance(proxies, str) and proxies == "random":
                proxies = random_proxies(cfg["d"], seed)
            t = time.perf_counter()
            res = train(head=cfg["head"], proxies=proxies, loss=cfg["loss"], epochs=args.epochs, seed=seed,
                        feature_dim=cfg["d"], hug_variant=cfg.get("hug_variant", "mhe"),
                        hug_relaxed=cfg.get("hug_relaxed"))
            times.append(time.perf_counter() - t)
            accs.append(res.test_accuracy)
            nc1s.append(res.metrics["nc1"])
            ovrs.append(res.metrics["nc2_one_vs_rest"])
        row = dict(d=cfg["d"], method=cfg["name"], head=cfg["head"], loss=cfg["loss"], seeds=args.seeds,
                   epochs=args.epochs, test_acc_mean=statistics.mean(accs), test_acc_std=statistics.stdev(accs),
                   nc1_mean=statistics.mean(nc1s), nc2_one_vs_rest_mean=statistics.mean(ovrs),
                   seconds_per_run=statistics.mean(times))
        rows.append(row)
        acc, std = 100 * row["test_acc_mean"], 100 * row["test_acc_std"]
        print(f"d={row['d']:>2}  {row['method']:<60} {acc:6.2f} +- {std:4.2f}"
              f"   NC1 {row['nc1_mean']:.3g}   NC2 {row['nc2_one_vs_rest_mean']:.4f}", flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{len(rows)} configurations x {args.seeds} seeds in {time.perf_counter() - t0:.0f} s; wrote {args.out}")
    print("NC2 = min one-vs-rest distance of the normalised class means; the simplex value is K/(K-1) = 1.1111")
    return 0


if __name__ == "__main__":
    sys.exit(main())
