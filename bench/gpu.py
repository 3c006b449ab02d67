"""GPU path: iterations/s and achieved FLOP/s of the tiled Riesz loss + gradient vs the device's matmul peak.

For K in {10^4, 10^5, 10^6}, d = 512, B = 1, on CUDA (float32 by default; the polish dtype float64
can be added with --dtypes), this script

1. measures the device's matmul peak in the same run: ``torch.matmul`` of two 8192 x 8192 matrices
   of the dtype (TF32 off: true float32), best of a few, and of the shapes the tiled evaluation
   uses ((T x d) @ (d x K) and (T x K) @ (K x d) with its tile T);
2. times one loss + gradient evaluation of ``Riesz.loss`` (tiled) and a few batched Riemannian
   L-BFGS iterations, with ``torch.cuda.synchronize()`` around every timing;
3. reports iterations/s, the FLOP/s achieved by the evaluation (4 K^2 d flops: Gram block and
   gradient product) and its ratio to the measured peak, and the peak device memory.

Writes bench/results/gpu.csv and prints the table. Without CUDA it says so and exits with status 0
(``--cpu-smoke`` runs the same logic on the CPU with small K, to check the script itself).

    python bench/gpu.py                          # on a CUDA machine
    python bench/gpu.py --K 10000 100000 --iters 3
    OMP_NUM_THREADS=1 python bench/gpu.py --cpu-smoke
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from _common import print_table, write_csv

DEFAULT_K = [10_000, 100_000, 1_000_000]


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_time(fn, device, repeats: int, warm: bool = True) -> float:
    if warm:
        fn()
        _sync(device)
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def _square_rate(device, dtype, n: int, g) -> float:
    """GFLOP/s of an n x n x n product (its buffers are freed on return)."""
    import torch

    A = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    Bm = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    C = torch.empty(n, n, device=device, dtype=dtype)
    t = _best_time(lambda: torch.matmul(A, Bm, out=C), device, 3)
    return 2.0 * n**3 / t / 1e9


def matmul_peak(device, dtype, K: int, d: int, T: int, square: int) -> dict:
    """Best GFLOP/s of torch.matmul on the device: a square product and the evaluation's block shapes."""
    import torch

    g = torch.Generator(device=device).manual_seed(0)
    out = {"square": _square_rate(device, dtype, square, g)}
    Xb = torch.randn(T, d, device=device, dtype=dtype, generator=g)
    X = torch.randn(K, d, device=device, dtype=dtype, generator=g)
    G = torch.empty(T, K, device=device, dtype=dtype)
    t = _best_time(lambda: torch.matmul(Xb, X.T, out=G), device, 3)
    out["gram_block"] = 2.0 * T * d * K / t / 1e9
    R = torch.empty(T, d, device=device, dtype=dtype)
    t = _best_time(lambda: torch.matmul(G, X, out=R), device, 3)
    out["coef_block"] = 2.0 * T * K * d / t / 1e9
    return out


def run_size(K: int, d: int, dtype_name: str, device, iters: int, square: int, seed: int) -> dict:
    import torch

    from spherecodes.kernels.tiled import TILE_BUFFERS
    from spherecodes.objectives import get_objective
    from spherecodes.solvers.device import choose_tile
    from spherecodes.solvers.lbfgs import riemannian_lbfgs
    from spherecodes.solvers.sphere import random_points, typical_spacing

    dtype = getattr(torch, dtype_name)
    obj = get_objective("riesz")
    params = obj.normalise_params(s=1.0)
    T = choose_tile(1, K, dtype.itemsize, device, buffers=TILE_BUFFERS)
    rates = matmul_peak(device, dtype, K, d, T, square)
    peak = max(rates.values())
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    X = random_points(1, K, d, torch.Generator().manual_seed(seed), dtype=dtype, device=device)

    def loss_grad():
        Y = X.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(obj.loss(Y, params).sum(), Y)
        return g

    big = K >= 500_000
    t_eval = _best_time(loss_grad, device, 1 if big else 3, warm=not big)
    flops_eval = 4.0 * K * K * d
    step = 0.5 * typical_spacing(d, K)
    _sync(device)
    t0 = time.perf_counter()
    out = riemannian_lbfgs(lambda Y: obj.loss(Y, params), X, max_iter=iters, gtol=0.0, max_step=step)
    _sync(device)
    t_run = time.perf_counter() - t0
    n_it = max(int(out.iterations.sum()), 1)
    mem = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0
    return {
        "K": K, "d": d, "dtype": dtype_name, "device": str(device), "tile": T,
        "matmul_peak_gflops": round(peak, 1), "eval_s": t_eval, "eval_gflops": round(flops_eval / t_eval / 1e9, 1),
        "eval_fraction_of_peak": round(flops_eval / t_eval / 1e9 / peak, 3),
        "iterations_per_s": round(n_it / t_run, 4), "evals_per_iter": round(out.evaluations / n_it, 2),
        "peak_device_mem_gb": round(mem / 2**30, 2),
        "gflops_square": round(rates["square"], 1), "gflops_gram_block": round(rates["gram_block"], 1),
        "gflops_coef_block": round(rates["coef_block"], 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, nargs="+", default=None, help="default: 10^4 10^5 10^6 (CPU smoke: 500 2000)")
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--dtypes", nargs="+", default=["float32"], choices=["float32", "float64"])
    ap.add_argument("--iters", type=int, default=3, help="timed L-BFGS iterations per size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu-smoke", action="store_true", help="run the logic on the CPU with small sizes")
    args = ap.parse_args()

    import torch

    if args.cpu_smoke:
        device = torch.device("cpu")
        Ks = args.K or [500, 2000]
        d = min(args.d, 64)
        square = 512
    else:
        if not torch.cuda.is_available():
            print("bench/gpu.py: no CUDA device visible to torch; nothing measured (run it on a GPU machine, "
                  "or pass --cpu-smoke to check the script on the CPU)")
            return 0
        device = torch.device("cuda")
        torch.backends.cuda.matmul.allow_tf32 = False  # true float32 peak and arithmetic
        Ks = args.K or DEFAULT_K
        d = args.d
        square = 8192
        print(f"device: {torch.cuda.get_device_name(device)}, "
              f"{torch.cuda.get_device_properties(device).total_memory / 2**30:.0f} GiB", flush=True)
    rows = []
    for K in Ks:
        for dtype in args.dtypes:
            try:
                row = run_size(K, d, dtype, device, args.iters, square, args.seed)
            except torch.OutOfMemoryError as exc:  # report and go on with the other sizes
                print(f"K={K} {dtype}: out of memory ({str(exc).splitlines()[0]})", flush=True)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            rows.append(row)
            print(f"K={K:>8} {dtype}: {row['iterations_per_s']:.4g} it/s, eval {row['eval_s']:.4g} s = "
                  f"{row['eval_gflops']:.0f} GFLOP/s ({100 * row['eval_fraction_of_peak']:.0f}% of the "
                  f"{row['matmul_peak_gflops']:.0f} GFLOP/s matmul peak), {row['peak_device_mem_gb']} GiB", flush=True)
    if not rows:
        print("no size finished")
        return 1
    print()
    print_table(rows, floatfmt=".4g")
    name = "gpu_cpu_smoke.csv" if args.cpu_smoke else "gpu.csv"
    print("\nwritten", write_csv(name, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
