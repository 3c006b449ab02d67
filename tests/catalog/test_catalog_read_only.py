"""Catalogs on paths that really cannot be written: reads work, writes raise CatalogError saying so.

The tests run as root, for whom chmod alone does not make a directory read-only. Two real
mechanisms are used instead, each in a child interpreter (a few seconds: it imports torch):

* ``setpriv --bounding-set=-dac_override,-dac_read_search``: root without the capabilities that
  bypass file permissions, on a catalog in a directory of mode 0555 (the kernel refuses with EACCES);
* ``unshare -m`` + ``mount --bind -o ro``: the catalog's directory bind-mounted read-only in a
  private mount namespace (the kernel refuses with EROFS).

Each test is skipped when its tool or privilege is missing. For a non-root user the chmod
alone suffices and the child runs directly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spherecodes.catalog import Catalog
from spherecodes.code import Code

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from click.testing import CliRunner
    import spherecodes.catalog.store as store
    from spherecodes.catalog import Catalog, lookup, store_code
    from spherecodes.cli.catalog import command as catalog_cmd
    from spherecodes.code import Code
    from spherecodes.errors import CatalogError

    path, key = sys.argv[1], sys.argv[2]
    out = {}
    cat = Catalog(path, "a")
    out["writable"] = cat.writable
    out["reason"] = cat.read_only_reason()
    out["get"] = cat.get(key).points.tolist()
    out["lookup"] = lookup("riesz", 3, 5, catalog=path).points.tolist()
    out["list"] = [e.key for e in cat.list()]
    out["verify_ok"] = cat.verify().ok
    x = np.random.default_rng(7).standard_normal((6, 3))
    code = Code(points=x / np.linalg.norm(x, axis=1, keepdims=True), objective="riesz")

    def attempt():
        try:
            return "no error: " + cat.put(code)
        except CatalogError as exc:
            return type(exc).__name__ + ": " + str(exc)
        except BaseException as exc:
            return "RAW " + type(exc).__name__ + ": " + str(exc)

    out["put"] = attempt()
    # without the up-front permission check the write reaches the kernel, which must refuse it
    store.read_only_reason = lambda p: ""
    out["put_forced"] = attempt()
    out["store_code_returns_it"] = store_code(code, path) is code
    res = CliRunner().invoke(catalog_cmd, ["remove", key, "--catalog", path])
    out["cli_remove"] = [res.exit_code, res.output]
    res = CliRunner().invoke(catalog_cmd, ["show", key, "--catalog", path])
    out["cli_show"] = [res.exit_code, res.output]
    print("RESULT " + json.dumps(out))
""")

MOUNT_FAILED = 97


@pytest.fixture
def ro_setup(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "c.h5"
    x = np.random.default_rng(3).standard_normal((5, 3))
    code = Code(points=x / np.linalg.norm(x, axis=1, keepdims=True), objective="riesz")
    key = Catalog(path).put(code).key
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    yield folder, path, key, code, script
    os.chmod(folder, 0o755)


def _run(cmd, folder):
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", SPHERECODES_CATALOG=str(folder / "c.h5"))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def _check(proc, path, key, code, before, reason_word, errno_word):
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    out = json.loads(lines[0][len("RESULT "):])
    assert out["writable"] is False and reason_word in out["reason"]
    assert np.array_equal(np.array(out["get"]), code.points)
    assert np.array_equal(np.array(out["lookup"]), code.points)
    assert out["list"] == [key] and out["verify_ok"] is True
    assert out["put"].startswith("ReadOnlyCatalogError: ") and "read-only" in out["put"]
    # the kernel's refusal, converted: no raw OSError / PermissionError
    assert out["put_forced"].startswith("ReadOnlyCatalogError: ") and errno_word in out["put_forced"]
    assert out["store_code_returns_it"] is True
    exit_code, text = out["cli_remove"]
    assert exit_code == 2 and "read-only" in text and "Traceback" not in text
    exit_code, text = out["cli_show"]
    assert exit_code == 0 and key in text
    assert path.read_bytes() == before
    assert Catalog(path, "r").keys() == [key]


@pytest.mark.slow  # a fresh interpreter imports torch: seconds
def test_read_only_directory_without_dac_override(ro_setup):
    folder, path, key, code, script = ro_setup
    before = path.read_bytes()
    os.chmod(folder, 0o555)
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is not installed")
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, str(script)]
    else:
        cmd = [sys.executable, str(script)]
    proc = _run([*cmd, str(path), key], folder)
    if "setpriv:" in proc.stderr and proc.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {proc.stderr.strip()}")
    _check(proc, path, key, code, before, "directory", "Permission denied")


@pytest.mark.slow  # a fresh interpreter imports torch: seconds
def test_read_only_bind_mount(ro_setup):
    folder, path, key, code, script = ro_setup
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare/mount are not installed")
    before = path.read_bytes()
    shell = f'mount --bind -o ro "$1" "$1" || exit {MOUNT_FAILED}; shift; exec "$@"'
    proc = _run(["unshare", "-m", "sh", "-c", shell, "sh", str(folder), sys.executable, str(script), str(path), key],
                folder)
    if proc.returncode == MOUNT_FAILED or (proc.returncode != 0 and "unshare:" in proc.stderr):
        pytest.skip(f"no private read-only bind mount here: {proc.stderr.strip()}")
    _check(proc, path, key, code, before, "read-only file system", "Read-only file system")
