"""Neural-collapse metrics of last-layer features and classifier proxies, as plain floats.

- NC1, within-class variability relative to between-class: tr(Sigma_W Sigma_B^+) / K
  (Papyan et al. 2020; GNC(1) of the HUG paper; GNC_1 of the softmax-code paper).
- NC2, separation of the normalised class means: the one-vs-rest distance of the softmax-code paper
  (Def. 2.1: min_k dist(m_k, conv{m_j : j != k})) and their Riesz energy (GNC(2) of the HUG paper, Eq. 1).
- NC3, self-duality: | W / |W|_F - M / |M|_F |_F with M the (K, d) matrix of class means.
- The hyperspherical reverse-energy E_r = sum_c sum_{i != j in A_c} |x_i - x_j|^2 of the HUG paper (Sec. 2).
- The average hyperspherical energy of HUG Sec. 2 (GNC(2), Eq. 1): E / (C (C - 1)) with
  E = sum_{c != c'} |mu_c - mu_c'|^-2 over the centred, normalised class means. On S^1 its minimum is
  the regular C-gon's, (C + 1) / 12: 1/3 for C = 3 and 11/12 = 0.9167 for C = 10, the values the HUG
  paper reports ("2 ... (1/3 for average energy)", "82.5 ... (0.917 for average energy)").

Papers: ``/work/shared/papers/hug-hyperspherical-uniformity-gap.txt``,
``/work/shared/papers/generalized-neural-collapse-softmax-codes.txt``.
Everything is computed in float64 with numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["nc_metrics", "one_vs_rest_distances", "reverse_energy", "average_energy", "gnc2_energy"]


def _as_array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, type(x).__name__, "pass a numeric array") from None


def _as_labels(labels: Any, n: int) -> np.ndarray:
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (n and y.min() < 0):
        raise InvalidParameterError("labels", f"array of shape {y.shape}",
                                    f"pass {n} non-negative integer class indices")
    return y.astype(np.int64)


def _affine_minimiser(V: np.ndarray) -> np.ndarray:
    """Weights a (sum a = 1) minimising |a @ V| over the affine hull of the rows of V (KKT system, lstsq)."""
    m = V.shape[0]
    kkt = np.zeros((m + 1, m + 1))
    kkt[:m, :m] = V @ V.T
    kkt[:m, m] = 1.0
    kkt[m, :m] = 1.0
    rhs = np.zeros(m + 1)
    rhs[m] = 1.0
    return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]


def _min_norm_in_hull(p: np.ndarray, Q: np.ndarray, tol: float, max_iter: int) -> float:
    """dist(p, conv(rows of Q)) by Wolfe's minimum-norm-point algorithm (a fully corrective Frank-Wolfe).

    With v_j = q_j - p, find the point x of conv{v_j} nearest the origin. Major step (Frank-Wolfe):
    take j minimising <x, v_j>; stop when |x|^2 - <x, v_j> <= tol * max_j |v_j|^2 (this Frank-Wolfe gap
    bounds |x|^2 - |x*|^2). Minor steps: move to the minimiser over the affine hull of the active set,
    cut back to the simplex and drop vertices whose weight reaches 0, until the affine minimiser lies
    inside (Wolfe 1976, "Finding the nearest point in a polytope"). Finite on exact arithmetic; the
    iteration cap guards against cycling from rounding.
    """
    V = Q - p  # (n, d)
    n = V.shape[0]
    scale = float(np.max(np.sum(V * V, axis=1))) or 1.0
    j0 = int(np.argmin(np.sum(V * V, axis=1)))
    active = [j0]
    lam = np.array([1.0])
    x = V[j0].copy()
    for _ in range(max_iter):
        scores = V @ x
        j = int(np.argmin(scores))
        if float(x @ x) - float(scores[j]) <= tol * scale or j in active:
            break
        active.append(j)
        lam = np.append(lam, 0.0)
        for _minor in range(n + 1):
            alpha = _affine_minimiser(V[active])
            if np.all(alpha > 1e-14):
                lam = alpha
                break
            # largest step from lam towards alpha that keeps every weight >= 0
            neg = alpha <= 1e-14
            theta = float(np.min(lam[neg] / (lam[neg] - alpha[neg])))
            lam = (1.0 - theta) * lam + theta * alpha
            keep = lam > 1e-14
            keep[np.argmin(np.where(neg, lam, np.inf))] = False  # drop at least the vertex that hit 0
            active = [a for a, k in zip(active, keep) if k]
            lam = lam[keep] / lam[keep].sum()
        x = lam @ V[active]
    return float(np.linalg.norm(x))


def one_vs_rest_distances(points: Any, *, tol: float = 1e-14, max_iter: int = 1000) -> np.ndarray:
    """dist(p_k, conv{p_j : j != k}) for every row k (softmax-code paper, Def. 2.1), shape (K,).

    The float64 solver of :func:`spherecodes.validation.one_vs_rest.one_vs_rest_distances` (Wolfe's
    minimum-norm-point algorithm, dense up to 2048 rows, blocked beyond: no K x K matrix).

    Parameters
    ----------
    points : array_like (K, d)
        Usually unit vectors (normalised class means or proxies); any rows work.
    tol, max_iter
        Kept for compatibility and checked (tol > 0, max_iter >= 1); the validation solver is an exact
        active-set method that stops at its own certified Frank-Wolfe gap
        (:data:`spherecodes.validation.one_vs_rest.WOLFE_GAP_TOL`, 1e-14 relative, this function's old
        default), so they no longer change the result.

    Notes
    -----
    The regular simplex with K vertices gives K / (K - 1) for every vertex (the facet opposite a
    vertex has centroid -p_k / (K - 1)); the square (d = 2, K = 4) and the cross-polytope give 1.
    """
    from ..validation.one_vs_rest import one_vs_rest_distances as _distances

    P = _as_array(points, "points")
    if P.ndim != 2 or P.shape[0] < 2:
        raise InvalidParameterError("points", f"array of shape {P.shape}", "pass a (K, d) array with K >= 2")
    if not (float(tol) > 0):
        raise InvalidParameterError("tol", tol, "pass a tolerance > 0")
    if int(max_iter) < 1:
        raise InvalidParameterError("max_iter", max_iter, "pass at least 1 iteration")
    return _distances(P)


def reverse_energy(features: Any, labels: Any, *, mean: bool = False) -> float:
    """Hyperspherical reverse-energy E_r = sum_c sum_{i != j in A_c} |x_i - x_j|^2 (HUG paper, Sec. 2).

    x_i are the normalised features; ordered pairs, summed over classes. For unit vectors
    sum_{i != j} |x_i - x_j|^2 = 2 n_c^2 - 2 |sum_i x_i|^2, which is used here (O(N d)).
    ``mean=True`` divides by the number of ordered pairs sum_c n_c (n_c - 1).
    """
    X = _as_array(features, "features")
    y = _as_labels(labels, X.shape[0])
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise InvalidParameterError("features", "array with a zero row", "every feature needs a non-zero norm")
    X = X / norms[:, None]
    total, pairs = 0.0, 0
    for c in np.unique(y):
        Xc = X[y == c]
        n = Xc.shape[0]
        s = Xc.sum(axis=0)
        total += max(2.0 * n * n - 2.0 * float(s @ s), 0.0)
        pairs += n * (n - 1)
    if mean:
        return total / pairs if pairs else 0.0
    return total


def _riesz_pairs(U: np.ndarray, s: float) -> np.ndarray:
    """K_s(|u_i - u_j|) for the unordered pairs i < j of the rows of U: r^-s (s > 0), -log r (s = 0), -r^-s (s < 0)."""
    i, j = np.triu_indices(U.shape[0], k=1)
    dist = np.linalg.norm(U[i] - U[j], axis=1)
    with np.errstate(divide="ignore"):
        if s > 0:
            return dist ** (-s)
        if s == 0:
            return -np.log(dist)
        return -(dist ** (-s))


def average_energy(points: Any, s: float = 2.0) -> float:
    """Average Riesz s-energy of the normalised rows: (1 / (K (K - 1))) sum_{i != j} |u_i - u_j|^-s.

    The "average energy" of the HUG paper (Sec. 2, after Fig. 3): the GNC(2) energy of Eq. (1)
    (ordered pairs) divided by the number C (C - 1) of ordered pairs, i.e. the mean over unordered
    pairs. For the regular C-gon on S^1 and s = 2 it is (C + 1) / 12 (from
    sum_{k=1}^{C-1} csc^2(pi k / C) = (C^2 - 1) / 3): 1/3 for C = 3, 11/12 = 0.91667 for C = 10.

    Parameters
    ----------
    points : array_like or Tensor (K, d)
        Rows are normalised first (zero rows are an error).
    s : float
        Riesz exponent; s = 0 is the log kernel, s < 0 the -r^-s kernel of HUG Eq. (4).

    Returns
    -------
    float; inf when two normalised rows coincide and s > 0.
    """
    P = _as_array(points, "points")
    if P.ndim != 2 or P.shape[0] < 2:
        raise InvalidParameterError("points", f"array of shape {P.shape}", "pass a (K, d) array with K >= 2")
    norms = np.linalg.norm(P, axis=1)
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        raise InvalidParameterError("points", "array with a zero or non-finite row",
                                    "every row needs a finite non-zero norm")
    return float(np.mean(_riesz_pairs(P / norms[:, None], float(s))))


def _class_means(H: np.ndarray, y: np.ndarray, K: int) -> np.ndarray:
    counts = np.bincount(y, minlength=K)
    means = np.zeros((K, H.shape[1]))
    np.add.at(means, y, H)
    return means / counts[:, None]


def gnc2_energy(features: Any, labels: Any, *, s: float = 2.0, mean: bool = True, center: bool = True,
                normalise: bool = False, num_classes: int | None = None) -> float:
    """Hyperspherical energy of the class means in the GNC(2) convention of the HUG paper (Eq. 1).

        mu_hat_c = (mu_c - mu_G) / |mu_c - mu_G|,   E = sum_{c != c'} |mu_hat_c - mu_hat_c'|^-s,

    with mu_c the mean of the features of class c and mu_G the global feature mean (over all samples).
    ``mean=True`` returns the average energy E / (C (C - 1)) (see :func:`average_energy`), the number
    the paper reports (0.917 for d = 2, C = 10; 1/3 for d = 2, C = 3).

    Parameters
    ----------
    features : array_like or Tensor (N, d)
        Raw last-layer features (the paper does not normalise them; see ``normalise``).
    labels : array_like or LongTensor (N,)
        Class indices 0..C-1, every class present.
    s : float
        Riesz exponent (Eq. 1 uses 2).
    mean : bool
        Average over the C (C - 1) ordered pairs instead of summing them.
    center : bool
        Subtract mu_G (Eq. 1); False uses mu_c / |mu_c|.
    normalise : bool
        Project the features onto the sphere before averaging (what a cosine head sees).
    num_classes : int, optional
        C; defaults to max(label) + 1.

    Returns
    -------
    float; inf when two normalised class means coincide.
    """
    H = _as_array(features, "features")
    if H.ndim != 2 or H.shape[0] < 2:
        raise InvalidParameterError("features", f"array of shape {H.shape}", "pass an (N, d) array with N >= 2")
    y = _as_labels(labels, H.shape[0])
    K = int(num_classes) if num_classes is not None else int(y.max()) + 1
    counts = np.bincount(y, minlength=K)
    if counts.size > K or np.any(counts == 0) or K < 2:
        raise InvalidParameterError("labels", f"class counts {counts.tolist()}",
                                    f"every class 0..{K - 1} needs at least one sample, and K >= 2")
    if normalise:
        norms = np.linalg.norm(H, axis=1)
        if np.any(norms == 0):
            raise InvalidParameterError("features", "array with a zero row", "every feature needs a non-zero norm")
        H = H / norms[:, None]
    M = _class_means(H, y, K)
    if center:
        M = M - H.mean(axis=0)
    if np.any(np.linalg.norm(M, axis=1) == 0):
        raise InvalidParameterError("features", "a (centred) class mean at the origin",
                                    "the GNC(2) energy needs non-zero class means")
    e = average_energy(M, s)
    return e if mean else e * K * (K - 1)


def nc_metrics(features: Any, labels: Any, weights: Any = None, *, normalise: bool = True, center: bool = False,
               s: float = 2.0, num_classes: int | None = None) -> dict[str, float]:
    """Neural-collapse metrics of features (N, d) with labels (N,) and optional classifier weights (K, d).

    Parameters
    ----------
    features : array_like or Tensor (N, d)
    labels : array_like or LongTensor (N,)
        Class indices 0..K-1; every class must have at least one sample.
    weights : array_like or Tensor (K, d), optional
        Classifier weights / proxies, row c for class c; needed for ``nc3``.
    normalise : bool
        Project features onto the sphere first (the spherical constraint of the softmax-code paper,
        Eq. 2, and what cosine heads see). The reverse energy always uses normalised features.
    center : bool
        Subtract the global feature mean from the class means before NC2 / NC3 (Papyan's and the HUG
        paper's convention); off by default because a code with d < K - 1 need not have zero mean.
    s : float
        Riesz exponent of the NC2 energy (HUG Eq. 1 uses 2).
    num_classes : int, optional
        K; defaults to max(label) + 1.

    Returns
    -------
    dict of str to float
        ``nc1``: tr(Sigma_W Sigma_B^+) / K with Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T and
        Sigma_B = (1/K) sum_c (mu_c - mu_G)(mu_c - mu_G)^T, mu_G the global mean;
        ``nc2_one_vs_rest``: min_c dist(m_c, conv{m_j : j != c}) of the normalised class means m_c;
        ``nc2_one_vs_rest_mean``: the mean of those K distances;
        ``nc2_riesz_energy``: sum_{i<j} |m_i - m_j|^-s (unordered pairs; HUG Eq. 1 sums ordered pairs, twice this);
        ``nc2_riesz_energy_mean``: the mean of those K(K-1)/2 terms (:func:`average_energy` of the m_c);
        ``gnc2_energy_mean``: :func:`gnc2_energy` with ``mean=True``, the HUG paper's average energy: raw
        (unnormalised) features, class means centred by the global mean whatever ``normalise`` and
        ``center`` say; NaN when a centred class mean is at the origin;
        ``nc2_min_angle_deg``: smallest angle between normalised class means;
        ``nc3`` (with ``weights``): | W/|W|_F - M/|M|_F |_F, M the (K, d) class means;
        ``reverse_energy``, ``reverse_energy_mean``: see :func:`reverse_energy`.
    """
    H = _as_array(features, "features")
    if H.ndim != 2 or H.shape[0] < 2:
        raise InvalidParameterError("features", f"array of shape {H.shape}", "pass an (N, d) array with N >= 2")
    y = _as_labels(labels, H.shape[0])
    K = int(num_classes) if num_classes is not None else int(y.max()) + 1
    if int(y.max()) >= K:
        raise InvalidParameterError("labels", f"range [{int(y.min())}, {int(y.max())}]",
                                    f"labels must be class indices in [0, {K - 1}]")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise InvalidParameterError("labels", f"class counts {counts.tolist()}",
                                    f"every class 0..{K - 1} needs at least one sample")
    try:
        gnc2 = gnc2_energy(H, y, s=s, num_classes=K)
    except InvalidParameterError:  # centred means at the origin (e.g. all features collapsed to one point)
        gnc2 = float("nan")
    if normalise:
        norms = np.linalg.norm(H, axis=1)
        if np.any(norms == 0):
            raise InvalidParameterError("features", "array with a zero row", "every feature needs a non-zero norm")
        H = H / norms[:, None]
    N, d = H.shape
    means = np.zeros((K, d))
    np.add.at(means, y, H)
    means /= counts[:, None]
    mu_G = H.mean(axis=0)
    within = H - means[y]
    sigma_W = within.T @ within / N
    between = means - mu_G
    sigma_B = between.T @ between / K
    nc1 = float(np.trace(sigma_W @ np.linalg.pinv(sigma_B, hermitian=True)) / K)

    M = means - mu_G if center else means
    m_norms = np.linalg.norm(M, axis=1)
    if np.any(m_norms == 0):
        raise InvalidParameterError("features", "a class mean at the origin", "NC2 needs non-zero class means")
    Mhat = M / m_norms[:, None]
    ovr = one_vs_rest_distances(Mhat)
    i, j = np.triu_indices(K, k=1)
    pair_energy = _riesz_pairs(Mhat, float(s))
    cos = np.clip(np.sum(Mhat[i] * Mhat[j], axis=1), -1.0, 1.0)
    out = {
        "nc1": nc1,
        "nc2_one_vs_rest": float(ovr.min()),
        "nc2_one_vs_rest_mean": float(ovr.mean()),
        "nc2_riesz_energy": float(np.sum(pair_energy)),
        "nc2_riesz_energy_mean": float(np.mean(pair_energy)),
        "gnc2_energy_mean": gnc2,
        "nc2_min_angle_deg": float(np.degrees(np.arccos(cos.max()))),
    }
    if weights is not None:
        W = _as_array(weights, "weights")
        if W.shape != (K, d):
            raise InvalidParameterError("weights", f"array of shape {W.shape}",
                                        f"pass ({K}, {d}) classifier weights, row c for class c")
        out["nc3"] = float(np.linalg.norm(W / np.linalg.norm(W) - M / np.linalg.norm(M)))
    out["reverse_energy"] = reverse_energy(H, y)
    out["reverse_energy_mean"] = reverse_energy(H, y, mean=True)
    return out
