"""Class prototypes at large K: every method gets the same wall time in the same process.

Methods (points start from the same Gaussian random unit vectors, seed 0, float32 first phase):

* ``ours_tammes`` / ``ours_softmax``: :func:`spherecodes.solvers.prototypes.solve_prototypes`
  with ``time_budget=T`` (the softmax run's exact one-vs-rest score is taken outside the budget, like
  every other method's);
* ``ours_riesz``: ``spherecodes.generate("riesz", d=d, K=K, catalog=False, certify=False, time_budget=T)``
  (certify=False: the certificate is not part of the race);
* ``recipe``: the hyperspherical-prototype recipe with its users' settings: SGD with momentum 0.9 on
  the mean over points of the max cosine to the others, rows renormalised after every step; the
  learning rate is swept over {0.01, 0.1, 1}, each run gets T, and the best is kept;
* ``ebv_hinge``: an equiangular-basis-vectors-style loss, the mean over points of
  ``sum_j relu(|cos_ij| - tau)`` (tau = the Levenshtein bound of the row, a target no code reaches),
  same optimiser and learning-rate sweep;
* ``lse_descent``: a softmax-code-paper-style max-cosine descent, ``(1/t) log sum_{i<j} exp(t cos_ij)``
  at a fixed t = 50, same optimiser and sweep.

The three baselines compute their gradients by row blocks of the Gram matrix (exactly the autograd
gradient of their loss, without a K x K matrix), so they run at every K where ours does.

Columns: max cosine (float64, exact), min one-vs-rest distance
(:func:`spherecodes.validation.one_vs_rest.one_vs_rest`, only for K <= ``--ovr-max-k``, else "n/a"),
Levenshtein bound on the max cosine (:func:`spherecodes.validation.bounds.levenshtein_max_cosine_bound`),
seconds (of the kept run for a sweep), peak RSS of the process while the method ran (sampled every
20 ms). Also a time-to-quality curve per method (best max cosine vs seconds), plotted to
bench/results/prototypes_scale.png.

    python bench/prototypes_scale.py [--seconds 20] [--rows 64x1000,128x1000] [--threads 1]

Every library runs one thread (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS default to 1 here): the machine
is shared, and idle thread pools spinning beside torch would tax whichever method runs later.

Writes bench/results/prototypes_scale.csv (the table) and prototypes_scale_curves.csv (the curves).
"""

from __future__ import annotations

import os

# One thread per library, fixed before they load: idle BLAS / OpenMP / numba pools spinning beside
# torch's thread would slow whichever method runs after the first numba or numpy call.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import RESULTS, print_table, read_csv, write_csv  # noqa: E402

import spherecodes  # noqa: E402
from spherecodes.errors import SpherecodesError  # noqa: E402
from spherecodes.solvers.prototypes import max_cosine_blocked, solve_prototypes  # noqa: E402
from spherecodes.validation.bounds import levenshtein_max_cosine_bound  # noqa: E402
from spherecodes.validation.one_vs_rest import one_vs_rest  # noqa: E402

ROWS = [(64, 1000), (128, 1000), (128, 5000), (512, 1000), (512, 10000), (128, 100000)]
LEARNING_RATES = (0.01, 0.1, 1.0)
BLOCK = 1024


class PeakRSS:
    """Peak resident set size of this process while the context is open (polls /proc every 20 ms)."""

    def __enter__(self):
        self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _poll(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def start_points(d: int, K: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(K, d, generator=gen, dtype=torch.float64)
    return (X / X.norm(dim=1, keepdim=True)).float()


# ----------------------------------------------------------------------------- baseline gradients
def recipe_grad(X: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Gradient of mean_i max_{j != i} <x_i, x_j>, by row blocks; and the max cosine."""
    K = X.shape[0]
    arg = torch.empty(K, dtype=torch.long)
    m = -math.inf
    for b0 in range(0, K, BLOCK):
        C = X[b0:b0 + BLOCK] @ X.T
        r = torch.arange(C.shape[0])
        C[r, b0 + r] = -2.0
        val, idx = C.max(dim=1)
        arg[b0:b0 + BLOCK] = idx
        m = max(m, float(val.max()))
    G = X[arg].clone()
    G.index_add_(0, arg, X)
    return G / K, m


def ebv_grad(X: torch.Tensor, tau: float) -> tuple[torch.Tensor, float]:
    """Gradient of (1/K) sum_{i != j} relu(|<x_i, x_j>| - tau) / 2 (each pair once), by row blocks."""
    K = X.shape[0]
    G = torch.empty_like(X)
    m = -math.inf
    for b0 in range(0, K, BLOCK):
        C = X[b0:b0 + BLOCK] @ X.T
        r = torch.arange(C.shape[0])
        C[r, b0 + r] = 0.0
        m = max(m, float(C.max()))
        Wt = torch.sign(C) * (C.abs() > tau)
        G[b0:b0 + BLOCK] = Wt @ X
    return G / K, m


def lse_grad(X: torch.Tensor, t: float) -> tuple[torch.Tensor, float]:
    """Gradient of (1/t) log sum_{i<j} exp(t <x_i, x_j>), by row blocks (two passes: max, then weights)."""
    K = X.shape[0]
    m = -math.inf
    for b0 in range(0, K, BLOCK):
        C = X[b0:b0 + BLOCK] @ X.T
        r = torch.arange(C.shape[0])
        C[r, b0 + r] = -2.0
        m = max(m, float(C.max()))
    total = 0.0
    G = torch.empty_like(X)
    for b0 in range(0, K, BLOCK):
        C = X[b0:b0 + BLOCK] @ X.T
        r = torch.arange(C.shape[0])
        C[r, b0 + r] = -math.inf
        E = torch.exp(t * (C - m))
        total += float(E.sum())
        G[b0:b0 + BLOCK] = E @ X
    return G / (total / 2.0), m  # d/dx_i of the LSE over unordered pairs


def sgd_momentum(grad_fn, d: int, K: int, T: float, lr: float, momentum: float = 0.9) -> tuple[np.ndarray, list]:
    """torch.optim.SGD semantics (v = mu v + g; x -= lr v), rows renormalised after each step; best iterate."""
    X = start_points(d, K)
    V = torch.zeros_like(X)
    best, best_X, curve = math.inf, X.clone(), []
    t0 = time.perf_counter()
    step_time = 0.0
    while True:
        now = time.perf_counter()
        if now + step_time - t0 >= T:
            break
        G, m = grad_fn(X)
        if m < best:
            best, best_X = m, X.clone()
        curve.append((now - t0, best))
        V.mul_(momentum).add_(G)
        X = X - lr * V
        X = X / X.norm(dim=1, keepdim=True)
        step_time = time.perf_counter() - now
    return best_X.double().numpy(), curve


def sweep(grad_fn, d: int, K: int, T: float) -> tuple[np.ndarray, list, str]:
    """Run the baseline at every learning rate (T each); keep the lr with the lowest final max cosine."""
    results = []
    for lr in LEARNING_RATES:
        t0 = time.perf_counter()
        P, curve = sgd_momentum(grad_fn, d, K, T, lr)
        results.append((max_cosine_blocked(P), lr, P, curve, time.perf_counter() - t0))
    _, lr, P, curve, seconds = min(results, key=lambda r: r[0])
    return P, curve, f"lr={lr:g} (best of {len(LEARNING_RATES)} runs)", seconds


# ----------------------------------------------------------------------------- one row
def run_row(d: int, K: int, T: float, ovr_max_k: int) -> tuple[list[dict], list[dict]]:
    lev = levenshtein_max_cosine_bound(d, K)
    rows, curves = [], []

    def record(method: str, fn):
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            try:
                P, curve, note, *spent = fn()
            except (SpherecodesError, MemoryError) as exc:
                rows.append(dict(d=d, K=K, method=method, max_cosine="refused", one_vs_rest="n/a",
                                 levenshtein=lev, seconds=time.perf_counter() - t0, peak_rss_mib=rss.peak / 2**20,
                                 note=str(exc)[:80]))
                return
            seconds = spent[0] if spent else time.perf_counter() - t0  # a sweep reports its kept run
        mc = max_cosine_blocked(P)
        ovr = one_vs_rest(P) if K <= ovr_max_k else "n/a"
        rows.append(dict(d=d, K=K, method=method, max_cosine=mc, one_vs_rest=ovr, levenshtein=lev,
                         seconds=seconds, peak_rss_mib=rss.peak / 2**20, note=note))
        curves.extend(dict(d=d, K=K, method=method, seconds=s, best_max_cosine=b) for s, b in curve)
        print(f"  {method:13s} max cos {mc:.6f}  {seconds:6.1f} s  {note}", flush=True)

    def ours(objective):
        def fn():
            init = start_points(d, K).double().numpy()
            r = solve_prototypes(objective, d, K, time_budget=T, init=init, score_one_vs_rest=False)
            return r.points, [(s, b) for s, _, b in r.history], f"{r.iterations} steps, {r.stop_reason}"
        return fn

    def riesz():
        code = spherecodes.generate("riesz", d=d, K=K, catalog=False, certify=False, time_budget=T, seed=0)
        return np.asarray(code.points), [], "generate riesz"

    tau = max(lev, 0.0)
    record("ours_tammes", ours("tammes"))
    record("ours_softmax", ours("softmax_code"))
    record("ours_riesz", riesz)
    record("recipe", lambda: sweep(recipe_grad, d, K, T))
    record("ebv_hinge", lambda: sweep(lambda X: ebv_grad(X, tau), d, K, T))
    record("lse_descent", lambda: sweep(lambda X: lse_grad(X, 50.0), d, K, T))
    return rows, curves


def plot(curves: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({(c["d"], c["K"]) for c in curves})
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.6), squeeze=False)
    for ax, (d, K) in zip(axes[0], keys):
        for method in dict.fromkeys(c["method"] for c in curves):
            pts = [(c["seconds"], c["best_max_cosine"]) for c in curves
                   if c["d"] == d and c["K"] == K and c["method"] == method]
            if pts:
                s, b = zip(*pts)
                ax.plot(s, b, label=method, drawstyle="steps-post")
        ax.set_title(f"d={d}, K={K}")
        ax.set_xlabel("seconds")
        ax.set_ylabel("best max cosine")
        hi = [c["best_max_cosine"] for c in curves if c["d"] == d and c["K"] == K and c["seconds"] > 1.0]
        if hi:
            ax.set_ylim(min(hi) * 0.95, max(hi) * 1.05)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def curve_margin(curves: list[dict], d: int, K: int) -> str:
    """Smallest ratio (best other)/(ours_tammes) of best-so-far max cosine over time points >= 1 s."""
    def best_at(method, s):
        vals = [c["best_max_cosine"] for c in curves
                if c["d"] == d and c["K"] == K and c["method"] == method and c["seconds"] <= s]
        return min(vals) if vals else math.inf
    ours_pts = [c["seconds"] for c in curves if c["d"] == d and c["K"] == K and c["method"] == "ours_tammes"]
    others = {c["method"] for c in curves if c["d"] == d and c["K"] == K} - {"ours_tammes", "ours_softmax"}
    ratios = []
    for s in ours_pts:
        if s < 1.0:
            continue
        o = best_at("ours_tammes", s)
        b = min((best_at(m, s) for m in others), default=math.inf)
        if math.isfinite(o) and math.isfinite(b) and o > 0:
            ratios.append(b / o)
    return f"{min(ratios):.4f}" if ratios else "n/a"


def _numeric(row: dict) -> dict:
    """A row read back from a results file, with its numbers as int / float again."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = int(value) if key in ("d", "K") else float(value)
        except ValueError:
            out[key] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="wall time per method (and per lr of a sweep)")
    ap.add_argument("--rows", type=str, default=None, help="e.g. 64x1000,128x5000 (default: all six)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (BLAS, OpenMP, numba: 1 unless set)")
    ap.add_argument("--append", action="store_true",
                    help="keep the other rows already in the results files (re-run only --rows)")
    ap.add_argument("--ovr-max-k", type=int, default=2000, help="largest K for the one-vs-rest column")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows_wanted = ROWS if args.rows is None else [tuple(int(v) for v in r.split("x")) for r in args.rows.split(",")]
    table, curves = [], []
    if args.append:
        table = [_numeric(r) for r in read_csv(RESULTS / "prototypes_scale.csv")
                 if (int(r["d"]), int(r["K"])) not in rows_wanted]
        curves = [_numeric(r) for r in read_csv(RESULTS / "prototypes_scale_curves.csv")
                  if (int(r["d"]), int(r["K"])) not in rows_wanted]
    for d, K in rows_wanted:
        print(f"d={d} K={K}, {args.seconds:g} s per method", flush=True)
        rows, cv = run_row(d, K, args.seconds, args.ovr_max_k)
        table += rows
        curves += cv
        write_csv("prototypes_scale.csv", table)
        write_csv("prototypes_scale_curves.csv", curves)
        plot(curves, RESULTS / "prototypes_scale.png")
    print_table(table)
    rows_wanted = list(dict.fromkeys([(r["d"], r["K"]) for r in table] + rows_wanted))
    print("\nrow: ours_tammes max cosine / best other final, and the worst time-point ratio (other / ours):")
    for d, K in rows_wanted:
        ours = [r["max_cosine"] for r in table if (r["d"], r["K"], r["method"]) == (d, K, "ours_tammes")
                and isinstance(r["max_cosine"], float)]
        other = [r["max_cosine"] for r in table if (r["d"], r["K"]) == (d, K) and not r["method"].startswith("ours")
                 and isinstance(r["max_cosine"], float)]
        if ours and other:
            print(f"  d={d} K={K}: ours/best-other = {ours[0] / min(other):.4f}; "
                  f"min over time of best-other/ours = {curve_margin(curves, d, K)}")


if __name__ == "__main__":
    main()
