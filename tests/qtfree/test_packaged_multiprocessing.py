"""The packaged app's launcher is sys.executable and hands every argument to the app's
CLI: multiprocessing's own children (the detection process and its resource tracker) are
started with it and ``-c CODE``. The app runs exactly those as Python would, and nothing
else as code."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from aiops_desktop.__main__ import multiprocessing_code

REPO = Path(__file__).resolve().parents[2]
SPAWN = "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=12, pipe_handle=16)"
WINDOWS = "from multiprocessing.spawn import spawn_main; spawn_main(parent_pid=4, pipe_handle=9)"
TRACKER = "from multiprocessing.resource_tracker import main;main(11)"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-S", "-I", "-c", SPAWN, "--multiprocessing-fork"], (SPAWN, ["--multiprocessing-fork"])),
        (["-c", SPAWN, "--multiprocessing-fork"], (SPAWN, ["--multiprocessing-fork"])),
        (
            ["-OO", "-B", "-S", "-I", "-Werror", "-X", "utf8", "-c",
             WINDOWS, "--multiprocessing-fork"],
            (WINDOWS, ["--multiprocessing-fork"]),
        ),
        (["-S", "-I", "-c", TRACKER], (TRACKER, [])),
    ],
)  # fmt: skip
def test_multiprocessings_own_command_lines_are_its_code(
    argv: list[str], expected: tuple[str, list[str]]
) -> None:
    assert multiprocessing_code(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fleet"],
        ["capture", "open", "-c"],
        ["-c", "import os; os.system('id')"],
        ["-c", SPAWN + "; import os"],
        ["-c", "from multiprocessing.spawn import spawn_main; spawn_main(pipe_handle=os.getpid())",
         "--multiprocessing-fork"],
        ["-c", SPAWN],  # the spawn form always says it forks
        ["-c", SPAWN, "--multiprocessing-fork", "extra"],
        ["-c", TRACKER, "--multiprocessing-fork"],
        ["-c", TRACKER + "\nimport os"],
        ["--data-dir", "/srv/noc", "-c", TRACKER],
        ["fleet", "-c", TRACKER],
        ["-c"],
    ],
)  # fmt: skip
def test_anything_else_is_the_apps_arguments(argv: list[str]) -> None:
    assert multiprocessing_code(argv) is None


#: the packaged launcher, stood in for: an isolated Python without site (its flags) that
#: runs aiops_desktop with every argument it was given as the app's
BOOT = (
    "import sys; sys.path[:0] = [{repo!r}, {site!r}]; import runpy; "
    "runpy._run_module_as_main('aiops_desktop')"
)
PROBE = (
    "import sys; sys.path[:0] = [{repo!r}, {site!r}]; sys.executable = {launcher!r}\n"
    "import asyncio, os\n"
    "from aiops_desktop.services.intelligence.detect_worker import DetectWorker\n"
    "async def main():\n"
    "    worker = DetectWorker(isolated=True)\n"
    "    pid = await worker.run(os.getpid)\n"
    "    print(pid != os.getpid(), worker.generation)\n"
    "    worker.close()\n"
    "asyncio.run(main())\n"
)


def test_the_packaged_app_runs_detection_in_a_process(tmp_path: Path) -> None:
    site = sysconfig.get_paths()["purelib"]
    launcher = tmp_path / "aiops-desktop"
    boot = BOOT.format(repo=str(REPO), site=site)
    launcher.write_text(f'#!/bin/sh\nexec \'{sys.executable}\' -I -S -c "{boot}" "$@"\n')
    launcher.chmod(0o755)
    probe = PROBE.format(repo=str(REPO), site=site, launcher=str(launcher))
    env = {**os.environ, "AIOPS_DESKTOP_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=120,
        env=env, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["True", "0"], done.stderr
