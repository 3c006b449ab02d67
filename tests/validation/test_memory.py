"""Memory estimates of the certificate stages (spherecodes.validation.memory) against tracemalloc peaks."""

from __future__ import annotations

import tracemalloc

import pytest
from _helpers import random_code

from spherecodes.errors import InvalidParameterError, ResourceError
from spherecodes.objectives import get_objective
from spherecodes.validation import metrics
from spherecodes.validation.certificate import _first_order
from spherecodes.validation.contacts import contact_graph
from spherecodes.validation.memory import (
    certificate_memory_bytes,
    certificate_peak_bytes,
    check_certificate_memory,
)


def peak_of(run) -> int:
    run()  # compile and warm caches outside the measurement
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# K = 1500: the dense one-vs-rest Gram; K = 3000: the blocked solver and the blocked separation
@pytest.mark.parametrize("objective", ["tammes", "softmax_code"])
@pytest.mark.parametrize("K,d", [(1500, 8), (3000, 24)])
def test_score_and_first_order_estimates_cover_the_measured_peaks(objective, K, d):
    X = random_code(K, d, seed=K)
    obj = get_objective(objective)
    params = obj.normalise_params()
    scores = dict(obj.score(X, params))
    m = contact_graph(X, min_distance=scores["min_distance"])[0].shape[0]
    est = certificate_memory_bytes(objective, d, K, params, contacts=m)
    # a duplicated row: the distinct-points check then runs its candidate search, the stage's worst case
    Xdup = X.copy()
    Xdup[1] = Xdup[0]
    measured = {
        "checks": peak_of(lambda: [metrics.check_unit_norm(Xdup), metrics.check_distinct(Xdup)]),
        "score": peak_of(lambda: obj.score(X, params)),
        "first_order": peak_of(lambda: _first_order(get_objective(objective), X, params, [], scores, {})),
    }
    for stage, peak in measured.items():
        assert peak <= est[stage] <= 10 * peak, (stage, peak, est[stage])


@pytest.mark.slow
@pytest.mark.parametrize("objective,K,d", [("riesz", 3000, 20), ("mgd", 300, 6)])
def test_riesz_and_mgd_estimates_cover_the_measured_peaks(objective, K, d):
    X = random_code(K, d, seed=1)
    obj = get_objective(objective)
    params = obj.normalise_params()
    est = certificate_memory_bytes(objective, d, K, params)
    score = peak_of(lambda: obj.score(X, params))
    first = peak_of(lambda: _first_order(get_objective(objective), X, params, [], {}, {}))
    assert score <= est["score"] <= 10 * score, (score, est["score"])
    assert first <= est["first_order"] <= 10 * first, (first, est["first_order"])


def test_peak_is_the_input_plus_the_largest_stage():
    stages = certificate_memory_bytes("tammes", 128, 100_000)
    assert certificate_peak_bytes("tammes", 128, 100_000) == 8 * 100_000 * 128 + max(stages.values())
    # no K x K matrix at K = 10^5: within the 4 GB target, far below the 74.5 GiB of a float64 Gram matrix
    assert certificate_peak_bytes("tammes", 128, 100_000) < 4 * 10**9


def test_refusal_names_the_stage_the_need_the_free_memory_and_the_fix():
    with pytest.raises(ResourceError, match=r"the first_order stage needs about .* GiB but the machine has 0\.01 GiB "
                                            r"free .*certify=False"):
        check_certificate_memory("mgd", 64, 5000, free=10 * 2**20)
    check_certificate_memory("tammes", 3, 100, free=2**34)  # fits: no error


def test_bad_sizes_and_objectives_are_refused():
    with pytest.raises(InvalidParameterError, match="K"):
        certificate_memory_bytes("tammes", 3, 0)
    with pytest.raises(InvalidParameterError, match="objective"):
        certificate_memory_bytes("thomson", 3, 10)
