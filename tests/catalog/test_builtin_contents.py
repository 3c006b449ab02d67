"""The shipped built-in catalog: its separation and Thomson codes are as good as the known values say.

Scores are recomputed here in float64 with plain numpy (not the solver, not the stored scores) and compared
with :func:`spherecodes.validation.known.known_optimum` within the value's own uncertainty (``abs_tol``) plus
a float64 rounding margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _helpers import plain_energy_scores, plain_max_cosine

from spherecodes.catalog import Catalog
from spherecodes.validation.known import PROVEN, known_optimum

#: float64 rounding of the recomputed scores, relative to the value (sums of up to ~5e5 pair terms)
RECOMPUTE_RTOL = 1e-12

#: the S^2 Tammes sizes the built-in catalog ships (all at the best-known value of the bundled table)
S2_TAMMES_SHIPPED_MAX_K = 64


def _shipped_catalog() -> Catalog:
    from spherecodes.catalog import locations

    # the file in the package ($SPHERECODES_BUILTIN_CATALOG points the other tests at a small one)
    path = Path(locations.__file__).resolve().parent.parent / "data" / locations.BUILTIN_NAME
    if not path.exists():
        pytest.skip("no built-in catalog in this installation")
    return Catalog(path, "r")


def _coulomb_energy(P: np.ndarray) -> float:
    return plain_energy_scores(P, 1.0)["energy"]


def _checked_entries():
    cat = _shipped_catalog()
    for key in cat.keys():
        if key.startswith("tammes[]/"):
            yield cat, key, "max_cosine", plain_max_cosine
        elif key.startswith("riesz[half_space=false,metric=euclidean,s=1]/"):
            yield cat, key, "energy", _coulomb_energy


def test_shipped_tammes_and_thomson_codes_match_the_known_values():
    checked, worse, proven = 0, [], 0
    for cat, key, score_key, score in _checked_entries():
        code = cat.get(key)
        kv = known_optimum(code.objective, code.d, code.K, **code.params)
        if kv is None:
            continue
        assert kv.score_key == score_key
        proven += kv.status == PROVEN
        value = score(np.asarray(code.points, dtype=np.float64))
        slack = kv.abs_tol + RECOMPUTE_RTOL * max(1.0, abs(kv.value))
        checked += 1
        if value > kv.value + slack:  # both scores are minimised
            worse.append(f"{key}: {value!r} > known {kv.value!r} ({kv.status}; slack {slack:.1e})")
    assert checked > 700 and proven > 500, (checked, proven)
    assert not worse, "\n".join(worse)


def test_shipped_s2_tables_are_covered():
    """Every N of the S^2 tables the issue names is in the built-in catalog (lookups of them never solve)."""
    cat = _shipped_catalog()
    keys = set(cat.keys())
    missing = [N for N in range(2, S2_TAMMES_SHIPPED_MAX_K + 1) if f"tammes[]/d=3/K={N}" not in keys]
    missing += [N for N in range(2, 101) if f"riesz[half_space=false,metric=euclidean,s=1]/d=3/K={N}" not in keys]
    assert not missing, missing


#: SHA-256 of the points (C order, little-endian float64) of a few shipped entries, as read by the code
#: before the catalog package was split into modules: format version 1 files must keep reading bit-exact.
SHIPPED_POINTS_SHA256 = {
    "mgd[eps=1]/d=2/K=3": "93205fb618baeec59ac74a17f104346a9e05727496771a21e1b0fe281f2fe538",
    "riesz[half_space=false,metric=euclidean,s=1]/d=8/K=34":
        "ecf675636d4bf7d9b8982a2a775d632633f631a4b290e5a0db93ad2d92ecdf81",
    "softmax_code[]/d=2/K=61": "30264da300cc4a8d9d38732f285a98dedd9fb602d67907371bb795e1d8a5da64",
    "tammes[]/d=128/K=256": "34afeb3e0186038969b27733afa9355f2f13fbf874be8911aa137e5d442975e8",
}


@pytest.mark.parametrize("key", sorted(SHIPPED_POINTS_SHA256))
def test_shipped_entries_read_bit_exact(key):
    import hashlib

    import h5py

    cat = _shipped_catalog()
    code = cat.get(key)
    got = hashlib.sha256(np.ascontiguousarray(code.points, dtype="<f8").tobytes()).hexdigest()
    assert got == SHIPPED_POINTS_SHA256[key]
    # the same bytes as plain h5py reads them, and the entry's own stored checksum
    with h5py.File(cat.path, "r") as f:
        group = f[f"entries/{key}"]
        assert np.array_equal(group["points"][()], code.points)
        stored_sha = group.attrs["sha256"]
        assert (stored_sha.decode() if isinstance(stored_sha, bytes) else stored_sha) == got
