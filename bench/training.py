"""Benchmark: training on scikit-learn's digits with learned vs code classifiers, and GNC(2) on S^1.

Table 1 -- test accuracy (mean and sample std over seeds) on digits (K = 10 classes), for d = 16
(>= K - 1: the simplex exists) and d = 3 (< K - 1), of:

- CE with a learned (cosine) classifier;
- CE with fixed proxies: the simplex (d = 16 only), a Thomson code
  (``spherecodes.generate("riesz", d, K, s=1.0, catalog=False, seed=0)``) and a Tammes code
  (``spherecodes.generate("tammes", d, K, catalog=False, seed=0)``, only when the ``tammes`` objective is
  registered); for d = 16 >= K - 1 both codes are the simplex (the library returns the construction);
- HUG with the paper's Table 1 forms (MHE: Eq. 6, MHS: Eq. 8, MGD: Eq. 10), each with static proxies (the
  Thomson code, fixed), rotated ("partially learnable": Thomson code times a learned orthogonal matrix)
  and learnable proxies (Gaussian initialisation, HUG Proposition 1); plus MGD with the relaxed intra
  term of the HUG slides, learnable proxies, since Eq. 10 collapses mini-batch training (see
  :func:`spherecodes.training.losses.hug_loss`);
- HingeCE (tau+ = 13 pi / 36, tau- = pi) with fixed simplex (d = 16) / Thomson (d = 3) proxies.

Table 2 -- GNC(2) on S^1 (d = 2): the average s = 2 energy of the class means after training, for
C = 10 (all digits) and C = 3 (digits 0, 1, 2), against the minimum the HUG paper reports (Sec. 2, after
Fig. 3: "2 in the case of d=2, C=3 (1/3 for average energy) and ~82.5 in the case of d=2, C=10 (~0.917
for average energy)"). The paper's quantity is Eq. (1) divided by the C (C - 1) ordered pairs:
mean_{c != c'} |mu_hat_c - mu_hat_c'|^-2 with mu_hat_c = (mu_c - mu_G) / |mu_c - mu_G| (raw features,
class means centred by the global mean) -- :func:`spherecodes.training.metrics.gnc2_energy`. The table
also gives the same average for the class means of the *normalised* features (uncentred; what a cosine
head sees), the same average for the final proxies, and the regular C-gon's value computed here from
its coordinates by a double loop.

Everything runs on one CPU thread. Results: ``bench/results/training.csv`` and ``training_2d.csv``.
Run: ``OMP_NUM_THREADS=1 python bench/training.py [--seeds 5] [--epochs 15] [--epochs-2d 40]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import spherecodes
from spherecodes.training import average_energy, train

K = 10
RESULTS = Path(__file__).resolve().parent / "results"
#: The HUG paper's printed minima of the average energy on S^1 (Sec. 2): C -> (value, as printed).
PAPER_MINIMUM = {10: (82.5 / 90, "~0.917 (82.5 / 90)"), 3: (2.0 / 6, "1/3 (2 / 6)")}


def regular_polygon_average_energy(C: int) -> float:
    """mean_{i != j} |u_i - u_j|^-2 over the C (C - 1) ordered pairs of the regular C-gon, by a double loop.

    Independent of the library: explicit coordinates (cos 2 pi k / C, sin 2 pi k / C), no vectorised metric.
    """
    pts = [(math.cos(2 * math.pi * k / C), math.sin(2 * math.pi * k / C)) for k in range(C)]
    total = 0.0
    for i in range(C):
        for j in range(C):
            if i != j:
                total += 1.0 / ((pts[i][0] - pts[j][0]) ** 2 + (pts[i][1] - pts[j][1]) ** 2)
    return total / (C * (C - 1))


def min_angle_deg(P: np.ndarray) -> float:
    G = P @ P.T
    np.fill_diagonal(G, -1.0)
    return float(np.degrees(np.arccos(np.clip(G.max(), -1.0, 1.0))))


def make_codes(d: int) -> dict[str, np.ndarray | None]:
    """Proxies made with the library: the simplex (d >= K - 1), the Thomson and the Tammes code."""
    codes: dict[str, np.ndarray | None] = {}
    codes["simplex"] = np.array(spherecodes.construct("simplex", d, K).points) if d >= K - 1 else None
    codes["Thomson"] = np.array(spherecodes.generate("riesz", d, K, s=1.0, catalog=False, seed=0).points)
    if "tammes" in spherecodes.available_objectives():
        codes["Tammes"] = np.array(spherecodes.generate("tammes", d, K, catalog=False, seed=0).points)
    else:
        codes["Tammes"] = None
    return codes


def configurations(codes: dict[str, np.ndarray | None], d: int) -> list[dict]:
    """(row name, train() arguments) for table 1; ``skip`` gives the reason a row is not computed."""
    thomson = codes["Thomson"]
    out = [dict(name="CE, learned classifier", head="learnable", loss="ce")]
    for name in ("simplex", "Thomson", "Tammes"):
        P = codes[name]
        row = dict(name=f"CE, fixed {name} proxies", head="fixed", loss="ce", proxies=P)
        if P is None:
            row["skip"] = ("no simplex of 10 points in R^3" if name == "simplex"
                           else "tammes objective not registered")
        out.append(row)
    for variant, eq in (("mhe", "Eq. 6"), ("mhs", "Eq. 8"), ("mgd", "Eq. 10")):
        tag = f"HUG-{variant.upper()} ({eq})"
        out += [dict(name=f"{tag}, static Thomson proxies", head="fixed", loss=f"hug_{variant}", proxies=thomson),
                dict(name=f"{tag}, rotated Thomson proxies", head="rotated", loss=f"hug_{variant}", proxies=thomson),
                dict(name=f"{tag}, learnable proxies", head="learnable", loss=f"hug_{variant}")]
    out.append(dict(name="HUG-MGD (relaxed, slides), learnable proxies", head="learnable", loss="hug_mgd",
                    hug_relaxed=True))
    hinge = codes["simplex"] if codes["simplex"] is not None else thomson
    out.append(dict(name="HingeCE, fixed simplex/Thomson proxies", head="fixed", loss="hinge_ce", proxies=hinge))
    return out


def run_config(cfg: dict, d: int, seeds: int, epochs: int, num_classes: int = K) -> dict:
    accs, nc1s, gnc2, gnc2_normalised, proxy_energy, times = [], [], [], [], [], []
    for seed in range(seeds):
        t = time.perf_counter()
        res = train(head=cfg["head"], proxies=cfg.get("proxies"), loss=cfg["loss"], epochs=epochs, seed=seed,
                    feature_dim=d, hug_relaxed=cfg.get("hug_relaxed"), num_classes=num_classes)
        times.append(time.perf_counter() - t)
        accs.append(res.test_accuracy)
        nc1s.append(res.metrics["nc1"])
        gnc2.append(res.metrics["gnc2_energy_mean"])
        gnc2_normalised.append(res.metrics["nc2_riesz_energy_mean"])
        proxy_energy.append(average_energy(res.proxies))
    return dict(acc_mean=statistics.mean(accs), acc_std=statistics.stdev(accs), nc1_mean=statistics.mean(nc1s),
                gnc2_mean=statistics.mean(gnc2), gnc2_std=statistics.stdev(gnc2),
                gnc2_normalised_mean=statistics.mean(gnc2_normalised),
                gnc2_normalised_std=statistics.stdev(gnc2_normalised), proxy_energy_mean=statistics.mean(proxy_energy),
                proxy_energy_std=statistics.stdev(proxy_energy), seconds_per_run=statistics.mean(times))


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def table_accuracy(args) -> list[dict]:
    dims = (16, 3)
    codes = {d: make_codes(d) for d in dims}
    for d in dims:
        info = ", ".join(f"{n}: min angle {min_angle_deg(P):.4f} deg" for n, P in codes[d].items() if P is not None)
        print(f"d={d:>2} proxies ({info})")
    if codes[3]["Tammes"] is None:
        print("NOTE: the tammes objective is not registered: the Tammes rows are not computed")
    rows, results = [], {}
    names = [c["name"] for c in configurations(codes[dims[0]], dims[0])]
    for d in dims:
        for cfg in configurations(codes[d], d):
            if "skip" in cfg:
                results[(cfg["name"], d)] = None
                rows.append(dict(d=d, method=cfg["name"], seeds=0, epochs=args.epochs, note=cfg["skip"]))
                continue
            r = run_config(cfg, d, args.seeds, args.epochs)
            results[(cfg["name"], d)] = r
            rows.append(dict(d=d, method=cfg["name"], seeds=args.seeds, epochs=args.epochs, note="",
                             test_acc_mean=r["acc_mean"], test_acc_std=r["acc_std"], nc1_mean=r["nc1_mean"],
                             seconds_per_run=r["seconds_per_run"]))
            print(f"  d={d:>2} {cfg['name']:<48} {100 * r['acc_mean']:6.2f} +- {100 * r['acc_std']:4.2f}"
                  f"  ({r['seconds_per_run']:.1f} s/run)", flush=True)
    print(f"\nTable 1: digits test accuracy (%), mean +- sample std over {args.seeds} seeds, {args.epochs} epochs")
    header = f"{'method':<48}" + "".join(f"{'d=' + str(d):>18}" for d in dims)
    print(header)
    print("-" * len(header))
    for name in names:
        cells = []
        for d in dims:
            r = results.get((name, d))
            cells.append(f"{'n/a':>18}" if r is None else f"{100 * r['acc_mean']:>10.2f} +- {100 * r['acc_std']:4.2f}")
        print(f"{name:<48}" + "".join(cells))
    fields = ["d", "method", "seeds", "epochs", "note", "test_acc_mean", "test_acc_std", "nc1_mean", "seconds_per_run"]
    write_csv(RESULTS / "training.csv", [{k: row.get(k, "") for k in fields} for row in rows])
    return rows


def table_circle(args) -> list[dict]:
    rows = []
    settings = [dict(name="CE, learned classifier", head="learnable", loss="ce"),
                dict(name="CE, fixed Thomson proxies (= regular polygon)", head="fixed", loss="ce", thomson=True),
                dict(name="HUG-MHE (Eq. 6), learnable proxies", head="learnable", loss="hug_mhe")]
    for C in (10, 3):
        polygon = regular_polygon_average_energy(C)
        thomson = np.array(spherecodes.generate("riesz", 2, C, s=1.0, catalog=False, seed=0).points)
        for setting in settings:
            cfg = dict(setting, proxies=thomson if setting.get("thomson") else None)
            r = run_config(cfg, 2, args.seeds, args.epochs_2d, num_classes=C)
            paper_value, paper_text = PAPER_MINIMUM[C]
            rows.append(dict(C=C, d=2, method=setting["name"], seeds=args.seeds, epochs=args.epochs_2d,
                             test_acc_mean=r["acc_mean"], test_acc_std=r["acc_std"],
                             energy_paper_convention_mean=r["gnc2_mean"], energy_paper_convention_std=r["gnc2_std"],
                             energy_normalised_features_mean=r["gnc2_normalised_mean"],
                             energy_normalised_features_std=r["gnc2_normalised_std"],
                             energy_proxies_mean=r["proxy_energy_mean"], energy_proxies_std=r["proxy_energy_std"],
                             paper_minimum=paper_value, paper_minimum_printed=paper_text,
                             regular_polygon=polygon))
            print(f"  C={C:>2} {setting['name']:<46} energy {r['gnc2_mean']:.4f} / {r['gnc2_normalised_mean']:.4f}"
                  f"  ({r['seconds_per_run']:.1f} s/run)", flush=True)
    print(f"\nTable 2: d = 2, average s=2 energy of the class means, mean +- std over {args.seeds} seeds, "
          f"{args.epochs_2d} epochs")
    print("  (a) HUG Eq. 1 / C(C-1): raw features, means centred by the global mean, then normalised;")
    print("  (b) the same average for the class means of the normalised features (uncentred);")
    print("  (c) the same average for the final proxies of the head (fixed: the regular polygon itself).")
    header = (f"{'setting':<54}{'test acc %':>15}{'(a) energy':>20}{'(b) energy':>20}{'(c) proxies':>20}"
              f"{'paper optimum':>22}{'regular C-gon':>15}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{'C=' + str(row['C']) + ', ' + row['method']:<54}"
              f"{100 * row['test_acc_mean']:>9.2f} +- {100 * row['test_acc_std']:4.2f}"
              f"{row['energy_paper_convention_mean']:>10.4f} +- {row['energy_paper_convention_std']:<6.4f}"
              f"{row['energy_normalised_features_mean']:>10.4f} +- {row['energy_normalised_features_std']:<6.4f}"
              f"{row['energy_proxies_mean']:>10.4f} +- {row['energy_proxies_std']:<6.4f}"
              f"{row['paper_minimum_printed']:>22}{row['regular_polygon']:>15.6f}")
    write_csv(RESULTS / "training_2d.csv", rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the table-1 runs")
    parser.add_argument("--epochs-2d", type=int, default=40, help="epochs of the d = 2 runs (table 2)")
    parser.add_argument("--skip-accuracy", action="store_true", help="only table 2")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be >= 2 (the spread is a sample standard deviation)")
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print(f"objectives registered: {', '.join(spherecodes.available_objectives())}; torch threads: "
          f"{torch.get_num_threads()}; MLP 64-128-128-d, Adam lr 3e-3, batch 64, weight decay 5e-4, "
          f"logit scale 10, HUG reduction 'mean', alpha = beta = 1")
    if not args.skip_accuracy:
        table_accuracy(args)
        print()
    table_circle(args)
    written = ([] if args.skip_accuracy else [RESULTS / "training.csv"]) + [RESULTS / "training_2d.csv"]
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; wrote {', '.join(map(str, written))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
