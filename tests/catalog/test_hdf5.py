"""spherecodes.catalog.hdf5: the one place where h5py / libhdf5 errors become CatalogError."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from spherecodes.catalog.hdf5 import H5_ERRORS, hdf5_errors, link_name, read_attrs
from spherecodes.errors import CatalogError, InvalidParameterError


@pytest.mark.parametrize("error", [OSError("unable to open object"), KeyError("points"), ValueError("bad json"),
                                   TypeError("bytes"), RuntimeError("h5 error"), OverflowError("size"),
                                   MemoryError(), InvalidParameterError("K", -1, "damaged metadata")])
def test_damage_becomes_one_catalog_error_naming_what_and_the_fix(error):
    with pytest.raises(CatalogError) as info:
        with hdf5_errors("entry k in /x/c.h5 is unreadable", "; run `spherecodes catalog verify`"):
            raise error
    text = str(info.value)
    assert text.startswith(f"entry k in /x/c.h5 is unreadable ({type(error).__name__}: ")
    assert text.endswith("; run `spherecodes catalog verify`")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_catalog_error_passes_unchanged_and_a_bug_is_not_called_damage():
    original = CatalogError("entry k is corrupted")
    with pytest.raises(CatalogError) as info:
        with hdf5_errors("never used"):
            raise original
    assert info.value is original

    class Bug(Exception):
        pass

    assert not issubclass(Bug, H5_ERRORS)
    with pytest.raises(Bug):
        with hdf5_errors("never used"):
            raise Bug("a programming error")


def test_read_attrs_and_link_names(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        g = f.create_group("g")
        g.attrs["s"] = "text"
        g.attrs["n"] = np.int64(3)
        g.attrs["v"] = np.arange(3.0)
        attrs = read_attrs(g)
    assert attrs["s"] in (b"text", "text") and attrs["n"] == 3 and np.array_equal(attrs["v"], np.arange(3.0))
    assert link_name(b"d=\xff") == "d=\\xff" and link_name("K=3") == "K=3"
