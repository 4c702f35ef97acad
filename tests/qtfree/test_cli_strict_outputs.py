"""A capture that holds no samples says so and does not exit 0: an empty capture handed to
the next shift looks like a quiet night."""

from __future__ import annotations

import json
import os
from pathlib import Path

from aiops_desktop.models.errors import EXIT_PARTIAL
from tests.qtfree.cli_runner import add_unreachable, call_main


def test_a_capture_without_samples_says_so_and_exits_partial(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    add_unreachable(home, env, "dark-9")
    out = tmp_path / "night.aiops"
    code, printed, err = call_main(home, "capture", "export", "--clusters", "dark-9",
                                   "--since", "1h", "--out", str(out), "--json")  # fmt: skip
    assert code == EXIT_PARTIAL, err
    assert out.exists()  # written all the same: its events and health may matter
    assert json.loads(printed)["counts"]["chunks"] == 0
    assert "holds no samples" in err and "dark-9" in err, err
