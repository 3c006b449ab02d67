"""Hand a code to a network: torch tensors, proxy files and class-to-codeword assignment.

A code of K points in R^d becomes the (K, d) matrix of class proxies (fixed
classifier weights) of a K-class network with d-dimensional features; row c is
the proxy of class c. When d < K - 1 the codewords are not all equally far apart
(a softmax code / Riesz minimiser is not a simplex), so *which* class gets
*which* codeword matters: Sec. 4 of "Generalized neural collapse for a large
number of classes" (``/work/shared/papers/generalized-neural-collapse-softmax-codes.txt``)
shows that training prefers similar classes on nearby classifier weights and that
forcing similar classes apart costs test accuracy. :func:`assign_classes` picks
such an assignment from a class-similarity matrix.

Conventions: points are rows of a (K, d) float64 array on S^{d-1}; a permutation
``perm`` of shape (K,) maps class c to codeword ``perm[c]``, so the proxies in
class order are ``points[perm]``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .code import Code, as_points
from .errors import InvalidParameterError
from .tolerances import score_rtol, unit_norm_tolerance

__all__ = [
    "Assignment",
    "to_tensor",
    "save_proxies",
    "load_proxies",
    "read_proxies",
    "PROXY_DTYPES",
    "assign_classes",
    "assignment_objective",
    "class_similarity_from_confusion",
    "class_similarity_from_means",
    "code_from_key",
    "check_similarity",
    "symmetry_tolerance",
    "PROXY_FORMATS",
]

logger = logging.getLogger(__name__)

#: File formats :func:`save_proxies` writes, by suffix.
PROXY_FORMATS = ("pt", "npy", "npz")


def _points_of(code_or_points: Any, name: str = "code_or_points") -> np.ndarray:
    """(K, d) read-only float64 points of a :class:`Code`, an array or a torch tensor (rows must be unit)."""
    if isinstance(code_or_points, Code):
        return code_or_points.points
    if hasattr(code_or_points, "detach") and hasattr(code_or_points, "cpu"):  # a torch tensor
        code_or_points = code_or_points.detach().cpu().double().numpy()
    return as_points(code_or_points, name=name)


def to_tensor(code_or_points: Any, dtype: Any = None, device: Any = None):
    """The points of a code as a new torch tensor of shape (K, d).

    Parameters
    ----------
    code_or_points : Code or array_like, shape (K, d)
        A :class:`spherecodes.Code` or unit-norm rows (checked by :func:`spherecodes.code.as_points`).
    dtype : torch.dtype, optional
        Defaults to ``torch.float32`` (what networks use).
    device : str or torch.device, optional
        Defaults to the CPU.

    Returns
    -------
    torch.Tensor, shape (K, d), not requiring grad.
    """
    import torch

    pts = _points_of(code_or_points)
    return torch.tensor(np.array(pts), dtype=dtype or torch.float32, device=device or "cpu")


def _metadata(code_or_points: Any, permutation: np.ndarray | None) -> dict:
    if isinstance(code_or_points, Code):
        meta = code_or_points.metadata()
        meta["key"] = code_or_points.key
    else:
        pts = _points_of(code_or_points)
        meta = {"objective": "unknown", "params": {}, "d": int(pts.shape[1]), "K": int(pts.shape[0])}
    if permutation is not None:
        meta["permutation"] = [int(p) for p in permutation]
    return meta


def _check_permutation(permutation: Any, K: int) -> np.ndarray:
    perm = np.asarray(permutation)
    if perm.shape != (K,) or not np.issubdtype(perm.dtype, np.integer) or sorted(perm.tolist()) != list(range(K)):
        raise InvalidParameterError("permutation", permutation, f"pass a permutation of 0..{K - 1} as K={K} integers")
    return perm.astype(np.int64)


def save_proxies(code: Any, path: "str | Path", *, permutation: Any = None, format: str | None = None,
                 dtype: Any = None) -> Path:
    """Write class proxies to a file a training script can read.

    Parameters
    ----------
    code : Code or array_like, shape (K, d)
        The code; rows must have unit norm.
    path : str or Path
        Output file. The suffix picks the format unless ``format`` is given.
    permutation : array_like of int, shape (K,), optional
        Class c gets codeword ``permutation[c]`` (e.g. ``Assignment.permutation``); the rows are written
        in class order, ``points[permutation]``, and the permutation is stored in the metadata.
    format : {"pt", "npy", "npz"}, optional
        ``pt``: ``torch.save`` of ``{"proxies": tensor (K, d), "metadata": dict}``;
        ``npy``: the (K, d) float64 array only;
        ``npz``: ``points`` (K, d) float64 and ``metadata`` (JSON string), readable by :meth:`Code.load`.
    dtype : {"float32", "float64"} or the numpy / torch dtype, optional
        dtype of the written rows. Default: float32 for ``.pt`` (what ``code.to_torch()`` and networks
        use, so ``features @ P.T`` works as it is), float64 for ``.npy`` / ``.npz`` (code files that
        :meth:`Code.load` reads back exactly). float32 rows are re-normalised after rounding.

    Returns
    -------
    Path written.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise InvalidParameterError("path", str(path), "pass a file name, e.g. proxies.pt")
    if not path.parent.is_dir():
        raise InvalidParameterError("path", str(path),
                                    f"the folder {str(path.parent)!r} does not exist; create it first")
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in PROXY_FORMATS:
        raise InvalidParameterError("format", format or path.suffix, f"use one of {', '.join(PROXY_FORMATS)}")
    pts = _points_of(code, name="code")
    perm = None if permutation is None else _check_permutation(permutation, pts.shape[0])
    rows = np.ascontiguousarray(pts[perm] if perm is not None else pts)
    width = _dtype_name(dtype) or ("float32" if fmt == "pt" else "float64")
    if width == "float32":
        rows = rows.astype(np.float32)
        rows /= np.linalg.norm(rows.astype(np.float64), axis=1).astype(np.float32)[:, None]
    meta = _metadata(code, perm)
    meta["dtype"] = width
    if fmt == "pt":
        import torch

        torch.save({"proxies": torch.from_numpy(rows.copy()), "metadata": meta}, path)
    elif fmt == "npy":
        with open(path, "wb") as fh:  # a file handle keeps numpy from appending another suffix
            np.save(fh, rows)
    else:
        with open(path, "wb") as fh:
            np.savez(fh, points=rows, metadata=np.array(json.dumps(meta, sort_keys=True)))
    logger.info("wrote %d proxies in R^%d to %s", rows.shape[0], rows.shape[1], path)
    return path


#: the dtypes proxies can be written in
PROXY_DTYPES = ("float32", "float64")


def _dtype_name(dtype: Any) -> str | None:
    """``"float32"`` / ``"float64"`` for a name, numpy or torch dtype; None for None."""
    if dtype is None:
        return None
    name = str(dtype).replace("torch.", "")
    if name not in PROXY_DTYPES:
        raise InvalidParameterError("dtype", dtype, f"use one of {', '.join(PROXY_DTYPES)}")
    return name


def read_proxies(path: "str | Path") -> Code:
    """Proxies written by :func:`save_proxies` (any format) as a :class:`Code` with the metadata written.

    float32 rows are checked against the float32 unit-norm tolerance and re-normalised in float64.
    """
    path = Path(path)
    if path.suffix.lower() != ".pt":
        return Code.load(path)
    meta = _torch_file(path).get("metadata") or {}
    if not isinstance(meta, dict):
        meta = {}
    return Code(points=load_proxies(path), objective=str(meta.get("objective", "unknown")),
                params=dict(meta.get("params") or {}), scores=dict(meta.get("scores") or {}),
                provenance=dict(meta.get("provenance") or {}), certificate=meta.get("certificate"))


def _torch_file(path: Path) -> dict:
    """The object in a ``.pt`` file as a dict (a bare tensor becomes ``{"proxies": tensor}``)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable: name the file and the reason
        raise InvalidParameterError("path", str(path), f"could not read it with torch.load ({exc})") from None
    return obj if isinstance(obj, dict) else {"proxies": obj}


def load_proxies(path: "str | Path") -> np.ndarray:
    """Read proxies written by :func:`save_proxies` (or any ``.npy`` / ``.npz`` / ``.pt`` of unit rows).

    Returns
    -------
    numpy.ndarray, shape (K, d), float64, read-only; rows are checked to have unit norm.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidParameterError("path", str(path), "the file does not exist")
    if path.suffix.lower() == ".pt":
        import torch

        tensor = _torch_file(path).get("proxies")
        if not hasattr(tensor, "detach"):
            raise InvalidParameterError("path", str(path), "the .pt file holds no 'proxies' tensor")
        rows = tensor.detach().cpu().double().numpy()
        if tensor.dtype != torch.float64:
            # rounded rows: check them at their own precision, then project them back in float64
            rows = np.asarray(rows, dtype=np.float64)
            off = np.abs(np.linalg.norm(rows, axis=1) - 1.0) if rows.ndim == 2 and rows.size else np.zeros(0)
            tol = unit_norm_tolerance(np.float32)
            if off.size and np.all(np.isfinite(off)) and float(off.max()) > tol:
                raise InvalidParameterError("proxies", f"rows with |norm - 1| up to {float(off.max()):.3g}",
                                            f"{tensor.dtype} rows must have unit norm within {tol:.1e}")
            return as_points(rows, name="proxies", normalise=True)
        return as_points(rows, name="proxies")
    return Code.load(path).points


def _coerce(text: str) -> Any:
    """A catalog-key parameter value (text) back to bool / int / float where it reads as one."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def code_from_key(key: str, *, catalog: Any = None) -> Code:
    """The catalog code of a key such as ``riesz[metric=euclidean,s=1]/d=3/K=10``.

    Parses the key with :func:`spherecodes.keys.parse_key` and calls
    ``spherecodes.lookup(objective, d, K, catalog=catalog, **params)`` (imported lazily; parameter
    values are turned back into numbers / booleans where they read as such).

    Parameters
    ----------
    key : str
        Canonical catalog key ``objective[params]/d=D/K=K``.
    catalog : Catalog or path, optional
        Catalog searched first; None is the user catalog. The built-in catalog is searched after it.

    Raises
    ------
    InvalidParameterError
        Malformed key, unknown objective or parameter.
    spherecodes.LookupMiss
        No catalog holds the key.
    """
    from .keys import parse_key

    objective, params, d, K = parse_key(key)
    try:
        from . import lookup
    except ImportError:
        from .catalog import lookup
    code = lookup(objective, d, K, catalog=catalog, **{name: _coerce(value) for name, value in params.items()})
    return code if isinstance(code, Code) else Code(points=as_points(code), objective=objective)


# ---------------------------------------------------------------------------- class assignment


@dataclass(frozen=True)
class Assignment:
    """Result of :func:`assign_classes`.

    Attributes
    ----------
    permutation : numpy.ndarray of int, shape (K,)
        Class c gets codeword ``permutation[c]``.
    objective_value : float
        sum_{a,b} S_ab <w_perm(a), w_perm(b)> at ``permutation``.
    identity_value : float
        The same sum for the identity assignment (class c -> codeword c).
    iterations : int
        Linearisation steps plus accepted swaps, summed over restarts.
    """

    permutation: np.ndarray
    objective_value: float
    identity_value: float
    iterations: int

    @property
    def improvement(self) -> float:
        """objective_value - identity_value (>= 0)."""
        return self.objective_value - self.identity_value

    def apply(self, code_or_points: Any) -> np.ndarray:
        """Proxies in class order: ``points[permutation]``, shape (K, d)."""
        return np.array(_points_of(code_or_points))[self.permutation]


def symmetry_tolerance(similarity: np.ndarray) -> float:
    """Largest accepted max_ab |S_ab - S_ba|: ``score_rtol(float64)`` (1e4 eps) times max(1, max |S|)."""
    scale = float(np.max(np.abs(similarity))) if similarity.size else 0.0
    return score_rtol(np.float64) * max(1.0, scale)


def check_similarity(similarity: Any, K: int | None = None) -> tuple[bool, str]:
    """Whether ``similarity`` is a usable class-similarity matrix for a K-point code.

    Usable: numeric, square (C, C) with C = K when K is given, finite, and symmetric up to
    :func:`symmetry_tolerance` (S_ab is the similarity of classes a and b, the same both ways).

    Returns
    -------
    (ok, reason) : (bool, str)
        ``reason`` says what is wrong (naming the tolerance used for symmetry), or what was checked.
    """
    try:
        S = np.array(similarity, dtype=np.float64)
    except (TypeError, ValueError):
        return False, f"not a numeric array ({type(similarity).__name__})"
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        return False, f"shape {S.shape} is not square; pass a (C, C) matrix, one row and column per class"
    C = S.shape[0]
    if K is not None and C != int(K):
        if C > int(K):
            return False, (f"{C} classes but the code has only {K} codewords (fewer codewords than classes); "
                           f"use a code with K = {C}")
        return False, f"{C} classes but the code has {K} codewords; pass a ({K}, {K}) matrix, one row per class"
    if not np.all(np.isfinite(S)):
        return False, "it has NaN or inf entries; every entry must be finite"
    tol = symmetry_tolerance(S)
    asym = float(np.max(np.abs(S - S.T))) if S.size else 0.0
    if asym > tol:
        return False, (f"not symmetric: max |S_ab - S_ba| = {asym:.3g} > tolerance {tol:.3g} "
                       "(score_rtol(float64) * max(1, max|S|)); pass (S + S.T) / 2")
    return True, f"({C}, {C}), finite, symmetric within {tol:.3g}"


def _similarity(similarity: Any, K: int) -> np.ndarray:
    """The checked (K, K) float64 similarity, exactly symmetrised (it is symmetric up to rounding already)."""
    ok, reason = check_similarity(similarity, K)
    if not ok:
        try:
            value = f"array of shape {np.asarray(similarity, dtype=np.float64).shape}"
        except (TypeError, ValueError):
            value = type(similarity).__name__
        raise InvalidParameterError("similarity", value, reason)
    S = np.array(similarity, dtype=np.float64)
    return 0.5 * (S + S.T)


def assignment_objective(similarity: Any, code_or_points: Any, permutation: Any = None) -> float:
    """sum_{a,b} S_ab <w_perm(a), w_perm(b)> (ordered pairs, diagonal included).

    Parameters
    ----------
    similarity : array_like, shape (K, K)
        Symmetric (see :func:`check_similarity`).
    code_or_points : Code or array_like, shape (K, d)
    permutation : array_like of int, shape (K,), optional
        Defaults to the identity.
    """
    pts = _points_of(code_or_points)
    K = pts.shape[0]
    S = _similarity(similarity, K)
    perm = np.arange(K) if permutation is None else _check_permutation(permutation, K)
    G = pts @ pts.T
    return float(np.sum(S * G[np.ix_(perm, perm)]))


def _swap_deltas(S: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Change of sum(S * H) when classes a and b exchange codewords, for all (a, b); S, H symmetric.

    Exchanging a and b permutes rows and columns a, b of H. With M = S H,
    sum_k (S_ak - S_bk)(H_bk - H_ak) = M_ab + M_ba - M_aa - M_bb; the k in {a, b} terms are
    removed from it and the four entries of the 2x2 block are added back exactly.
    """
    M = S @ H
    dM = np.diag(M)
    dS = np.diag(S)
    dH = np.diag(H)
    full = M + M.T - dM[:, None] - dM[None, :]
    # terms k = a and k = b of the cross sum, for every pair (a, b)
    k_is_a = (dS[:, None] - S) * (H - dH[:, None])      # (S_aa - S_ba)(H_ba - H_aa)
    k_is_b = (S - dS[None, :]) * (dH[None, :] - H)      # (S_ab - S_bb)(H_bb - H_ab)
    cross = full - k_is_a - k_is_b
    diag = dS[:, None] * (dH[None, :] - dH[:, None]) + dS[None, :] * (dH[:, None] - dH[None, :])
    delta = 2.0 * cross + diag
    np.fill_diagonal(delta, 0.0)
    return delta


def _local_search(S: np.ndarray, G: np.ndarray, perm: np.ndarray, max_iter: int) -> tuple[np.ndarray, float, int]:
    """Iterated linearisation (one LAP per step) followed by best-improvement 2-swaps, until neither improves."""
    from scipy.optimize import linear_sum_assignment

    perm = perm.copy()
    H = G[np.ix_(perm, perm)]
    value = float(np.sum(S * H))
    iterations = 0
    tol = 1e-12 * max(1.0, float(np.abs(S).sum()))
    while iterations < max_iter:
        improved = False
        # Linearise f(P) = tr(S P G P^T) at P: the gradient is 2 S P G; maximise <grad, P'> over permutations.
        grad = S @ G[perm, :]  # row a: sum_b S_ab w_perm(b)^T G, i.e. (S P G)_{a, j}
        rows, cols = linear_sum_assignment(grad, maximize=True)
        cand = cols[np.argsort(rows)]
        cand_value = float(np.sum(S * G[np.ix_(cand, cand)]))
        if cand_value > value + tol:
            perm, value = cand, cand_value
            H = G[np.ix_(perm, perm)]
            improved = True
            iterations += 1
        delta = _swap_deltas(S, H)
        a, b = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[a, b] > tol:
            perm[[a, b]] = perm[[b, a]]
            H = G[np.ix_(perm, perm)]
            value = float(np.sum(S * H))  # recompute instead of accumulating deltas
            improved = True
            iterations += 1
        if not improved:
            break
    return perm, value, iterations


#: how :func:`assign_classes` searches: "dense" (full LSA linearisation), "sparse" (candidate sets,
#: :mod:`spherecodes.assignment`), "auto" (sparse from :data:`SPARSE_ASSIGNMENT_MIN_K` classes or a sparse similarity)
ASSIGNMENT_METHODS = ("auto", "dense", "sparse")
#: the dense path solves a K x K linear assignment per step (O(K^3)): from here on "auto" takes the sparse one
SPARSE_ASSIGNMENT_MIN_K = 1000


def assign_classes(code_or_points: Any, similarity: Any, *, restarts: int = 8, seed: int | None = None,
                   max_iter: int = 10_000, method: str = "auto") -> Assignment:
    """Assign classes to codewords so that similar classes get nearby codewords.

    Maximises the quadratic-assignment objective

        f(perm) = sum_{a,b} S_ab <w_perm(a), w_perm(b)>,

    i.e. tr(S P G P^T) with G the (K, K) Gram matrix of the codewords and P the permutation
    matrix P[a, perm(a)] = 1. Similar classes (large S_ab) are rewarded for codewords with a large
    inner product, following the assignment study of Sec. 4 of the softmax-code paper.

    The heuristic: from a start permutation, repeat (i) linearisation — solve the linear assignment
    problem max <2 S P G, P'> with :func:`scipy.optimize.linear_sum_assignment` and move if it improves
    f — and (ii) the best improving exchange of two classes' codewords; stop when neither improves.
    The identity and ``restarts`` random permutations are tried; the best result is returned, so the
    result is never worse than the identity.

    Parameters
    ----------
    code_or_points : Code or array_like, shape (K, d)
    similarity : array_like, shape (K, K)
        Class similarity (e.g. from :func:`class_similarity_from_confusion`), one row and column per
        class; it must be symmetric (checked by :func:`check_similarity`; a raw confusion matrix is not:
        symmetrise it first). Negative entries push classes apart.
    restarts : int
        Number of random starting permutations besides the identity.
    seed : int, optional
        Seed of the random starts.
    max_iter : int
        Cap on improving steps per start (dense path; the sparse path keeps its own default).
    method : {"auto", "dense", "sparse"}
        See :data:`ASSIGNMENT_METHODS`. The sparse path
        (:func:`spherecodes.assignment.assign_classes_sparse`) works on candidate codewords per class and
        accepts a ``scipy.sparse`` similarity; it starts from the identity only.

    Returns
    -------
    Assignment

    Raises
    ------
    InvalidParameterError
        The similarity is not (K, K) (e.g. more classes than codewords), not finite or not symmetric.
    """
    if method not in ASSIGNMENT_METHODS:
        from .errors import UnknownNameError

        raise UnknownNameError("method", method, ASSIGNMENT_METHODS)
    pts = _points_of(code_or_points)
    K = pts.shape[0]
    if method == "sparse" or (method == "auto" and (K >= SPARSE_ASSIGNMENT_MIN_K or _is_sparse(similarity))):
        from .assignment import assign_classes_sparse  # it imports this module for Assignment

        return assign_classes_sparse(pts, similarity, seed=seed)
    S = _similarity(similarity, K)
    if int(restarts) < 0:
        raise InvalidParameterError("restarts", restarts, "pass a number >= 0 of random restarts")
    G = pts @ pts.T
    identity = np.arange(K)
    identity_value = float(np.sum(S * G))
    best_perm, best_value, total_iter = identity, identity_value, 0
    rng = np.random.default_rng(seed)
    starts = [identity] + [rng.permutation(K) for _ in range(int(restarts))]
    for start in starts:
        perm, value, its = _local_search(S, G, start, int(max_iter))
        total_iter += its
        if value > best_value:
            best_perm, best_value = perm, value
    logger.debug("assignment: identity %.6g -> %.6g after %d steps", identity_value, best_value, total_iter)
    return Assignment(permutation=np.asarray(best_perm, dtype=np.int64), objective_value=float(best_value),
                      identity_value=identity_value, iterations=int(total_iter))


def _is_sparse(matrix: Any) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(matrix)


def class_similarity_from_confusion(confusion: Any) -> np.ndarray:
    """Class similarity from a confusion matrix: how often classes are mistaken for each other.

    Parameters
    ----------
    confusion : array_like, shape (K, K)
        ``confusion[a, b]`` = count (or rate) of samples of true class a predicted as b; rows are
        normalised by their sums (empty rows stay zero).

    Returns
    -------
    numpy.ndarray, shape (K, K)
        S = (R + R^T) / 2 with R the row-normalised confusion, diagonal set to 0 (a class's similarity
        to itself does not affect the assignment).
    """
    C = np.array(confusion, dtype=np.float64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise InvalidParameterError("confusion", f"array of shape {C.shape}", "pass a square (K, K) matrix")
    if not np.all(np.isfinite(C)) or np.any(C < 0):
        raise InvalidParameterError("confusion", "array with negative or non-finite entries",
                                    "pass counts or rates >= 0")
    sums = C.sum(axis=1, keepdims=True)
    R = np.divide(C, sums, out=np.zeros_like(C), where=sums > 0)
    S = 0.5 * (R + R.T)
    np.fill_diagonal(S, 0.0)
    return S


def class_similarity_from_means(means: Any) -> np.ndarray:
    """Class similarity from class-mean features: the cosine of the angle between class means.

    Parameters
    ----------
    means : array_like, shape (K, m)
        One class-mean feature per row (any dimension m; e.g. from a pretrained network).

    Returns
    -------
    numpy.ndarray, shape (K, K)
        S_ab = <mu_a, mu_b> / (|mu_a| |mu_b|), diagonal set to 0.
    """
    M = np.array(means, dtype=np.float64)
    if M.ndim != 2:
        raise InvalidParameterError("means", f"array of shape {M.shape}", "pass a (K, m) array, one class mean per row")
    norms = np.linalg.norm(M, axis=1)
    if not np.all(np.isfinite(M)) or np.any(norms == 0):
        raise InvalidParameterError("means", "array with a zero or non-finite row", "every class mean must be non-zero")
    U = M / norms[:, None]
    S = U @ U.T
    np.fill_diagonal(S, 0.0)
    return S
