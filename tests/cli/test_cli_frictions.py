"""CLI: what a new user meets first (issue 15): where a code came from, options on a catalog hit, the
exit-status table, start-up without torch, keys without parameters, Ctrl-C without a checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from spherecodes.cli import SHORT_HELP, cli

FAST = ["--no-constructions", "-q"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def stored(tmp_path):
    """A catalog holding riesz d=3 K=7 made by a short search."""
    path = tmp_path / "cat.h5"
    made = invoke("generate", "riesz", "-d", 3, "-K", 7, "--seed", 1, "--restarts", 2, "--rounds", 0,
                  "--catalog", path, "--json", *FAST)
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["source"] == "solved"
    return path


def test_a_catalog_hit_says_so_with_this_calls_time(stored):
    hit = invoke("generate", "riesz", "-d", 3, "-K", 7, "--catalog", stored, "--json", *FAST)
    payload = json.loads(hit.output)
    assert payload["source"] == "catalog:user" and payload["seed"] == 1
    assert payload["time_s"] != payload["solve_time_s"] and payload["solve_time_s"] > 0
    human = invoke("generate", "riesz", "-d", 3, "-K", 7, "--catalog", stored, *FAST)
    assert "source = catalog:user: the user catalog" in human.output
    assert "no search in this call" in human.output


@pytest.mark.parametrize("option", [["--restarts", 0], ["--restarts", -5], ["--device", "cuda:7"],
                                    ["--device", "tpu"], ["--seed", -1], ["--time-budget", 0], ["--rounds", -1]])
def test_bad_options_exit_2_on_a_catalog_hit_too(stored, option):
    result = invoke("generate", "riesz", "-d", 3, "-K", 7, "--catalog", stored, *option, *FAST)
    assert result.exit_code == 2, result.output
    assert f"invalid {option[0]} " in result.output  # the flag's spelling, not the library's


def test_a_search_option_on_a_hit_searches(stored):
    result = invoke("generate", "riesz", "-d", 3, "-K", 7, "--catalog", stored, "--seed", 2, "--restarts", 2,
                    "--rounds", 0, "--json", *FAST)
    payload = json.loads(result.output)
    # searched (source solved, seed 2) unless the stored code is at least as good (then it is returned)
    assert (payload["source"], payload["seed"]) in (("solved", 2), ("catalog:user", 1))


def test_an_unusable_catalog_is_exit_2_in_every_command(tmp_path):
    bad = tmp_path / "not_a_catalog.h5"
    bad.write_text("hello")
    for args in (["generate", "riesz", "-d", 3, "-K", 7, *FAST], ["catalog", "list"], ["lookup", "riesz", "-d", 3,
                                                                                      "-K", 7]):
        result = invoke(*args, "--catalog", bad)
        assert result.exit_code == 2, (args, result.output)


def test_not_found_is_exit_1_in_every_command():
    for args in (["lookup", "riesz", "-d", 3, "-K", 9], ["export", "riesz/d=3/K=9", "--out", "x.npy"],
                 ["catalog", "show", "riesz/d=3/K=9"]):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)


def _run_without_torch(*args: str) -> str:
    """stdout of ``spherecodes ARGS`` in a fresh interpreter, then NO-TORCH or TORCH (was torch imported)."""
    code = (f"import sys; from spherecodes.cli import main; sys.argv = ['spherecodes', *{list(args)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_help_shows_the_exit_status_table_and_imports_no_torch():
    out = _run_without_torch("--help")
    assert out.strip().endswith("NO-TORCH")
    assert "Exit status (every command):" in out and "130  interrupted by Ctrl-C" in out


def test_lookup_imports_no_torch(tmp_path):
    from spherecodes import Catalog, construct

    Catalog(tmp_path / "cat.h5").put(construct("icosahedron", 3, 12))
    out = _run_without_torch("lookup", "riesz", "-d", "3", "-K", "12", "--catalog", str(tmp_path / "cat.h5"))
    assert "energy" in out and out.strip().endswith("NO-TORCH")


def test_the_short_help_table_matches_each_commands_own_help():
    for name, text in SHORT_HELP.items():
        command = cli.get_command(None, name)
        assert command.help.strip().splitlines()[0] == text, name


def test_keys_without_parameters_parse_in_export(tmp_path):
    from spherecodes import Catalog, construct

    Catalog(tmp_path / "user_catalog.h5").put(construct("icosahedron", 3, 12))
    out = tmp_path / "p.pt"
    result = invoke("export", "riesz/d=3/K=12", "--out", out)
    assert result.exit_code == 0 and "float32" in result.output, result.output


def test_a_missing_file_is_named_as_a_missing_file():
    result = invoke("export", "nosuch.npy", "--out", "x.pt")
    assert result.exit_code == 2 and "nosuch.npy: no such file" in result.output


@pytest.mark.parametrize("args,needle", [
    (["generate", "riesz", "-d", 3, "-K", 7, "--s", 1, "--param", "s=2"], "s is given twice"),
    (["generate", "riesz", "-d", 3, "-K", 7, "--no-catalog", "--checkpoint", "x.txt"], "use a name ending in .npz"),
    (["lookup", "riesz", "-d", 3, "-K", 1], "-K"),
    (["catalog", "list", "--objective", "foo"], "unknown objective 'foo'"),
])
def test_bad_input_that_used_to_pass(args, needle):
    result = invoke(*args)
    assert result.exit_code == 2 and needle in result.output, result.output


def test_construct_a_fixed_size_construction_without_d_and_K():
    result = invoke("construct", "e8", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["K"] == 240 and json.loads(result.output)["d"] == 8
    assert invoke("construct", "simplex").exit_code == 2  # a family: -d and -K are needed


def test_ctrl_c_without_a_checkpoint_says_how_to_keep_the_run(monkeypatch):
    import spherecodes.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(spherecodes.api, "generate", interrupted)
    result = invoke("generate", "riesz", "-d", 3, "-K", 7, "--no-catalog", "-q")
    assert result.exit_code == 130
    assert "--checkpoint" in result.output and "--resume" in result.output
