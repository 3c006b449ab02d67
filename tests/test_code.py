"""`Code`: immutability, validation, file round trips, torch export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from _helpers import random_code

from spherecodes import Code
from spherecodes.errors import InvalidParameterError


def _code():
    return Code(points=random_code(10, 4, seed=1), objective="riesz", params={"s": 1.0},
                scores={"energy": 1.5}, provenance={"seed": 3})


def test_code_is_immutable():
    c = _code()
    with pytest.raises(ValueError):
        c.points[0, 0] = 2.0
    with pytest.raises(TypeError):
        c.params["s"] = 2.0
    with pytest.raises(AttributeError):
        c.objective = "tammes"
    assert c.K == 10 and c.d == 4


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_save_load_round_trip_is_bit_exact(tmp_path, suffix):
    c = _code()
    path = c.save(tmp_path / f"code{suffix}")
    back = Code.load(path)
    assert np.array_equal(back.points, c.points)
    if suffix == ".npz":
        assert back.objective == "riesz" and dict(back.params) == {"s": 1.0}
        assert back.scores["energy"] == 1.5 and back.provenance["seed"] == 3


def test_load_text_file_and_normalise(tmp_path):
    path = tmp_path / "pts.txt"
    path.write_text("2 0 0\n0, 3, 0\n")
    with pytest.raises(InvalidParameterError, match="unit norm"):
        Code.load(path)
    c = Code.load(path, normalise=True)
    assert np.array_equal(c.points, np.eye(3)[:2])


@pytest.mark.parametrize("bad", [np.zeros((3,)), np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones((2, 1)),
                                 [[1.0, 0.0], [0.5, 0.5]]])
def test_bad_points_are_rejected_with_a_reason(bad):
    with pytest.raises(InvalidParameterError):
        Code(points=bad)


def test_to_torch_and_key():
    c = _code()
    t = c.to_torch(dtype=torch.float64)
    assert t.shape == (10, 4) and torch.equal(t, torch.from_numpy(c.to_numpy()))
    assert c.to_torch().dtype == torch.float32
    assert c.key == "riesz[s=1]/d=4/K=10"


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(InvalidParameterError, match="does not exist"):
        Code.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InvalidParameterError, match="could not read"):
        Code.load(tmp_path / "bad.npy")
    with pytest.raises(InvalidParameterError, match=".npz"):
        _code().save(tmp_path / "x.csv")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_load_empty_text_file_says_it_holds_no_points(tmp_path, text):
    path = tmp_path / "empty.txt"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "input contained no data" must not leak out of the library
        with pytest.raises(InvalidParameterError, match="holds no points"):
            Code.load(path)
