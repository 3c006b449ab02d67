"""Softmax codes vs Tammes codes for K > 2d: is the softmax solver's one-vs-rest distance at least that of our
best Tammes code (the paper conjectures the two problems share optima, Thm 3.7 / 3.8)?

For each (d, K), runs the Tammes solver and the softmax-code solver (solver alone, same seed) and prints
the one-vs-rest distance of each, the max cosine of each, and softmax - tammes (>= -1e-6 expected).
Writes bench/results/softmax_vs_tammes.csv.

    python bench/softmax_vs_tammes.py [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import print_table, write_csv

from spherecodes.solvers import solve

# (8, 24) is left out: over 6 minutes per solver on this machine
CASES = [(3, 7), (3, 8), (3, 10), (3, 12), (3, 14), (4, 10), (4, 12), (4, 16), (5, 12), (5, 16), (8, 20)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restarts", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for d, K in CASES:
        t0 = time.perf_counter()
        tam = solve("tammes", d, K, seed=args.seed, restarts=args.restarts, rounds=args.rounds)
        t1 = time.perf_counter()
        soft = solve("softmax_code", d, K, seed=args.seed, restarts=args.restarts, rounds=args.rounds)
        t2 = time.perf_counter()
        diff = soft.scores["one_vs_rest"] - tam.scores["one_vs_rest"]
        rows.append({"d": d, "K": K, "tammes_one_vs_rest": tam.scores["one_vs_rest"],
                     "softmax_one_vs_rest": soft.scores["one_vs_rest"], "softmax_minus_tammes": diff,
                     "tammes_max_cos": tam.scores["max_cosine"], "softmax_max_cos": soft.scores["max_cosine"],
                     "tammes_1_minus_maxcos": 1.0 - tam.scores["max_cosine"],
                     "ok": diff >= -1e-6, "tammes_s": round(t1 - t0, 1), "softmax_s": round(t2 - t1, 1)})
        print(rows[-1], flush=True)
    print_table(rows, floatfmt=".10g")
    bad = [(r["d"], r["K"]) for r in rows if not r["ok"]]
    differ = [(r["d"], r["K"], f"{r['softmax_minus_tammes']:+.2e}") for r in rows
              if abs(r["softmax_minus_tammes"]) > 1e-9]
    print(f"softmax >= tammes - 1e-6 in {len(rows) - len(bad)}/{len(rows)} cases; below: {bad}; "
          f"differ by > 1e-9: {differ}")
    print(f"wrote {write_csv('softmax_vs_tammes.csv', rows)}")


if __name__ == "__main__":
    main()
