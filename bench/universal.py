"""Universal optima recovered from random starts by the solver alone (no constructions).

For the icosahedron (3,12), the 600-cell (4,120), the (5,16), (6,27), (7,56) configurations and
E8 (8,240): run `spherecodes.solve("riesz", d, K, s=1)` from random starts and compare its energy
with the exact construction's (relative error; target 1e-10). Also the simplex (K <= d+1),
cross-polytope (K = 2d) and polygon (d = 2) for several s > 0. Writes bench/results/universal.csv.

    python bench/universal.py
"""

from __future__ import annotations

import torch
from _common import print_table, write_csv

from spherecodes.constructions import construct_points
from spherecodes.kernels import riesz_energy
from spherecodes.solvers import solve

CASES = [(3, 12, "icosahedron"), (4, 120, "600-cell"), (5, 16, "hemicube5"), (6, 27, "schlafli"),
         (7, 56, "gosset"), (8, 240, "e8")]
FAMILIES = [(d, K, name, s) for s in (0.5, 1.0, 3.0)
            for d, K, name in ((6, 5, "simplex"), (10, 11, "simplex"), (5, 10, "cross_polytope"),
                               (12, 24, "cross_polytope"), (2, 13, "polygon"))]


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for d, K, name in CASES:
        exact = riesz_energy(construct_points(name, d, K), 1.0)
        r = solve("riesz", d, K, s=1.0, seed=0)
        rel = (r.scores["energy"] - exact) / exact
        rows.append({"d": d, "K": K, "construction": name, "s": 1.0, "exact_energy": exact,
                     "solver_energy": r.scores["energy"], "rel_err": rel, "ok_1e-10": abs(rel) <= 1e-10,
                     "rounds": r.rounds, "seconds": round(r.time_s, 1)})
        print(rows[-1], flush=True)
    for d, K, name, s in FAMILIES:
        exact = riesz_energy(construct_points(name, d, K), s)
        r = solve("riesz", d, K, s=s, seed=0, restarts=4, rounds=2)
        rel = (r.scores["energy"] - exact) / exact
        rows.append({"d": d, "K": K, "construction": name, "s": s, "exact_energy": exact,
                     "solver_energy": r.scores["energy"], "rel_err": rel, "ok_1e-10": abs(rel) <= 1e-10,
                     "rounds": r.rounds, "seconds": round(r.time_s, 1)})
    print()
    print_table(rows, ".12g")
    print(f"\nrecovered to 1e-10 relative: {sum(r['ok_1e-10'] for r in rows)}/{len(rows)}")
    print("written", write_csv("universal.csv", rows))


if __name__ == "__main__":
    main()
