"""Tests for spherecodes.export (tensors, proxy files, class assignment) and the ``export`` command."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from spherecodes.cli.export import command as export_command
from spherecodes.code import Code
from spherecodes.errors import InvalidParameterError
from spherecodes.export import (
    _swap_deltas,
    assign_classes,
    assignment_objective,
    check_similarity,
    class_similarity_from_confusion,
    class_similarity_from_means,
    code_from_key,
    load_proxies,
    save_proxies,
    symmetry_tolerance,
    to_tensor,
)


def random_unit(K: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_objective(S: np.ndarray, P: np.ndarray, perm) -> float:
    return sum(S[a, b] * float(P[perm[a]] @ P[perm[b]]) for a in range(len(perm)) for b in range(len(perm)))


# ------------------------------------------------------------------------------ tensors, files


def test_to_tensor_from_code_and_array():
    P = random_unit(5, 3)
    t = to_tensor(Code(points=P))
    assert t.dtype == torch.float32 and t.shape == (5, 3) and not t.requires_grad
    assert torch.allclose(t, torch.tensor(P, dtype=torch.float32))
    t64 = to_tensor(P, dtype=torch.float64)
    assert t64.dtype == torch.float64 and np.array_equal(t64.numpy(), P)
    with pytest.raises(InvalidParameterError, match="unit norm"):
        to_tensor(P * 2.0)


@pytest.mark.parametrize("fmt", ["pt", "npy", "npz"])
def test_save_and_load_roundtrip_with_permutation(tmp_path, fmt):
    P = random_unit(6, 4, seed=1)
    code = Code(points=P, objective="riesz", params={"s": 1.0})
    perm = np.array([2, 0, 1, 5, 4, 3])
    path = save_proxies(code, tmp_path / f"proxies.{fmt}", permutation=perm, dtype="float64")
    assert path.exists() and path.suffix == f".{fmt}"
    assert np.array_equal(load_proxies(path), P[perm])


def test_pt_proxies_are_float32_by_default_and_read_back_to_float32_precision(tmp_path):
    """What code.to_torch() gives and networks use: `features @ P.T` works without a cast."""
    P = random_unit(6, 4, seed=1)
    path = save_proxies(Code(points=P), tmp_path / "p.pt")
    proxies = torch.load(path, weights_only=True)["proxies"]
    assert proxies.dtype == torch.float32 == Code(points=P).to_torch().dtype
    features = torch.ones(2, 4)
    assert (features @ proxies.T).shape == (2, 6)
    back = load_proxies(path)
    assert back.dtype == np.float64
    assert np.max(np.abs(back - P)) < 1e-6  # float32 rounding, re-normalised in float64
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, rtol=0, atol=1e-15)


def test_npy_and_npz_stay_float64_unless_asked(tmp_path):
    P = random_unit(5, 3, seed=4)
    assert np.load(save_proxies(P, tmp_path / "a.npy")).dtype == np.float64
    assert np.load(save_proxies(P, tmp_path / "b.npy", dtype="float32")).dtype == np.float32
    with pytest.raises(InvalidParameterError, match="dtype"):
        save_proxies(P, tmp_path / "c.pt", dtype="float16")


def test_pt_file_holds_proxies_and_metadata(tmp_path):
    P = random_unit(4, 3, seed=2)
    code = Code(points=P, objective="riesz", params={"s": 1.0, "metric": "euclidean"})
    path = save_proxies(code, tmp_path / "p.pt", permutation=[3, 2, 1, 0], dtype=torch.float64)
    obj = torch.load(path, weights_only=True)
    assert set(obj) == {"proxies", "metadata"}
    assert obj["proxies"].shape == (4, 3) and obj["proxies"].dtype == torch.float64
    assert obj["metadata"]["dtype"] == "float64"
    assert obj["metadata"]["permutation"] == [3, 2, 1, 0]
    assert obj["metadata"]["key"] == code.key and obj["metadata"]["K"] == 4


def test_npz_file_is_a_code_file(tmp_path):
    P = random_unit(4, 3, seed=3)
    path = save_proxies(P, tmp_path / "p.npz", permutation=[1, 0, 2, 3])
    loaded = Code.load(path)
    assert np.array_equal(loaded.points, P[[1, 0, 2, 3]])
    with np.load(path) as data:
        assert json.loads(str(data["metadata"]))["permutation"] == [1, 0, 2, 3]


def test_save_rejects_bad_format_and_permutation(tmp_path):
    P = random_unit(4, 3)
    with pytest.raises(InvalidParameterError, match="format"):
        save_proxies(P, tmp_path / "p.txt")
    with pytest.raises(InvalidParameterError, match="permutation"):
        save_proxies(P, tmp_path / "p.npy", permutation=[0, 1, 1, 2])
    with pytest.raises(InvalidParameterError, match="does not exist"):
        load_proxies(tmp_path / "missing.pt")


# ---------------------------------------------------------------------------- class assignment


def test_swap_deltas_match_recomputation():
    rng = np.random.default_rng(0)
    K = 7
    S = rng.normal(size=(K, K))
    S = S + S.T
    H = rng.normal(size=(K, K))
    H = H + H.T  # general symmetric H, diagonal not constant
    delta = _swap_deltas(S, H)
    base = np.sum(S * H)
    for a, b in itertools.permutations(range(K), 2):
        sigma = np.arange(K)
        sigma[[a, b]] = sigma[[b, a]]
        assert delta[a, b] == pytest.approx(np.sum(S * H[np.ix_(sigma, sigma)]) - base, abs=1e-10)


def test_objective_matches_double_sum():
    P = random_unit(5, 3, seed=4)
    A = np.random.default_rng(5).normal(size=(5, 5))
    S = A + A.T
    perm = [4, 2, 0, 1, 3]
    assert assignment_objective(S, P, perm) == pytest.approx(brute_objective(S, P, perm), rel=1e-12)


def test_similarity_must_be_square_finite_symmetric_and_one_row_per_codeword():
    P = random_unit(4, 3)
    A = np.random.default_rng(6).uniform(size=(4, 4))
    with pytest.raises(InvalidParameterError, match="not symmetric"):
        assign_classes(P, A)
    with pytest.raises(InvalidParameterError, match="not symmetric"):
        assignment_objective(A, P)
    with pytest.raises(InvalidParameterError, match="fewer codewords than classes"):
        assign_classes(P, np.ones((6, 6)))  # 6 classes, 4 codewords
    with pytest.raises(InvalidParameterError, match="\\(4, 4\\)"):
        assign_classes(P, np.ones((3, 3)))
    with pytest.raises(InvalidParameterError, match="square"):
        assign_classes(P, np.ones((4, 3)))
    with pytest.raises(InvalidParameterError, match="finite"):
        assign_classes(P, np.full((4, 4), np.nan))
    # rounding-level asymmetry is accepted; the tolerance is named in the reason
    S = A + A.T
    S_round = S.copy()
    S_round[0, 1] += 1e-15
    ok, reason = check_similarity(S_round, 4)
    assert ok and "symmetric within" in reason
    ok, reason = check_similarity(S + np.triu(np.full((4, 4), 1e-6), 1), 4)
    assert not ok and "tolerance" in reason and f"{symmetry_tolerance(S):.3g}" in reason
    assert check_similarity(S)[0] and not check_similarity(S, 5)[0]


def test_code_from_key_passes_the_catalog(tmp_path):
    from spherecodes import Catalog, LookupMiss

    P = random_unit(6, 3, seed=9)
    key = Catalog(tmp_path / "mine.h5").put(Code(points=P, objective="riesz", params={"s": 1.25})).key
    assert np.allclose(code_from_key(key, catalog=tmp_path / "mine.h5").points, P, atol=1e-12)
    assert np.allclose(code_from_key(key, catalog=Catalog(tmp_path / "mine.h5", "r")).points, P, atol=1e-12)
    with pytest.raises(LookupMiss):
        code_from_key(key)  # only in the catalog given above


@pytest.mark.parametrize("seed", range(4))
def test_assignment_never_worse_than_identity(seed):
    K, d = 12, 3
    P = random_unit(K, d, seed=seed)
    U = np.random.default_rng(100 + seed).uniform(size=(K, K))
    S = U + U.T
    result = assign_classes(P, S, restarts=3, seed=seed)
    assert result.objective_value >= result.identity_value
    assert result.identity_value == pytest.approx(brute_objective(S, P, range(K)), rel=1e-12)
    assert result.objective_value == pytest.approx(brute_objective(S, P, result.permutation), rel=1e-12)
    assert sorted(result.permutation.tolist()) == list(range(K))
    assert result.improvement >= 0 and result.iterations >= 0


def test_assignment_finds_the_planted_optimum():
    K, d = 9, 3
    P = random_unit(K, d, seed=7)  # generic points: the Gram matrix has no symmetry
    planted = np.random.default_rng(8).permutation(K)
    S = (P @ P.T)[np.ix_(planted, planted)]  # S_ab = <w_planted(a), w_planted(b)>
    # sum S_ab H_ab <= |S|_F |H|_F = |G|_F^2, with equality only at H = S, i.e. perm = planted
    result = assign_classes(P, S, restarts=4, seed=0)
    assert np.array_equal(result.permutation, planted)
    assert result.objective_value == pytest.approx(np.sum((P @ P.T) ** 2), rel=1e-12)
    assert result.objective_value > result.identity_value
    assert np.array_equal(result.apply(P), P[planted])


def test_assignment_reaches_brute_force_optimum_on_small_instances():
    K = 6
    for seed in range(3):
        P = random_unit(K, 2, seed=seed)
        S = class_similarity_from_confusion(np.random.default_rng(seed).integers(0, 20, size=(K, K)))
        best = max(assignment_objective(S, P, perm) for perm in itertools.permutations(range(K)))
        assert assign_classes(P, S, restarts=8, seed=0).objective_value == pytest.approx(best, rel=1e-12)


def test_identity_is_kept_when_nothing_improves():
    P = random_unit(5, 3)
    result = assign_classes(P, np.zeros((5, 5)))
    assert np.array_equal(result.permutation, np.arange(5))
    assert result.objective_value == result.identity_value == 0.0


def test_similarity_helpers():
    C = np.array([[8, 2, 0], [4, 4, 0], [0, 0, 5]], dtype=float)
    S = class_similarity_from_confusion(C)
    assert np.allclose(S, [[0, (0.2 + 0.5) / 2, 0], [(0.2 + 0.5) / 2, 0, 0], [0, 0, 0]])
    M = np.array([[1.0, 0, 0], [1.0, 1.0, 0], [0, 0, 2.0]])
    Sm = class_similarity_from_means(M)
    assert Sm[0, 1] == pytest.approx(1 / np.sqrt(2)) and Sm[0, 2] == 0 and np.all(np.diag(Sm) == 0)
    with pytest.raises(InvalidParameterError):
        class_similarity_from_confusion(-C)
    with pytest.raises(InvalidParameterError, match="zero"):
        class_similarity_from_means(np.zeros((2, 3)))
    with pytest.raises(InvalidParameterError, match="similarity"):
        assign_classes(random_unit(3, 2), np.ones((4, 4)))


# ----------------------------------------------------------------------------------- the CLI


def test_export_command_writes_pt_with_assignment(tmp_path):
    K = 6
    P = random_unit(K, 3, seed=11)
    src = Code(points=P, objective="riesz", params={"s": 1.0}).save(tmp_path / "code.npz")
    planted = np.random.default_rng(3).permutation(K)
    np.save(tmp_path / "sim.npy", (P @ P.T)[np.ix_(planted, planted)])
    out = tmp_path / "proxies.pt"
    args = [str(src), "--out", str(out), "--similarity", str(tmp_path / "sim.npy"), "--dtype", "float64"]
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code == 0, result.output
    obj = torch.load(out, weights_only=True)
    assert obj["metadata"]["permutation"] == planted.tolist()
    assert np.array_equal(obj["proxies"].numpy(), P[planted])
    assert "assignment objective" in result.output


def test_export_command_writes_float32_pt_by_default_and_validate_reads_it(tmp_path):
    from spherecodes.cli import cli

    src = Code(points=random_unit(6, 3, seed=11), objective="riesz", params={"s": 1.0}).save(tmp_path / "code.npz")
    out = tmp_path / "proxies.pt"
    result = CliRunner().invoke(export_command, [str(src), "--out", str(out)])
    assert result.exit_code == 0 and "float32" in result.output, result.output
    assert torch.load(out, weights_only=True)["proxies"].dtype == torch.float32
    checked = CliRunner().invoke(cli, ["validate", str(out), "--no-lp"])
    assert checked.exit_code == 0, checked.output
    assert "riesz" in checked.output and "d=3 K=6" in checked.output


def test_export_command_format_option_and_errors(tmp_path):
    P = random_unit(4, 3)
    src = tmp_path / "code.npy"
    np.save(src, P)
    runner = CliRunner()
    ok = runner.invoke(export_command, [str(src), "--out", str(tmp_path / "x.bin"), "--format", "npz"])
    assert ok.exit_code == 0, ok.output
    with np.load(tmp_path / "x.bin") as data:  # --format wins over the suffix, and the name is kept
        assert np.array_equal(data["points"], P)
    bad_suffix = runner.invoke(export_command, [str(src), "--out", str(tmp_path / "x.txt")])
    assert bad_suffix.exit_code == 2 and "format" in bad_suffix.output
    bad_key = runner.invoke(export_command, ["no-such-file-or-key", "--out", str(tmp_path / "y.pt")])
    assert bad_key.exit_code == 2
    np.save(tmp_path / "sim.npy", np.ones((5, 5)))
    bad_sim = runner.invoke(export_command, [str(src), "--out", str(tmp_path / "z.pt"),
                                             "--similarity", str(tmp_path / "sim.npy")])
    assert bad_sim.exit_code == 2 and "similarity" in bad_sim.output


def one_error_line(result) -> bool:
    """Exactly one 'Error: ...' line, no traceback, and click's own exit (not an escaped exception)."""
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    return len(lines) == 1 and "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_export_command_rejects_bad_similarity_matrices_in_one_line(tmp_path):
    P = random_unit(4, 3)
    src = tmp_path / "code.npy"
    np.save(src, P)
    A = np.random.default_rng(1).uniform(size=(4, 4))
    cases = {"asym.npy": A, "big.npy": np.ones((5, 5)), "rect.npy": np.ones((4, 2))}
    for name, matrix in cases.items():
        np.save(tmp_path / name, matrix)
        result = CliRunner().invoke(export_command, [str(src), "--out", str(tmp_path / "o.pt"),
                                                     "--similarity", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert one_error_line(result) and "--similarity" in result.output
    asym = CliRunner().invoke(export_command, [str(src), "--out", str(tmp_path / "o.pt"),
                                               "--similarity", str(tmp_path / "asym.npy")])
    assert "not symmetric" in asym.output
    big = CliRunner().invoke(export_command, [str(src), "--out", str(tmp_path / "o.pt"),
                                              "--similarity", str(tmp_path / "big.npy")])
    assert "fewer codewords than classes" in big.output
    assert not (tmp_path / "o.pt").exists()


def test_export_command_reads_a_key_from_the_given_catalog(tmp_path):
    from spherecodes import Catalog

    P = random_unit(6, 3, seed=12)
    key = Catalog(tmp_path / "mine.h5").put(Code(points=P, objective="riesz", params={"s": 1.25})).key
    out = tmp_path / "p.npy"
    ok = CliRunner().invoke(export_command, [key, "--out", str(out), "--catalog", str(tmp_path / "mine.h5")])
    assert ok.exit_code == 0, ok.output
    assert np.allclose(np.load(out), P, atol=1e-12)
    miss = CliRunner().invoke(export_command, [key, "--out", str(tmp_path / "q.npy")])  # user catalog: no such key
    assert miss.exit_code == 1 and one_error_line(miss) and "no code for" in miss.output


def test_assign_classes_method_auto_takes_the_sparse_path_for_a_sparse_similarity():
    import scipy.sparse

    from spherecodes.assignment import assign_classes_sparse
    from spherecodes.errors import UnknownNameError
    from spherecodes.export import assign_classes

    rng = np.random.default_rng(3)
    P = rng.standard_normal((40, 5))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    S = rng.random((40, 40))
    S = (S + S.T) / 2
    np.fill_diagonal(S, 0)
    S[S < 0.8] = 0
    sparse = assign_classes(P, scipy.sparse.csr_matrix(S), seed=0)
    direct = assign_classes_sparse(P, scipy.sparse.csr_matrix(S), seed=0)
    assert np.array_equal(sparse.permutation, direct.permutation)
    dense = assign_classes(P, S, seed=0, method="dense")
    assert dense.objective_value >= dense.identity_value and sparse.objective_value >= sparse.identity_value
    with pytest.raises(UnknownNameError, match="auto, dense, sparse"):
        assign_classes(P, S, method="lsa")
