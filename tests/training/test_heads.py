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


def test_catalog_key_goes_through_lookup(monkeypatch):
    calls = []
    P = random_unit(5, 3, seed=3)

    def fake_lookup(objective, d, K, **params):
        calls.append((objective, d, K, params))
        return Code(points=P, objective=objective, params=params)

    monkeypatch.setattr(spherecodes, "lookup", fake_lookup, raising=False)
    head = FixedProxyHead("riesz[half_space=false,metric=euclidean,s=1.5]/d=3/K=5", num_classes=5, dim=3)
    assert calls == [("riesz", 3, 5, {"half_space": False, "metric": "euclidean", "s": 1.5})]
    assert torch.allclose(head.proxies, torch.tensor(P, dtype=torch.float32))


def test_bad_proxies_raise_named_errors():
    P = random_unit(4, 3)
    with pytest.raises(InvalidParameterError, match="4 proxies"):
        FixedProxyHead(P, num_classes=5)
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
