"""Where the app keeps its files, and its settings model.

Precedence for the data directory: ``--data-dir`` > ``AIOPS_DESKTOP_HOME`` > the user data dir
(platformdirs). With an explicit directory, logs and reports live inside it too, so one folder
holds everything (tests and portable installs rely on this).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import math
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, to_jsonable_python

from aiops_desktop import APP_NAME
from aiops_desktop.models.enums import Sensitivity, UserRole
from aiops_desktop.models.errors import AppError, UsageError

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

HOME_ENV = "AIOPS_DESKTOP_HOME"
DB_FILENAME = "aiops-desktop.sqlite3"
SETTINGS_FILENAME = "settings.json"
MAX_SETTINGS_BYTES = 64 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

log = logging.getLogger("aiops.settings")


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    log_dir: Path
    #: where reports go when not in data_dir: an opened capture's Core works in a temporary
    #: folder, its reports go to the user's own reports folder (kept, listed)
    reports_to: Path | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def reports_dir(self) -> Path:
        return self.reports_to or self.data_dir / "reports"

    @property
    def settings_file(self) -> Path:
        return self.data_dir / SETTINGS_FILENAME

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{APP_NAME}.log"

    def ensure(self) -> AppPaths:
        """The app's folders, those it makes readable by their owner only (0700): the cache,
        logs, reports and captures say what a site runs and where. A folder already there
        keeps its mode (``--data-dir`` at a team's setgid folder, or as root at /srv, made
        them drwx------), with a warning where others may read or write in it (the files the
        app writes there are its owner's alone, 0600). A folder that cannot be made (a file
        in its place, a read-only or missing parent) is a ``UsageError`` that names it:
        ``--data-dir`` or ``AIOPS_DESKTOP_HOME`` is wrong."""
        for folder in (self.data_dir, self.log_dir, self.reports_dir):
            try:
                folder.mkdir(parents=True, mode=0o700)
            except FileExistsError:
                if not folder.is_dir():
                    raise UsageError(f"{folder} is not a folder (a file is in its place)") from None
                mode = folder.stat().st_mode
                # Windows has no such modes (every folder reads 0777): its ACLs are its own
                if sys.platform != "win32" and mode & (stat.S_IROTH | stat.S_IWOTH):
                    log.warning(
                        "the folder %s (%s) is open to other users: they see the names of the "
                        "app's files in it%s; chmod o-rwx it to keep it private",
                        folder, stat.filemode(mode),
                        ", and may replace them" if mode & stat.S_IWOTH else "",
                    )  # fmt: skip
            except OSError as exc:
                raise UsageError(f"cannot make the folder {folder}: {exc.strerror or exc}") from exc
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """The app's folders. An empty ``data_dir`` or ``AIOPS_DESKTOP_HOME`` is a ``UsageError``:
    it is a script's unset variable (``--data-dir "$SCRATCH"``), and taking it for "not given"
    worked on the person's real cache."""
    if data_dir is not None and not os.fspath(data_dir):
        raise UsageError("--data-dir is empty: give a folder (is a variable unset?)")
    if data_dir is None and os.environ.get(HOME_ENV) == "":
        raise UsageError(f"{HOME_ENV} is set but empty: give a folder, or unset it")
    chosen = data_dir or os.environ.get(HOME_ENV)
    if chosen:
        given = f"{'--data-dir' if data_dir else HOME_ENV} {os.fspath(chosen)}"
        try:
            expanded = Path(chosen).expanduser()
        except RuntimeError as exc:  # a traceback was all it said
            raise UsageError(
                f"{given}: no home folder is known here for the user of its ~ (is the name "
                "right?): give the folder's own path"
            ) from exc
        try:
            root = expanded.resolve()
        except RuntimeError as exc:  # a symlink loop (Python 3.11's resolve)
            raise UsageError(f"{given}: {exc}") from exc
        return AppPaths(data_dir=root, log_dir=root / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


def packaged(flags: Any = sys.flags) -> bool:
    """Whether sys.executable is the packaged app's launcher, not a Python interpreter. The
    briefcase bootstrap (packaging/briefcase-template/.../bootstrap/main.c) embeds Python
    from an isolated config without the site module, runs aiops_desktop itself and takes its
    arguments as the app's: ``-m aiops_desktop`` would be an unknown command there. A Python
    interpreter started so (-I -S) could not import this app at all."""
    return bool(flags.isolated and flags.no_site)


def resources_dir() -> Path:
    """The top-level ``resources/`` folder, beside the packages (source tree, briefcase, a pip
    install). A folder that is not there is an ``AppError`` (exit 1) that says so: an install
    without it otherwise failed deep inside a command with a traceback, or showed an empty
    dashboard (no query catalog)."""
    override = os.environ.get("AIOPS_DESKTOP_RESOURCES")
    folder = Path(override) if override else Path(__file__).resolve().parent.parent / "resources"
    if not folder.is_dir():
        if override:
            raise AppError(f"AIOPS_DESKTOP_RESOURCES={override}: no such folder")
        raise AppError(f"the app's resources folder {folder} is missing: this installation is "
                       "incomplete (reinstall aiops-desktop)")  # fmt: skip
    return folder


class _Section(BaseModel):
    #: every number finite: json here reads Infinity and NaN, which pass no limit's purpose (an
    #: infinite delay killed the store's writer thread at its first write, every later write
    #: then waited for ever)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: the longest a retention may be: 10 years is far past what a desktop cache is for, and each
#: maintenance pass subtracts the retention from now (a "keep for ever" of a million days falls
#: before year 1: OverflowError on every pass, so nothing was pruned and no orphan swept again).
#: An inclusive bound of the field (``le``), not a validator of its own: earlier versions took
#: any retention, and a file past it is used at it (``_usable``), not refused whole.
MAX_RETENTION = timedelta(days=3650)

Retention = Annotated[timedelta, Field(gt=timedelta(0), le=MAX_RETENTION)]


class StoreSettings(_Section):
    """The cache's retention. Durations are positive: a negative retention would delete every
    sample as it is written, and the rollup step divides timestamps (whole buckets of at
    least a second, at most a day: reports double it, and a huge one overflowed; a rollup of
    0 s would be kept as raw data). Retentions are at most 10 years (``MAX_RETENTION``).
    ``batch_max_delay_s``: how long the writer waits to fill a batch (at most 10 s, far past
    any use: the writer thread died on a timeout too large for the OS, and every write with
    it)."""

    raw_retention: Retention = timedelta(hours=48)
    rollup_step: timedelta = Field(
        default=timedelta(minutes=5), ge=timedelta(seconds=1), le=timedelta(days=1)
    )
    rollup_retention: Retention = timedelta(days=30)
    health_retention: Retention = timedelta(days=7)
    chunk_samples: int = Field(default=240, ge=16, le=4096)
    batch_max_ops: int = Field(default=500, ge=1)
    batch_max_delay_s: float = Field(default=0.05, ge=0, le=10)


#: the environment's first retry's wait, where settings.json gives none (0 to 60 s; anything
#: else: the default). The test suite's is 0.01 s: its servers that are down refuse at once,
#: and their retries' waits (0.5 s to 3.5 s a query) were most of the suite's time
BACKOFF_ENV = "AIOPS_DESKTOP_BACKOFF_S"
BACKOFF_BASE_S = 0.5


def _default_backoff_s() -> float:
    try:
        chosen = float(os.environ.get(BACKOFF_ENV, ""))
    except ValueError:
        return BACKOFF_BASE_S
    return chosen if 0 <= chosen <= 60 else BACKOFF_BASE_S  # NaN too: the default


class HttpPolicy(_Section):
    """Every HTTP request's limits: connect and read timeouts, retries with backoff on
    connections refused or reset and 5xx (a first wait of at most a minute, none longer than
    5 minutes, the read timeout's own limit; not a connect timeout: a black hole is asked
    again at the next poll, not within this request), and the largest answer held."""

    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    read_timeout_s: float = Field(default=30.0, gt=0, le=300)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default_factory=_default_backoff_s, ge=0, le=60)
    backoff_max_s: float = Field(default=8.0, ge=0, le=300)
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)


class PollerSettings(_Section):
    """The polling engine: ``speed`` multiplies every interval (tests and soaks run fast;
    0.001 to 100: a speed near 0 makes every interval nothing, a busy loop). A failing
    cluster is retried at most an hour apart, and a poll is given at most 5 minutes."""

    speed: float = Field(default=1.0, ge=0.001, le=100)
    jitter: float = Field(default=0.1, ge=0, lt=1)
    global_cap: int = Field(default=32, ge=1)
    per_cluster_cap: int = Field(default=4, ge=1)
    max_backoff_s: float = Field(default=300.0, gt=0, le=3600)
    timeout_s: float = Field(default=30.0, gt=0, le=300)


class DetectionSettings(_Section):
    """Live anomaly detection: the sensitivity (z-equivalent threshold: LOW 3.0, MEDIUM 2.5,
    HIGH 2.0, EXTREME 1.5)."""

    sensitivity: Sensitivity = Sensitivity.MEDIUM


class LlmSettings(_Section):
    """The optional local LLM (PRODUCT.md section 5): an OpenAI-compatible endpoint (the base
    URL before ``/chat/completions``) and the model's name; its API key lives only in the OS
    keyring. ``redact_ips``: IP addresses are also replaced before anything is sent."""

    endpoint: str | None = Field(default=None, max_length=2000)
    model: str = Field(default="", max_length=200)
    verify_tls: bool = True
    redact_ips: bool = False
    #: sampling temperature of chat replies (None: the server's default; 0: the same answer to
    #: the same question, as kiosks and screenshots want)
    temperature: float | None = Field(default=None, ge=0, le=2)
    #: a model off this machine (it receives the fleet's data), over https only
    allow_remote: bool = False
    #: written by every change this version makes: its API key is stored with the server it
    #: was given for, so a key an older version stored alone is sent to none (its server may
    #: have changed since without it being bound: the keyring out of reach, the LLM off)
    key_with_server: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.endpoint and self.model)


class UiSettings(_Section):
    """How the window looks: the theme ("system" follows the OS's light or dark scheme; the
    environment's AIOPS_DESKTOP_THEME wins over it) and a font scale; both from the next start."""

    theme: Literal["system", "dark", "light", "high-contrast"] = "system"
    font_scale: float = Field(default=1.0, ge=0.75, le=2.0)
    #: a desktop notification for each new CRITICAL finding (opt-in)
    notify_critical: bool = False


class AccessSettings(_Section):
    """The highest role this OS account runs the app as (services/runtime/access.py)."""

    role: UserRole = UserRole.ADMIN


class LoadedSettings(NamedTuple):
    """The settings a file gives (``Settings.load``), what to tell the person about it, and
    what is wrong with it when the role in use is the refused file's fallback viewer, not one
    an admin set (``Core.open``); None otherwise: the file used, none there, or a refused
    file's own valid ``access`` section kept (``_own_access``: an admin did set that role)."""

    settings: Settings
    notice: str | None
    role_refused: str | None


class Settings(_Section):
    """The app's settings, read by attribute; the person's choices are kept in
    ``settings.json`` beside the cache (``load``/``save``); anything not there is a default."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    http: HttpPolicy = Field(default_factory=HttpPolicy)
    poller: PollerSettings = Field(default_factory=PollerSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)

    @classmethod
    def load(cls, path: Path) -> tuple[Settings, str | None]:
        """The settings kept at ``path`` (defaults where there is no file), and what to tell
        the person about the file: what was wrong with it when it could not be used (it is
        then left as it is: ``save`` refuses to write over it), or what of it was used
        otherwise than it says (``_usable``: a number past its limit used at the limit, a
        field this version does not know ignored, a theme it does not know the default)."""
        loaded = cls.read(path)
        return loaded.settings, loaded.notice

    @classmethod
    def read(cls, path: Path) -> LoadedSettings:
        """``load``'s settings and notice, and what is wrong with the file when the role in
        use is its fallback viewer (``LoadedSettings``)."""
        settings, problem, raw, said, _ = _read(path)
        if len(said) > 10:  # a file of a thousand fields this version does not know
            said = [*said[:10], f"and {len(said) - 10} more"]
        if problem is None:
            notice = f"the settings file {path}: {'; '.join(said)}" if said else None
            return LoadedSettings(settings or cls(), notice, None)
        notice = f"the settings file {path} {problem}; defaults used"
        access = _own_access(raw)
        if access is not None:  # the role an admin set, whatever else is wrong
            return LoadedSettings(cls(access=access), notice, None)
        viewer = cls(access=AccessSettings(role=UserRole.VIEWER))
        return LoadedSettings(viewer, f"{notice} (viewer role until it is fixed)", problem)

    @classmethod
    def usable(cls, path: Path) -> Settings | None:
        """The settings kept at ``path`` (defaults where there is no file), or None where the
        file cannot be used as it is now (``load`` would start on defaults in its place)."""
        read = _read(path)
        return None if read.problem is not None else read.settings or cls()

    def save(self, path: Path, sections: Collection[str] | None = None) -> None:
        """These settings kept at ``path`` (``update``, whatever the file holds now)."""
        self.update(path, lambda _now: self, sections)

    @classmethod
    def update(
        cls, path: Path, change: Callable[[Settings], Settings],
        sections: Collection[str] | None = None,
    ) -> tuple[Settings, Settings]:  # fmt: skip
        """``change`` made over the settings the file holds now (defaults where there is none)
        and kept, all under the OS lock: another process's save cannot land between the
        reading and the writing and be lost (the CLI's ``llm set`` while the window renames
        the model). The settings before and as kept. ``change`` runs under the lock: it must
        not wait for another process.

        Written whole (a temporary file moved into place), readable by its owner only; never
        over a file that cannot be used (UsageError): the settings in use are then defaults,
        and writing them would lose everything else the person put in it. Blocking: call from
        a worker thread.

        ``sections``: only these are written, the others kept as the file has them now (None:
        all). Another process may have saved since this one read the file (the CLI's ``llm
        set`` while the window is open, or a hand edit): its sections must not be put back as
        they were. Kept as the file's own text, not as read: a number used at its limit
        (``_usable``) stays the person's in the sections not changed. Read and written under
        an OS lock, so two processes saving at once cannot both start from the same file.

        What this version did not understand (``_usable``) is kept as the file has it, in the
        sections written too: a newer version sharing the file (or the one the person goes
        back to) finds its own fields, sections and theme where it left them. A theme kept so
        gives way only to one the person chose here (not the default standing in for it).

        Never a file the next start would refuse as too large (every setting then defaults, an
        admin's account viewer): indented where that fits, else compact (what is kept from the
        file grows when indented: 44 KB became 107 KB), else refused (UsageError, the file left
        as it is)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            now, problem, raw, _, foreign = _read(path)
            if problem is not None:
                raise UsageError(
                    f"the settings file {path} {problem}: nothing was changed, so that what it "
                    "holds is not lost; correct or remove it, then try again"
                )
            before = now or cls()
            after = change(before)
            written = list(cls.model_fields) if sections is None else sections
            kept = json.loads(raw) if raw is not None else {}  # valid: an object of sections
            changed = after.model_dump(mode="json", include=set(written), exclude_defaults=True)
            for section in written:
                own = changed.get(section, {})
                for place in foreign:  # (section, field): a section of ours is an object
                    if len(place) == 2 and place[0] == section and place[1] not in own:
                        own[place[1]] = kept[section][place[1]]
                if own:
                    kept[section] = own
                else:
                    kept.pop(section, None)  # all defaults, as a whole save leaves it out
            text = json.dumps(kept, indent=2, ensure_ascii=False) + "\n"
            if len(text.encode()) > MAX_SETTINGS_BYTES:
                text = json.dumps(kept, ensure_ascii=False, separators=(",", ":")) + "\n"
            if len(text.encode()) > MAX_SETTINGS_BYTES:
                raise UsageError(
                    f"the settings file {path} would be too large to be read at the next start "
                    f"(over {MAX_SETTINGS_BYTES // 1024} KB): nothing was changed; remove from "
                    "it what this version does not use (a newer version's sections or fields), "
                    "then try again"
                )
            _write(path, text)
        return before, after


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Held by one process at a time (the window, the CLI, the wall) while it reads, changes
    and writes the settings file. On a lock file beside it: the settings file itself is
    replaced by each save, so a lock on it would be on the file no longer in place."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # its first byte; OSError after 10 s of tries
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield  # closing the file releases it
    finally:
        os.close(fd)


def _own_link(path: Path) -> bool:
    """Whether ``path`` is a symlink of this user's (any symlink where there are no owners)."""
    try:
        link = path.lstat()
    except OSError:
        return False
    owner = getattr(os, "getuid", None)
    return stat.S_ISLNK(link.st_mode) and (owner is None or link.st_uid == owner())


def _write(path: Path, text: str) -> None:
    """``text`` in a new file of its own name beside ``path`` (0600), on disk, then moved into
    place: a reader sees the old file or the new one, never a part of it, and two writers never
    share a temporary file. A ``path`` that is a symlink (a dotfiles manager's) is written where
    it points, as it is read: replacing the link made a file of the app's own, and the
    person's stopped being read. Only a link of the person's own is followed: one another
    user planted in a shared data folder is replaced (followed, a save wrote over whatever
    file of the person's it named)."""
    if _own_link(path):
        path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Read(NamedTuple):
    """The settings in a file (None where there is none), or what is wrong with it; the bytes
    read (for ``_own_access`` and ``save``); what was used otherwise than the file says, to tell
    the person; and the places (section, or section and field) this version did not
    understand, for ``save`` to keep as they are (``_usable``)."""

    settings: Settings | None
    problem: str | None
    raw: bytes | None
    said: list[str]
    foreign: list[tuple[str, ...]]


def _regular_file_head(path: Path, most: int) -> bytes | None:
    """At most ``most`` bytes of the file at ``path``; None where it is not a regular file.
    Opened without waiting: a FIFO in its place hung every start (the window's, on its UI
    thread, and every CLI command) in ``open``, and a device would be read as it is, not a
    file's settings. (services/clusters/kubeconfig.py's ``read_bounded`` is the same guard,
    in a layer above this one.) Windows has neither O_NONBLOCK nor FIFOs at a path; its files
    are opened as bytes (O_BINARY), as ``open`` does."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(most)


def _read(path: Path) -> _Read:
    """The file at ``path`` read and checked (``_Read``)."""
    try:
        raw = _regular_file_head(path, MAX_SETTINGS_BYTES + 1)  # never more, whatever its size
    except FileNotFoundError:
        return _Read(None, None, None, [], [])
    except OSError as exc:
        return _Read(None, f"cannot be read ({exc.strerror})", None, [], [])
    if raw is None or len(raw) > MAX_SETTINGS_BYTES:
        unread = (
            "is too large"
            if raw is not None
            else "is not a regular file (a FIFO, a device or a folder)"
        )
        return _Read(None, unread, None, [], [])
    raw = raw.removeprefix(codecs.BOM_UTF8)  # Notepad starts its UTF-8 files with one
    try:
        return _Read(Settings.model_validate_json(raw), None, raw, [], [])
    except ValidationError as exc:
        usable = _usable(raw, exc)
        if usable is not None:
            text, said, foreign = usable
            try:
                return _Read(Settings.model_validate_json(text), None, raw, said, foreign)
            except ValidationError as again:
                exc = again
        # the damage said, not what is only newer than this version (taken when alone)
        errors = [e for e in exc.errors() if not _newer(e)] or exc.errors()
        said_wrong = "; ".join(  # names from the file escaped and cut, as a usable file's
            f"{_shown('.'.join(str(p) for p in e['loc'])) or 'file'}: "
            + (_LLM_UNKNOWN if _unknown_to_the_llm(e) else
               str(e["msg"]).removeprefix("Value error, "))
            for e in errors[:3]
        )  # fmt: skip
        return _Read(None, f"is not valid ({said_wrong})", raw, [], [])


#: the errors of a finite value past an inclusive limit, and the limit's name in the field's
#: constraints (annotated_types' Ge and Le). A strict limit (gt, lt) is not one: the value on it
#: is what it excludes, and the nearest one inside (a timeout of 5e-324 s, a jitter of
#: 0.9999999999999999) is no more usable than the value given; those limits were all in the
#: versions before, so no file one of them accepted is past them.
_INCLUSIVE = {"less_than_equal": "le", "greater_than_equal": "ge"}

#: the choices a newer version may add names to, where a name this version does not know is
#: its default alone: the theme only changes the look. Not the role (a name it cannot read
#: must never become the default admin: the file is refused and runs as viewer, ``_own_access``)
#: nor the sensitivity (the live detector's threshold, not to be changed unseen).
_NEWER_CHOICES = {("ui", "theme")}


#: why a field of the llm section this version does not know refuses the file
_LLM_UNKNOWN = (
    "not a field this version knows, so the LLM stays off until it is corrected or removed "
    "(a choice of what the model may receive, such as redact_ips, is never ignored)"
)


def _unknown_to_the_llm(error: ErrorDetails) -> bool:
    """A field of the llm section this version does not know. Not ignored as elsewhere: it
    may say what the model must not receive (``"redact_ip": true``, a typo of redact_ips, or
    a newer version's privacy choice), and the rest applied without it turned the model
    server on with the fleet's IP addresses sent as they are. The file is refused (damage):
    defaults, so no model server, until it is fixed."""
    return error["type"] == "extra_forbidden" and error["loc"][:1] == ("llm",)


def _newer(error: ErrorDetails) -> bool:
    """A field this version does not know (but one of the llm section's,
    ``_unknown_to_the_llm``), or a name of a choice it does not know (``_NEWER_CHOICES``):
    what a newer version wrote, not damage."""
    return (error["type"] == "extra_forbidden" and not _unknown_to_the_llm(error)) or (
        error["type"] == "literal_error"
        and error["loc"] in _NEWER_CHOICES
        and isinstance(error["input"], str)
    )


def _shown(name: str) -> str:
    """A name from the file as a notice shows it: as it is when short and printable, else
    quoted with its control and direction characters escaped (it is shown and logged)."""
    return name if name.isprintable() and len(name) <= 80 else repr(name[:80])


def _usable(
    raw: bytes, exc: ValidationError
) -> tuple[str, list[str], list[tuple[str, ...]]] | None:
    """The file's text made valid, what was done to it and the places this version did not
    understand, when all that is wrong with it is this (else None: the file is refused):

    - a finite number past an inclusive limit is set to that limit. Limits were added to
      numbers an earlier version took (a slow fleet's 600 s poll timeout, a 20-year
      retention): refusing the whole file for one of them dropped every other choice in it
      to defaults, and every save was refused until a hand edit;
    - a field or section this version does not know (a newer version's, or one the person
      goes back from) is left out, and a theme name it does not know (``_NEWER_CHOICES``) is
      left to its default; ``save`` keeps both as the file has them. A field is named, never
      its value (a notice is logged, and a field we do not know may hold anything). Not in
      an ``access`` section without its role: the role left out is admin, and that was a
      typo's way to it (``"rolle": "viewer"``); the file is refused, and runs as viewer. Nor
      in the ``llm`` section (``_unknown_to_the_llm``): the file is refused, the LLM off."""
    errors = exc.errors()
    if not all(e["type"] in _INCLUSIVE or _newer(e) for e in errors):
        return None  # NaN, Infinity, a wrong type or a strict limit: as wrong as before
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    said, foreign = [], []
    for error in errors:
        *within, name = error["loc"]
        where = _shown(".".join(map(str, error["loc"])))
        try:
            place = data
            for step in within:
                place = place[step]
            value = place[name]
            if error["type"] == "extra_forbidden":
                if within == ["access"] and "role" not in place:
                    return None
                del place[name]
                said.append(f"{where} is not known to this version: ignored")
                foreign.append(tuple(map(str, error["loc"])))
                continue
            model: type[BaseModel] = Settings  # the field itself, for its limit or default
            for step in within:
                model = model.model_fields[str(step)].annotation  # type: ignore[assignment]
            field = model.model_fields[str(name)]
        except (AttributeError, KeyError, IndexError, TypeError):
            return None  # not a field of a section: no limit of ours to use
        if error["type"] == "literal_error":  # a theme's name: repr escapes what is unprintable
            del place[name]
            said.append(
                f"{where} {value[:40]!r} is not one this version knows: {field.default!r} used"
            )
            foreign.append(tuple(map(str, error["loc"])))
            continue
        kind = _INCLUSIVE[error["type"]]  # the limit from the field: ctx has a duration as text
        limit = next(
            (getattr(m, kind) for m in field.metadata if getattr(m, kind, None) is not None),
            None,
        )
        # None: a limit of a validator's own, not the field's, no value to use; not finite:
        # never reached, allow_inf_nan refuses them first
        if limit is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        used = to_jsonable_python(limit)
        place[name] = used
        said.append(f"{where} {value} is past its limit {used}: {used} used")
    return json.dumps(data), said, foreign


def _own_access(raw: bytes | None) -> AccessSettings | None:
    """A settings file that cannot be used runs on defaults, but never with a higher role
    than the file gives: its own ``access`` section when that much is valid (the role an admin
    set), else None, and the viewer role is used (a typo elsewhere must not make a viewer's
    account admin)."""
    try:
        section = json.loads(raw).get("access", {}) if raw is not None else None
        return AccessSettings.model_validate(section) if section is not None else None
    except (ValueError, AttributeError, ValidationError, RecursionError):
        return None  # RecursionError: nested too deep for json (the file is not one of ours)
