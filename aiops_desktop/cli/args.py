"""What every command shares: argument types, the chosen clusters, secrets read from stdin or a
file (never from an argument: process lists and shell history keep arguments), and the
input/output a handler writes to."""

from __future__ import annotations

import argparse
import getpass
import io
import json
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, TextIO

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.credentials import TOKEN_RULE, is_token_text
from aiops_desktop.models.errors import NotFoundError, UsageError
from aiops_desktop.models.text import printable

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core


class Printable:
    """A text stream that never passes a control character but tab and newline on: what a
    server, a label or a file says cannot drive the terminal (escape sequences recolour,
    retitle, hide or rewrite lines). A closed stream (``>&-``) takes the text nowhere."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            return len(text)
        return self._stream.write(printable(text))

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()


#: a stream's error handlers that raise at a character its encoding cannot say
_REFUSING_ERRORS = ("strict", "surrogateescape")


def tolerant_stdio() -> None:
    """stdout and stderr that write '?' for what their encoding cannot say instead of
    raising: a cp1252 console or redirect (Windows), an ASCII or Latin-1 locale would
    otherwise end a command at its first glyph (✖ ⚠), its answer half written. So does
    UTF-8 mode's surrogateescape (``-X utf8``, a C locale) at a lone surrogate it did not
    make (half an emoji in a log line). Only the interpreter's own streams (a TextIOWrapper)
    with those errors: stderr's default (backslashreplace) and any other handler the person
    chose stay as they are."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors in _REFUSING_ERRORS:
            stream.reconfigure(errors="replace")


@dataclass
class Io:
    """Where a command reads a piped secret from and writes its answer and its words to."""

    out: Printable
    stdin: TextIO
    err: Printable


def default_text(value: object) -> str:
    """A default as it is typed on the command line: 1h, 30, MEDIUM, fleet,gpu."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        for unit in ("d", "h", "m"):
            if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
                return f"{seconds / _UNITS[unit]:g}{unit}"
        return f"{seconds:g}s"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(default_text(v) for v in value)
    return str(value)


def shows_default(action: argparse.Action) -> bool:
    """Whether an argument's help says its default: an option's or an optional positional's
    default that is something (not None, off, suppressed or empty)."""
    default = action.default
    if default is None or default is False or default is argparse.SUPPRESS:
        return False
    if isinstance(default, str | list | tuple) and not default:
        return False
    return bool(action.option_strings) or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each argument's default said after its help, "(default: 30)", unless the help says it
    already; descriptions and epilogs keep their lines: an indented one (an example, a JSON
    snippet) prints as written, a line of prose is wrapped to the terminal."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if shows_default(action) and "default" not in text:
            shown = default_text(action.default).replace("%", "%%")
            text = f"{text} (default: {shown})" if text else f"default: {shown}"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        for line in text.splitlines():
            if not line.strip() or line[0].isspace():
                lines.append((indent + line).rstrip())
            else:
                lines += textwrap.wrap(
                    line, width, initial_indent=indent, subsequent_indent=indent,
                    break_long_words=False, break_on_hyphens=False,
                )  # fmt: skip
        return "\n".join(lines)


if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsers = argparse._SubParsersAction


class _Commands(_SubParsers):
    """A command's one-line help is its description too (``aiops-desktop fleet --help``)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if kwargs.get("help") and "description" not in kwargs:
            kwargs["description"] = kwargs["help"]
        return super().add_parser(name, **kwargs)


class Parser(argparse.ArgumentParser):
    """Every parser of the CLI (``add_subparsers`` makes its commands' of the same class):
    defaults said, examples kept as written, a command's help line its description."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)


#: every ``--json``'s help
JSON_HELP = "print JSON instead of text"


def finite(value: Any) -> Any:
    """``value`` with every NaN and infinity as None: JSON has no such numbers (a bare NaN is
    refused by jq, JSON.parse and Go), and null is its "no number" (as pydantic writes them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def json_text(doc: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """What a ``--json`` prints: strict JSON, non-finite numbers as null; allow_nan=False, so
    one that slips past :func:`finite` (a new type) fails loudly rather than printing NaN."""
    return json.dumps(finite(doc), indent=indent, sort_keys=sort_keys, allow_nan=False)


def examples(*lines: str) -> str:
    """An epilog of example command lines, each ``aiops-desktop ...`` and, after ``  # ``,
    what it does: indented, so they print as written (and a test parses every one)."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def enum_arg(enum: type[Any]) -> Callable[[str], Any]:
    """A member by its value in any case ("HIGH", "high"; "-" or "_" alike)."""

    def parse(text: str) -> Any:
        wanted = text.strip().lower().replace("-", "_")
        for member in enum:
            if str(member.value).lower().replace("-", "_") == wanted:
                return member
        choices = ", ".join(e.value for e in enum)
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {choices}") from None

    parse.__name__ = enum.__name__
    return parse


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: the longest lookback or window a command takes: a year and a bit (no cache or Prometheus
#: keeps more), and the shortest step (Prometheus takes milliseconds)
MAX_DURATION = timedelta(days=400)
MIN_DURATION = timedelta(milliseconds=1)
#: the times a command takes: from the Unix epoch to a century ahead
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def duration(text: str) -> timedelta:
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 30s, 5m, 1h, 2d") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number of {text[-1]}")
    if value * unit > MAX_DURATION.total_seconds():
        raise argparse.ArgumentTypeError(f"{text!r}: at most {MAX_DURATION.days}d")
    if value * unit < MIN_DURATION.total_seconds():
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1 ms")
    return timedelta(seconds=value * unit)


def instant(text: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or a Unix timestamp, 1970 to 2100."""
    between = argparse.ArgumentTypeError(f"{text!r}: a time between 1970 and 2100")
    try:
        seconds: float | None = float(text)
    except ValueError:
        seconds = None
    if seconds is not None and text.strip().isdigit() and len(text.strip()) < 9:
        # "20261127" or "2026" is an ISO date, not 1970's seconds: said, not misread
        raise argparse.ArgumentTypeError(
            f"{text!r}: a date needs its dashes (2026-11-27) and a Unix timestamp 9 digits"
        )
    if seconds is not None:
        if not _EARLIEST.timestamp() <= seconds < _LATEST.timestamp():  # nan is not either
            raise between
        return datetime.fromtimestamp(seconds, UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use e.g. 2026-11-27T06:00:00Z or a Unix timestamp"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if not _EARLIEST <= when < _LATEST:
        raise between
    return when


def bounded(low: float, high: float, unit: str) -> Callable[[str], float]:
    """A finite number in (low, high]: ``--timeout``, ``--threshold-ns``, ``--rotate``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
        if not (math.isfinite(value) and low < value <= high):
            raise argparse.ArgumentTypeError(
                f"{text!r}: more than {low:g} and at most {high:g} {unit}"
            )
        return value

    parse.__name__ = "number"
    return parse


def whole(low: int, high: int, unit: str) -> Callable[[str], int]:
    """A whole number from low to high: a count (``traces --limit``), never 0.5 of one."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: a whole number of {unit}, {low} to {high}")
        return value

    parse.__name__ = "count"
    return parse


def trace_duration(text: str) -> str:
    """A trace's duration as Tempo reads it (500ms, 1.5s, 2m): checked here, so a bad one is
    a usage error before anything is asked, live or on a capture."""
    from collectors.tempo import DURATION

    if not DURATION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 500ms, 2s, 1m (ns, us, ms, s, m, h)")
    return text


def trace_id(text: str) -> str:
    """A trace id: up to 32 hex digits."""
    from collectors.tempo import TRACE_ID

    wanted = text.strip().lower()
    if not TRACE_ID.fullmatch(wanted):
        raise argparse.ArgumentTypeError(f"{text!r}: a trace id is up to 32 hex digits")
    return wanted


#: a command's own deadline (every ``--timeout``): more than nothing, at most five minutes
TIMEOUT = bounded(0, 300, "seconds")


#: PromQL as an argument: Prometheus takes queries of kilobytes; an empty one is no query
MAX_PROMQL = 16 * 1024


def promql(text: str) -> str:
    query = text.strip()
    if not query:
        raise argparse.ArgumentTypeError("an empty query: give a PromQL expression, e.g. up")
    if len(query) > MAX_PROMQL:
        raise argparse.ArgumentTypeError(
            f"a query of {len(query):,} characters; at most {MAX_PROMQL:,}"
        )
    return query


#: the largest window ``--size`` makes (8K UHD): a screenshot of 40000x40000 took 89 s and
#: 12.6 GB, and a larger one failed inside Qt
MAX_SIZE = (7680, 4320)


def size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use WIDTHxHEIGHT, e.g. 1400x900") from None
    if w < 200 or h < 150:
        raise argparse.ArgumentTypeError("the size must be at least 200x150")
    if w > MAX_SIZE[0] or h > MAX_SIZE[1]:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the size must be at most {MAX_SIZE[0]}x{MAX_SIZE[1]}"
        )
    return w, h


def names(text: str | None) -> list[str]:
    """A comma-separated list of names ([] for none)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def chosen_clusters(core: Core, text: str | None) -> tuple[list[Cluster], frozenset[str] | None]:
    """The clusters to ask: the named ones (a fleet hub's member through its hub), or every
    cluster with metrics; and whose series to keep from the answers (None: all). None at all
    is an error."""
    if text:
        return core.registry.targets(names(text))
    chosen = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]
    if not chosen:
        raise NotFoundError("no cluster with a Prometheus endpoint is registered")
    return chosen, None


#: a token, a password, a certificate bundle or a key: kilobytes; a megabyte is no secret
MAX_SECRET_BYTES = 2**20


def read_secret_file(path: str, what: str) -> str:
    """A regular file's or a pipe's text, at most a megabyte (a device is refused)."""
    from aiops_desktop.services.clusters.kubeconfig import expand_home, read_bounded

    try:
        value = read_bounded(expand_home(path), MAX_SECRET_BYTES, f"{what} file", pipes=True)
        text = value.decode("utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise UsageError(f"{what} file {path} is not text (a binary file?)") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not text:
        raise UsageError(f"{what} file {path} is empty")
    return _one_token(text, what, f"{what} file {path}")


def read_stdin(stdin: TextIO, what: str) -> str:
    """A secret piped in; on a terminal it is asked for with a prompt and without echo (a
    plain read waited silently while the terminal showed what was typed)."""
    if _is_terminal(stdin):
        try:
            value = getpass.getpass(f"{what[:1].upper()}{what[1:]} (not shown as typed): ")
        except EOFError:  # Ctrl-D
            value = ""
        return _one_secret(value, what, "typed on the terminal", f"the {what} typed")
    try:
        value = stdin.read(MAX_SECRET_BYTES + 1)
    except UnicodeDecodeError:
        raise UsageError(f"the {what} on standard input is not text") from None
    return _one_secret(value, what, "on standard input", f"the {what} on standard input")


def _one_secret(value: str, what: str, where: str, source: str) -> str:
    if len(value) > MAX_SECRET_BYTES:
        raise UsageError(f"the {what} {where} is longer than {MAX_SECRET_BYTES:,}")
    value = value.strip()
    if not value:
        raise UsageError(f"no {what} {where}")
    return _one_token(value, what, source)


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False


def _one_token(text: str, what: str, where: str) -> str:
    """A token as read, if it is one (a file of two lines was stored whole, and every request
    then failed with an error quoting it); other secrets (a CA bundle, a key) as they are."""
    if what == "token" and not is_token_text(text):
        raise UsageError(f"{where} is not a bearer token: a token is {TOKEN_RULE}")
    return text
