"""Certify our codes against the public reference tables: verdict, gap to the known value, gap to the bounds.

For each row of /work/shared/reference (thomson_s2.csv, tammes_s2.csv, universally_optimal.csv,
codes_d4_d5.csv) the code is ``spherecodes.generate(objective, d, K, catalog=False, seed=0)`` (``riesz``
s = 1 for the Thomson and universal-optimum rows, ``tammes`` for the Tammes and d4/d5 code rows when that
objective is registered, else ``riesz``), then ``spherecodes.certify(code, lp=True)``. Columns:

* ``score``: the objective's primary score of our code (energy, or max cosine for tammes);
* ``known`` and ``gap_known``: the reference row's value, computed here from the file (not from the library's
  bundled copy), and how much worse our code is (> 0 worse, < 0 better); ``vs_reference``: match / better /
  worse within one unit of the reference's last printed digit;
* ``bound``, ``gap_bound``, ``rel_gap_bound``: the tightest bound the certificate found on the primary score
  (Yudin's LP for energies; max of Rankin, Fejes Toth, Levenshtein, Delsarte LP for max cosines) and our
  code's distance to it;
* ``verdict``: the certificate's; ``gen_s``, ``cert_s``: seconds.

Rows are subsampled to keep the run near 15 minutes on one thread (Tammes codes take 10-60 s each to
generate): Thomson N = 2..100 with ``--thomson-stride`` (default 7, plus N = 100), Tammes N = 2..60 with
``--tammes-stride`` (default 7), and the universal-optimum / d4-d5 / sharp-code rows with K <= ``--max-K``
(default 130) and d <= ``--max-d`` (default 8). Left out by default: E8's 240 points and the sharp codes in
d = 21..24 (generating the Tammes code (d, K) = (21, 112) had not finished after 8 minutes on one thread).
Writes bench/results/certify.csv.

    OMP_NUM_THREADS=1 python bench/certify.py [--thomson-stride 7] [--tammes-stride 7] [--max-K 130] [--max-d 8]
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import Counter

import torch
from _common import print_table, read_csv, shared_reference, write_csv

import spherecodes

_EXACT = re.compile(r"^[0-9+\-*/(). sqrt]+$")


def exact(text: str) -> float:
    """Value of a table expression such as ``(1+sqrt(5))/4`` (digits, + - * /, parentheses, sqrt only)."""
    text = text.strip()
    if not _EXACT.match(text):
        raise ValueError(f"not an exact expression: {text!r}")
    return float(eval(text, {"__builtins__": {}}, {"sqrt": math.sqrt}))  # noqa: S307 - checked by the regex


def decimals(text: str) -> int:
    text = text.strip()
    return len(text.split(".")[1]) if "." in text else 0


def coulomb_energy_from_distribution(K: int, dist: str) -> float:
    """(K/2) sum_t m_t / sqrt(2 - 2t): the energy over unordered pairs from the inner products seen from a point."""
    total = 0.0
    for item in dist.split(";"):
        t, _, m = item.strip().rpartition(":")
        total += int(m) / math.sqrt(2.0 - 2.0 * exact(t))
    return 0.5 * K * total


def tasks(args, separation_objective: str) -> list[dict]:
    out = []
    thomson = read_csv(shared_reference("thomson_s2.csv"))
    Ns = sorted({int(r["N"]) for r in thomson[:: args.thomson_stride]} | {100})
    for r in thomson:
        if int(r["N"]) in Ns:
            E = float(r["energy"])
            out.append(dict(table="thomson_s2", objective="riesz", d=3, K=int(r["N"]), key="energy",
                            known=E, tol=max(5e-9, 1e-9 * E), name=r["symmetry"]))  # 9 printed decimals
    for r in read_csv(shared_reference("tammes_s2.csv"))[:: args.tammes_stride]:
        theta = math.radians(float(r["min_angle_deg"]))
        if r["cos_min_angle_hp"].strip():
            known, tol = float(r["cos_min_angle_hp"]), 1e-15
        else:  # one unit of the last printed decimal of the angle, as a cosine
            known, tol = math.cos(theta), math.sin(theta) * math.radians(10.0 ** -decimals(r["min_angle_deg"]))
        out.append(dict(table="tammes_s2", objective=separation_objective, d=3, K=int(r["N"]),
                        key="max_cosine" if separation_objective == "tammes" else "energy",
                        known=known if separation_objective == "tammes" else math.nan, tol=tol + 1e-15,
                        name=r["status"]))
    for r in read_csv(shared_reference("universally_optimal.csv")):
        if not (r["d"].isdigit() and r["N"].isdigit()) or not r["inner_products_t:m"].strip():
            continue  # the infinite families
        K = int(r["N"])
        if K > args.max_K or int(r["d"]) > args.max_d:
            continue
        E = coulomb_energy_from_distribution(K, r["inner_products_t:m"])
        out.append(dict(table="universally_optimal", objective="riesz", d=int(r["d"]), K=K, key="energy",
                        known=E, tol=1e-9 * E, name=r["name"]))
    for r in read_csv(shared_reference("codes_d4_d5.csv")):
        d, K = int(r["d"]), int(r["N"])
        if K > args.max_K or d > args.max_d:
            continue
        known, tol, name = math.nan, 1e-12, r["name"] or r["status"][:30]
        mip = r["max_inner_product"].strip()
        if mip.startswith("<="):  # only "a code with max cosine <= x exists" (d = 5, K = 40: D5, x = 1/2)
            known, tol, name = exact(mip[2:].split("(")[0]), math.inf, name + " [known: <=]"
        elif mip:
            known = exact(mip)
        elif r["min_sq_chord"].strip() and not r["min_sq_chord"].strip().startswith(">"):
            known = 1.0 - exact(r["min_sq_chord"]) / 2.0
        elif r["min_angle_rad"].strip():
            theta = float(r["min_angle_rad"])  # 5 decimals only
            known, tol = math.cos(theta), math.sin(theta) * 10.0 ** -decimals(r["min_angle_rad"])
        out.append(dict(table="codes_d4_d5", objective=separation_objective, d=d, K=K,
                        key="max_cosine" if separation_objective == "tammes" else "energy",
                        known=known if separation_objective == "tammes" else math.nan, tol=tol, name=name))
    return out


def versus_reference(gap: float, tol: float) -> str:
    """``match`` / ``better`` / ``worse`` than the reference value (``tol`` = inf: the reference is only an upper
    limit on the best max cosine, so the code matches or beats it unless it is worse)."""
    if math.isnan(gap):
        return "no reference"
    if math.isinf(tol):
        return "worse" if gap > 1e-12 else "match or better"
    return "match" if abs(gap) <= tol else ("better" if gap < 0 else "worse")


def tightest_bound(cert, key: str):
    """(name, value) of the tightest bound on ``key`` that holds for every code, or (None, nan)."""
    lower = [c for c in cert.comparisons if c.score_key == key and c.kind in ("max_cosine_lower", "energy_lower")]
    upper = [c for c in cert.comparisons if c.score_key == key and c.kind in ("softmax_upper", "logdet_upper")]
    if lower:
        best = max(lower, key=lambda c: c.reference)
    elif upper:
        best = min(upper, key=lambda c: c.reference)
    else:
        return None, math.nan
    return best.name, best.reference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thomson-stride", type=int, default=7)
    ap.add_argument("--tammes-stride", type=int, default=7)
    ap.add_argument("--max-K", type=int, default=130)
    ap.add_argument("--max-d", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["thomson_s2", "tammes_s2", "universally_optimal", "codes_d4_d5"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    separation_objective = "tammes" if "tammes" in spherecodes.available_objectives() else "riesz"
    if separation_objective != "tammes":
        print("NOTE: objective 'tammes' is not registered; the Tammes and d4/d5 rows use riesz (s = 1) instead")
    rows = []
    t_start = time.perf_counter()
    for task in tasks(args, separation_objective):
        if args.only and task["table"] != args.only:
            continue
        t0 = time.perf_counter()
        code = spherecodes.generate(task["objective"], task["d"], task["K"], catalog=False, seed=args.seed,
                                    certify=False)
        t1 = time.perf_counter()
        cert = spherecodes.certify(code, lp=True)
        t2 = time.perf_counter()
        key = cert.primary
        score = float(cert.scores[key])
        sign = -1.0 if cert.maximise else 1.0
        gap_known = sign * (score - task["known"]) if task["key"] == key else math.nan
        bname, bvalue = tightest_bound(cert, key)
        gap_bound = sign * (score - bvalue)
        row = {
            "table": task["table"], "objective": task["objective"], "d": task["d"], "K": task["K"],
            "name": task["name"], "score_key": key, "score": score, "known": task["known"],
            "gap_known": gap_known, "vs_reference": versus_reference(gap_known, task["tol"]),
            "rel_gap_known": gap_known / abs(task["known"]) if task["known"] not in (0.0,) else gap_known,
            "bound": bvalue, "bound_name": bname or "", "gap_bound": gap_bound,
            "rel_gap_bound": gap_bound / abs(bvalue) if bvalue else gap_bound,
            "verdict": cert.verdict, "ok": cert.ok, "gen_s": round(t1 - t0, 2), "cert_s": round(t2 - t1, 2),
        }
        rows.append(row)
        print(f"{task['table']:>20s} d={task['d']:<3d} K={task['K']:<4d} {key}={score:.12g} known={task['known']:.12g} "
              f"gap={gap_known:+.2e} bound[{bname}]={bvalue:.10g} ({row['rel_gap_bound']:.2e}) "
              f"{cert.verdict}  gen {row['gen_s']}s cert {row['cert_s']}s", flush=True)
    total = time.perf_counter() - t_start
    print()
    print_table(rows, ".10g")
    counts = Counter()
    for r in rows:
        v = r["verdict"]
        counts["optimal" if v == "optimal" else "matches_best_known" if v == "matches_best_known"
               else "improves_best_known" if v == "improves_best_known"
               else "below_best_known" if v.startswith("below_best_known")
               else "gap (no known value)" if v.startswith("gap=") else v] += 1
    print(f"\n{len(rows)} codes in {total:.0f} s (generate {sum(r['gen_s'] for r in rows):.0f} s, "
          f"certify {sum(r['cert_s'] for r in rows):.0f} s); objective for the Tammes/code rows: "
          f"{separation_objective}")
    for verdict, n in counts.most_common():
        print(f"  {verdict:>24s}: {n}")
    print("against the reference values (tolerance: one unit of the last printed digit):")
    for what, n in Counter(r["vs_reference"] for r in rows).most_common():
        print(f"  {what:>24s}: {n}")
    for table in ("thomson_s2", "tammes_s2", "universally_optimal", "codes_d4_d5"):
        sub = [r for r in rows if r["table"] == table]
        if sub:
            worst = max(sub, key=lambda r: r["rel_gap_bound"])
            print(f"  {table}: {len(sub)} rows, verdicts {dict(Counter(r['verdict'].split(' ')[0] for r in sub))}; "
                  f"max rel gap to bound {worst['rel_gap_bound']:.2e} (K={worst['K']}, {worst['bound_name']})")
    print("written", write_csv("certify.csv", rows))


if __name__ == "__main__":
    main()
