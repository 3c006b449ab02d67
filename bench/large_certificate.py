"""Exact float64 certificates (min angle, max cosine, Riesz s=1 energy) for K = 10^5 points in d = 128.

Uses :func:`spherecodes.kernels.blocked.pair_statistics_blocked` (blocked float64 Gram products,
close pairs recomputed from coordinates, compensated sums), in one pass over the pair blocks.
Reports wall time and peak resident memory (VmHWM) of this process, and, on a smaller K of the
same kind, cross-checks against the numba pair-by-pair kernels (time and agreement).

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/large_certificate.py            # K=100000, d=128
    python bench/large_certificate.py --K 20000 --check-K 3000

With ``--acceptance`` it instead runs the acceptance cases of issue 14, each in its own subprocess
(wall time, and peak RSS from that process's ``resource.getrusage``), and writes
``bench/results/large_certificate_acceptance.csv``:

* ``generate("tammes", d=512, K=1000, catalog=False)`` with defaults: the orthoplex with an ``optimal``
  certificate (target < 30 s, < 2 GB);
* ``certify`` of K = 100,000 random unit vectors in d = 128 for tammes and for softmax_code
  (target < 5 min, < 4 GB).

    nice python bench/large_certificate.py --acceptance [--cases generate,tammes,softmax_code] [--K 100000] [--out F]

Wall times depend on the machine's load; each row also gives the process's CPU time (user + system).

The points are uniform random unit vectors (float64, seeded).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np
from _common import print_table, vm_hwm_bytes, write_csv


def make_points(K: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


#: the child program of one acceptance case: prints one JSON line with its own time and peak RSS
_CASE = r"""
import json, resource, sys, time
import numpy as np
case, K, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
import spherecodes as sc
t0 = time.perf_counter()
if case == "generate":
    code = sc.generate("tammes", d=d, K=K, catalog=False)
    cert = code.certificate
    extra = {"construction": code.provenance.get("construction", "")}
else:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((K, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    t0 = time.perf_counter()
    cert = sc.certify(X, objective=case)
    extra = {"construction": ""}
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"case": case, "d": d, "K": K, "time_s": wall, "cpu_s_process": ru.ru_utime + ru.ru_stime,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "verdict": cert.verdict, "stationary": str(cert.checks.get("stationary", {}).get("reason", "")),
                  "max_cosine": cert.scores.get("max_cosine"), "one_vs_rest": cert.scores.get("one_vs_rest"),
                  "notes": " | ".join(cert.notes), **extra}))
"""

#: (case, d, default K, target seconds, target bytes)
_ACCEPTANCE = {"generate": (512, 1000, 30, 2 * 10**9), "tammes": (128, 100_000, 300, 4 * 10**9),
               "softmax_code": (128, 100_000, 300, 4 * 10**9)}


def acceptance(cases: list[str], K: int | None, seed: int, out_name: str) -> None:
    rows = []
    for case in cases:
        d, K_default, t_target, m_target = _ACCEPTANCE[case]
        k = K_default if K is None or case == "generate" else K
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CASE, case, str(k), str(d), str(seed)],
                              capture_output=True, text=True)
        outer = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"{case}: failed (exit {proc.returncode})\n{proc.stderr[-3000:]}", flush=True)
            rows.append({"case": case, "d": d, "K": k, "process_time_s": outer,
                         "verdict": f"failed: exit {proc.returncode}"})
            _write(rows, out_name)
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["process_time_s"] = outer
        row["time_target_s"], row["rss_target_bytes"] = t_target, m_target
        row["targets_met"] = bool(row["time_s"] < t_target and row["peak_rss_bytes"] < m_target)
        rows.append(row)
        print(f"{case} d={d} K={k}: {row['time_s']:.1f} s ({outer:.1f} s with start-up, "
              f"{row['cpu_s_process']:.0f} s CPU), peak RSS "
              f"{row['peak_rss_bytes'] / 2**30:.2f} GiB, verdict {row['verdict']}", flush=True)
        _write(rows, out_name)  # after every case: a long run keeps what it has measured
    print_table(_complete(rows), floatfmt=".10g")


def _complete(rows: list[dict]) -> list[dict]:
    """Every row with every key (empty where a case failed)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k, "") for k in keys} for r in rows]


def _write(rows: list[dict], out_name: str) -> None:
    print("written", write_csv(out_name, _complete(rows)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--s", type=float, default=1.0)
    ap.add_argument("--check-K", type=int, default=4000, help="size of the cross-check against the numba kernels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--acceptance", action="store_true", help="run the issue-14 acceptance cases instead")
    ap.add_argument("--cases", default="generate,tammes,softmax_code", help="acceptance cases, comma-separated")
    ap.add_argument("--out", default="large_certificate_acceptance.csv", help="acceptance CSV in bench/results")
    args = ap.parse_args()
    if args.acceptance:
        K = None if args.K == ap.get_default("K") else args.K
        acceptance([c for c in args.cases.split(",") if c], K, args.seed, args.out)
        return

    from spherecodes.kernels import pairwise
    from spherecodes.kernels.blocked import BLOCK_ROWS, pair_statistics_blocked

    rows = []
    # cross-check on a smaller code: the numba kernels are the reference
    Xs = make_points(args.check_K, args.d, args.seed + 1)
    pair_statistics_blocked(Xs[:300], args.s)  # compile outside the timings
    pairwise._pick(pairwise._ENERGY, 300)(Xs[:300], args.s, 0, False)
    pairwise._pick(pairwise._SEPARATION, 300)(Xs[:300])
    t0 = time.perf_counter()
    st = pair_statistics_blocked(Xs, args.s)
    t_blocked = time.perf_counter() - t0
    t0 = time.perf_counter()
    e_ref = float(pairwise._pick(pairwise._ENERGY, args.check_K)(Xs, args.s, 0, False))
    r_ref, c_ref = pairwise._pick(pairwise._SEPARATION, args.check_K)(Xs)
    t_numba = time.perf_counter() - t0
    rows.append({"K": args.check_K, "d": args.d, "method": "blocked", "time_s": round(t_blocked, 3),
                 "energy": st["energy"], "max_cosine": st["max_cosine"],
                 "min_angle_deg": 2 * math.degrees(math.asin(min(st["min_distance"] / 2, 1.0))),
                 "energy_rel_diff_vs_numba": abs(st["energy"] - e_ref) / e_ref,
                 "separation_identical_to_numba": st["min_distance"] == r_ref and st["max_cosine"] == c_ref,
                 "peak_rss_mb": round(vm_hwm_bytes() / 2**20, 1)})
    rows.append({"K": args.check_K, "d": args.d, "method": "numba pair loop", "time_s": round(t_numba, 3),
                 "energy": e_ref, "max_cosine": float(c_ref),
                 "min_angle_deg": 2 * math.degrees(math.asin(min(float(r_ref) / 2, 1.0))),
                 "energy_rel_diff_vs_numba": 0.0, "separation_identical_to_numba": True,
                 "peak_rss_mb": round(vm_hwm_bytes() / 2**20, 1)})
    print(f"check K={args.check_K}: blocked {t_blocked:.2f} s, numba {t_numba:.2f} s "
          f"(x{t_numba / t_blocked:.1f}); energy rel. diff {rows[0]['energy_rel_diff_vs_numba']:.2e}; "
          f"separation identical: {rows[0]['separation_identical_to_numba']}", flush=True)

    X = make_points(args.K, args.d, args.seed)
    t0 = time.perf_counter()
    st = pair_statistics_blocked(X, args.s)
    t_big = time.perf_counter() - t0
    pairs = args.K * (args.K - 1) / 2
    rows.append({"K": args.K, "d": args.d, "method": "blocked", "time_s": round(t_big, 3),
                 "energy": st["energy"], "max_cosine": st["max_cosine"],
                 "min_angle_deg": 2 * math.degrees(math.asin(min(st["min_distance"] / 2, 1.0))),
                 "energy_rel_diff_vs_numba": float("nan"), "separation_identical_to_numba": "",
                 "peak_rss_mb": round(vm_hwm_bytes() / 2**20, 1)})
    # the numba time for the big K, extrapolated from the check (cost ~ pairs)
    est = t_numba * pairs / (args.check_K * (args.check_K - 1) / 2)
    print(f"K={args.K}, d={args.d}: {t_big:.1f} s ({pairs / t_big / 1e6:.0f} M pairs/s, blocks of {BLOCK_ROWS}), "
          f"peak RSS {vm_hwm_bytes() / 2**30:.2f} GiB; numba pair loop would take about {est:.0f} s", flush=True)
    print()
    print_table(rows, floatfmt=".10g")
    print("\nwritten", write_csv("large_certificate.csv", rows))
    ok_t, ok_m = t_big <= 300, vm_hwm_bytes() <= 4 * 2**30
    print(f"target: <= 5 min ({'met' if ok_t else 'NOT met'}), <= 4 GB ({'met' if ok_m else 'NOT met'})")


if __name__ == "__main__":
    main()
