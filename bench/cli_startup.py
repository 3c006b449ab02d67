"""Start-up time of the command line: ``spherecodes --help`` (target: under 0.5 s, no torch import) and
``spherecodes lookup riesz -d 3 -K 12`` (no torch import either).

Each command runs ``--repeats`` times in a fresh interpreter (``python -m spherecodes ...``, the way the console
script starts); prints the median and the minimum wall time and whether torch was imported (``-X importtime``);
writes bench/results/cli_startup.csv.

    python bench/cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import REPO, median, print_table, write_csv

COMMANDS = (["--help"], ["lookup", "riesz", "-d", "3", "-K", "12"])


def run_once(args: list[str]) -> tuple[float, bool]:
    """(wall seconds, whether torch was imported) of one ``python -X importtime -m spherecodes ARGS``."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "spherecodes", *args], env=env,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    imported = any(line.rstrip().endswith("| torch") for line in proc.stderr.splitlines())
    return seconds, imported


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for command in COMMANDS:
        runs = [run_once(command) for _ in range(args.repeats)]
        times = [t for t, _ in runs]
        rows.append({"command": "spherecodes " + " ".join(command), "median_s": round(median(times), 3),
                     "min_s": round(min(times), 3), "repeats": args.repeats,
                     "torch_imported": any(imported for _, imported in runs)})
    print_table(rows, ".3g")
    print("note: -X importtime adds a little to each run; the console script itself skips `-m` lookup")
    print("written", write_csv("cli_startup.csv", rows))


if __name__ == "__main__":
    main()
