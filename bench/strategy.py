"""Why basin hopping: the default search vs pure random multistart with the same number of local runs.

For hard Thomson sizes on S^2 and several seeds, run the default search (16 restarts + up to 12
perturbation rounds, patience 3), count its local optimisations n, then run pure multistart with
n random restarts (rounds=0). Prints success (best-known energy reached, rel 1e-9) and seconds
for both; writes bench/results/strategy.csv.

    python bench/strategy.py [--sizes 58,68,79,85,94,98,100] [--seeds 3]
"""

from __future__ import annotations

import argparse

import torch
from _common import median, print_table, read_csv, shared_reference, write_csv

from spherecodes.solvers import solve


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="58,68,79,85,94,98,100")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = {int(r["N"]): float(r["energy"]) for r in read_csv(shared_reference("thomson_s2.csv"))}
    rows = []
    for N in [int(x) for x in args.sizes.split(",")]:
        for seed in range(args.seeds):
            hop = solve("riesz", 3, N, seed=seed)
            n_local = len(hop.restart_scores)
            multi = solve("riesz", 3, N, seed=seed, restarts=n_local, rounds=0)
            ok = [abs(r.scores["energy"] - ref[N]) <= max(1e-9 * ref[N], 5e-9) for r in (hop, multi)]
            rows.append({"N": N, "seed": seed, "local_runs": n_local,
                         "hopping_ok": ok[0], "hopping_s": round(hop.time_s, 2),
                         "multistart_ok": ok[1], "multistart_s": round(multi.time_s, 2),
                         "hopping_rel_err": (hop.scores["energy"] - ref[N]) / ref[N],
                         "multistart_rel_err": (multi.scores["energy"] - ref[N]) / ref[N]})
            print(rows[-1], flush=True)
    print()
    print_table(rows)
    n = len(rows)
    print(f"\nbasin hopping reached the best known in {sum(r['hopping_ok'] for r in rows)}/{n} runs "
          f"(median {median([r['hopping_s'] for r in rows]):.1f} s); pure multistart with the same number of "
          f"local runs in {sum(r['multistart_ok'] for r in rows)}/{n} "
          f"(median {median([r['multistart_s'] for r in rows]):.1f} s)")
    print("written", write_csv("strategy.csv", rows))


if __name__ == "__main__":
    main()
