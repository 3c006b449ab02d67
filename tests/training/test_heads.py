"""Tests for spherecodes.training.heads: shapes, logits, where gradients flow, proxy sources."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import spherecodes
from spherecodes.code import Code
from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.export import save_proxies
from spherecodes.tolerances import unit_norm_tolerance
from spherecodes.training.heads import (
    HEADS,
    ClassMeanHead,
    FixedProxyHead,
    LearnableProxyHead,
    RotatedProxyHead,
    get_head,
    resolve_proxies,
)


def random_unit(K: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_heads(K: int = 5, d: int = 4):
    P = random_unit(K, d)
    torch.manual_seed(0)
    return {
        "fixed": FixedProxyHead(P, scale=7.0),
        "rotated": RotatedProxyHead(P, scale=7.0),
        "learnable": LearnableProxyHead(K, d, scale=7.0),
        "class_mean": ClassMeanHead(K, d, scale=7.0),
    }


@pytest.mark.parametrize("name", sorted(HEADS))
def test_shapes_and_cosine_logits(name):
    head = make_heads()[name]
    x = torch.randn(11, 4)
    logits = head(x)
    assert logits.shape == (11, 5)
    P = head.proxies
    assert P.shape == (5, 4)
    assert torch.allclose(torch.linalg.vector_norm(P, dim=1), torch.ones(5), atol=1e-6)
    expected = 7.0 * F.normalize(x, dim=1) @ P.t()
    assert torch.allclose(logits, expected, atol=1e-6)


def test_fixed_head_gets_no_gradient():
    head = make_heads()["fixed"]
    assert list(head.parameters()) == []  # proxies and scale are buffers
    x = torch.randn(6, 4, requires_grad=True)
    F.cross_entropy(head(x), torch.tensor([0, 1, 2, 3, 4, 0])).backward()
    assert not head.proxies.requires_grad and head.proxies.grad is None
    assert x.grad is not None and x.grad.abs().max() > 0


def test_fixed_head_learn_scale_trains_only_the_scale():
    head = FixedProxyHead(random_unit(3, 2), scale=5.0, learn_scale=True)
    params = list(head.parameters())
    assert len(params) == 1 and params[0] is head.scale
    F.cross_entropy(head(torch.randn(4, 2)), torch.tensor([0, 1, 2, 0])).backward()
    assert head.scale.grad is not None
    assert head.proxy_buffer.grad is None


def test_learnable_head_gets_gradient():
    head = make_heads()["learnable"]
    F.cross_entropy(head(torch.randn(6, 4)), torch.tensor([0, 1, 2, 3, 4, 0])).backward()
    assert head.weight.grad is not None and head.weight.grad.abs().max() > 0


def test_rotated_head_keeps_the_geometry_and_learns_only_the_rotation():
    P = random_unit(6, 3, seed=1)
    head = RotatedProxyHead(P, scale=5.0)
    assert torch.allclose(head.proxies, torch.tensor(P, dtype=torch.float32), atol=1e-6)  # starts at Q = I
    params = list(head.parameters())
    assert len(params) == 1  # the orthogonal parametrisation's underlying matrix
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(head(torch.randn(8, 3)), torch.randint(0, 6, (8,))).backward()
        opt.step()
    moved = head.proxies.detach()
    assert not torch.allclose(moved, torch.tensor(P, dtype=torch.float32), atol=1e-3)  # it did rotate
    gram = torch.tensor(P @ P.T, dtype=torch.float32)
    assert torch.allclose(moved @ moved.t(), gram, atol=1e-5)  # ... rigidly: all angles kept
    assert torch.allclose(head.base, torch.tensor(P, dtype=torch.float32))


def test_class_mean_head_ema_updates_only_in_training_mode():
    K, d = 3, 2
    head = ClassMeanHead(K, d, momentum=0.75, init=random_unit(K, d), scale=4.0)
    x1 = torch.tensor([[3.0, 0.0], [0.0, 2.0], [0.0, 5.0]])
    y1 = torch.tensor([0, 1, 1])
    head.train()
    head(x1, y1)
    # first sight: the mean of the normalised features of the batch
    assert torch.allclose(head.means[0], torch.tensor([1.0, 0.0]))
    assert torch.allclose(head.means[1], torch.tensor([0.0, 1.0]))
    assert torch.allclose(head.means[2], torch.tensor(random_unit(K, d)[2], dtype=torch.float32))  # class 2 unseen
    x2 = torch.tensor([[0.0, 1.0]])
    head(x2, torch.tensor([0]))
    assert torch.allclose(head.means[0], 0.75 * torch.tensor([1.0, 0.0]) + 0.25 * torch.tensor([0.0, 1.0]))
    before = head.means.clone()
    head.eval()
    head(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))
    assert torch.equal(head.means, before)
    head.train()
    head(torch.randn(4, 2))  # no labels: no update
    assert torch.equal(head.means, before)


def test_class_mean_head_gradient_reaches_features_not_means():
    head = ClassMeanHead(3, 2, init=random_unit(3, 2))
    head.train()
    x = torch.randn(5, 2, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0, 1])
    F.cross_entropy(head(x, y), y).backward()
    assert x.grad is not None and x.grad.abs().max() > 0
    assert not head.means.requires_grad and list(head.parameters()) == []


def test_proxy_sources_code_tensor_file_construction(tmp_path):
    P = random_unit(4, 3, seed=2)
    code = Code(points=P, objective="test")
    from_code = resolve_proxies(code)
    assert np.array_equal(from_code, P)
    scaled = torch.tensor(P * 3.0)
    assert np.allclose(resolve_proxies(scaled), P, atol=1e-15)  # rows are normalised
    for suffix in (".npy", ".npz", ".pt"):
        path = save_proxies(code, tmp_path / f"p{suffix}")
        assert np.allclose(resolve_proxies(str(path)), P, atol=1e-15)
    simplex = resolve_proxies("construction:simplex", num_classes=4, dim=3)
    gram = simplex @ simplex.T
    assert np.allclose(gram[~np.eye(4, dtype=bool)], -1.0 / 3.0, atol=1e-14)
    head = FixedProxyHead("construction:simplex", num_classes=4, dim=3)
    assert torch.allclose(head.proxies, torch.tensor(simplex, dtype=torch.float32))


def test_catalog_key_goes_through_lookup(monkeypatch, tmp_path):
    calls = []
    P = random_unit(5, 3, seed=3)

    def fake_lookup(objective, d, K, *, catalog=None, **params):
        calls.append((objective, d, K, catalog, params))
        return Code(points=P, objective=objective, params=params)

    monkeypatch.setattr(spherecodes, "lookup", fake_lookup, raising=False)
    key = "riesz[half_space=false,metric=euclidean,s=1.5]/d=3/K=5"
    head = FixedProxyHead(key, num_classes=5, dim=3)
    assert calls == [("riesz", 3, 5, None, {"half_space": False, "metric": "euclidean", "s": 1.5})]
    assert torch.allclose(head.proxies, torch.tensor(P, dtype=torch.float32))
    # the catalog reaches lookup from every head that takes proxies
    cat = str(tmp_path / "cat.h5")
    RotatedProxyHead(key, num_classes=5, dim=3, catalog=cat)
    LearnableProxyHead(5, 3, init=key, catalog=cat)
    ClassMeanHead(5, 3, init=key, catalog=cat)
    assert [c[3] for c in calls[1:]] == [cat, cat, cat]


def test_catalog_key_from_a_real_catalog_file(tmp_path):
    from spherecodes import Catalog

    P = random_unit(5, 3, seed=4)
    key = Catalog(tmp_path / "mine.h5").put(Code(points=P, objective="riesz", params={"s": 1.25})).key
    head = FixedProxyHead(key, num_classes=5, dim=3, catalog=tmp_path / "mine.h5")
    assert np.allclose(head.proxies.double().numpy(), P, atol=1e-7)
    with pytest.raises(spherecodes.LookupMiss):  # not in the (private, empty) user catalog nor the built-in one
        FixedProxyHead(key, num_classes=5, dim=3)


def test_bad_proxies_raise_named_errors():
    P = random_unit(4, 3)
    with pytest.raises(InvalidParameterError, match="fewer codewords than the 5 classes"):
        FixedProxyHead(P, num_classes=5)
    with pytest.raises(InvalidParameterError, match="more codewords than the 3 classes"):
        RotatedProxyHead(P, num_classes=3)
    with pytest.raises(InvalidParameterError, match="R\\^3"):
        FixedProxyHead(P, dim=4)
    with pytest.raises(InvalidParameterError, match="num_classes and dim"):
        FixedProxyHead("construction:simplex")
    with pytest.raises(InvalidParameterError):
        FixedProxyHead("construction:simplex", num_classes=10, dim=4)  # a simplex needs d >= K - 1
    with pytest.raises(InvalidParameterError):
        FixedProxyHead("not a key")
    with pytest.raises(InvalidParameterError, match="scale"):
        FixedProxyHead(P, scale=0.0)
    with pytest.raises(InvalidParameterError, match="momentum"):
        ClassMeanHead(4, 3, momentum=1.0)


def test_head_registry():
    assert get_head("rotated") is RotatedProxyHead
    with pytest.raises(UnknownNameError, match="class_mean, fixed, learnable, rotated"):
        get_head("linear")


# ----------------------------------------------------------------- batch sizes, devices, dtypes

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                reason="no CUDA device"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(HEADS))
@pytest.mark.parametrize("batch", [0, 1, 2, 13])
def test_heads_accept_any_batch_size_and_device(name, batch, device):
    head = make_heads()[name].to(device)
    head.train()
    x = torch.randn(batch, 4, device=device, requires_grad=True)
    y = torch.arange(batch, device=device) % 5
    logits = head(x, y)
    assert logits.shape == (batch, 5) and logits.device.type == device
    expected = 7.0 * F.normalize(x, dim=1) @ head.proxies.t()
    assert torch.allclose(logits, expected, atol=1e-6)
    if batch:
        F.cross_entropy(logits, y).backward()
        assert x.grad is not None and x.grad.shape == (batch, 4) and bool(torch.isfinite(x.grad).all())
        assert x.grad.abs().max() > 0


def test_class_mean_head_with_a_batch_of_one_updates_only_that_class():
    head = ClassMeanHead(3, 2, momentum=0.5, init=random_unit(3, 2))
    head.train()
    before = head.means.clone()
    head(torch.tensor([[0.0, 4.0]]), torch.tensor([2]))
    assert torch.allclose(head.means[2], torch.tensor([0.0, 1.0]))  # first sight of class 2: its batch mean
    assert torch.equal(head.means[:2], before[:2])


@pytest.mark.parametrize("name", sorted(HEADS))
def test_float32_head_takes_float64_features(name):
    head = make_heads()[name]
    x = torch.randn(3, 4, dtype=torch.float64)
    logits = head(x)
    assert logits.dtype == torch.float64
    assert torch.allclose(logits, 7.0 * F.normalize(x, dim=1) @ head.proxies.double().t(), atol=1e-6)


# ------------------------------------------------------------------------- where gradients flow


def test_static_proxies_get_no_gradient_under_every_proxy_loss():
    from spherecodes.training.losses import hinge_ce, hug_mgd, hug_mhe, hug_mhs

    P = random_unit(5, 4, seed=5)
    head = FixedProxyHead(P)
    y = torch.tensor([0, 1, 2, 3, 4, 0, 1])
    for loss in (hug_mhe, hug_mhs, hug_mgd):
        x = torch.randn(7, 4, requires_grad=True)
        loss(x, y, head.proxies).backward()
        assert not head.proxies.requires_grad and head.proxy_buffer.grad is None
        assert x.grad is not None and x.grad.abs().max() > 0
    x = torch.randn(7, 4, requires_grad=True)
    hinge_ce(x, head.proxies, y).backward()
    assert head.proxy_buffer.grad is None and list(head.parameters()) == []
    assert torch.equal(head.proxies, torch.tensor(P, dtype=torch.float32))


def test_learnable_proxies_get_gradient_from_the_hug_inter_class_term():
    from spherecodes.training.losses import hug_mhe

    torch.manual_seed(1)
    head = LearnableProxyHead(5, 4)
    x = torch.randn(3, 4)
    hug_mhe(x, torch.tensor([0, 1, 2]), head.proxies).backward()
    grad = head.weight.grad
    assert grad is not None
    assert grad[3:].abs().max() > 0  # classes absent from the batch move through the inter-class energy alone


@pytest.mark.parametrize("loss_name", ["ce", "hug_mhe", "hug_mhs", "hinge_ce"])
def test_rotated_proxies_stay_unit_and_keep_every_pairwise_angle(loss_name):
    from spherecodes.training.losses import hinge_ce, hug_mhe, hug_mhs

    P = random_unit(7, 4, seed=6)
    head = RotatedProxyHead(P, scale=5.0)
    opt = torch.optim.Adam(head.parameters(), lr=0.2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn(9, 4, generator=gen)
        y = torch.randint(0, 7, (9,), generator=gen)
        opt.zero_grad()
        if loss_name == "ce":
            value = F.cross_entropy(head(x, y), y)
        elif loss_name == "hinge_ce":
            value = hinge_ce(x, head.proxies, y)
        else:
            value = {"hug_mhe": hug_mhe, "hug_mhs": hug_mhs}[loss_name](x, y, head.proxies)
        value.backward()
        opt.step()
    W = head.proxies.detach().double()
    P64 = torch.tensor(P)
    assert not torch.allclose(W, P64, atol=1e-3)  # it rotated
    tol = unit_norm_tolerance(torch.float32)  # the head computes in float32
    assert torch.allclose(torch.linalg.vector_norm(W, dim=1), torch.ones(7, dtype=torch.float64), atol=tol)
    assert torch.allclose(W @ W.t(), P64 @ P64.t(), atol=1e-5)  # all inner products, hence all angles
    i, j = torch.triu_indices(7, 7, offset=1)
    angles = torch.arccos((W[i] * W[j]).sum(1).clamp(-1, 1))
    angles0 = torch.arccos((P64[i] * P64[j]).sum(1))
    assert torch.allclose(angles, angles0, atol=1e-4)  # radians; no pair is near 0 or pi, where arccos is steep


# --------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("name", sorted(HEADS))
def test_heads_reject_features_of_the_wrong_dimension_and_bad_labels(name):
    head = make_heads()[name]  # K = 5 proxies in R^4
    with pytest.raises(InvalidParameterError, match="R\\^4"):
        head(torch.randn(3, 5))
    with pytest.raises(InvalidParameterError, match="features"):
        head(torch.randn(4))
    with pytest.raises(InvalidParameterError, match="\\[0, 4\\]"):
        head(torch.randn(3, 4), torch.tensor([0, 5, 1]))
    with pytest.raises(InvalidParameterError, match="labels"):
        head(torch.randn(3, 4), torch.tensor([0, -1, 1]))
    with pytest.raises(InvalidParameterError, match="labels"):
        head(torch.randn(3, 4), torch.tensor([0, 1]))
    with pytest.raises(InvalidParameterError, match="integer"):
        head(torch.randn(3, 4), torch.tensor([0.0, 1.0, 2.0]))


def test_heads_reject_bad_sizes():
    with pytest.raises(InvalidParameterError, match="num_classes"):
        LearnableProxyHead(0, 3)
    with pytest.raises(InvalidParameterError, match="dim"):
        ClassMeanHead(3, 2.5)
