"""The store's own errors, each with a message a person can act on."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from aiops_desktop.models.errors import AppError


class StoreError(AppError):
    """Base of the store's errors."""


#: what each table copied out of a damaged cache is, said to the person (``kept``'s keys)
KEPT_TABLES = {
    "clusters": "registered clusters",
    "credential_keys": "keyring records",
    "incidents": "incidents",
    "saved_queries": "saved queries",
    "chat_sessions": "chat sessions",
    "query_history": "query history entries",
}


class StoreCorruptError(StoreError):
    """The cache file was unreadable; it was moved aside (never deleted) and a new one made,
    with what still read in it copied over: ``kept`` (rows copied, by table), ``unread`` (the
    tables that failed to read, and why), ``left_out`` (damaged rows not copied, by table)."""

    def __init__(
        self,
        path: Path,
        backup: Path,
        reason: str,
        *,
        kept: Mapping[str, int] | None = None,
        unread: Mapping[str, str] | None = None,
        left_out: Mapping[str, int] | None = None,
    ) -> None:
        self.path = path
        self.backup = backup
        self.reason = reason
        self.kept = dict(kept or {})
        self.unread = dict(unread or {})
        self.left_out = dict(left_out or {})
        said = [f"The cache file {path} was damaged ({reason}). It was moved to {backup} and a "
                "new cache was created"]  # fmt: skip
        if self.kept:
            copied = ", ".join(f"{_name(t)}: {n}" for t, n in self.kept.items())
            damaged = ", ".join(f"{_name(t)} {n}" for t, n in self.left_out.items())
            said.append(f" with what still read in it ({copied}")
            said.append(f"; damaged rows left out: {damaged})" if damaged else ")")
            said.append("; its metric history, health checks, anomalies and alerts start empty")
        else:
            said.append("; nothing in it could be read, and it starts empty")
        for table, why in self.unread.items():
            said.append(f". The {_name(table)} could not be read ({why})")
        if "clusters" not in self.kept:  # (a damaged row left out: unread before it, too)
            said.append("; registered clusters must be added again")
        super().__init__("".join(said) + ".")


def _name(table: str) -> str:
    return KEPT_TABLES.get(table, table)


class StoreTooNewError(StoreError):
    """The file was written by a newer version of the app; it is left untouched."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"The cache file {path} has schema version {found}, newer than this app supports "
            f"({supported}). It was not changed. Upgrade AIOps Desktop, or start with another "
            "data directory (--data-dir)."
        )


class StoreClosedError(StoreError):
    """A write was submitted after the store was closed."""


class StoreForeignError(StoreError):
    """The file is an SQLite database of something else; it is left untouched."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path} is an SQLite database but not an AIOps Desktop cache; it was not changed. "
            "Start with another data directory (--data-dir)."
        )


class StoreBusyError(StoreError):
    """Another program held the cache's lock for longer than we wait; the file is left as is."""

    def __init__(self, path: Path, waited_s: float, reason: str) -> None:
        self.path = path
        self.waited_s = waited_s
        self.reason = reason
        super().__init__(
            f"The cache file {path} is in use by another program (another AIOps Desktop window "
            f"or command, or a tool that holds it open) and stayed locked for {waited_s:g} s "
            f"({reason}). It was not changed. Close the other program and try again, or start "
            "with another data directory (--data-dir)."
        )


class StoreDamagedBusyError(StoreBusyError):
    """The cache file is damaged, and open in another window or command: it is not moved aside
    from under it (that one would go on writing into the moved file, its writes lost to the
    new cache); it is left as it is."""

    def __init__(self, path: Path, waited_s: float, reason: str) -> None:
        self.path = path
        self.waited_s = waited_s
        self.reason = reason
        StoreError.__init__(
            self,
            f"The cache file {path} is damaged ({reason}), and open in another AIOps Desktop "
            "window or command. It was not changed. Close it first and start again: the damaged "
            "file is then moved aside and a new cache made with what still reads in it.",
        )


class StoreUnavailableError(StoreError):
    """The cache file cannot be opened (permissions, a read-only or failing disk); it is left
    where it is, never moved aside as damaged."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"The cache file {path} cannot be opened ({reason}). It was not changed. Check that "
            "it and its folder can be read and written by this user and that the disk is "
            "healthy, or start with another data directory (--data-dir)."
        )


class StoreDamagedUnavailableError(StoreUnavailableError):
    """The cache file is damaged, and a new cache could not be made in its place (a full disk,
    a folder that cannot be written): the damaged file was put back where it was, so that the
    next start moves it aside again and keeps what still reads in it. ``left_at``: where it
    is now, the backup where putting it back failed too (said, for a person to move back)."""

    def __init__(self, path: Path, problem: str, reason: str, left_at: Path) -> None:
        self.path = path
        self.problem = problem
        self.reason = reason
        self.left_at = left_at
        if left_at == path:
            where = ("It was left as it was: start again once that is fixed, and a new cache is "
                     "made with what still reads in it")  # fmt: skip
        else:
            where = (f"It was moved to {left_at} and could not be put back: move it (with its "
                     f"-wal file) back to {path} by hand, replacing what is there, before "
                     "starting again, or what still reads in it is not kept")  # fmt: skip
        StoreError.__init__(
            self,
            f"The cache file {path} is damaged ({problem}), and a new cache could not be made "
            f"in its place ({reason}). {where}. Check that the disk has free space and that "
            "the folder can be written by this user, or start with another data directory "
            "(--data-dir).",
        )


class StoreWriteError(StoreError):
    """A write could not be saved: the disk is full, the file became read-only, another
    program held the lock too long, or the disk failed. Nothing of it was kept; the cache is
    as it was before it. ``__cause__`` is SQLite's own error."""

    def __init__(self, path: Path, reason: str, code: int | None) -> None:
        self.path = path
        self.reason = reason
        self.code = code
        super().__init__(f"{_WRITE_TROUBLE.get(code, _OTHER_TROUBLE).format(path=path)} ({reason})")


_OTHER_TROUBLE = (
    "A change could not be saved to the cache file {path}; it was not kept. Check the disk it is "
    "on and try again"
)
_WRITE_TROUBLE: dict[int | None, str] = {
    sqlite3.SQLITE_FULL: "The disk holding the cache file {path} is full; the change was not "
    "saved. Free some space and try again",
    sqlite3.SQLITE_READONLY: "The cache file {path} cannot be written (it or its disk became "
    "read-only); the change was not saved. Check its permissions and the disk",
    sqlite3.SQLITE_BUSY: "The cache file {path} is locked by another program (another AIOps "
    "Desktop window or command, or a tool that holds it open); the change was not saved. Try "
    "again once it is done",
    sqlite3.SQLITE_IOERR: "The disk holding the cache file {path} failed to write; the change "
    "was not saved. Check the disk and try again",
}
_WRITE_TROUBLE[sqlite3.SQLITE_LOCKED] = _WRITE_TROUBLE[sqlite3.SQLITE_BUSY]
