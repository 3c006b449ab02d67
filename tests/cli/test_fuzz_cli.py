"""Input fuzzing of the command line (every command and option) with hypothesis and click's CliRunner.

The argument lists are built by introspecting ``spherecodes.cli.cli``, so every command, sub-command,
argument and option is exercised, new ones included. Values are mostly valid (so that commands do
their work) with junk mixed in. Contract for every argument list:

* no uncaught exception (CliRunner records one as ``result.exception``), no traceback in the output;
* exit status 0, 1 or 2; status 2 (bad input) prints exactly one ``Error:`` line, and it is the last
  line; status 1 is a documented outcome (a library error shown as one ``Error:`` line, a lookup miss,
  ``validate`` / ``catalog verify`` finding a problem);
* a code written with ``--out`` has finite coordinates, and ``--json`` scores contain no NaN.

Sizes are tiny and slow options (LP bounds, training epochs) are kept rare so that all examples run
in well under a minute; run with ``-s`` to see how many argument lists each command got. The examples
are the same on every run; ``SPHERECODES_FUZZ_RANDOM=1`` draws new ones (to look for new defects).
"""

from __future__ import annotations

import json
import math
import os
import traceback
from collections import Counter
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spherecodes import Code, construct
from spherecodes.catalog import Catalog
from spherecodes.cli import cli


def _leaves(group: click.Group, prefix=()):
    """(path, command) of every runnable command under ``group``."""
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):  # the top-level group loads its commands lazily
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


COMMANDS = dict(_leaves(cli))
#: SPHERECODES_FUZZ_RANDOM=1 draws new examples on every run (to look for new defects); by default the
#: examples are derandomized (the same on every run), so that the suite is reproducible
EXPLORE = bool(os.environ.get("SPHERECODES_FUZZ_RANDOM"))
PARAM_OWNER = {id(p): path[-1] for path, cmd in COMMANDS.items() for p in cmd.params}
#: examples per command: cheap commands get more, the ones that solve, draw or train fewer
EXAMPLES = {("generate",): 60, ("train",): 15, ("plot",): 12, ("validate",): 40, ("lookup",): 50}
OUTCOMES: dict[str, Counter] = {}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz_cli")
    good = construct("simplex", 3, 4)
    good.save(root / "good.npz")
    good.save(root / "good.npy")
    (root / "good.txt").write_text("\n".join(" ".join(format(float(v), ".17g") for v in row) for row in good.points))
    rng = np.random.default_rng(0)
    np.save(root / "nonunit.npy", rng.normal(size=(4, 3)))
    np.save(root / "nan.npy", np.full((4, 3), np.nan))
    np.save(root / "sim.npy", np.eye(4) + 0.1)
    np.save(root / "sim_bad.npy", np.ones((3, 5)))
    (root / "junk.npz").write_bytes(rng.bytes(200))
    (root / "junk.txt").write_text("one two\n")
    np.save(root / "proxies10.npy", construct("simplex", 16, 10).points)
    cat = Catalog(root / "catalog.h5")
    cat.put(good)
    cat.put(Code(points=construct("cross_polytope", 3, 6).points, objective="tammes"))
    (root / "corrupt.h5").write_bytes((root / "catalog.h5").read_bytes()[:3000] + rng.bytes(500))
    (root / "pristine.h5").write_bytes((root / "catalog.h5").read_bytes())
    (root / "out").mkdir()
    return root


def _keys():
    return ["riesz[half_space=false,metric=euclidean,s=1]/d=3/K=4", "tammes[]/d=3/K=6", "riesz[s=1]/d=3/K=4",
            "riesz/d=3/K=4", "nope[]/d=3/K=4", "riesz[s=1]/d=3", "garbage", "", "riesz[s=nan]/d=3/K=4"]


def command_of(param) -> str:
    """Name of the command that owns ``param`` (set by :func:`_leaves`)."""
    return PARAM_OWNER.get(id(param), "")


def _paths(files: Path, param) -> list[str]:
    inputs = ["good.npz", "good.npy", "good.txt", "nonunit.npy", "nan.npy", "junk.npz", "junk.txt", "catalog.h5",
              "corrupt.h5", "sim.npy", "sim_bad.npy", "missing.npz"]
    outputs = ["out/a.npz", "out/b.npy", "out/c.pt", "out/d.png", "out/e.txt", "out/f", "out/new.h5", "nodir/x.npz",
               "out", "out/ck.npz"]
    name = param.name
    if name in ("catalog_path", "other", "file"):
        pick = ["catalog.h5", "catalog.h5", "out/new.h5", "corrupt.h5", "good.npz", "junk.npz", "missing.h5", "out"]
    elif name in ("out", "plot") and command_of(param) in ("plot", "train"):
        pick = ["out/d.png", "out/g.pdf", "out/h.svg", "out/d.png", "out", "out/a.npz", "nodir/x.png"]
    elif name == "out" and command_of(param) in ("generate", "construct", "lookup"):
        pick = ["out/a.npz", "out/b.npy", "out/a.npz", "out/b.npy", "out/c.pt", "out/f", "nodir/x.npz", "out"]
    elif name in ("out", "plot", "checkpoint"):
        pick = outputs + ["good.npz"]
    elif name == "similarity":
        pick = ["sim.npy", "sim.npy", "sim_bad.npy", "good.npy", "junk.npz", "missing.npy"]
    else:
        pick = inputs + ["out"]
    return [str(files / p) for p in pick] + [""]


RIESZ_PARAMS = {"s", "metric", "half_space"}


def _values(command: tuple, param, files: Path, objective: str | None) -> tuple[list[str], list[str]]:
    """(good values, junk values) for one parameter, as command-line strings."""
    name, ptype = param.name, param.type
    junk = ["", "x", "-1", "1e400", "nan", "é", "--", "0x10"]
    extra_good = {"riesz": ["s=1", "s=2", "metric=geodesic", "half_space=true", "s=-1"], "mgd": ["eps=0.5", "eps=2"]}
    table = {
        "d": (["2", "3", "4", "5"], ["-1", "0", "1", "3.5", "x", "99999999999999999999"]),
        "K": (["2", "3", "4", "6", "12"], ["-1", "0", "1", "2.5", "x"]),
        "s": (["-2", "-1", "0", "0.5", "1", "10", "50"], ["nan", "inf", "-inf", "x", "1e400"]),
        "eps": (["0.5", "1", "2"], ["0", "-1", "nan", "inf"]),
        "extra": (extra_good.get(objective, []), ["s", "=1", "foo=1", "s=nan", "half_space=maybe", "metric=",
                                                  "s=1e400", "eps=0"]),
        "restarts": (["1", "2"], ["0", "-1", "x", "1.5"]),
        "rounds": (["0", "1"], ["-1", "x"]),
        "seed": (["0", "1", "42"], ["-1", "x", "18446744073709551616", "1.5"]),
        "device": (["cpu", "auto"], ["cuda", "cuda:3", "tpu", "", "CPU"]),
        "time_budget": (["30", "0.5", "1e-9", "inf"], ["0", "-1", "nan", "x"]),
        "epochs": (["1"], ["0", "-1", "x"]),
        "dim": (["9", "12", "16"], ["1", "0", "x"]),
        "lr": (["0.003", "0.01"], ["0", "-1", "nan", "x"]),
        "scale": (["10", "1"], ["0", "-1", "nan"]),
        "pattern": (["*", "riesz*", "*K=4"], ["[", "", "**["]),
        "objective": (["riesz", "tammes", "mgd", "softmax_code"], ["thomson", "", "RIESZ"]),
        "key": (_keys()[:2], _keys()[2:]),
        "keys": (_keys()[:2], _keys()[2:]),
        "file_or_key": ([str(files / "good.npz"), str(files / "good.npy"), _keys()[0]],
                        [str(files / "junk.npz"), "missing.npz", _keys()[5], "", str(files / "nonunit.npy")]),
        "proxies": (["construction:simplex", "construction:cross_polytope", str(files / "proxies10.npy")],
                    ["construction:nope", "construction:", "garbage", str(files / "junk.npz"), "",
                     str(files / "nonunit.npy"), _keys()[0]]),
        "name": (["simplex", "cross_polytope", "polygon", "icosahedron"], ["cube", "", "SIMPLEX"]),
    }
    if name in table and not (name == "objective" and isinstance(ptype, click.Choice)):
        good, bad = table[name]
    elif isinstance(ptype, click.Choice):
        good, bad = [str(c) for c in ptype.choices], ["nope", ""]
    elif isinstance(ptype, click.Path):
        paths = _paths(files, param)
        good, bad = paths[:-3], paths[-3:]
    elif isinstance(ptype, click.IntRange):
        lo = ptype.min if ptype.min is not None else 0
        good = [str(v) for v in (lo, lo + 1, lo + 2) if ptype.max is None or v <= ptype.max]
        bad = [str(lo - 1), "x", "1.5"]
    elif isinstance(ptype, click.types.IntParamType):
        good, bad = ["0", "1", "2"], ["-1", "x", "1.5"]
    elif isinstance(ptype, click.FloatRange):
        lo = ptype.min if ptype.min is not None else 0.0
        good, bad = [repr(lo + 0.5), repr(lo + 1.0)], ["nan", repr(lo - 1.0), "x"]
    elif isinstance(ptype, click.types.FloatParamType):
        good, bad = ["0.5", "1"], ["nan", "-1", "x"]
    else:
        good, bad = ["x"], [""]
    if (name in RIESZ_PARAMS and objective not in (None, "riesz")) or (name == "eps" and objective != "mgd"):
        good = []  # a parameter of another objective: only ever a deliberate mistake
    if getattr(param, "is_flag", False):
        good = [] if not good else ["flag"]
    return good, bad + junk


#: options present in every argument list of a command (so that the work stays tiny)
FORCED = {
    ("generate",): {"quiet", "restarts", "rounds"},
    ("train",): {"no_progress", "epochs"},
    # the good keys are stored in the fixture catalog
    ("catalog", "show"): {"catalog_path"}, ("catalog", "export"): {"catalog_path"},
    ("catalog", "remove"): {"catalog_path"},
}
#: slow or narrow options (that exclude others), drawn rarely
RARE = {"lp_bounds", "plot", "compute", "distributed", "builtin", "tile"}


@st.composite
def argvs(draw, command: tuple, cmd: click.Command, files: Path):
    """A mostly valid argument list: every parameter gets a good value, except 0, 1 or 2 chosen to get junk."""
    params = [p for p in cmd.params if not (isinstance(p, click.Option) and p.hidden)]
    n_bad = draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
    bad = set(draw(st.permutations(range(len(params))))[:n_bad])
    forced = FORCED.get(command, set())
    objective = "riesz" if command in (("validate",),) else None  # the fixture files hold riesz codes
    argv = list(command)
    for i, param in enumerate(params):
        is_bad = i in bad
        good, junk = _values(command, param, files, objective)
        pool = junk if is_bad or not good else good
        if isinstance(param, click.Argument):
            if is_bad and draw(st.booleans()):
                continue  # leave a (required) argument out
            n = 1 if param.nargs == 1 else draw(st.integers(1, 2))
            values = [draw(st.sampled_from(pool)) for _ in range(n)]
            argv += values
            if param.name == "objective":
                objective = values[0]
            continue
        if param.name not in forced and not param.required and not is_bad:
            odds = 8 if param.name in RARE else 3
            if not good or draw(st.integers(0, odds - 1)) != 0:
                continue
        if param.name == "no_lp" and not is_bad:
            continue
        if param.is_flag:
            argv.append(draw(st.sampled_from(list(param.opts) + list(param.secondary_opts))))
            continue
        for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
            value = draw(st.sampled_from(pool))
            if param.name == "checkpoint" and not is_bad:
                value = str(files / "out" / f"ck{draw(st.integers(0, 10**9))}.npz")  # a fresh file
            if command == ("catalog", "export") and param.name == "out" and not is_bad:
                value = str(files / "out" / f"export{draw(st.integers(0, 10**9))}.h5")
            if param.name == "catalog_path" and command_of(param) in ("show", "export", "remove") and not is_bad:
                value = str(files / "catalog.h5")
            argv += [draw(st.sampled_from(list(param.opts))), value]
            if param.name == "objective":
                objective = value
    if command == ("validate",) and "--no-lp" not in argv and draw(st.integers(0, 4)) != 0:
        argv.append("--no-lp")  # the LP bounds take seconds: mostly skip them
    return argv


def _check(command: tuple, argv: list[str], result) -> None:
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError(f"uncaught {type(exc).__name__} for spherecodes {' '.join(argv)}\n{tb}")
    out = result.output
    counts = OUTCOMES.setdefault(" ".join(command), Counter())
    counts[f"exit {result.exit_code}"] += 1
    assert "Traceback" not in out, out
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, out)
    lines = [line for line in out.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if result.exit_code == 2:
        assert len(errors) == 1 and lines[-1] == errors[0], f"not one clear error line for {argv}:\n{out}"
    elif result.exit_code == 1 and command not in (("validate",), ("catalog", "verify")):
        assert len(errors) == 1 and lines[-1] == errors[0], f"exit 1 without one error line for {argv}:\n{out}"
    if result.exit_code == 0:
        _check_products(argv, result.stdout)


def _check_products(argv: list[str], stdout: str) -> None:
    """Codes written with --out are finite; JSON scores hold no NaN."""
    if "--out" in argv:
        out = Path(argv[argv.index("--out") + 1])
        if out.suffix in (".npz", ".npy") and out.is_file() and argv[0] in ("generate", "construct", "lookup"):
            code = Code.load(out)
            assert np.all(np.isfinite(code.points))
    if "--json" in argv and argv[0] in ("generate", "construct") and "--list" not in argv:
        payload = json.loads(stdout.strip().splitlines()[-1])
        for name, value in payload.get("scores", {}).items():
            assert not (isinstance(value, str) and value.lower() == "nan"), (name, argv)
            assert not (isinstance(value, float) and math.isnan(value)), (name, argv)


@pytest.fixture(scope="module", autouse=True)
def _report_outcomes():
    yield
    total = sum(sum(c.values()) for c in OUTCOMES.values())
    print(f"\nCLI fuzz: {total} argument lists")
    for name, counts in sorted(OUTCOMES.items()):
        print(f"  spherecodes {name}: {sum(counts.values())} ({dict(sorted(counts.items()))})")


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_cli_fuzz(command, files, monkeypatch):
    monkeypatch.chdir(files)  # relative output names land in the fuzz folder
    cmd = COMMANDS[command]
    runner = CliRunner()

    @settings(max_examples=EXAMPLES.get(command, 30), deadline=None, database=None, derandomize=not EXPLORE,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(argv=argvs(command, cmd, files))
    def run(argv):
        # every example starts from the same catalog (remove, merge and import change it)
        (files / "catalog.h5").write_bytes((files / "pristine.h5").read_bytes())
        result = runner.invoke(cli, argv, catch_exceptions=True)
        _check(command, argv, result)

    run()


def test_every_command_is_fuzzed():
    names = {" ".join(c) for c in COMMANDS}
    assert {"generate", "construct", "validate", "plot", "lookup", "export", "train"} <= names
    assert any(n.startswith("catalog ") for n in names)


# --------------------------------------------------------------------------- known defects found by the fuzzing
# In modules owned by others; strict xfail, so that each turns into a failure (remove the marker) once fixed.
@pytest.mark.parametrize("name", ["p.npz", "nodir/p.png"])
def test_regression_plot_output(files, tmp_path, name):
    result = CliRunner().invoke(cli, ["plot", str(files / "good.npz"), "--out", str(tmp_path / name)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


@pytest.mark.parametrize("name", ["p.npz", "nodir/p.png"])
def test_regression_train_plot_output(tmp_path, name):
    result = CliRunner().invoke(cli, ["train", "--epochs", "1", "--no-progress", "--plot", str(tmp_path / name)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


def test_regression_train_negative_seed():
    result = CliRunner().invoke(cli, ["train", "--epochs", "1", "--no-progress", "--seed", "-1"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


def test_regression_export_out_name(files):
    result = CliRunner().invoke(cli, ["export", str(files / "good.npz"), "--out", "", "--format", "pt"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


def test_regression_missing_choice_argument_is_one_line():
    # click lists the choices of a missing Choice argument on several lines; cli._common.Choice keeps one
    result = CliRunner().invoke(cli, ["generate", "-d", "3", "-K", "4"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error:")


# --------------------------------------------------------------------------- regressions found by the fuzzing
def test_generate_summary_of_a_stored_code_without_timing(files):
    """The catalog returns a code made elsewhere (no time_s, seed or stop reason): the summary still prints."""
    (files / "catalog.h5").write_bytes((files / "pristine.h5").read_bytes())
    result = CliRunner().invoke(cli, ["generate", "tammes", "-d", "3", "-K", "6", "--restarts", "1", "--rounds", "0",
                                      "--no-constructions", "--catalog", str(files / "catalog.h5"), "--force", "-q"])
    assert result.exit_code == 0, result.output
    assert "max_cosine" in result.output and "time" in result.output
