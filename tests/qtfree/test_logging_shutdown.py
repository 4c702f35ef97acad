"""The log's last lines that cannot be written (a full disk) cost those lines, not the
command's answer: the traceback had hidden the message saying the disk was full."""

from __future__ import annotations

import logging

import pytest

from aiops_desktop.logs import shutdown_logging


class _FullDisk(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass

    def close(self) -> None:
        super().close()
        raise OSError(28, "No space left on device")


def test_a_handler_that_cannot_flush_is_said_and_removed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger("aiops")
    kept = list(root.handlers)
    full = _FullDisk()
    root.addHandler(full)
    try:
        shutdown_logging()
    finally:
        for handler in kept:
            root.addHandler(handler)
    assert full not in root.handlers
    assert (
        "the log could not be written: [Errno 28] No space left on device"
        in capsys.readouterr().err
    )
