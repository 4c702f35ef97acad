"""A data folder or a window size the app cannot use is a usage error (exit 2) with one line
that says so, never a traceback, and a size is bounded (a 40000x40000 screenshot took 89 s
and 12.6 GB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_desktop.models.errors import UsageError
from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import call_main


def test_a_data_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    for home, said in ((afile, "is not a folder"), (afile / "sub", "cannot make the folder")):
        with pytest.raises(UsageError, match=said):
            resolve_paths(home).ensure()
        code, out, err = call_main(home, "fleet")
        assert code == 2 and out == "", err
        assert err.startswith("aiops-desktop: error: ") and err.count("\n") == 1, err
        assert said in err and "Traceback" not in err


@pytest.mark.parametrize("size", ["40000x40000", "99999999x99999999", "7681x1080", "1920x4321"])
def test_a_window_size_beyond_8k_is_a_usage_error(tmp_path: Path, size: str) -> None:
    code, _, err = call_main(tmp_path / "home", "--size", size, "fleet")
    assert code == 2 and "at most 7680x4320" in err, err
    assert "Traceback" not in err
