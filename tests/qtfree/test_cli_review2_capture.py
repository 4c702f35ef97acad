"""The CLI review's fixes to captures, screenshots and ``incidents --ack``: ``capture export``
inside an opened capture is refused (it wrote an all-clear capture of the wall clock's last
day); ``--screenshot`` replaces an existing file only with ``--force``, and never the capture
being shown; ``incidents --ack`` refuses a viewer, or an id that is not there, before it polls
every cluster (minutes with one endpoint that never answers)."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from aiops_desktop.models.errors import (
    EXIT_EXISTS,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    AlreadyExistsError,
    UsageError,
)
from aiops_desktop.qt_boot import checked_screenshot
from aiops_desktop.services.intelligence.incidents import IncidentService
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.settings import resolve_paths, resources_dir
from tests.qtfree.cli_runner import call_main, run_cli
from tests.servers.processes import free_port

NOTES = "# last night: 3 open tickets\n"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A copy of the sample capture (the sample itself is never handed to a command)."""
    copy = tmp_path / "site-east.aiops"
    shutil.copyfile(resources_dir() / "samples" / "sample.aiops", copy)
    return copy


# -- 1: `capture export` inside a capture --------------------------------------------------------


def test_capture_export_inside_a_capture_is_refused_and_writes_nothing(
    tmp_path: Path, capture: Path
) -> None:
    before = capture.read_bytes()
    out = tmp_path / "again.aiops"
    code, printed, err = call_main(tmp_path / "home", "--capture", str(capture),
                                   "capture", "export", "--clusters", "ran-hub",
                                   "--out", str(out))  # fmt: skip
    assert code == EXIT_USAGE, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("aiops-desktop: error: ") and "copying its file" in last, last
    assert printed == "" and not out.exists()
    assert capture.read_bytes() == before


def test_the_export_service_refuses_an_opened_capture(tmp_path: Path, capture: Path) -> None:
    from aiops_desktop.services.outputs.capture import export_capture, open_capture

    core = open_capture(capture)
    out = tmp_path / "again.aiops"

    async def export() -> None:
        try:
            await core.registry.load()
            await export_capture(core, out, clusters=["ran-hub"], since=timedelta(hours=2))
        finally:
            await core.shutdown()

    with pytest.raises(UsageError, match="copying its file"):
        asyncio.run(export())  # (its shutdown closes it)
    assert not out.exists()


# -- 2: `--screenshot` over an existing file -----------------------------------------------------


def test_a_screenshot_over_an_existing_file_needs_force(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "home")
    notes = tmp_path / "handover-notes.md"
    notes.write_text(NOTES)
    with pytest.raises(AlreadyExistsError, match="already exists: give --force to replace it"):
        checked_screenshot(notes, paths)
    assert checked_screenshot(notes, paths, force=True) == notes.resolve()
    empty = tmp_path / "made-by-mktemp.png"
    empty.touch()  # nothing in it to lose
    assert checked_screenshot(empty, paths) == empty.resolve()
    assert checked_screenshot(tmp_path / "new.png", paths) == tmp_path / "new.png"
    assert notes.read_text() == NOTES


def test_a_screenshot_over_the_capture_shown_is_refused_even_with_force(
    tmp_path: Path, capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = resolve_paths(tmp_path / "home")
    monkeypatch.chdir(tmp_path)
    linked = tmp_path / "hard-link.aiops"
    os.link(capture, linked)
    for spelled in (capture, Path("site-east.aiops"), tmp_path / "." / "site-east.aiops", linked):
        with pytest.raises(UsageError, match="is the capture being shown"):
            checked_screenshot(spelled, paths, force=True, capture=Path("site-east.aiops"))
    assert checked_screenshot(tmp_path / "other.png", paths, capture=capture)


@pytest.mark.slow
def test_the_window_refuses_a_screenshot_over_a_file_and_writes_nothing(
    tmp_path: Path, capture: Path
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    notes = tmp_path / "handover-notes.md"
    notes.write_text(NOTES)
    before = capture.read_bytes()
    for target, code, said in (
        (notes, EXIT_EXISTS, f"{notes.resolve()} already exists: give --force to replace it"),
        (capture, EXIT_USAGE, "is the capture being shown"),
    ):
        done = run_cli(tmp_path / "home", env, "--capture", str(capture), "--offscreen",
                       "--screenshot", str(target), "--view", "fleet", timeout=120)  # fmt: skip
        errors = [line for line in done.stderr.splitlines() if "aiops-desktop: error:" in line]
        assert done.returncode == code, done.stderr
        assert len(errors) == 1 and "cannot write the screenshot" in errors[0], done.stderr
        assert said in errors[0], errors[0]
        assert "Traceback" not in done.stderr
    assert notes.read_text() == NOTES and capture.read_bytes() == before
    for target, code in ((capture, EXIT_USAGE), (notes, 0)):  # --force: never the capture
        done = run_cli(tmp_path / "home", env, "--capture", str(capture), "--offscreen",
                       "--screenshot", str(target), "--force", timeout=120)  # fmt: skip
        assert done.returncode == code, done.stderr
    assert capture.read_bytes() == before and notes.read_bytes().startswith(b"\x89PNG")


# -- 3: `incidents --ack` refused before the poll ------------------------------------------------


@pytest.fixture
def no_poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A registered cluster, and what of the poll and the grouping was run (nothing may be)."""
    code, _, err = call_main(tmp_path, "clusters", "add", "dark-1", "--prometheus-url",
                             f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert code == 0, err
    ran: list[str] = []

    async def poll_once(self: Poller, *args: object, **kwargs: object) -> list[object]:
        ran.append("poll")
        return []

    async def regroup(self: IncidentService, *args: object, **kwargs: object) -> None:
        ran.append("regroup")

    monkeypatch.setattr(Poller, "poll_once", poll_once)
    monkeypatch.setattr(IncidentService, "regroup", regroup)
    return ran


def test_a_viewer_ack_is_refused_before_any_poll(tmp_path: Path, no_poll: list[str]) -> None:
    code, printed, err = call_main(tmp_path, "--role", "viewer", "incidents", "--ack",
                                   "INC-20261204-205144-44416e")  # fmt: skip
    assert code == EXIT_USAGE, err
    assert "the viewer role may not acknowledge incidents" in err
    assert printed == "" and no_poll == []


def test_an_ack_of_an_unknown_incident_is_refused_before_any_poll(
    tmp_path: Path, no_poll: list[str]
) -> None:
    code, printed, err = call_main(tmp_path, "incidents", "--ack", "INC-does-not-exist")
    assert code == EXIT_NOT_FOUND, err
    assert "no incident 'INC-does-not-exist'" in err
    assert printed == "" and no_poll == []
    # without --ack the list is grouped from a poll as before
    code, _, err = call_main(tmp_path, "incidents")
    assert no_poll == ["poll", "regroup"], err


def test_a_report_over_the_capture_shown_is_refused_even_with_force(
    tmp_path: Path, capture: Path
) -> None:
    """`report --out` takes --force to replace a file, but never the capture it reads (here
    by a hard link of a report's name)."""
    before = capture.read_bytes()
    linked = tmp_path / "handover.md"
    os.link(capture, linked)
    code, _out, err = call_main(tmp_path / "home", "--capture", str(capture), "report",
                                "--out", str(linked), "--force")  # fmt: skip
    assert code == EXIT_USAGE and "is the capture being shown" in err, err
    assert capture.read_bytes() == before
