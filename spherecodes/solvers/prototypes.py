r"""Class prototypes at large K: a max-cosine (Tammes) solver in memory O(B K d + near pairs).

Points are rows of an array of shape (K, d) on :math:`S^{d-1}`; pairs are unordered (i < j).
The figure of merit of the ``"tammes"`` mode is the max cosine
:math:`\mu(X) = \max_{i<j} \langle x_i, x_j\rangle` (lower is better); the ``"softmax_code"`` mode
also reports (and polishes) the min one-vs-rest distance
:math:`\rho(X) = \min_k \operatorname{dist}(x_k, \operatorname{conv}\{x_j : j \ne k\})` (higher is better).

Method (first phase, float32 by default, CPU or CUDA)
-----------------------------------------------------
Annealed log-sum-exp descent on the sphere. At sharpness t the smooth surrogate of :math:`\mu` is

.. math::
    f_t(X) = \frac{1}{t} \log \sum_{i<j} e^{t (c_{ij} - m)}, \qquad c_{ij} = \langle x_i, x_j\rangle,
    \quad m = \max_{i<j} c_{ij},

whose Euclidean gradient at :math:`x_i` is proportional to :math:`g_i = \sum_{j} w_{ij} x_j` with
:math:`w_{ij} = e^{t (c_{ij} - m)}`. Only pairs with :math:`c_{ij} > m - L/t` get a weight
(:data:`WEIGHT_SPAN` = L; a dropped weight is below :math:`e^{-L}` of the largest one): these are the
*near-active pairs*. Each step projects :math:`g_i` on the tangent space
(:math:`g_i - \langle g_i, x_i\rangle x_i`), scales the step so that the row that moves most moves
by the learning rate :math:`\eta`, applies heavy-ball momentum and renormalises the rows. Over the
schedule t grows geometrically from ``t_start`` to ``t_end`` and :math:`\eta` decays geometrically
from ``lr_start`` to ``lr_end``; the schedule's clock is the elapsed fraction of the time budget
(or of ``steps`` without one).

Two exact evaluations of the same step, chosen per rebuild by cost:

* blocked dense: for row blocks of B rows, :math:`C_b = X_b X^T` (B, K), weights, :math:`G_b = W_b X`;
  memory O(B K), time O(K^2 d) per step;
* near-pair list: every pair with :math:`c_{ij} >` a threshold is found by the same blocked Gram
  (memory O(B K + pairs)); steps then cost O(pairs d). A pair outside the list has
  :math:`c_{ij} \le \text{threshold} + 2\sum \text{(largest row move)}` since the rebuild; the list is
  rebuilt as soon as that bound could reach the current weight cut-off :math:`m - L/t`, so the list
  steps equal the dense ones (up to floating-point order).

Scores are recomputed at the end in float64 from the best iterate (:func:`max_cosine_blocked`,
:func:`min_one_vs_rest_blocked`), never taken from the float32 phase.

``softmax_code`` mode: the max-cosine phase above (most of the budget), then a polish of the
smallest one-vs-rest distances: for the points whose bound :math:`1 - c_k` (c_k = max cosine of
row k) is lowest, the exact distance and its nearest hull point :math:`y_k = \sum_j \lambda_j x_j`
come from Wolfe's algorithm on the point's near neighbours, certified against all K points
(:func:`one_vs_rest_near`); the step moves :math:`x_k` along :math:`x_k - y_k` and each active
:math:`x_j` by :math:`-\lambda_j (x_k - y_k)` (the gradient of :math:`\rho_k` by the envelope
theorem), weighted by a soft-min over the examined points, and is kept only if the certified
:math:`\rho` improves.

Stopping: the time budget (checked every step, with the time of the float64 scoring reserved), a
quality plateau (no relative improvement of the best max cosine above ``plateau_rtol`` within
``patience`` steps, after the schedule), or ``max_iterations``; the reason is in
:attr:`PrototypeResult.stop_reason`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import InvalidParameterError, ResourceError
from .device import available_memory_bytes, resolve_device

__all__ = [
    "PrototypeResult",
    "solve_prototypes",
    "prototype_memory_bytes",
    "check_prototype_memory",
    "max_cosine_blocked",
    "near_pairs",
    "one_vs_rest_near",
    "min_one_vs_rest_blocked",
    "PROTOTYPE_OBJECTIVES",
    "WEIGHT_SPAN",
]

log = logging.getLogger(__name__)

#: objectives this solver handles
PROTOTYPE_OBJECTIVES = ("tammes", "softmax_code")

#: L: pairs with t (c_ij - m) < -L get no weight (their weight would be below e^-L of the largest)
WEIGHT_SPAN = 16.0

#: up to this K the final one-vs-rest score uses the dense exact solver (K x K float64 Gram, <= 128 MiB)
DENSE_ONE_VS_REST_MAX_K = 4096

#: default rows per block of the blocked Gram
DEFAULT_BLOCK = 1024

#: default cap on the near-pair list (pairs); above it the blocked dense step is used
DEFAULT_MAX_PAIRS = 20_000_000

#: bytes per stored near pair: two int64 indices, the cosine, the weight, a mask and scratch
_PAIR_BYTES = 8 + 8 + 4 * 4

#: a list step costs about this many dense (BLAS) pair evaluations per listed pair
_LIST_COST_FACTOR = 8.0

#: extra cosine margin below the weight cut-off when a list is built (room to move before a rebuild)
_LIST_SLACK = 0.05


@dataclass(frozen=True)
class PrototypeResult:
    """Outcome of :func:`solve_prototypes`.

    Attributes
    ----------
    points : numpy.ndarray, shape (K, d), float64
        Unit rows (renormalised in float64).
    scores : dict
        ``"max_cosine"`` (float64, exact, :func:`max_cosine_blocked`) and, for ``softmax_code``,
        ``"one_vs_rest"`` (float64, certified, :func:`min_one_vs_rest_blocked`).
    iterations : int
        Descent steps taken (both phases).
    time_s : float
        Wall time of the whole call, scoring included.
    stop_reason : str
        ``"time_budget"``, ``"plateau"`` or ``"max_iterations"``.
    history : list of (float, int, float)
        (seconds since the start, iteration, best max cosine so far, float32 phase), one entry per
        improvement check; a time-to-quality curve.
    objective : str
    """

    points: np.ndarray
    scores: dict
    iterations: int
    time_s: float
    stop_reason: str
    history: list = field(default_factory=list)
    objective: str = "tammes"


# ----------------------------------------------------------------------------- checks and memory
def _check_objective(objective: Any) -> str:
    if objective not in PROTOTYPE_OBJECTIVES:
        raise InvalidParameterError("objective", objective, f"use one of {', '.join(PROTOTYPE_OBJECTIVES)}")
    return str(objective)


def _check_size(d: Any, K: Any) -> tuple[int, int]:
    for name, value, lo in (("d", d, 2), ("K", K, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise InvalidParameterError(name, value, f"pass an integer >= {lo}")
    return int(d), int(K)


def _check_positive(name: str, value: Any, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, value, "pass a positive number") from None
    if not math.isfinite(v) or v <= 0:
        raise InvalidParameterError(name, value, "pass a positive, finite number")
    return v


def prototype_memory_bytes(d: int, K: int, *, block: int = DEFAULT_BLOCK, max_pairs: int = DEFAULT_MAX_PAIRS,
                           itemsize: int = 4, objective: str = "tammes", neighbours: int = 64) -> int:
    """Peak memory of :func:`solve_prototypes`, in bytes, before anything is allocated.

    Counts: iterate, momentum, best iterate, gradient and a scratch copy (5 K d ``itemsize``); the
    float64 result and its float64 scoring copy (2 K d 8); a blocked-Gram tile with its weights and
    mask (4 B K ``itemsize``, B = min(block, K)) and its float64 scoring tile (2 B K 8); the near-pair
    list at its cap (``min(max_pairs, K (K-1)/2)`` pairs of :data:`_PAIR_BYTES`) plus its gathered rows
    (two (chunk, d) buffers); for ``softmax_code`` the neighbour sub-problems of the polish
    (``neighbours`` + 1 points: their Gram, Wolfe workspace and weights, 64 at a time) and, up to
    :data:`DENSE_ONE_VS_REST_MAX_K` points, the dense exact score (two K x K float64 arrays).

    Parameters
    ----------
    d, K : int
        Dimension and number of points.
    block : int
        Rows per blocked-Gram tile.
    max_pairs : int
        Cap on the near-pair list (the solver falls back to dense blocked steps above it).
    itemsize : int
        Bytes per element of the first phase (4 for float32, 8 for float64).
    objective : str
    neighbours : int
        Neighbours per point in the one-vs-rest sub-problems.
    """
    d, K = _check_size(d, K)
    B = min(int(block), K)
    pairs = min(int(max_pairs), K * (K - 1) // 2)
    n = 5 * K * d * itemsize + 2 * K * d * 8
    n += 4 * B * K * itemsize + 2 * B * K * 8
    n += pairs * _PAIR_BYTES + 2 * min(pairs, _GATHER_CHUNK) * d * itemsize
    if objective == "softmax_code":
        m = neighbours + 1
        n += 64 * (3 * m * m * 8 + 2 * m * d * 8) + 2 * K * 8
        if K <= DENSE_ONE_VS_REST_MAX_K:
            n += 2 * K * K * 8  # the dense exact score: Gram and Wolfe weights
    return int(n)


#: listed pairs processed per gather (bounds the (chunk, d) gathered rows)
_GATHER_CHUNK = 1 << 20


def check_prototype_memory(d: int, K: int, device: "str | torch.device" = "cpu", **kwargs: Any) -> int:
    """Raise :class:`~spherecodes.errors.ResourceError` when :func:`prototype_memory_bytes` exceeds 80 % of
    the free memory of ``device``; return the estimate otherwise. The message names the stage, the
    need, the free memory and the fix."""
    dev = resolve_device(device)
    need = prototype_memory_bytes(d, K, **kwargs)
    free = available_memory_bytes(dev)
    if need > 0.8 * free:
        raise ResourceError(
            f"prototype solve (stage: solve) for d={d}, K={K} needs about {need / 2**30:.2f} GiB but {dev} has "
            f"{free / 2**30:.2f} GiB free; pass a smaller block= or max_pairs=, use device='cuda', "
            "or reduce K or d")
    return need


# ----------------------------------------------------------------------------- blocked scores
def _unit_rows64(points: Any, name: str = "points") -> np.ndarray:
    X = np.array(points, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InvalidParameterError(name, f"array of shape {X.shape}", "pass a (K, d) array with K >= 2")
    if not np.all(np.isfinite(X)):
        raise InvalidParameterError(name, "array with NaN or inf", "every coordinate must be finite")
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise InvalidParameterError(name, "array with a zero row", "every row must be nonzero")
    return X / norms[:, None]


def max_cosine_blocked(points: Any, *, block: int = DEFAULT_BLOCK, normalise: bool = True) -> float:
    r""":math:`\max_{i<j} \langle x_i, x_j\rangle` in float64 without a K x K matrix.

    Parameters
    ----------
    points : array_like, shape (K, d)
        Rows; renormalised to unit length first unless ``normalise`` is False.
    block : int
        Rows per tile: memory O(block K) float64.

    Returns
    -------
    float
    """
    X = _unit_rows64(points) if normalise else np.asarray(points, dtype=np.float64)
    return float(row_max_cosines(X, block=block).max())


def row_max_cosines(X: np.ndarray, *, block: int = DEFAULT_BLOCK) -> np.ndarray:
    r"""Row maxima :math:`c_k = \max_{j \ne k} \langle x_k, x_j\rangle`, shape (K,), float64, by row blocks."""
    K = X.shape[0]
    out = np.empty(K)
    for b0 in range(0, K, block):
        G = X[b0:b0 + block] @ X.T
        idx = np.arange(G.shape[0])
        G[idx, b0 + idx] = -np.inf
        out[b0:b0 + block] = G.max(axis=1)
    return out


def near_pairs(X: torch.Tensor, threshold: float, *, block: int = DEFAULT_BLOCK,
               max_pairs: int | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
    r"""Every unordered pair i < j with :math:`\langle x_i, x_j\rangle > \text{threshold}`, by row blocks.

    Parameters
    ----------
    X : torch.Tensor, shape (K, d)
    threshold : float
    block : int
        Rows per tile (memory O(block K)).
    max_pairs : int, optional
        Return None as soon as more pairs than this are found (nothing more is allocated).

    Returns
    -------
    (I, J) : two int64 tensors of shape (P,), I < J, sorted by (I, J); or None over ``max_pairs``.
    """
    K = X.shape[0]
    Is, Js, total = [], [], 0
    for b0 in range(0, K, block):
        G = X[b0:b0 + block] @ X[b0:].T  # rows b0.., columns b0..: pairs (i, j) with j > i are above the diagonal
        ii, jj = torch.nonzero(torch.triu(G > threshold, diagonal=1), as_tuple=True)
        total += ii.numel()
        if max_pairs is not None and total > max_pairs:
            return None
        Is.append(ii + b0)
        Js.append(jj + b0)
    return torch.cat(Is), torch.cat(Js)


# ----------------------------------------------------------------------------- one step, two ways
def _dense_step_gradient(X: torch.Tensor, t: float, m: float, block: int) -> tuple[torch.Tensor, float]:
    """G = W X with w_ij = exp(t (c_ij - m)) on pairs c_ij > m - L/t, i != j; and the max cosine."""
    K = X.shape[0]
    G = torch.empty_like(X)
    cut = m - WEIGHT_SPAN / t
    new_max = -math.inf
    for b0 in range(0, K, block):
        C = X[b0:b0 + block] @ X.T
        rows = torch.arange(C.shape[0], device=X.device)
        C[rows, b0 + rows] = -2.0
        new_max = max(new_max, float(C.max()))
        W = torch.where(C > cut, torch.exp(t * (C - m)), torch.zeros((), dtype=X.dtype, device=X.device))
        G[b0:b0 + block] = W @ X
    return G, new_max


def _list_step_gradient(X: torch.Tensor, I: torch.Tensor, J: torch.Tensor, t: float,
                        m: float) -> tuple[torch.Tensor, float]:
    """The same G as :func:`_dense_step_gradient` from the listed pairs only; and their max cosine."""
    G = torch.zeros_like(X)
    cut = m - WEIGHT_SPAN / t
    new_max = -math.inf
    for s in range(0, I.numel(), _GATHER_CHUNK):
        i, j = I[s:s + _GATHER_CHUNK], J[s:s + _GATHER_CHUNK]
        c = (X[i] * X[j]).sum(dim=1)
        if c.numel():
            new_max = max(new_max, float(c.max()))
        keep = c > cut
        i, j, c = i[keep], j[keep], c[keep]
        w = torch.exp(t * (c - m))[:, None]
        G.index_add_(0, i, w * X[j])
        G.index_add_(0, j, w * X[i])
    return G, new_max


# ----------------------------------------------------------------------------- one-vs-rest, scalable
def one_vs_rest_near(X: np.ndarray, k: int, *, neighbours: int = 64,
                     row_order: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Exact :math:`\rho_k` from a neighbour sub-problem, certified against every point.

    Wolfe's algorithm (:func:`spherecodes.kernels.hull_distance.one_vs_rest_projection`) is run on
    :math:`x_k` and its ``neighbours`` largest-cosine neighbours; with :math:`y` the nearest hull point
    found and :math:`v = x_k - y`, the subset answer is the answer for all points iff no point j
    has :math:`\langle v, x_j\rangle > \langle v, y\rangle` (the optimality condition of the nearest
    point of a polytope: :math:`\langle v, x_j - y\rangle \le 0` for every vertex x_j). The
    check is one product :math:`X v` (O(K d)); violators are added and the solve repeated.

    Parameters
    ----------
    X : numpy.ndarray, shape (K, d), float64 unit rows
    k : int
    neighbours : int
    row_order : numpy.ndarray of int, optional
        Indices of the candidates, best first (default: by cosine to x_k).

    Returns
    -------
    (rho, index, lam) : float, int array, float array
        The distance and the hull weights ``lam`` on points ``index`` (y = lam @ X[index]).
    """
    from ..kernels.hull_distance import one_vs_rest_projection

    K = X.shape[0]
    if row_order is None:
        cos = X @ X[k]
        cos[k] = -np.inf
        n = min(neighbours, K - 1)
        cand = np.argpartition(-cos, n - 1)[:n]
    else:
        cand = np.asarray(row_order[:neighbours])
    cand = cand[cand != k]
    for _ in range(K):
        sub = np.concatenate(([k], cand))
        which = np.zeros(sub.size, dtype=bool)
        which[0] = True
        dist, lam = one_vs_rest_projection(X[sub], which=which)
        y = lam[0] @ X[sub]
        v = X[k] - y
        level = float(v @ y)
        proj = X @ v
        proj[k] = -np.inf
        tol = 1e-12 * max(1.0, float(np.linalg.norm(v)))
        viol = np.setdiff1d(np.flatnonzero(proj > level + tol), cand)
        if viol.size == 0:
            nz = lam[0] > 0
            return float(dist[0]), sub[nz], lam[0][nz]
        cand = np.concatenate((cand, viol[np.argsort(-proj[viol])][:max(neighbours, 1)]))
    raise AssertionError("unreachable: the candidate set grows every round")  # pragma: no cover


def min_one_vs_rest_blocked(points: Any, *, block: int = DEFAULT_BLOCK, neighbours: int = 64,
                            normalise: bool = True) -> float:
    r"""Exact :math:`\min_k \rho_k` without a K x K matrix (float64).

    :math:`\rho_k \ge 1 - c_k` with :math:`c_k` the row max cosine (the plane
    :math:`\langle x_k, y\rangle = c_k` separates :math:`x_k` from the others), so the points are solved
    (by :func:`one_vs_rest_near`) in increasing order of that bound until the next bound is no smaller
    than the best distance found. Memory O(block K + K d); coincident points give 0. Up to
    :data:`DENSE_ONE_VS_REST_MAX_K` points the dense exact
    :func:`spherecodes.kernels.hull_distance.one_vs_rest` (a K x K float64 Gram) is used instead: it
    is faster there.
    """
    X = _unit_rows64(points) if normalise else np.asarray(points, dtype=np.float64)
    if X.shape[0] <= DENSE_ONE_VS_REST_MAX_K:
        from ..kernels.hull_distance import one_vs_rest

        return float(one_vs_rest(X))
    c = row_max_cosines(X, block=block)
    lower = 1.0 - c
    if np.any(c >= 1.0):
        return 0.0
    best = math.inf
    for k in np.argsort(lower, kind="stable"):
        if lower[k] >= best:
            break
        rho, _, _ = one_vs_rest_near(X, int(k), neighbours=neighbours)
        best = min(best, rho)
    return float(best)


# ----------------------------------------------------------------------------- the solver
class _Clock:
    """Schedule position in [0, 1] and the stopping tests of one phase."""

    def __init__(self, start: float, budget: float | None, steps: int):
        self.start, self.budget, self.steps = start, budget, max(int(steps), 1)

    def fraction(self, it: int, now: float) -> float:
        if self.budget is not None:
            return min((now - self.start) / self.budget, 1.0) if self.budget > 0 else 1.0
        return min(it / self.steps, 1.0)


def _geometric(a: float, b: float, frac: float) -> float:
    return a * (b / a) ** frac


def _initial_points(init: Any, d: int, K: int, seed: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if init is None:
        gen = torch.Generator().manual_seed(int(seed))
        X = torch.randn(K, d, generator=gen, dtype=torch.float64)
    else:
        X = torch.as_tensor(np.asarray(init, dtype=np.float64))
        if X.shape != (K, d):
            raise InvalidParameterError("init", f"array of shape {tuple(X.shape)}", f"pass a ({K}, {d}) array")
        if not torch.isfinite(X).all() or (X.norm(dim=1) == 0).any():
            raise InvalidParameterError("init", "array with NaN, inf or a zero row", "pass finite nonzero rows")
    X = X / X.norm(dim=1, keepdim=True)
    return X.to(device=device, dtype=dtype)


def _max_cosine_phase(X: torch.Tensor, *, deadline: float | None, clock: _Clock, start: float,
                      max_iterations: int | None, t_start: float, t_end: float, lr_start: float,
                      lr_end: float, momentum: float, patience: int, plateau_rtol: float, block: int,
                      max_pairs: int, progress: Callable[[int, float], Any] | None,
                      history: list) -> tuple[torch.Tensor, float, int, str]:
    """Annealed log-sum-exp descent (see the module docstring); returns (best X, its max cosine, steps, reason)."""
    K = X.shape[0]
    V = torch.zeros_like(X)
    # pairs a list may hold before a list step stops being cheaper than a dense one
    list_cap = int(min(max_pairs, K * (K - 1) / 2 / _LIST_COST_FACTOR))
    pairs: tuple[torch.Tensor, torch.Tensor] | None = None
    list_thr, moved, since_try, slack = -math.inf, 0.0, 0, _LIST_SLACK
    m = float("inf")  # max cosine of the current iterate, known after the first step
    best, best_X = math.inf, X.clone()
    ref_best, ref_it = math.inf, 0
    it, step_time, last_record = 0, 0.0, -math.inf
    reason = "max_iterations"
    while True:
        now = time.perf_counter()
        if deadline is not None and now + step_time >= deadline:
            reason = "time_budget"
            break
        if max_iterations is not None and it >= max_iterations:
            reason = "max_iterations"
            break
        if deadline is None and it >= clock.steps and it - ref_it >= patience:
            reason = "plateau"
            break
        frac = clock.fraction(it, now)
        t = _geometric(t_start, t_end, frac)
        lr = _geometric(lr_start, lr_end, frac)
        if math.isfinite(m):
            cut = m - WEIGHT_SPAN / t
            if pairs is not None and list_thr + moved > cut:
                pairs = None  # a pair outside the list might now carry weight: rebuild
            if pairs is None and since_try <= 0:
                list_thr = cut - slack
                pairs = near_pairs(X, list_thr, block=block, max_pairs=list_cap)
                moved, since_try = 0.0, (0 if pairs is not None else 20)
                steps_on_list = 0
        if pairs is None:
            G, cur = _dense_step_gradient(X, t, m if math.isfinite(m) else 1.0, block)
            since_try -= 1
        else:
            G, cur = _list_step_gradient(X, pairs[0], pairs[1], t, m)
            steps_on_list += 1
        if not math.isfinite(m):  # first step: weights need the max cosine, redo with it
            m = cur
            continue
        m = cur
        if m < best:
            best, best_X = m, X.clone()
        if not math.isfinite(ref_best) or best < ref_best - plateau_rtol * max(abs(ref_best), 1e-3):
            ref_best, ref_it = best, it
        G -= (G * X).sum(dim=1, keepdim=True) * X
        gmax = float(G.norm(dim=1).max())
        if gmax > 0:
            V.mul_(momentum).add_(G, alpha=-lr / gmax)
        X_new = X + V
        X_new /= X_new.norm(dim=1, keepdim=True)
        step_move = 2.0 * float((X_new - X).norm(dim=1).max())
        moved += step_move
        if pairs is not None and steps_on_list == 1:
            # room for about ten steps before the next rebuild
            slack = max(_LIST_SLACK / 5, min(10 * step_move, 0.5))
        X = X_new
        it += 1
        after = time.perf_counter()
        step_time = after - now
        if progress is not None:
            progress(it, best)
        if after - last_record >= 0.1:
            history.append((after - start, it, best))
            last_record = after
    history.append((time.perf_counter() - start, it, best))
    return best_X, best, it, reason


def _worst_one_vs_rest(X: np.ndarray, *, block: int, neighbours: int,
                       rows: int = 8) -> tuple[float, list[tuple[int, float, np.ndarray, np.ndarray]]]:
    """Smallest rho among the ``rows`` points of smallest bound 1 - c_k, and those solved points (k, rho_k, index,
    lam). The value is the certified min over all points whenever it is <= the next point's bound."""
    lower = 1.0 - row_max_cosines(X, block=block)
    order = np.argsort(lower, kind="stable")[:rows]
    solved = [(int(k), *one_vs_rest_near(X, int(k), neighbours=neighbours)) for k in order]
    return min(r for _, r, _, _ in solved), solved


def _one_vs_rest_polish(X: np.ndarray, *, deadline: float | None, rounds: int, block: int, neighbours: int,
                        progress: Callable[[int, float], Any] | None, it0: int) -> tuple[np.ndarray, float, int, str]:
    r"""Raise the smallest one-vs-rest distances (float64): envelope-gradient steps on a soft-min of the
    :math:`\rho_k` of the points with the smallest bounds (:func:`_worst_one_vs_rest`), kept only when the
    smallest solved distance improves; the step halves on a rejection and grows by half on an acceptance.
    Returns (points, smallest solved rho, rounds done, reason); the caller scores the result exactly."""
    rho, solved = _worst_one_vs_rest(X, block=block, neighbours=neighbours)
    eta, done, round_time = 0.05 * max(rho, 1e-3), 0, 0.0
    reason = "plateau"
    while done < rounds:
        now = time.perf_counter()
        if deadline is not None and now + round_time >= deadline:
            reason = "time_budget"
            break
        if eta < 1e-9:
            break
        rhos = np.array([r for _, r, _, _ in solved])
        a = np.exp(-(rhos - rhos.min()) / max(1e-3 * rhos.min(), 1e-12))
        a /= a.sum()
        step = np.zeros_like(X)
        for ak, (k, r, idx, lam) in zip(a, solved):
            if r <= 0:
                continue
            u = (X[k] - lam @ X[idx]) / r  # d rho_k / d x_k; d rho_k / d x_j = -lam_j u
            step[k] += ak * u
            np.add.at(step, idx, -ak * lam[:, None] * u)
        step -= np.einsum("ij,ij->i", step, X)[:, None] * X
        smax = float(np.linalg.norm(step, axis=1).max())
        if smax == 0:
            break
        trial = X + (eta / smax) * step
        trial /= np.linalg.norm(trial, axis=1, keepdims=True)
        new_rho, new_solved = _worst_one_vs_rest(trial, block=block, neighbours=neighbours)
        if new_rho > rho:
            X, rho, solved, eta = trial, new_rho, new_solved, eta * 1.5
        else:
            eta *= 0.5
        done += 1
        round_time = time.perf_counter() - now
        if progress is not None:
            progress(it0 + done, rho)
    else:
        reason = "max_iterations"
    return X, rho, done, reason


def solve_prototypes(objective: str, d: int, K: int, *, time_budget: float | None = None, seed: int = 0,
                     device: "str | torch.device" = "cpu", dtype: "str | torch.dtype" = "float32",
                     progress: Callable[[int, float], Any] | None = None, init: Any = None,
                     steps: int = 2000, max_iterations: int | None = None, patience: int = 300,
                     plateau_rtol: float = 1e-4, t_start: float = 20.0, t_end: float = 1000.0,
                     lr_start: float = 0.02, lr_end: float = 0.002, momentum: float = 0.9,
                     block: int = DEFAULT_BLOCK, max_pairs: int = DEFAULT_MAX_PAIRS,
                     polish_fraction: float = 0.25, polish_rounds: int = 200,
                     neighbours: int = 64, score_one_vs_rest: bool = True) -> PrototypeResult:
    r"""K class prototypes in :math:`\mathbb{R}^d` with a small max cosine (and a large one-vs-rest distance).

    See the module docstring for the method. Memory is O(B K d + near pairs) and is checked
    (:func:`check_prototype_memory`) before anything is allocated.

    Parameters
    ----------
    objective : {"tammes", "softmax_code"}
        ``"tammes"``: minimise the max cosine. ``"softmax_code"``: the same, then polish the min
        one-vs-rest distance with the last ``polish_fraction`` of the budget (or ``polish_rounds``).
    d, K : int
        Dimension (points on :math:`S^{d-1}`) and number of points, both >= 2.
    time_budget : float, optional
        Seconds for the whole call, the float64 max-cosine score included (kept to within one
        step); the exact one-vs-rest score of ``softmax_code`` (``score_one_vs_rest``) comes on top
        of it (its cost depends on the code, not on the budget). Without a budget the schedule runs
        ``steps`` steps and then stops on a plateau.
    seed : int
        Seed of the Gaussian random start (ignored when ``init`` is given).
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"auto"``.
    dtype : str or torch.dtype
        First-phase precision (``"float32"`` default, or ``"float64"``); scores are float64 always.
    progress : callable(iteration, best), optional
        Called after every step with the step count and the best max cosine so far (in the
        ``softmax_code`` polish: the certified min one-vs-rest distance).
    init : array_like, shape (K, d), optional
        Start points (rows are normalised).
    steps : int
        Schedule length in steps when there is no time budget.
    max_iterations : int, optional
        Hard cap on first-phase steps.
    patience, plateau_rtol : int, float
        Plateau rule (no budget): stop after ``steps`` once the best max cosine has not improved by
        ``plateau_rtol`` (relative) within ``patience`` steps.
    t_start, t_end, lr_start, lr_end, momentum : float
        Sharpness and step schedules and the heavy-ball coefficient.
    block, max_pairs : int
        Rows per blocked-Gram tile; cap on the near-pair list.
    polish_fraction, polish_rounds, neighbours : float, int, int
        ``softmax_code`` polish share of the budget, its round cap without a budget, and the
        neighbours per one-vs-rest sub-problem.
    score_one_vs_rest : bool
        ``softmax_code`` only: compute the exact min one-vs-rest distance at the end (up to K
        neighbour solves, O(K^2 d) time); when False ``scores["one_vs_rest"]`` is None and only the
        bound ``scores["one_vs_rest_lower_bound"]`` = 1 - max cosine is given.

    Returns
    -------
    PrototypeResult

    Raises
    ------
    InvalidParameterError
        Bad objective, size, budget, dtype or init.
    ResourceError
        The estimate of :func:`prototype_memory_bytes` does not fit in the free memory.
    """
    start = time.perf_counter()
    objective = _check_objective(objective)
    d, K = _check_size(d, K)
    budget = _check_positive("time_budget", time_budget)
    dev = resolve_device(device)
    if str(dtype).replace("torch.", "") not in ("float32", "float64"):
        raise InvalidParameterError("dtype", dtype, "use 'float32' or 'float64'")
    tdtype = torch.float32 if str(dtype).replace("torch.", "") == "float32" else torch.float64
    for name, value in (("steps", steps), ("patience", patience), ("block", block), ("max_pairs", max_pairs),
                        ("polish_rounds", polish_rounds), ("neighbours", neighbours)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(name, value, "pass an integer >= 1")
    if not 0.0 <= float(polish_fraction) < 1.0:
        raise InvalidParameterError("polish_fraction", polish_fraction, "pass a number in [0, 1)")
    check_prototype_memory(d, K, dev, block=block, max_pairs=max_pairs, itemsize=tdtype.itemsize,
                           objective=objective, neighbours=neighbours)
    X = _initial_points(init, d, K, seed, dev, tdtype)
    deadline = None if budget is None else start + budget
    phase_deadline = deadline
    if deadline is not None:
        # reserve the float64 scoring: about two float32 Gram passes (measured on the start points)
        t_probe = time.perf_counter()
        row_max_cosines(X.detach().cpu().double().numpy(), block=block)
        reserve = 2.0 * (time.perf_counter() - t_probe)
        share = 1.0 - (polish_fraction if objective == "softmax_code" else 0.0)
        phase_deadline = start + max(share * (budget - reserve), 0.0)
    clock = _Clock(start, None if phase_deadline is None else phase_deadline - start, steps)
    history: list = []
    best_X, _, iterations, reason = _max_cosine_phase(
        X, deadline=phase_deadline, clock=clock, start=start, max_iterations=max_iterations, t_start=t_start,
        t_end=t_end, lr_start=lr_start, lr_end=lr_end, momentum=momentum, patience=patience,
        plateau_rtol=plateau_rtol, block=block, max_pairs=max_pairs, progress=progress, history=history)
    del X
    points = best_X.detach().cpu().double().numpy()
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    scores: dict = {}
    if objective == "softmax_code":
        end = deadline
        points, rho, rounds, polish_reason = _one_vs_rest_polish(
            points, deadline=end, rounds=polish_rounds, block=block, neighbours=neighbours, progress=progress,
            it0=iterations)
        iterations += rounds
        if deadline is not None:
            reason = "time_budget"
        elif reason != "max_iterations":
            reason = polish_reason
    scores["max_cosine"] = max_cosine_blocked(points, block=block, normalise=False)
    if objective == "softmax_code":
        scores["one_vs_rest_lower_bound"] = 1.0 - scores["max_cosine"]
        scores["one_vs_rest"] = (min_one_vs_rest_blocked(points, block=block, neighbours=neighbours, normalise=False)
                                 if score_one_vs_rest else None)
    elapsed = time.perf_counter() - start
    log.debug("prototypes %s d=%d K=%d: max cosine %.6g after %d steps, %.2f s (%s)", objective, d, K,
              scores["max_cosine"], iterations, elapsed, reason)
    return PrototypeResult(points=points, scores=scores, iterations=iterations, time_s=elapsed,
                           stop_reason=reason, history=history, objective=objective)
