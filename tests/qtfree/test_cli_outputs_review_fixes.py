"""What ``report --out`` and ``capture export --out`` write, and what they say: a write that
fails (a full disk, a folder nothing can be written in) is one line naming the file, exit 1,
and leaves no part-written file; a symbolic link is refused, not followed; an existing file is
replaced only where it is one the app wrote (a capture: a capture) or with ``report --force``;
and a report some of whose sources could not be read says which on stderr and exits 3."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.errors import EXIT_ERROR, EXIT_EXISTS, EXIT_PARTIAL, EXIT_USAGE
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import SQLITE_MAGIC
from tests.qtfree.cli_runner import add_unreachable, call_main, run_cli

SAMPLE = resources_dir() / "samples" / "sample.aiops"
KUBECONFIG = "apiVersion: v1\nkind: Config\n# precious\n"


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _last_line(err: str) -> str:
    return err.strip().splitlines()[-1] if err.strip() else ""


def _live(tmp_path: Path) -> Path:
    """A cache with ``ran-hub`` registered (its Prometheus unreachable): what ``capture
    export`` writes from (inside an opened capture it is refused)."""
    home = tmp_path / "home"
    add_unreachable(home, _env(), "ran-hub")
    return home


# --- a write that fails -------------------------------------------------------------------


#: the CLI in a subprocess whose writes into one folder fail half-way with "No space left on
#: device", as on a full disk (the report's writers write through Path.write_text)
FULL_DISK = textwrap.dedent("""
    import errno, pathlib, sys
    full = pathlib.Path(sys.argv[1])
    real = pathlib.Path.write_text
    def write_text(self, data, *args, **kwargs):
        if full in self.parents:  # the report's file, made in a folder of its own there
            real(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *args, **kwargs)
    pathlib.Path.write_text = write_text
    from aiops_desktop.cli import main
    raise SystemExit(main(sys.argv[2:]))
""")


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          env=_env(), timeout=180, check=False)  # fmt: skip


def test_a_report_on_a_full_disk_is_one_line_and_leaves_no_part_written_file(
    tmp_path: Path,
) -> None:
    full = tmp_path / "full"
    full.mkdir()
    out = full / "handover.md"
    done = _python(FULL_DISK, str(full), "--data-dir", str(tmp_path / "home"),
                   "--capture", str(SAMPLE), "report", "--out", str(out))  # fmt: skip
    assert done.returncode == EXIT_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    assert _last_line(done.stderr) == (
        f"aiops-desktop: error: could not write {out}: No space left on device"
    )
    assert list(full.iterdir()) == []  # neither the half-written report nor a partial file


def test_a_report_into_a_folder_nothing_can_be_written_in_is_one_line(tmp_path: Path) -> None:
    """/proc/self: a folder no file can be made in, whoever runs it (root included)."""
    for name in ("r.md", "r.pdf"):
        done = run_cli(tmp_path / "home", _env(), "--capture", str(SAMPLE), "report",
                       "--out", f"/proc/self/{name}", timeout=180)  # fmt: skip
        assert done.returncode == EXIT_ERROR, done.stderr
        assert "Traceback" not in done.stderr
        last = _last_line(done.stderr)
        assert last.startswith("aiops-desktop: error: could not write /proc/"), last
        assert last.endswith(f"/{name}: No such file or directory"), last


def test_a_capture_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    code, _, err = call_main(_live(tmp_path), "capture", "export",
                             "--clusters", "ran-hub", "--out", "/proc/self/x.aiops")  # fmt: skip
    assert code == EXIT_ERROR, err
    last = _last_line(err)
    assert last.startswith("aiops-desktop: error: could not write the capture /proc/"), last
    assert last.endswith("/x.aiops: No such file or directory"), last


def test_a_capture_on_a_full_disk_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills as SQLite sets up the new file (WAL: its side files made too)."""
    from aiops_desktop.store import capture

    real = capture.connect

    def full_disk(path: Path) -> sqlite3.Connection:
        real(path).close()  # the file and its side files are there
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(capture, "connect", full_disk)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.aiops"
    code, _, err = call_main(_live(tmp_path), "capture", "export",
                             "--clusters", "ran-hub", "--out", str(out))  # fmt: skip
    assert code == EXIT_ERROR, err
    assert _last_line(err) == (
        f"aiops-desktop: error: could not write the capture {out}: database or disk is full"
    )
    assert list(folder.iterdir()) == []


# --- a symbolic link, an existing file -----------------------------------------------------


def test_a_report_to_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(KUBECONFIG)
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n")
    (tmp_path / "today.md").symlink_to(config)  # no report suffix behind it
    (tmp_path / "shift.pdf").symlink_to(notes)  # another format's behind it
    for link in ("today.md", "shift.pdf"):
        done = run_cli(tmp_path / "home", _env(), "--capture", str(SAMPLE), "report",
                       "--out", str(tmp_path / link), timeout=180)  # fmt: skip
        assert done.returncode == EXIT_USAGE, done.stderr
        assert "Traceback" not in done.stderr
        assert f"{tmp_path / link} is a symbolic link" in _last_line(done.stderr)
        assert (tmp_path / link).is_symlink()
    assert config.read_text() == KUBECONFIG and notes.read_text() == "my notes\n"


def test_a_capture_to_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.aiops"
    link = tmp_path / "x.aiops"
    link.symlink_to(target)
    code, _, err = call_main(_live(tmp_path), "capture", "export",
                             "--clusters", "ran-hub", "--out", str(link))  # fmt: skip
    assert code == EXIT_USAGE and f"{link} is a symbolic link" in err, err
    assert not target.exists() and link.is_symlink()


def test_a_capture_replaces_a_capture_and_nothing_else(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG)
    home = _live(tmp_path)
    code, _, err = call_main(home, "capture", "export",
                             "--clusters", "ran-hub", "--out", str(kubeconfig))  # fmt: skip
    assert code == EXIT_EXISTS, err
    assert f"{kubeconfig} already exists and is not a capture" in _last_line(err)
    assert kubeconfig.read_text() == KUBECONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "home"]  # no partial file
    other = tmp_path / "other.db"  # an SQLite file, not a capture: not replaced either
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    before = other.read_bytes()
    code, _, err = call_main(home, "capture", "export",
                             "--clusters", "ran-hub", "--out", str(other))  # fmt: skip
    assert code == EXIT_EXISTS and other.read_bytes() == before, err
    out = tmp_path / "site.aiops"
    for _ in range(2):  # the second replaces the first: a capture
        code, _, err = call_main(home, "capture", "export",
                                 "--clusters", "ran-hub", "--out", str(out))  # fmt: skip
        assert code == EXIT_PARTIAL, err  # written: it holds no samples (said, exit 3)
        assert out.read_bytes()[: len(SQLITE_MAGIC)] == SQLITE_MAGIC
    empty = tmp_path / "made-by-mktemp"
    empty.touch()  # nothing in it to lose
    code, _, err = call_main(home, "capture", "export",
                             "--clusters", "ran-hub", "--out", str(empty))  # fmt: skip
    assert code == EXIT_PARTIAL, err


def test_a_report_replaces_an_existing_file_only_with_force(tmp_path: Path) -> None:
    existing = tmp_path / "handover.md"
    existing.write_text("# last night's handover, hand-edited\n")
    args = ("--capture", str(SAMPLE), "report", "--out", str(existing))
    home = tmp_path / "home"
    done = run_cli(home, _env(), *args, timeout=180)
    assert done.returncode == EXIT_EXISTS, done.stderr
    assert _last_line(done.stderr) == (
        f"aiops-desktop: error: {existing} already exists: give --force to replace it"
    )
    assert existing.read_text() == "# last night's handover, hand-edited\n"
    done = run_cli(home, _env(), *args, "--force", timeout=180)
    assert done.returncode == 0, done.stderr
    assert existing.read_text().startswith("# Shift handover")


# --- a report whose sources could not be read ------------------------------------------------


def test_a_report_whose_sources_could_not_be_read_says_which_and_exits_3(
    tmp_path: Path,
    secret_service: Any,
) -> None:
    env, home = {**secret_service.env, "QT_QPA_PLATFORM": "offscreen"}, tmp_path / "home"
    add_unreachable(home, env, "dark-9")
    out = tmp_path / "handover.md"
    done = run_cli(home, env, "report", "--out", str(out), timeout=180)
    assert done.returncode == EXIT_PARTIAL, done.stderr
    assert done.stdout.startswith(f"wrote {out} ")  # written all the same
    unread = [line for line in done.stderr.splitlines() if line.startswith("unread: ")]
    assert unread and all(line.startswith("unread: dark-9: ") for line in unread), done.stderr
    assert "unreachable" in done.stderr
    assert _last_line(done.stderr).endswith("could not be read: the report shows them as not read")
    assert "not read" in out.read_text()


def test_a_report_with_every_source_read_exits_0(tmp_path: Path) -> None:
    """The sample capture's recorded answers: all there is to read of it, read."""
    out = tmp_path / "handover.md"
    done = run_cli(tmp_path / "home", _env(), "--capture", str(SAMPLE), "report",
                   "--out", str(out), timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "unread" not in done.stderr
