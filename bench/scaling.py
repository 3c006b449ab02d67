"""Time per L-BFGS iteration of the Riesz (s=1) and Tammes surrogate losses vs K, against the matmul bound.

Objectives (``--objectives``):

* ``riesz``: ``Riesz.loss`` with s = 1 (log E, tiled from K = 64 on);
* ``tammes``: the first surrogate stage of the Tammes solver, (1/s) log sum_{i<j} |x_i - x_j|^-s with
  s = 2 * ``STAGE_SHARPNESS[0]`` = 32, in its tiled form
  :func:`spherecodes.kernels.surrogate.lse_log_chord_tiled` (the dense ``maxmin.lse_log_chord`` holds
  the K x K Gram matrix and the K(K-1)/2 pair vector: ~16 GB at K = 20,000). Before timing, the run
  checks that both forms agree (value and gradient) at K = 300.

For every objective and K (log-spaced, 10^2 .. 2*10^4 by default), d = 128, B = 1, float32 and
float64, a fresh subprocess (so that its peak resident memory, VmHWM from /proc/self/status, belongs
to that size alone) does:

1. measure the GFLOP/s of ``torch.matmul`` on this machine: the best rate over the shapes an
   evaluation uses, (T x d) @ (d x K) and (T x K) @ (K x d) with T the tile the loss chooses, and a
   square 1024^3 product (the best rate gives the smallest, i.e. strictest, bound);
2. time one loss + gradient evaluation and one loss-only evaluation of the objective's loss;
3. run batched Riemannian L-BFGS from random points (warm-up iterations, then ``--iters`` timed
   ones), counting the evaluations with and without gradient.

The matmul bound of an evaluation is the time of the K x d x K products it needs at the measured
rate: 2 K^2 d flops for the Gram matrix, 2 K^2 d more for the gradient (G X). The bound of an
iteration sums that over its evaluations. Ratios = measured time / bound (1.0 = all time in matmuls
running at the best measured rate).

Writes bench/results/scaling.csv and bench/results/scaling.png (log axes). Rows of the existing CSV
that this run does not measure again (other objectives, sizes or dtypes) are kept (``--fresh``: not),
so that one objective can be re-measured alone; every row carries the matmul rate of its own run.

    OMP_NUM_THREADS=1 python bench/scaling.py            # the rules of this machine: one thread
    python bench/scaling.py --objectives tammes --dtypes float32 --K 100 1000 20000
    python bench/scaling.py --K 100 1000 --dtypes float64 --iters 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS, print_table, read_csv, vm_hwm_bytes, write_csv

DEFAULT_K = [100, 200, 500, 1000, 2000, 5000, 10000, 20000]



def _best_time(fn, repeats: int, warm: bool = True) -> float:
    if warm:
        fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_rate(K: int, d: int, T: int, dtype, repeats: int = 3) -> dict:
    """GFLOP/s of torch.matmul on this machine for the evaluation's block shapes and a square product."""
    import torch

    g = torch.Generator().manual_seed(0)
    rates = {}
    A = torch.randn(T, d, generator=g, dtype=dtype)
    X = torch.randn(K, d, generator=g, dtype=dtype)
    out = torch.empty(T, K, dtype=dtype)
    t = _best_time(lambda: torch.matmul(A, X.T, out=out), repeats)
    rates["gram_block"] = 2.0 * T * d * K / t / 1e9
    G = torch.randn(T, K, generator=g, dtype=dtype)
    out2 = torch.empty(T, d, dtype=dtype)
    t = _best_time(lambda: torch.matmul(G, X, out=out2), repeats)
    rates["coef_block"] = 2.0 * T * K * d / t / 1e9
    n = 1024
    S1 = torch.randn(n, n, generator=g, dtype=dtype)
    S2 = torch.randn(n, n, generator=g, dtype=dtype)
    out3 = torch.empty(n, n, dtype=dtype)
    t = _best_time(lambda: torch.matmul(S1, S2, out=out3), repeats)
    rates["square_1024"] = 2.0 * n**3 / t / 1e9
    return rates


def tammes_s() -> float:
    """Exponent of the first Tammes surrogate stage, s = 2 kappa."""
    from spherecodes.solvers.maxmin import STAGE_SHARPNESS

    return 2.0 * STAGE_SHARPNESS[0]


def objective_loss(objective: str):
    """(loss function (B, K, d) -> (B,), description) of the objective's timed loss."""
    if objective == "riesz":
        from spherecodes.objectives import get_objective

        obj = get_objective("riesz")
        params = obj.normalise_params(s=1.0)
        return (lambda X: obj.loss(X, params)), "Riesz.loss s=1"
    if objective == "tammes":
        from spherecodes.kernels.surrogate import lse_log_chord_tiled

        s = tammes_s()
        return (lambda X: lse_log_chord_tiled(X, s)), f"lse_log_chord_tiled s={s:g}"
    raise SystemExit(f"unknown objective {objective!r}: use riesz or tammes")


def check_tammes_surrogate(K: int = 300, d: int = 16) -> float:
    """Largest relative difference (value, gradient) of the tiled and the dense Tammes surrogate, float64."""
    import torch

    from spherecodes.kernels.surrogate import lse_log_chord_tiled
    from spherecodes.solvers.maxmin import lse_log_chord
    from spherecodes.solvers.sphere import random_points

    X = random_points(2, K, d, torch.Generator().manual_seed(0))
    worst = 0.0
    for s in (tammes_s(), 512.0):
        out = []
        for fn in (lse_log_chord, lse_log_chord_tiled):
            Y = X.clone().requires_grad_(True)
            v = fn(Y, s)
            (g,) = torch.autograd.grad(v.sum(), Y)
            out.append((v.detach(), g))
        (va, ga), (vb, gb) = out
        worst = max(worst, float(((va - vb).abs() / va.abs()).max()), float((ga - gb).abs().max() / ga.abs().max()))
    return worst


def worker(objective: str, K: int, d: int, dtype_name: str, iters: int, warmup: int, seed: int) -> dict:
    """One objective and size in this (fresh) process; returns the row."""
    import torch

    from spherecodes.kernels.tiled import TILE_BUFFERS
    from spherecodes.objectives.riesz import use_tiled
    from spherecodes.solvers.device import choose_tile
    from spherecodes.solvers.lbfgs import riemannian_lbfgs
    from spherecodes.solvers.sphere import random_points, typical_spacing

    dtype = getattr(torch, dtype_name)
    loss_fn, loss_name = objective_loss(objective)
    tiled = objective == "tammes" or use_tiled(K, 1.0, "euclidean")
    T = choose_tile(1, K, dtype.itemsize, "cpu", buffers=TILE_BUFFERS) if tiled else K
    X = random_points(1, K, d, torch.Generator().manual_seed(seed), dtype=dtype)
    repeats = 3 if K <= 5000 else 1

    def loss_grad():
        Y = X.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(Y).sum(), Y)
        return g

    def loss_only():
        with torch.no_grad():
            return loss_fn(X)

    # the machine is shared: alternate rate and evaluation measurements, keep the best of each
    rates: dict[str, float] = {}
    t_eval = t_loss = math.inf
    for _ in range(2):
        for key, value in matmul_rate(K, d, T, dtype).items():
            rates[key] = max(rates.get(key, 0.0), value)
        t_eval = min(t_eval, _best_time(loss_grad, repeats, warm=K <= 5000))
        t_loss = min(t_loss, _best_time(loss_only, repeats, warm=K <= 5000))
    peak = max(rates.values())
    unit = 2.0 * K * K * d / (peak * 1e9)  # seconds of one K x d x K product at the best rate

    counts = {"grad": 0, "loss": 0}

    def counted(Y):
        counts["grad" if (Y.requires_grad and torch.is_grad_enabled()) else "loss"] += 1
        return loss_fn(Y)

    step = 0.5 * typical_spacing(d, K)
    out = riemannian_lbfgs(counted, X, max_iter=warmup, gtol=0.0, max_step=step)
    counts.update(grad=0, loss=0)
    t0 = time.perf_counter()
    out = riemannian_lbfgs(counted, out.X, max_iter=iters, gtol=0.0, max_step=step)
    t_run = time.perf_counter() - t0
    n_it = max(int(out.iterations.sum()), 1)
    # the second run starts with one loss + gradient evaluation (its initial point): part of the time
    bound_run = (2 * counts["grad"] + counts["loss"]) * unit
    return {
        "objective": objective, "loss": loss_name, "K": K, "d": d, "dtype": dtype_name, "tile": T,
        "threads": torch.get_num_threads(),
        "matmul_gflops": round(peak, 2),
        "eval_s": t_eval, "eval_bound_s": 2 * unit, "eval_ratio": t_eval / (2 * unit),
        "loss_only_s": t_loss, "loss_only_ratio": t_loss / unit,
        "iter_s": t_run / n_it, "iter_bound_s": bound_run / n_it, "iter_ratio": t_run / bound_run,
        "evals_per_iter": round((counts["grad"] + counts["loss"]) / n_it, 3),
        "peak_rss_mb": round(vm_hwm_bytes() / 2**20, 1),
        "gflops_gram_block": round(rates["gram_block"], 2), "gflops_coef_block": round(rates["coef_block"], 2),
        "gflops_square": round(rates["square_1024"], 2),
    }


def plot(rows: list[dict], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is a dependency of the benches
        print("matplotlib not installed: no plot")
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5))
    styles = {"riesz": ("o", "-"), "tammes": ("s", "-.")}
    for objective, (marker, line) in styles.items():
        for dtype, colour in (("float32", "tab:blue"), ("float64", "tab:red")):
            sel = sorted((r for r in rows if r["objective"] == objective and r["dtype"] == dtype),
                         key=lambda r: int(r["K"]))
            if not sel:
                continue
            Ks = [int(r["K"]) for r in sel]
            ax.loglog(Ks, [float(r["iter_s"]) for r in sel], marker=marker, linestyle=line, color=colour,
                      label=f"{objective} iteration, {dtype}")
            ax.loglog(Ks, [float(r["iter_bound_s"]) for r in sel], linestyle=":", color=colour, alpha=0.5,
                      label=f"{objective} matmul bound, {dtype}")
    ax.set_xlabel("K (points), d = 128, B = 1")
    ax.set_ylabel("seconds per iteration")
    ax.set_title("Time per L-BFGS iteration: Riesz s=1 and Tammes surrogate (s=32), tiled")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def previous_rows() -> list[dict]:
    """Rows of the existing scaling.csv (those from before the objective column are Riesz rows)."""
    path = RESULTS / "scaling.csv"
    if not path.exists():
        return []
    rows = read_csv(path)
    for r in rows:
        r.setdefault("objective", "riesz")
        r.setdefault("loss", "Riesz.loss s=1")
        for k, v in r.items():
            if k not in ("objective", "loss", "dtype"):
                try:
                    r[k] = float(v) if any(c in v for c in ".e") or v in ("nan", "inf") else int(v)
                except ValueError:
                    pass
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objectives", nargs="+", default=["riesz", "tammes"], choices=["riesz", "tammes"])
    ap.add_argument("--K", type=int, nargs="+", default=DEFAULT_K)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--iters", type=int, default=3, help="timed L-BFGS iterations per size")
    ap.add_argument("--warmup", type=int, default=2, help="untimed L-BFGS iterations before")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fresh", action="store_true", help="drop the rows of the existing CSV")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.objectives[0], args.K[0], args.d, args.dtypes[0], args.iters, args.warmup,
                                args.seed)))
        return
    if "tammes" in args.objectives:
        gap = check_tammes_surrogate()
        print(f"tammes surrogate: tiled vs dense lse_log_chord at K=300, d=16, float64: largest relative "
              f"difference {gap:.2e} (value and gradient)", flush=True)
        if not gap < 1e-10:
            raise SystemExit("the tiled Tammes surrogate does not match the dense one")
    rows = []
    for objective in args.objectives:
        for K in args.K:
            for dtype in args.dtypes:
                cmd = [sys.executable, __file__, "--worker", "--objectives", objective, "--K", str(K), "--d",
                       str(args.d), "--dtypes", dtype, "--iters", str(args.iters), "--warmup", str(args.warmup),
                       "--seed", str(args.seed)]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
                if proc.returncode != 0:
                    print(f"{objective} K={K} {dtype}: worker failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"{objective:>7} K={K:>6} {dtype}: iteration {row['iter_s']:.4g} s (bound "
                      f"{row['iter_bound_s']:.4g} s, ratio {row['iter_ratio']:.2f}), eval ratio "
                      f"{row['eval_ratio']:.2f}, peak {row['peak_rss_mb']:.0f} MB, matmul "
                      f"{row['matmul_gflops']:.1f} GFLOP/s", flush=True)
    if not rows:
        raise SystemExit("no size finished")
    print()
    show = ["objective", "K", "dtype", "tile", "matmul_gflops", "iter_s", "iter_bound_s", "iter_ratio", "eval_s",
            "eval_ratio", "loss_only_ratio", "evals_per_iter", "peak_rss_mb"]
    print_table([{k: r[k] for k in show} for r in rows], floatfmt=".4g")
    measured = {(r["objective"], int(r["K"]), r["dtype"]) for r in rows}
    kept = [] if args.fresh else [r for r in previous_rows()
                                  if (r["objective"], int(r["K"]), r["dtype"]) not in measured]
    if kept:
        print(f"\nkept {len(kept)} rows of the previous scaling.csv (not measured again in this run)")
    columns = list(rows[0])
    every = sorted(rows + [{k: r.get(k, "") for k in columns} for r in kept],
                   key=lambda r: (r["objective"], int(r["K"]), r["dtype"]))
    print("\nwritten", write_csv("scaling.csv", every))
    png = plot(every, RESULTS / "scaling.png")
    if png:
        print("written", png)
    for r in (r for r in rows if r["K"] >= 20000):
        ok_mem = r["peak_rss_mb"] < 2048
        ok_time = r["iter_ratio"] <= 3.0
        print(f"target {r['objective']} K={r['K']} {r['dtype']}: peak {r['peak_rss_mb']:.0f} MB "
              f"({'<' if ok_mem else '>='} 2 GB), iteration / matmul bound = {r['iter_ratio']:.2f} "
              f"({'within' if ok_time else 'NOT within'} 3x)")


if __name__ == "__main__":
    main()
