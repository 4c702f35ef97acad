"""The LogQL the Loki stand-in understands, parsed as Loki parses it: a stream selector
(``{a="x", b=~"y.*", c!="z", d!~"w"}``), line filters (``|= "s"``, ``!= "s"``, ``|~ "re"``,
``!~ "re"``), and the metric queries the app asks (``count_over_time``, ``rate``,
``bytes_over_time`` over ``[5m]``, wrapped in ``sum``/``sum by (labels)``). Anything else is
refused with Loki's own wording: ``parse error at line 1, col N: syntax error: ...``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import re2

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)|(?P<duration>\[\d+[smhd]\])"""
    r"""|(?P<op>\|=|!=|\|~|!~|=~|=|\{|\}|\(|\)|,|\|)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*))"""
)
METRICS = ("count_over_time", "rate", "bytes_over_time")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LogQLError(ValueError):
    """Loki's own message for a query it cannot parse."""


@dataclass
class LogSelector:
    matchers: list[tuple[str, str, str]]  # (label, op, value)
    filters: list[tuple[str, str]] = field(default_factory=list)  # (op, text)

    def matches(self, labels: dict[str, str]) -> bool:
        for name, op, value in self.matchers:
            have = labels.get(name, "")
            if op == "=" and have != value:
                return False
            if op == "!=" and have == value:
                return False
            if op == "=~" and not _pattern(value).fullmatch(have):
                return False
            if op == "!~" and _pattern(value).fullmatch(have):
                return False
        return True

    def line_filter(self) -> Callable[[str], bool]:
        checks: list[Callable[[str], bool]] = []
        for op, text in self.filters:
            if op in ("|=", "!="):
                checks.append(_finder(text, wanted=op == "|="))
            else:  # |~ and !~
                checks.append(_searcher(_pattern(text), wanted=op == "|~"))
        return lambda line: all(check(line) for check in checks)


@dataclass
class MetricQuery:
    function: str
    selector: LogSelector
    range_s: int
    by: list[str] | None = None  # None: no sum; []: sum of everything


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        found = _TOKEN.match(text, at)
        if found is None or found.end() == at:
            col = at + 1 + (len(text[at:]) - len(text[at:].lstrip()))
            raise LogQLError(f"parse error at line 1, col {col}: syntax error: unexpected "
                             f"{text[at:].strip()[:1]!r}")  # fmt: skip
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind), found.start(kind) + 1))
        at = found.end()
    return out


_QUIET = re2.Options()
_QUIET.log_errors = False  # a bad pattern is said once, as a LogQLError, not also on stderr


@functools.lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    """A matcher's or filter's regexp, compiled as Loki's Go does: RE2, which matches in
    time linear in the line (Python's re backtracks without bound, and a pattern can come
    from a capture through the assistant)."""
    return re2.compile(text, _QUIET)


def _finder(text: str, *, wanted: bool) -> Callable[[str], bool]:
    return lambda line: (text in line) is wanted


def _searcher(pattern: Any, *, wanted: bool) -> Callable[[str], bool]:
    return lambda line: (pattern.search(line) is not None) is wanted


def _matches_empty(op: str, value: str) -> bool:
    """Whether a matcher matches a stream without its label (the empty string), as Loki's
    ``labels.Matcher.Matches("")``: a regexp anchored at both ends (RE2's fullmatch)."""
    if op in ("=", "!="):
        return (value == "") is (op == "=")
    return (_pattern(value).fullmatch("") is not None) is (op == "=~")


def _regexp(text: str) -> None:
    """A regexp matcher's or filter's pattern, refused as Loki refuses it."""
    try:
        _pattern(text)
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc  # RE2 says why in bytes
        if isinstance(why, bytes):
            why = why.decode(errors="replace")
        raise LogQLError(f"parse error : error parsing regexp: {why}") from exc


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _fail(self, expecting: str) -> LogQLError:
        token = self._peek()
        if token is None:
            return LogQLError(f"parse error at line 1, col {len(self.text) + 1}: syntax error: "
                              f"unexpected $end, expecting {expecting}")  # fmt: skip
        return LogQLError(f"parse error at line 1, col {token[2]}: syntax error: unexpected "
                          f"{token[1]}, expecting {expecting}")  # fmt: skip

    def _take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self._peek()
        if (
            token is None
            or (value is not None and token[1] != value)
            or (kind is not None and token[0] != kind)
        ):
            raise self._fail(value or kind or "more")
        self.at += 1
        return token[1]

    def _string(self) -> str:
        raw = self._take(kind="string")
        if raw.startswith("`"):
            return raw[1:-1]
        return _unescape(raw[1:-1])

    def selector(self) -> LogSelector:
        self._take("{")
        matchers = []
        while True:
            name = self._take(kind="ident")
            op = self._take(kind="op")
            if op not in ("=", "!=", "=~", "!~"):
                col = self.tokens[self.at - 1][2]
                raise LogQLError(f"parse error at line 1, col {col}: syntax error: unexpected "
                                 f"{op}, expecting = or != or =~ or !~")  # fmt: skip
            value = self._string()
            if op in ("=~", "!~"):
                _regexp(value)
            matchers.append((name, op, value))
            after = self._take(kind="op")
            if after == "}":
                break
            if after != ",":
                raise self._fail("} or ,")
        # Loki's rule (validateMatchers): at least one matcher must not match the empty
        # string, judged by what each matches, not by its operator ({a!=""} is answered,
        # {a=~".*"} is not): a selector matching "" would read every stream
        if all(_matches_empty(op, value) for _, op, value in matchers):
            raise LogQLError("parse error : queries require at least one regexp or equality "
                             "matcher that does not have an empty-compatible value")  # fmt: skip
        selector = LogSelector(matchers)
        while (token := self._peek()) is not None and token[1] in ("|=", "!=", "|~", "!~"):
            op = self._take()
            text = self._string()
            if op in ("|~", "!~"):
                _regexp(text)
            selector.filters.append((op, text))
        return selector

    def parse(self) -> LogSelector | MetricQuery:
        token = self._peek()
        if token is None:
            raise LogQLError("parse error at line 1, col 1: syntax error: unexpected $end")
        if token[1] == "{":
            found: LogSelector | MetricQuery = self.selector()
        elif token[1] == "sum":
            self._take("sum")
            by: list[str] = []
            if (nxt := self._peek()) is not None and nxt[1] == "by":
                self._take("by")
                self._take("(")
                by.append(self._take(kind="ident"))
                while (nxt := self._peek()) is not None and nxt[1] == ",":
                    self._take(",")
                    by.append(self._take(kind="ident"))
                if (nxt := self._peek()) is None or nxt[1] != ")":
                    raise self._fail(", or )")  # the list ends with ")", nothing else
                self._take(")")
            self._take("(")
            inner = self._metric()
            self._take(")")
            inner.by = by
            found = inner
        else:
            found = self._metric()
        if self._peek() is not None:
            raise self._fail("$end")
        return found

    def _metric(self) -> MetricQuery:
        function = self._take(kind="ident")
        if function not in METRICS:
            token = self.tokens[self.at - 1]
            raise LogQLError(f"parse error at line 1, col {token[2]}: syntax error: unexpected "
                             f"IDENTIFIER, expecting {{ or ( or vector aggregation")  # fmt: skip
        self._take("(")
        selector = self.selector()
        duration = self._take(kind="duration")
        self._take(")")
        return MetricQuery(function, selector, int(duration[1:-2]) * _UNITS[duration[-2]])


def parse(text: str) -> LogSelector | MetricQuery:
    return _Parser(text).parse()


_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "'": "'",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)", re.S)


def _unescape(text: str) -> str:
    """A double-quoted LogQL string's escapes, as Go's strconv.Unquote reads them (\\n, \\t,
    \\", \\\\, \\uHHHH and \\UHHHHHHHH as a character; \\xHH and octal as a BYTE, so
    "caf\\xc3\\xa9" is café, as Loki reads it); the rest of the text as it is (so "café"
    stays café). An escape Go does not know is refused, not passed on as something else;
    so are bytes that make no UTF-8 (a Python string holds none, and no line is matched)."""
    out = bytearray()
    at = 0
    for found in _ESCAPE.finditer(text):
        out += text[at : found.start()].encode("utf-8", "surrogatepass")
        out += _escaped(found.group(1))
        at = found.end()
    out += text[at:].encode("utf-8", "surrogatepass")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = "".join(f"\\x{b:02x}" for b in exc.object[exc.start : exc.end])
        raise LogQLError(f"a string whose escaped bytes are not UTF-8 text ({bad} makes no "
                         "character)") from None  # fmt: skip


def _escaped(code: str) -> bytes:
    """One escape's bytes (``code``: what follows its backslash)."""
    if code in _ESCAPES:
        return _ESCAPES[code].encode()
    if code[0] in "uU" and len(code) > 1:
        value = int(code[1:], 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise LogQLError(f"a string with an escape past Unicode: \\{code}")
        return chr(value).encode()
    if code[0] == "x" and len(code) > 1:
        return bytes([int(code[1:], 16)])
    if len(code) == 3 and code.isdigit():
        if int(code, 8) > 0xFF:  # Go: "octal escape value > 255"
            raise LogQLError(f"a string with an escape past a byte: \\{code}")
        return bytes([int(code, 8)])
    raise LogQLError(f"a string with an escape LogQL does not know: \\{code}")
