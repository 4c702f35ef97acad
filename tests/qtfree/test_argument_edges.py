"""Arguments at their edges get a usage error (exit 2) that says what is wanted, never a
traceback (issue 14, item 10); a closed or broken stdout ends a command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.qtfree.cli_runner import call_main

EDGES = [
    (["query", "up", "--range", "infs"], "must be a positive number of s"),
    (["query", "up", "--range", "nanh"], "must be a positive number of h"),
    (["query", "up", "--range", "1e400s"], "must be a positive number of s"),
    (["query", "up", "--range=-1h"], "must be a positive number of h"),
    (["query", "up", "--step", "0.0000001s"], "at least 1 ms"),
    (["query", "up", "--timeout", "0"], "more than 0 and at most 300 seconds"),
    (["query", "up", "--timeout", "inf"], "more than 0 and at most 300 seconds"),
    (["query", "up", "--timeout", "soon"], "not a number"),
    (["query", ""], "an empty query"),
    (["query", "   "], "an empty query"),
    (["query", "x" * 20_000], "a query of 20,000 characters; at most 16,384"),
    (["analyse", "--query", "up", "--since", "infd"], "must be a positive number of d"),
    (["report", "--since", "1e300s"], "at most 400d"),
    (["capture", "export", "--clusters", "a", "--out", "x", "--since", "1000000d"],
     "at most 400d"),
    (["ptp", "--until", "1e20"], "a time between 1970 and 2100"),
    (["ptp", "--until", "0001-01-01"], "a time between 1970 and 2100"),
    (["ptp", "--until", "nan"], "a time between 1970 and 2100"),
    (["ptp", "--until", "yesterday"], "use e.g. 2026-11-27T06:00:00Z"),
    (["ptp", "--threshold-ns", "nan"], "more than 0 and at most 1e+09 ns"),
    (["ptp", "--threshold-ns", "-5"], "more than 0 and at most 1e+09 ns"),
    (["wall", "--rotate", "0"], "more than 1 and at most 3600 seconds"),
    (["clusters", "add", "ca-1", "--api-url", "https://a.example", "--ca-file", "{binary}"],
     "is not text (a binary file?)"),
    (["clusters", "add", "ca-1", "--api-url", "https://a.example", "--ca-file", "/dev/zero"],
     "is not a regular file"),
    (["clusters", "add", "tk-1", "--prometheus-url", "https://p.example", "--token-file",
      "/dev/urandom"], "is not a regular file"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "said"), EDGES, ids=[" ".join(a)[:40] for a, _ in EDGES])
def test_an_argument_at_its_edge_is_a_usage_error(
    tmp_path: Path, args: list[str], said: str
) -> None:
    binary = tmp_path / "ca.pem"
    binary.write_bytes(b"\x00\xff\xfe\x80" * 64)
    args = [a.replace("{binary}", str(binary)) for a in args]
    code, _, err = call_main(tmp_path / "home", *args)
    assert code == 2 and said in err, err
    assert "Traceback" not in err


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "aiops_desktop", *args]


def test_a_closed_or_broken_stdout_ends_quietly(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("pipe-1", "pipe-2"):
        added = subprocess.run(
            _command("--data-dir", home, "clusters", "add", name, "--prometheus-url", "https://p.x"),
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    closed = subprocess.run(  # `>&-`: the command runs, and its answer goes nowhere
        ["sh", "-c", '"$@" >&-', "sh", *_command("--data-dir", home, "clusters", "list")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert closed.returncode == 0 and closed.stderr == "", closed.stderr
    broken = subprocess.Popen(  # `| head -0`: the reader is gone before the answer
        _command("--data-dir", home, "clusters", "list"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert broken.stdout is not None and broken.stderr is not None
    broken.stdout.close()
    err = broken.stderr.read().decode()
    broken.stderr.close()
    assert broken.wait(60) == 1 and err == "", err
