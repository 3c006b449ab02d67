"""Batched Riemannian L-BFGS on (S^{d-1})^K with a backtracking Armijo line search.

All B restarts move in one tensor: every operation is batched, each restart has its own
history, step length and stopping state, and finished restarts are frozen by masks (their
values no longer change), so a batch run equals a loop of single runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .sphere import inner, project_tangent, retract, row_norms

__all__ = ["LBFGSOutcome", "riemannian_lbfgs", "STOP_REASONS"]

#: per-restart stopping codes and their readable meaning
STOP_REASONS = {
    0: "still running",
    1: "gradient below tolerance",
    2: "no further progress (loss flat to rounding, gradient no longer decreasing)",
    3: "iteration limit",
    4: "time budget",
}


@dataclass
class LBFGSOutcome:
    """What one batched L-BFGS run returns.

    Attributes
    ----------
    X : torch.Tensor, shape (B, K, d)
        Final points.
    loss : torch.Tensor, shape (B,)
    grad_norm : torch.Tensor, shape (B,)
        Scaled stationarity measure ``K * max_i |grad_i|`` at the final points.
    iterations : torch.Tensor, shape (B,), int
    status : torch.Tensor, shape (B,), int
        Codes of :data:`STOP_REASONS`.
    evaluations : int
        Batched loss + gradient evaluations.
    history : list of float
        Minimum loss over the batch after each iteration.
    """

    X: torch.Tensor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    iterations: torch.Tensor
    status: torch.Tensor
    evaluations: int
    history: list


def _loss_and_grad(loss_fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor):
    X = X.detach().requires_grad_(True)
    f = loss_fn(X)
    (g,) = torch.autograd.grad(f.sum(), X)
    return f.detach(), project_tangent(X.detach(), g)


def riemannian_lbfgs(loss_fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, *, max_iter: int = 1000,
                     gtol: float = 1e-10, memory: int = 10, max_step: float = 0.5, c1: float = 1e-4,
                     max_backtracks: int = 30, stall_iters: int = 30, deadline: float | None = None,
                     callback: Callable[[int, torch.Tensor], None] | None = None,
                     reuse_gradient: bool = True) -> LBFGSOutcome:
    """Minimise ``loss_fn`` independently for every restart in X.

    Parameters
    ----------
    loss_fn : callable
        (B, K, d) -> (B,), differentiable; restarts must not interact.
    X : torch.Tensor, shape (B, K, d)
        Starting points (unit rows). dtype and device are kept.
    max_iter : int
        Iteration limit per restart.
    gtol : float
        Stop a restart when ``K * max_i |grad_i| <= gtol`` (Riemannian gradient rows).
    memory : int
        Number of (s, y) pairs kept.
    max_step : float
        Largest displacement of any single point in one step (radians, roughly); keeps
        early steps from jumping across the sphere.
    c1 : float
        Armijo constant.
    max_backtracks : int
        Step halvings before a line search is declared failed.
    stall_iters : int
        Stop a restart (status 2) after this many iterations without a 0.1% decrease of its
        best stationarity measure nor a decrease of the loss beyond rounding (32 eps |f|), or after
        two failed line searches in a row.

    Notes
    -----
    Near a minimum the loss changes by less than its rounding error, and Armijo's test can no
    longer tell a good step from a bad one. A step is then also accepted when the new loss
    is within ``8 eps |f|`` of the old one, so the quasi-Newton steps keep driving the
    gradient down; the stall rule ends the run once the gradient stops improving.
    deadline : float, optional
        ``time.perf_counter()`` value after which every running restart stops.
    callback : callable, optional
        ``callback(iteration, loss)`` after every iteration.
    reuse_gradient : bool
        Evaluate the gradient together with the loss at the first trial step of each line search
        and keep it when every restart that moves accepts that step (the usual case), instead of
        a separate loss + gradient evaluation at the accepted point. Same iterates; about one
        loss evaluation fewer per iteration (for the tiled Riesz loss, 2 matmul passes instead of 3).
    """
    B, K, _ = X.shape
    dev = X.device
    f, g = _loss_and_grad(loss_fn, X)
    evals = 1
    S: list[torch.Tensor] = []
    Y: list[torch.Tensor] = []
    R: list[torch.Tensor] = []  # rho = 1 / <s, y>, zero where the pair is not used
    status = torch.zeros(B, dtype=torch.long, device=dev)
    iters = torch.zeros(B, dtype=torch.long, device=dev)
    failed_once = torch.zeros(B, dtype=torch.bool, device=dev)
    stalled = torch.zeros(B, dtype=torch.long, device=dev)
    rounding = 8.0 * torch.finfo(X.dtype).eps
    history: list[float] = []

    def stationarity(grad: torch.Tensor) -> torch.Tensor:
        return K * row_norms(grad).amax(dim=1)

    gn = stationarity(g)
    best_gn = gn.clone()
    status[gn <= gtol] = 1
    for it in range(max_iter):
        active = status == 0
        if not bool(active.any()):
            break
        if deadline is not None and time.perf_counter() > deadline:
            status[active] = 4
            break
        # two-loop recursion, batched; unused pairs have rho = 0 and drop out
        q = g.clone()
        alphas = []
        for s_k, y_k, r_k in zip(reversed(S), reversed(Y), reversed(R)):
            a = r_k * inner(s_k, q)
            q = q - a[:, None, None] * y_k
            alphas.append(a)
        if S:
            sy = inner(S[-1], Y[-1])
            yy = inner(Y[-1], Y[-1])
            gamma = torch.where((R[-1] > 0) & (yy > 0), sy / yy.clamp_min(torch.finfo(X.dtype).tiny),
                                torch.ones_like(sy))
            q = q * gamma[:, None, None]
        for (s_k, y_k, r_k), a in zip(zip(S, Y, R), reversed(alphas)):
            b = r_k * inner(y_k, q)
            q = q + (a - b)[:, None, None] * s_k
        p = project_tangent(X, -q)
        dg = inner(g, p)
        # not a descent direction (or history just reset): steepest descent
        bad = ~(dg < 0) | failed_once
        if bool(bad.any()):
            p = torch.where(bad[:, None, None], -g, p)
            dg = torch.where(bad, -inner(g, g), dg)
        # first step: unit step of the quasi-Newton direction, capped per point
        pmax = row_norms(p).amax(dim=1).clamp_min(torch.finfo(X.dtype).tiny)
        t = torch.clamp(max_step / pmax, max=1.0)
        t = torch.where(active, t, torch.zeros_like(t))
        accepted = ~active
        Xn, fn = X, f
        g_first = first_ok = None
        for trial in range(max_backtracks):
            Xc = retract(X, t[:, None, None] * p)
            if reuse_gradient and trial == 0:
                fc, g_first = _loss_and_grad(loss_fn, Xc)
            else:
                fc = loss_fn(Xc).detach()
            evals += 1
            flat = fc <= f + rounding * f.abs()
            ok = ((fc <= f + c1 * t * dg) | flat) & ~accepted & torch.isfinite(fc)
            if trial == 0:
                first_ok = ok
            Xn = torch.where(ok[:, None, None], Xc, Xn)
            fn = torch.where(ok, fc, fn)
            accepted = accepted | ok
            if bool(accepted.all()):
                break
            t = torch.where(accepted, t, 0.5 * t)
        moved = accepted & active
        failed = active & ~accepted
        # a failure right after a steepest-descent step means we are at the precision limit
        status[failed & failed_once] = 2
        failed_once = failed & ~failed_once
        if g_first is not None and bool((first_ok | ~moved).all()):
            # every restart that moved took the first trial step, whose gradient is already known
            g_new = g_first
        else:
            _, g_new = _loss_and_grad(loss_fn, Xn)
            evals += 1
        # keep the new state only where a step was accepted
        s_new = project_tangent(Xn, Xn - X)
        y_new = g_new - project_tangent(Xn, g)
        sy = inner(s_new, y_new)
        use = moved & (sy > 1e-12 * torch.sqrt(inner(s_new, s_new) * inner(y_new, y_new)).clamp_min(1e-300))
        rho = torch.where(use, 1.0 / torch.where(use, sy, torch.ones_like(sy)), torch.zeros_like(sy))
        # transport old pairs by projection onto the new tangent spaces
        S = [project_tangent(Xn, s_k) for s_k in S]
        Y = [project_tangent(Xn, y_k) for y_k in Y]
        S.append(torch.where(use[:, None, None], s_new, torch.zeros_like(s_new)))
        Y.append(torch.where(use[:, None, None], y_new, torch.zeros_like(y_new)))
        R.append(rho)
        if len(S) > memory:
            S.pop(0)
            Y.pop(0)
            R.pop(0)
        X = torch.where(moved[:, None, None], Xn, X)
        # a loss decrease beyond rounding is progress even while the gradient norm does not fall (on a
        # flat valley the gradient can stay put for many iterations while the loss keeps dropping)
        decreased = moved & (fn < f - 4.0 * rounding * f.abs())
        f = torch.where(moved, fn, f)
        g = torch.where(moved[:, None, None], g_new, g)
        iters = iters + active.long()
        gn = stationarity(g)
        status[(status == 0) & (gn <= gtol)] = 1
        improved = (gn < best_gn * (1.0 - 1e-3)) | decreased
        best_gn = torch.minimum(best_gn, gn)
        stalled = torch.where(improved, torch.zeros_like(stalled), stalled + active.long())
        status[(status == 0) & (stalled >= stall_iters)] = 2
        history.append(float(f.min()))
        if callback is not None:
            callback(it, f)
    status[status == 0] = 3
    return LBFGSOutcome(X=X, loss=f, grad_norm=gn, iterations=iters, status=status, evaluations=evals,
                        history=history)
