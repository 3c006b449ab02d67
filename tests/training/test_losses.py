"""Tests for spherecodes.training.losses: hand-computed values, autograd checks, HingeCE Thm 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.training.losses import (
    HINGECE_TAU_MINUS,
    HINGECE_TAU_PLUS,
    HUG_LOSS_VARIANTS,
    LOSSES,
    HingeCELoss,
    HUGLoss,
    MHERegulariser,
    TemperatureCELoss,
    get_loss,
    hinge_ce,
    hinge_logits,
    hug_loss,
    hug_mgd,
    hug_mhe,
    hug_mhs,
    mhe_regulariser,
    temperature_ce,
)

D64 = torch.float64


def simplex(K: int, d: int | None = None) -> torch.Tensor:
    """Regular simplex with K vertices in R^d (d >= K-1), float64, built independently of the library."""
    d = K - 1 if d is None else d
    centred = np.eye(K) - 1.0 / K
    basis = np.linalg.svd(centred)[0][:, : K - 1]
    pts = np.zeros((K, d))
    pts[:, : K - 1] = centred @ basis
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    return torch.tensor(pts, dtype=D64)


def unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


# ------------------------------------------------------------------------ temperature CE


def test_temperature_ce_matches_hand_computation():
    proxies = torch.tensor([unit(0.0), unit(math.pi / 2), unit(math.pi)], dtype=D64)
    # feature at 30 degrees (norm 3, normalised inside), label 0; cosines: cos30, cos60, cos150
    features = torch.tensor([[3 * math.cos(math.pi / 6), 3 * math.sin(math.pi / 6)]], dtype=D64)
    labels = torch.tensor([0])
    T = 0.5
    z = np.array([math.cos(math.pi / 6), math.cos(math.pi / 3), math.cos(5 * math.pi / 6)]) / T
    expected = -(z[0] - math.log(np.exp(z).sum()))
    got = temperature_ce(features, proxies, labels, T)
    assert got.item() == pytest.approx(expected, rel=1e-14)
    assert TemperatureCELoss(T)(features, proxies, labels).item() == pytest.approx(expected, rel=1e-14)


def test_temperature_ce_gradcheck():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(5, 3, dtype=D64, generator=g, requires_grad=True)
    proxies = torch.randn(4, 3, dtype=D64, generator=g, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 1])
    assert torch.autograd.gradcheck(lambda f, p: temperature_ce(f, p, labels, 0.3), (features, proxies))


def test_temperature_ce_rejects_bad_temperature_and_labels():
    f, p = torch.randn(2, 3), torch.randn(4, 3)
    with pytest.raises(InvalidParameterError):
        temperature_ce(f, p, torch.tensor([0, 1]), 0.0)
    with pytest.raises(InvalidParameterError, match="labels"):
        temperature_ce(f, p, torch.tensor([0, 4]), 0.1)


# ---------------------------------------------------------------------------------- HUG


ANTIPODAL = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=D64)  # K = 2 proxies, |w0 - w1| = 2


def test_hug_mhe_exact_eq5_hand_value():
    # one feature of class 0 at 90 degrees from w0: group {x, w0}, one unordered pair at distance sqrt(2)
    x = torch.tensor([[0.0, 5.0]], dtype=D64)
    y = torch.tensor([0])
    alpha, beta = 0.7, 1.3
    # inter: E_2 over ordered pairs = 2 * 2^-2 = 0.5; intra: -E_{-1}({x, w0}) = 2 * sqrt(2)
    expected = alpha * 0.5 + beta * 2 * math.sqrt(2)
    got = hug_loss(x, y, ANTIPODAL, variant="mhe", relaxed=False, alpha=alpha, beta=beta)
    assert got.item() == pytest.approx(expected, rel=1e-14)


def test_hug_mhe_relaxed_eq6_square():
    square = torch.tensor([unit(k * math.pi / 2) for k in range(4)], dtype=D64)
    x = torch.tensor([unit(0.3), unit(math.pi / 2), unit(math.pi + 0.5)], dtype=D64) * 2.0
    y = torch.tensor([0, 1, 2])
    # ordered-pair sum of |w_c - w_c'|^-2 over the square: 8 adjacent pairs (1/2) + 4 diagonal pairs (1/4) = 5
    chord = lambda a: 2 * math.sin(abs(a) / 2)  # noqa: E731
    intra = chord(0.3) + 0.0 + chord(0.5)
    got = hug_loss(x, y, square, variant="mhe", alpha=2.0, beta=3.0)  # relaxed by default for mhe
    assert got.item() == pytest.approx(2.0 * 5.0 + 3.0 * intra, rel=1e-13)
    # "mean": inter over the 12 ordered pairs, intra over the 3 samples
    got_mean = hug_loss(x, y, square, variant="mhe", alpha=2.0, beta=3.0, reduction="mean")
    assert got_mean.item() == pytest.approx(2.0 * 5.0 / 12 + 3.0 * intra / 3, rel=1e-13)


def test_hug_mhs_eq7_eq8_hand_values():
    x = torch.tensor([unit(0.2), unit(-0.4), unit(math.pi - 0.1)], dtype=D64)
    y = torch.tensor([0, 0, 1])
    chord = lambda a: 2 * math.sin(abs(a) / 2)  # noqa: E731
    # Eq. 8: -min |w_c - w_c'| + sum_c max_i |x_i - w_c|
    expected8 = -2.0 + (chord(0.4) + chord(0.1))
    assert hug_loss(x, y, ANTIPODAL, variant="mhs").item() == pytest.approx(expected8, rel=1e-13)
    # Eq. 7: class 0's set {x1, x2, w0} has diameter chord(0.6); class 1's {x3, w1} has chord(0.1)
    expected7 = -2.0 + (chord(0.6) + chord(0.1))
    got7 = hug_loss(x, y, ANTIPODAL, variant="mhs", relaxed=False)
    assert got7.item() == pytest.approx(expected7, rel=1e-13)


def test_hug_mgd_eq10_hand_value():
    eps = 0.8
    x = torch.tensor([[0.0, 1.0]], dtype=D64)  # |x - w0|^2 = 2
    y = torch.tensor([0])
    # inter: -log det [[1, e^{-4 eps^2}], [., 1]] = -log(1 - e^{-8 eps^2}); intra: det of {x, w0} = 1 - e^{-4 eps^2}
    expected = -math.log(1 - math.exp(-8 * eps**2)) + 1.5 * (1 - math.exp(-4 * eps**2))
    got = hug_loss(x, y, ANTIPODAL, variant="mgd", epsilon=eps, beta=1.5)
    assert got.item() == pytest.approx(expected, rel=1e-13)


def test_hug_mgd_eq10_intra_term_vanishes_for_two_coincident_features():
    # the documented degeneracy of Eq. 10: two equal features make det G = 0 wherever they are
    x = torch.tensor([[-1.0, 0.0], [-1.0, 0.0]], dtype=D64)  # antipodal to w0, yet ...
    y = torch.tensor([0, 0])
    full = hug_loss(x, y, ANTIPODAL, variant="mgd", relaxed=False)
    inter_only = hug_loss(x, y, ANTIPODAL, variant="mgd", relaxed=False, beta=0.0)
    assert full.item() == pytest.approx(inter_only.item(), abs=1e-12)  # ... the intra term is 0
    relaxed = hug_loss(x, y, ANTIPODAL, variant="mgd", relaxed=True)
    assert relaxed.item() == pytest.approx(inter_only.item() + 2 * 2.0, rel=1e-13)  # |x_i - w0| = 2 each


def brute_hug_mhe_exact(x: np.ndarray, y: np.ndarray, w: np.ndarray, s_b: float, s_w: float) -> float:
    """Eq. 5 by explicit double loops over ordered pairs (independent of the library)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)

    def kern(r, s):
        return r ** (-s) if s > 0 else -(r ** (-s))

    inter = sum(kern(np.linalg.norm(w[a] - w[b]), s_b) for a in range(len(w)) for b in range(len(w)) if a != b)
    intra = 0.0
    for c in np.unique(y):
        group = np.vstack([x[y == c], w[c]])
        intra += sum(kern(np.linalg.norm(group[i] - group[j]), s_w)
                     for i in range(len(group)) for j in range(len(group)) if i != j)
    return inter - intra


def test_hug_mhe_exact_matches_brute_force_for_other_exponents():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(9, 3)), rng.normal(size=(4, 3))
    y = np.array([0, 1, 1, 2, 2, 2, 3, 0, 1])
    for s_b, s_w in [(2.0, -1.0), (1.0, -2.0), (3.0, -0.5)]:
        got = hug_loss(torch.tensor(x), torch.tensor(y), torch.tensor(w), variant="mhe", relaxed=False,
                       s_b=s_b, s_w=s_w)
        assert got.item() == pytest.approx(brute_hug_mhe_exact(x, y, w, s_b, s_w), rel=1e-12)


@pytest.mark.parametrize("variant,relaxed", [("mhe", True), ("mhe", False), ("mhs", True), ("mhs", False),
                                             ("mgd", False), ("mgd", True)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_hug_gradcheck(variant, relaxed, reduction):
    g = torch.Generator().manual_seed(3)
    features = torch.randn(7, 3, dtype=D64, generator=g, requires_grad=True)
    proxies = torch.randn(3, 3, dtype=D64, generator=g, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])

    def fn(f, p):
        return hug_loss(f, labels, p, variant=variant, relaxed=relaxed, alpha=0.9, beta=1.1, reduction=reduction)

    assert torch.autograd.gradcheck(fn, (features, proxies))


def test_hug_fixed_proxies_get_no_gradient_and_features_do():
    proxies = simplex(4)  # a constant, no requires_grad
    features = torch.randn(8, 3, dtype=D64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    hug_loss(features, labels, proxies).backward()
    assert proxies.grad is None
    assert features.grad is not None and torch.count_nonzero(features.grad) > 0


def test_hug_collapsed_features_give_minimum_of_intra_term():
    w = simplex(4)
    labels = torch.tensor([0, 1, 2, 3, 2])
    x = w[labels] * 3.0
    # intra term vanishes; the loss equals alpha * inter for mhe relaxed / exact
    inter = sum(float(torch.linalg.vector_norm(w[a] - w[b])) ** -2 for a in range(4) for b in range(4) if a != b)
    for relaxed in (True, False):
        assert hug_loss(x, labels, w, relaxed=relaxed).item() == pytest.approx(inter, rel=1e-12)


def test_hug_rejects_unknown_variant_and_reduction():
    f, w = torch.randn(3, 2), torch.randn(2, 2)
    y = torch.tensor([0, 1, 0])
    with pytest.raises(UnknownNameError, match="mhe, mhs, mgd"):
        hug_loss(f, y, w, variant="tammes")
    with pytest.raises(InvalidParameterError, match="reduction"):
        hug_loss(f, y, w, reduction="max")
    with pytest.raises(UnknownNameError):
        HUGLoss(variant="nope")


def test_hug_module_matches_function():
    f, w = torch.randn(6, 3, dtype=D64), torch.randn(3, 3, dtype=D64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    assert HUGLoss(variant="mgd", epsilon=0.5)(f, y, w).item() == hug_loss(f, y, w, variant="mgd", epsilon=0.5).item()


# ------------------------------------------------------------------------------- HingeCE


def test_hinge_logits_reduce_to_plain_logits():
    g = torch.Generator().manual_seed(0)
    u, W = torch.randn(6, 4, dtype=D64, generator=g), torch.randn(5, 4, dtype=D64, generator=g)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    plain = u @ W.t()
    assert torch.allclose(hinge_logits(u, W, y, tau_plus=0.0, tau_minus=math.pi), plain, rtol=0, atol=1e-15)


def test_hinge_logits_eq8_hand_value():
    W = torch.tensor([unit(0.0), unit(math.pi / 2)], dtype=D64)
    u = torch.tensor([[2 * math.cos(0.2), 2 * math.sin(0.2)]], dtype=D64)  # |u| = 2, 0.2 rad from w0
    y = torch.tensor([0])
    tp, tm = 0.5, 1.0
    logits = hinge_logits(u, W, y, tau_plus=tp, tau_minus=tm)
    # positive: angle 0.2 < tau+ -> min picks |u| cos tau+; negative: angle pi/2 - 0.2 > tau- -> |u| cos tau-
    assert logits[0, 0].item() == pytest.approx(2 * math.cos(tp), rel=1e-14)
    assert logits[0, 1].item() == pytest.approx(2 * math.cos(tm), rel=1e-14)
    logits2 = hinge_logits(u, W, y, tau_plus=0.1, tau_minus=1.5)
    assert logits2[0, 0].item() == pytest.approx(2 * math.cos(0.2), rel=1e-14)  # outside the cone: <w, u>
    assert logits2[0, 1].item() == pytest.approx(2 * math.cos(math.pi / 2 - 0.2), rel=1e-13)


def cone_features(W: torch.Tensor, labels: torch.Tensor, max_angle: float, gen: torch.Generator) -> torch.Tensor:
    """Features at angle < max_angle from their class axis, random norms and directions."""
    rows = []
    for c in labels.tolist():
        w = W[c]
        v = torch.randn(W.shape[1], dtype=D64, generator=gen)
        v = v - (v @ w) * w
        v = v / v.norm()
        a = float(torch.rand(1, generator=gen, dtype=D64)) * max_angle
        r = 0.5 + 3 * float(torch.rand(1, generator=gen, dtype=D64))
        rows.append(r * (math.cos(a) * w + math.sin(a) * v))
    return torch.stack(rows)


def test_hingece_theorem1_zero_gradient_in_msc_arrangement():
    K, tau = 5, 0.4
    W = simplex(K, d=6)
    theta_K = math.acos(-1.0 / (K - 1))
    gen = torch.Generator().manual_seed(7)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 2, 4])
    u = cone_features(W, labels, 0.95 * tau, gen).requires_grad_(True)
    hinge_ce(u, W, labels, tau_plus=tau, tau_minus=theta_K - tau).backward()
    assert torch.count_nonzero(u.grad) == 0
    # control: the plain CE on the same features (tau+ = 0, tau- = pi) does push them
    u2 = u.detach().clone().requires_grad_(True)
    hinge_ce(u2, W, labels, tau_plus=0.0, tau_minus=math.pi).backward()
    assert u2.grad.abs().max() > 1e-6


def test_hingece_outside_the_cone_has_gradient():
    K, tau = 4, 0.3
    W = simplex(K)
    theta_K = math.acos(-1.0 / (K - 1))
    gen = torch.Generator().manual_seed(1)
    labels = torch.tensor([0, 1, 2, 3])
    u = cone_features(W, labels, 0.9 * tau, gen)
    u[0] = 2.0 * (math.cos(2 * tau) * W[0] + math.sin(2 * tau) * W[1]) / torch.linalg.vector_norm(
        math.cos(2 * tau) * W[0] + math.sin(2 * tau) * W[1])  # sample 0 leaves its cone
    u.requires_grad_(True)
    hinge_ce(u, W, labels, tau_plus=tau, tau_minus=theta_K - tau).backward()
    assert u.grad[0].abs().max() > 1e-6
    assert torch.count_nonzero(u.grad[1:]) == 0


def frozen_norm_hinge_ce(u, W, y, unorm, tau_plus, tau_minus):
    """Eq. 7-8 written out with |u| a constant: the function whose gradient stop-grad defines."""
    inner = u @ W.t()
    bound = unorm[:, None] * torch.linalg.vector_norm(W, dim=1)[None, :]
    pos = torch.minimum(inner, bound * math.cos(tau_plus))
    neg = torch.maximum(inner, bound * math.cos(tau_minus))
    logits = torch.where(torch.nn.functional.one_hot(y, W.shape[0]).bool(), pos, neg)
    return torch.nn.functional.cross_entropy(logits, y)


def hinge_ce_no_stop_grad(u, W, y, tau_plus, tau_minus):
    return frozen_norm_hinge_ce(u, W, y, torch.linalg.vector_norm(u, dim=1), tau_plus, tau_minus)


def central_difference(fn, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    grad = torch.zeros_like(x)
    flat = x.view(-1)
    for k in range(flat.numel()):
        old = flat[k].item()
        flat[k] = old + h
        up = fn(x).item()
        flat[k] = old - h
        down = fn(x).item()
        flat[k] = old
        grad.view(-1)[k] = (up - down) / (2 * h)
    return grad


def test_hingece_gradient_matches_finite_differences_with_stop_gradient():
    K, tau_p, tau_m = 4, 0.5, 1.6
    gen = torch.Generator().manual_seed(5)
    W = simplex(K, d=4) * torch.tensor([[1.0], [1.5], [0.8], [1.2]], dtype=D64)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    u = torch.cat([cone_features(simplex(K, d=4), y[:3], 0.8 * tau_p, gen),  # hinge active on the positive logit
                   torch.randn(3, 4, dtype=D64, generator=gen) * 2])
    u_req, W_req = u.clone().requires_grad_(True), W.clone().requires_grad_(True)
    hinge_ce(u_req, W_req, y, tau_plus=tau_p, tau_minus=tau_m).backward()
    unorm = torch.linalg.vector_norm(u, dim=1)
    num_u = central_difference(lambda v: frozen_norm_hinge_ce(v, W, y, unorm, tau_p, tau_m), u.clone())
    num_W = central_difference(lambda v: frozen_norm_hinge_ce(u, v, y, unorm, tau_p, tau_m), W.clone())
    assert torch.allclose(u_req.grad, num_u, rtol=1e-6, atol=1e-8)
    assert torch.allclose(W_req.grad, num_W, rtol=1e-6, atol=1e-8)
    # without the stop-gradient the finite differences differ (the hinge logit |u| cos tau+ depends on u)
    num_free = central_difference(lambda v: hinge_ce_no_stop_grad(v, W, y, tau_p, tau_m), u.clone())
    assert not torch.allclose(u_req.grad, num_free, rtol=1e-4, atol=1e-6)


def test_hingece_defaults_and_module():
    g = torch.Generator().manual_seed(5)
    u = torch.randn(6, 4, dtype=D64, generator=g)
    W = torch.randn(3, 4, dtype=D64, generator=g)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    assert HINGECE_TAU_PLUS == pytest.approx(13 * math.pi / 36)
    assert HINGECE_TAU_MINUS == pytest.approx(math.pi)
    assert HingeCELoss()(u, W, y).item() == pytest.approx(hinge_ce(u, W, y).item(), rel=1e-15)
    assert hinge_ce(u, W, y).item() == pytest.approx(
        frozen_norm_hinge_ce(u, W, y, torch.linalg.vector_norm(u, dim=1), 13 * math.pi / 36, math.pi).item(), rel=1e-14)


def test_hingece_per_class_tau_plus():
    W = simplex(3)
    u = torch.stack([W[0] * 2, W[1] * 2]) + 0.05
    y = torch.tensor([0, 1])
    tau = torch.tensor([0.3, 0.0, 0.0], dtype=D64)
    logits = hinge_logits(u, W, y, tau_plus=tau)
    norms = torch.linalg.vector_norm(u, dim=1)
    assert logits[0, 0].item() == pytest.approx(min(float(u[0] @ W[0]), float(norms[0]) * math.cos(0.3)), rel=1e-14)
    assert logits[1, 1].item() == pytest.approx(float(u[1] @ W[1]), rel=1e-14)  # tau+ = 0 for class 1


# ------------------------------------------------------------------------ MHE regulariser


def test_mhe_regulariser_on_simplex_hand_value():
    K = 6
    W = simplex(K) * 4.0  # norms do not matter
    # |w_i - w_j|^2 = 2K/(K-1) for every pair; s=2 -> each term (K-1)/(2K)
    expected = (K - 1) / (2 * K)
    assert mhe_regulariser(W).item() == pytest.approx(expected, rel=1e-13)
    labels = torch.tensor([0, 3, 3, 5])
    assert mhe_regulariser(W, labels=labels).item() == pytest.approx(expected, rel=1e-13)
    # s = 0: log(1/z) with z = sqrt(2K/(K-1))
    assert mhe_regulariser(W, s=0.0).item() == pytest.approx(-0.5 * math.log(2 * K / (K - 1)), rel=1e-13)


def test_mhe_minibatch_form_with_every_class_once_equals_full_form():
    g = torch.Generator().manual_seed(2)
    W = torch.randn(7, 3, dtype=D64, generator=g)
    for s in (1.0, 2.0, 0.0):
        full = mhe_regulariser(W, s=s)
        batch = mhe_regulariser(W, s=s, labels=torch.arange(7))
        assert batch.item() == pytest.approx(full.item(), rel=1e-13)


def test_mhe_regulariser_gradcheck_and_module():
    g = torch.Generator().manual_seed(4)
    W = torch.randn(5, 3, dtype=D64, generator=g, requires_grad=True)
    labels = torch.tensor([1, 1, 4, 0])
    assert torch.autograd.gradcheck(lambda w: mhe_regulariser(w, s=2.0), (W,))
    assert torch.autograd.gradcheck(lambda w: mhe_regulariser(w, s=1.0, labels=labels), (W,))
    assert MHERegulariser(1.0)(W, labels).item() == mhe_regulariser(W, s=1.0, labels=labels).item()
    with pytest.raises(InvalidParameterError):
        mhe_regulariser(W[:1])


def test_loss_registry():
    assert get_loss("hug") is hug_loss
    assert get_loss("hug_mhe") is hug_mhe and get_loss("hug_mhs") is hug_mhs and get_loss("hug_mgd") is hug_mgd
    assert get_loss("temperature_ce") is temperature_ce and get_loss("hinge_ce") is hinge_ce
    assert HUG_LOSS_VARIANTS == {"hug_mhe": "mhe", "hug_mhs": "mhs", "hug_mgd": "mgd"}
    with pytest.raises(UnknownNameError, match="ce, hinge_ce, hug, hug_mgd, hug_mhe, hug_mhs, temperature_ce"):
        get_loss("mse")


# --------------------------------------------------------------------- the hug_* thin functions


def test_hug_mhe_function_hand_values():
    # Eq. 5 case of test_hug_mhe_exact_eq5_hand_value, through hug_mhe
    x = torch.tensor([[0.0, 5.0]], dtype=D64)
    y = torch.tensor([0])
    expected5 = 0.7 * 0.5 + 1.3 * 2 * math.sqrt(2)
    assert hug_mhe(x, y, ANTIPODAL, relaxed=False, alpha=0.7, beta=1.3).item() == pytest.approx(expected5, rel=1e-14)
    # Eq. 6 (the default): alpha * 0.5 + beta * |x - w0| = alpha * 0.5 + beta * sqrt(2)
    assert hug_mhe(x, y, ANTIPODAL, alpha=0.7, beta=1.3).item() == pytest.approx(0.35 + 1.3 * math.sqrt(2), rel=1e-14)


def test_hug_mhs_function_hand_values():
    x = torch.tensor([unit(0.2), unit(-0.4), unit(math.pi - 0.1)], dtype=D64)
    y = torch.tensor([0, 0, 1])
    chord = lambda a: 2 * math.sin(abs(a) / 2)  # noqa: E731
    assert hug_mhs(x, y, ANTIPODAL).item() == pytest.approx(-2.0 + chord(0.4) + chord(0.1), rel=1e-13)
    assert hug_mhs(x, y, ANTIPODAL, relaxed=False).item() == pytest.approx(-2.0 + chord(0.6) + chord(0.1), rel=1e-13)


def test_hug_mgd_function_hand_values():
    eps = 0.8
    x = torch.tensor([[0.0, 1.0]], dtype=D64)
    y = torch.tensor([0])
    inter = -math.log(1 - math.exp(-8 * eps**2))
    exact = inter + 1.5 * (1 - math.exp(-4 * eps**2))  # Eq. 10 (the default for mgd)
    assert hug_mgd(x, y, ANTIPODAL, epsilon=eps, beta=1.5).item() == pytest.approx(exact, rel=1e-13)
    relaxed = inter + 1.5 * math.sqrt(2)  # slides: beta * |x - w0|
    assert hug_mgd(x, y, ANTIPODAL, epsilon=eps, beta=1.5, relaxed=True).item() == pytest.approx(relaxed, rel=1e-13)


@pytest.mark.parametrize("fn,variant", [(hug_mhe, "mhe"), (hug_mhs, "mhs"), (hug_mgd, "mgd")])
@pytest.mark.parametrize("relaxed", [None, True, False])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_hug_functions_equal_hug_loss_with_their_variant(fn, variant, relaxed, reduction):
    g = torch.Generator().manual_seed(11)
    f = torch.randn(9, 3, dtype=D64, generator=g, requires_grad=True)
    w = torch.randn(4, 3, dtype=D64, generator=g, requires_grad=True)
    y = torch.tensor([0, 1, 1, 2, 2, 2, 3, 0, 1])
    kw = dict(relaxed=relaxed, alpha=0.8, beta=1.7, reduction=reduction)
    extra = {"mhe": dict(s_b=1.5, s_w=-0.5), "mhs": {}, "mgd": dict(epsilon=0.6)}[variant]
    a = fn(f, y, w, **kw, **extra)
    b = hug_loss(f, y, w, variant=variant, **kw, **extra)
    assert a.item() == b.item()
    ga = torch.autograd.grad(a, (f, w))
    gb = torch.autograd.grad(b, (f, w))
    assert all(torch.equal(p, q) for p, q in zip(ga, gb))
    # and it is not the other variants' value
    others = [hug_loss(f, y, w, variant=v, relaxed=relaxed, alpha=0.8, beta=1.7, reduction=reduction).item()
              for v in ("mhe", "mhs", "mgd") if v != variant]
    assert all(abs(a.item() - o) > 1e-9 for o in others)


# ------------------------------------------------------------------------------ bad inputs


def _call(name, f, w, y):
    fn = LOSSES[name]
    if name in ("ce", "temperature_ce"):
        return fn(f, w, y, 0.1)
    if name == "hinge_ce":
        return fn(f, w, y)
    return fn(f, y, w)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_rejects_bad_shapes_and_labels(name):
    f, w = torch.randn(3, 4), torch.randn(5, 4)
    with pytest.raises(InvalidParameterError, match="same d"):
        _call(name, torch.randn(3, 3), w, torch.tensor([0, 1, 2]))  # proxies in R^4, features in R^3
    with pytest.raises(InvalidParameterError, match="\\[0, 4\\]"):
        _call(name, f, w, torch.tensor([0, 5, 2]))  # label 5 with 5 proxies
    with pytest.raises(InvalidParameterError, match="labels"):
        _call(name, f, w, torch.tensor([0, -1, 2]))
    with pytest.raises(InvalidParameterError, match="labels"):
        _call(name, f, w, torch.tensor([0, 1]))  # one label short
    assert torch.isfinite(_call(name, f, w, torch.tensor([0, 1, 4])))  # the same call with good input works
