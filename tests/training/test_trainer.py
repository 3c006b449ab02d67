"""Tests for spherecodes.training.trainer: a short, deterministic training run on the digits data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.training import train
from spherecodes.training.trainer import DATASETS, DIGITS_CLASSES, load_dataset, load_digits_split

METRIC_KEYS = {"nc1", "nc2_one_vs_rest", "nc2_one_vs_rest_mean", "nc2_riesz_energy", "nc2_riesz_energy_mean",
               "gnc2_energy_mean", "nc2_min_angle_deg", "nc3", "reverse_energy", "reverse_energy_mean"}


def test_digits_split_is_seeded_stratified_and_standardised():
    Xa, ya, Xta, yta = load_digits_split(0)
    Xb, yb, _, _ = load_digits_split(0)
    Xc, _, _, _ = load_digits_split(1)
    assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    assert not np.array_equal(Xa, Xc)
    assert Xa.shape[1] == 64 and Xa.shape[0] + Xta.shape[0] == 1797
    assert set(np.unique(yta)) == set(range(DIGITS_CLASSES))
    assert np.allclose(Xa.mean(axis=0), 0.0, atol=1e-5)


def test_two_epoch_smoke_run_is_deterministic():
    state = torch.get_rng_state()
    seen = []
    a = train(head="fixed", loss="ce", epochs=2, seed=3, progress=lambda e, n, s: seen.append((e, n, s["loss"])))
    assert torch.equal(torch.get_rng_state(), state)  # the caller's generator is left alone
    b = train(head="fixed", loss="ce", epochs=2, seed=3)
    assert a.test_accuracy == b.test_accuracy and a.train_accuracy == b.train_accuracy
    assert a.history == b.history
    assert np.array_equal(a.test_features, b.test_features)
    assert [(e, n) for e, n, _ in seen] == [(1, 2), (2, 2)]
    assert len(a.history) == 2 and all(math.isfinite(h["loss"]) for h in a.history)
    assert a.test_accuracy > 0.3  # chance is 0.1: two epochs of training do learn something
    assert set(a.metrics) == METRIC_KEYS and all(isinstance(v, float) for v in a.metrics.values())
    c = train(head="fixed", loss="ce", epochs=2, seed=4)
    assert c.history != a.history  # another seed is another run


@pytest.mark.parametrize("head,loss", [("rotated", "ce"), ("learnable", "ce"), ("class_mean", "ce"),
                                       ("fixed", "hug"), ("learnable", "hug"), ("fixed", "hinge_ce")])
def test_every_head_and_loss_trains(head, loss):
    result = train(head=head, loss=loss, epochs=1, seed=0)
    assert 0.0 <= result.test_accuracy <= 1.0 and math.isfinite(result.history[0]["loss"])
    assert result.proxies.shape == (DIGITS_CLASSES, 16)
    assert np.allclose(np.linalg.norm(result.proxies, axis=1), 1.0, atol=1e-5)
    json.dumps(result.to_dict())  # plain data


def test_fixed_proxies_do_not_move_and_rotated_ones_keep_their_angles():
    fixed = train(head="fixed", epochs=1, seed=0)
    rotated = train(head="rotated", epochs=1, seed=0)
    # the default simplex: all pairwise cosines -1/9, before and after training
    for P in (fixed.proxies, rotated.proxies):
        G = P @ P.T
        assert np.allclose(G[~np.eye(10, dtype=bool)], -1.0 / 9.0, atol=1e-5)
    assert not np.allclose(fixed.proxies, rotated.proxies, atol=1e-4)  # the rotation did move


def test_small_dimension_with_explicit_proxies_and_hug_variants():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(10, 3))
    result = train(head="fixed", proxies=P, loss="hug", hug_variant="mgd", feature_dim=3, epochs=1, seed=1)
    assert np.allclose(result.proxies, P / np.linalg.norm(P, axis=1, keepdims=True), atol=1e-6)
    result = train(head="learnable", loss="ce", feature_dim=3, epochs=1, seed=1, mhe_weight=0.1)
    assert math.isfinite(result.history[0]["loss"])


def test_bad_arguments_raise_named_errors():
    with pytest.raises(UnknownNameError, match="head"):
        train(head="linear", epochs=1)
    with pytest.raises(UnknownNameError, match="loss"):
        train(loss="mse", epochs=1)
    with pytest.raises(InvalidParameterError, match="simplex"):
        train(head="fixed", feature_dim=4, epochs=1)  # the default simplex needs d >= 9
    with pytest.raises(InvalidParameterError, match="epochs"):
        train(epochs=0)
    with pytest.raises(InvalidParameterError, match="lr"):
        train(lr=-1.0, epochs=1)


def test_dataset_registry_and_class_subsets():
    assert sorted(DATASETS) == ["digits"]
    Xa, ya, Xta, yta = load_dataset("digits", seed=0)
    Xb, yb, _, _ = load_digits_split(0)
    assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    X3, y3, Xt3, yt3 = load_dataset("digits", seed=0, num_classes=3)
    assert set(np.unique(y3)) == set(np.unique(yt3)) == {0, 1, 2}
    assert X3.shape[0] + Xt3.shape[0] == int(np.sum(np.concatenate([ya, yta]) < 3))
    with pytest.raises(UnknownNameError, match="digits"):
        load_dataset("mnist")
    with pytest.raises(InvalidParameterError, match="num_classes"):
        load_digits_split(0, num_classes=11)


def test_three_classes_in_two_dimensions():
    result = train(head="learnable", loss="ce", feature_dim=2, num_classes=3, epochs=1, seed=0)
    assert result.proxies.shape == (3, 2) and result.config["num_classes"] == 3
    assert set(np.unique(result.test_labels)) == {0, 1, 2}
    assert 0.0 <= result.metrics["gnc2_energy_mean"] and result.test_accuracy > 1 / 3


@pytest.mark.parametrize("loss,variant", [("hug_mhe", "mhe"), ("hug_mhs", "mhs"), ("hug_mgd", "mgd")])
def test_hug_loss_names_fix_the_variant(loss, variant):
    named = train(head="fixed", loss=loss, epochs=1, seed=2)
    generic = train(head="fixed", loss="hug", hug_variant=variant, epochs=1, seed=2)
    assert named.config["hug_variant"] == variant
    assert named.history == generic.history  # the same training, step for step
    with pytest.raises(InvalidParameterError, match="hug_variant"):
        train(loss=loss, hug_variant="mhs" if variant != "mhs" else "mhe", epochs=1)


def test_temperature_ce_is_ce():
    assert train(loss="temperature_ce", epochs=1, seed=1).history == train(loss="ce", epochs=1, seed=1).history


def test_catalog_key_proxies_from_a_given_catalog(tmp_path):
    from spherecodes import Catalog, LookupMiss
    from spherecodes.code import Code

    rng = np.random.default_rng(5)
    P = rng.normal(size=(10, 3))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    key = Catalog(tmp_path / "c.h5").put(Code(points=P, objective="riesz", params={"s": 1.25})).key
    result = train(head="fixed", proxies=key, feature_dim=3, epochs=1, seed=0, catalog=tmp_path / "c.h5")
    assert np.allclose(result.proxies, P, atol=1e-6)
    assert result.config["catalog"] == str(tmp_path / "c.h5")
    with pytest.raises(LookupMiss):
        train(head="fixed", proxies=key, feature_dim=3, epochs=1, seed=0)  # the user catalog does not have it


def test_proxies_that_do_not_fit_the_task_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidParameterError, match="R\\^3"):
        train(head="fixed", proxies=rng.normal(size=(10, 3)), feature_dim=4, epochs=1)
    with pytest.raises(InvalidParameterError, match="fewer codewords than the 10 classes"):
        train(head="rotated", proxies=rng.normal(size=(7, 4)), feature_dim=4, epochs=1)
    with pytest.raises(UnknownNameError, match="dataset"):
        train(dataset="cifar10", epochs=1)
