"""Our Riesz solver vs geoopt (RiemannianAdam) vs pymanopt (conjugate gradient, trust regions), same process.

For every (d, K) of ``--problems`` (default (3, 100), (3, 400), (64, 1000), (128, 5000)), one random
start (B = 1, float64, CPU, the threads of this process) is handed to every solver, which gets the
same wall-clock budget:

* **ours**: the batched Riemannian L-BFGS of ``spherecodes.solve`` (``riemannian_lbfgs`` on
  ``Riesz.loss``, max step half the typical spacing, gtol 1e-11, default stall rule), until it stops
  or the budget ends (``--ours-stall-iters N``: also a run with a longer stall window, for information);
* **geoopt**: ``RiemannianAdam`` on ``geoopt.Sphere`` (points as rows), learning rates
  ``--lr-factors`` x the typical spacing (every one is run; each is its own row);
* **pymanopt**: ``ConjugateGradient`` on ``Oblique(d, K)`` (points as columns) with the PyTorch
  autodiff backend; and ``TrustRegions`` for K <= ``--tr-max-K`` (it needs Hessian-vector products
  by double backward, so its cost is the dense differentiable energy, not the tiled kernel).

All solvers minimise the same cost, ``Riesz.loss`` = log E (the tiled kernel with its analytic
gradient from K = 64 on), so the comparison is of the optimisers; every evaluation of the cost is
timed and recorded (line-search trial points included: they are configurations on the sphere;
``cost_calls`` also counts pymanopt's calls for gradients and Hessian-vector products).
From these traces:

(a) ``time_to_target_s``: the first time the best energy so far is within ``--rel`` (1e-6) of the
    energy our solver ends at, or "not reached" within the budget;
(b) ``energy``: the best energy within the budget, and its ratio to ours (``energy_ratio`` > 1:
    worse than ours; ``rel_excess`` = ratio - 1).

Prints a table and writes bench/results/compare_solvers.csv (with the versions and thread count).

    OMP_NUM_THREADS=1 python bench/compare_solvers.py                       # about 20 min on one core
    python bench/compare_solvers.py --problems 3x100 --budgets 10 --lr-factors 0.03
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from _common import print_table, write_csv

from spherecodes.kernels import riesz_energy
from spherecodes.objectives import get_objective
from spherecodes.objectives.riesz import riesz_energy_torch
from spherecodes.solvers.lbfgs import riemannian_lbfgs
from spherecodes.solvers.sphere import random_points, typical_spacing

PROBLEMS = [(3, 100), (3, 400), (64, 1000), (128, 5000)]
BUDGETS = [20.0, 30.0, 60.0, 120.0]
RIESZ = get_objective("riesz")
PARAMS = RIESZ.normalise_params(s=1.0)


class Trace:
    """Times (since start) and values of every cost evaluation; the clock starts at ``start()``."""

    def __init__(self) -> None:
        self.t: list[float] = []
        self.loss: list[float] = []
        self.t0 = time.perf_counter()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def record(self, loss: float) -> None:
        self.t.append(time.perf_counter() - self.t0)
        self.loss.append(float(loss))

    def best_within(self, budget: float) -> float:
        vals = [v for t, v in zip(self.t, self.loss) if t <= budget and math.isfinite(v)]
        return min(vals) if vals else math.inf

    def time_to(self, target_loss: float, budget: float) -> float | None:
        for t, v in zip(self.t, self.loss):
            if t > budget:
                return None
            if v <= target_loss:
                return t
        return None


def log_energy(X: torch.Tensor) -> torch.Tensor:
    """(B, K, d) -> (B,) log E, the objective's own loss (tiled from K = 64)."""
    return RIESZ.loss(X, PARAMS)


def run_ours(X0: torch.Tensor, d: int, K: int, budget: float, stall_iters: int | None = None) -> tuple[Trace, dict]:
    trace = Trace()
    extra = {} if stall_iters is None else {"stall_iters": stall_iters}

    def loss_fn(X):
        out = log_energy(X)
        trace.record(out.detach().min())
        return out

    trace.start()
    out = riemannian_lbfgs(loss_fn, X0.clone(), max_iter=10**6, gtol=1e-11, max_step=0.5 * typical_spacing(d, K),
                           deadline=trace.t0 + budget, **extra)
    wall = time.perf_counter() - trace.t0
    check = riesz_energy(out.X[0].numpy(), 1.0)
    from spherecodes.solvers.lbfgs import STOP_REASONS

    setting = "L-BFGS" if stall_iters is None else f"L-BFGS stall_iters={stall_iters}"
    return trace, {"setting": setting, "steps": int(out.iterations.sum()), "evals": len(trace.t),
                   "wall_s": wall, "final_energy_check": check, "stop": STOP_REASONS[int(out.status[0])]}


def run_geoopt(X0: torch.Tensor, lr: float, budget: float) -> tuple[Trace, dict]:
    import geoopt

    X = geoopt.ManifoldParameter(X0.clone(), manifold=geoopt.Sphere())
    opt = geoopt.optim.RiemannianAdam([X], lr=lr)
    trace = Trace()
    steps = 0
    trace.start()
    while time.perf_counter() - trace.t0 < budget:
        opt.zero_grad()
        loss = log_energy(X).sum()
        trace.record(loss.detach())
        loss.backward()
        opt.step()
        steps += 1
    return trace, {"setting": f"RiemannianAdam lr={lr:.3g}", "steps": steps, "evals": len(trace.t),
                   "wall_s": time.perf_counter() - trace.t0, "stop": "budget"}


def run_pymanopt(X0: torch.Tensor, d: int, K: int, budget: float, method: str) -> tuple[Trace, dict]:
    import pymanopt

    manifold = pymanopt.manifolds.Oblique(d, K)
    trace = Trace()
    if method == "TrustRegions":
        def value(Y):  # dense and twice differentiable (Hessian-vector products by double backward)
            return torch.log(riesz_energy_torch(Y.T[None], 1.0))[0]
    else:
        def value(Y):
            return log_energy(Y.T.contiguous()[None])[0]

    @pymanopt.function.pytorch(manifold)
    def cost(Y):
        out = value(Y)
        trace.record(out.detach())
        return out

    problem = pymanopt.Problem(manifold, cost)
    common = dict(max_time=budget, max_iterations=10**9, min_gradient_norm=1e-14, min_step_size=1e-300,
                  verbosity=0)
    if method == "TrustRegions":
        opt = pymanopt.optimizers.TrustRegions(**common)
    else:
        opt = pymanopt.optimizers.ConjugateGradient(**common)
    start = X0[0].T.numpy().copy()
    trace.start()
    result = opt.run(problem, initial_point=start)
    stop = result.stopping_criterion.split(" after")[0].removeprefix("Terminated - ")
    return trace, {"setting": method, "steps": int(result.iterations), "evals": len(trace.t),
                   "wall_s": time.perf_counter() - trace.t0, "stop": stop}


def parse_problem(text: str) -> tuple[int, int]:
    d, _, K = text.lower().partition("x")
    return int(d), int(K)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", type=parse_problem, default=PROBLEMS, metavar="DxK",
                    help="e.g. 3x100 64x1000 (default: %(default)s)")
    ap.add_argument("--budgets", nargs="+", type=float, default=None,
                    help="seconds per solver and problem, one per problem (default: 20 30 60 120)")
    ap.add_argument("--lr-factors", nargs="+", type=float, default=[0.01, 0.03, 0.1],
                    help="geoopt learning rates as multiples of the typical spacing")
    ap.add_argument("--tr-max-K", type=int, default=400, help="largest K for pymanopt TrustRegions (dense cost)")
    ap.add_argument("--rel", type=float, default=1e-6, help="relative energy tolerance of the target")
    ap.add_argument("--ours-stall-iters", type=int, nargs="*", default=[],
                    help="also run our L-BFGS with these stall_iters (rows for information; the target stays the "
                         "default run's energy)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    budgets = args.budgets or BUDGETS[: len(args.problems)]
    if len(budgets) != len(args.problems):
        raise SystemExit(f"--budgets: give one per problem ({len(args.problems)})")
    torch.set_num_threads(args.threads)
    import geoopt
    import pymanopt

    rows = []
    for (d, K), budget in zip(args.problems, budgets):
        X0 = random_points(1, K, d, torch.Generator().manual_seed(args.seed * 100003 + d * 1000 + K))
        runs = [("ours", *run_ours(X0, d, K, budget))]
        print(f"d={d} K={K}: ours done ({runs[0][2]['wall_s']:.1f} s)", flush=True)
        for n in args.ours_stall_iters:
            runs.append(("ours", *run_ours(X0, d, K, budget, stall_iters=n)))
        spacing = typical_spacing(d, K)
        for f in args.lr_factors:
            runs.append(("geoopt", *run_geoopt(X0, f * spacing, budget)))
            print(f"d={d} K={K}: geoopt lr={f * spacing:.3g} done", flush=True)
        methods = ["ConjugateGradient"] + (["TrustRegions"] if K <= args.tr_max_K else [])
        for m in methods:
            runs.append(("pymanopt", *run_pymanopt(X0, d, K, budget, m)))
            print(f"d={d} K={K}: pymanopt {m} done", flush=True)
        ours_trace, ours_info = runs[0][1], runs[0][2]
        ours_loss = ours_trace.best_within(budget)
        ours_E = math.exp(ours_loss)
        target = ours_loss + math.log1p(args.rel)
        t_ours = ours_trace.time_to(target, budget)
        for solver, trace, info in runs:
            best = trace.best_within(budget)
            E = math.exp(best)
            t = trace.time_to(target, budget)
            rows.append({
                "d": d, "K": K, "solver": solver, "setting": info["setting"], "budget_s": budget,
                "wall_s": round(info["wall_s"], 2), "steps": info["steps"], "cost_calls": info["evals"],
                "stop": info["stop"],
                "time_to_target_s": "not reached" if t is None else round(t, 3),
                "time_ratio_to_ours": "-" if t is None or not t_ours else round(t / t_ours, 2),
                "energy": E, "energy_ratio": E / ours_E, "rel_excess": E / ours_E - 1.0,
            })
        print(f"d={d} K={K}: ours ended at E={ours_E:.12g} (float64 recheck {ours_info['final_energy_check']:.12g}) "
              f"after {ours_info['steps']} iterations, {ours_info['wall_s']:.1f} s", flush=True)
    print()
    print_table(rows, floatfmt=".10g")
    print(f"\ntarget: within {args.rel:g} (relative) of the energy our L-BFGS ends at (converged or at the budget); "
          f"'not reached' = not within the solver's budget. energy_ratio > 1: higher (worse) energy than ours "
          f"at the budget. Same start, same cost (log E), float64, {args.threads} thread(s); "
          f"torch {torch.__version__}, geoopt {geoopt.__version__}, pymanopt {pymanopt.__version__}.")
    print("written", write_csv("compare_solvers.csv", rows))


if __name__ == "__main__":
    main()
