"""The app's read-only tools, once: the chat's tool loop and the MCP server call the same ones.

A ``Tool`` is a name, a description for the model, a pydantic input model (its JSON schema is
what the model and MCP clients see; the arguments are validated against it before anything
runs) and an async ``run(core, arguments)`` that returns JSON-able data. ``ToolBox.call`` bounds
every call: a deadline (``CALL_TIMEOUT_S``), at most ``MAX_ROWS`` items in any list and at most
``MAX_RESULT_BYTES`` of JSON (long texts shortened and lists cut, and the answer says so:
``"truncated": true``); an error's words are cut to as many bytes, the cut said in them.
A tool never writes what the person owns (clusters, credentials, settings), and a chat turn
writes one file at most (``Turn``); every failure comes back as a clear message the model can
read (``ToolOutcome.is_error``), never as an exception.
Results are redacted like everything else that leaves for a model (collectors/llm_redaction.py):
each text in them (its keys too) before it is encoded (in JSON text a quote is escaped and a
long text may be cut, and a pattern must not depend on either), and a field whose name says it
is a secret whole; not the answer's text as a whole again (``redact_document``). An error's
words are redacted whole. IP addresses too for a ToolBox made with ``redact_ips`` (the MCP
server's, as ``llm.redact_ips`` says). An answer is encoded in a worker thread: a big one's
rows held the event loop (the Qt thread).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from aiops_desktop.models.errors import AppError
from aiops_desktop.models.text import HIDDEN_MARKS
from collectors.llm_redaction import redact_document, redact_for_llm
from collectors.shapes import without_surrogates

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core

log = logging.getLogger("aiops.assistant.tools")
CALL_TIMEOUT_S = 30.0
MAX_ROWS = 100
MAX_RESULT_BYTES = 16 * 1024
MAX_ARGUMENT_BYTES = 8 * 1024
#: whether the tool box running the call replaces IP addresses too (``ToolBox.redact_ips``):
#: a tool that cuts a text itself redacts it first (an address across the cut is none after)
REDACTING_IPS: ContextVar[bool] = ContextVar("redacting_ips", default=False)
#: the characters a text in an answer is shortened to, in turn, before (and once one row
#: alone is too big, while) its lists are cut: a long alert summary or log line costs a few
#: thousand characters, not the other rows
TEXT_CHARS = (2000, 500, 100)


class ToolInput(BaseModel):
    """Base of every tool's input: unknown arguments are refused (a typo is said, not
    ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input: type[ToolInput]
    run: Callable[[Core, Any], Awaitable[Any]]
    #: it writes a file of its own (a report): still nothing the person owns or a cluster has,
    #: but not read-only, and a new file each call (MCP clients are told so)
    writes_file: bool = False

    def schema(self) -> dict[str, Any]:
        """The input's JSON schema without pydantic's titles (a small model reads every token
        of the 20 tools' schemas in each request; the descriptions say what a title would)."""
        untitled: dict[str, Any] = _untitled(self.input.model_json_schema())
        return untitled

    def openai_spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.schema(),
            },
        }


def _untitled(node: Any, *, names: bool = False) -> Any:
    """``node`` without its "title" keywords; ``names``: ``node`` maps property names (one
    may be called "title": kept)."""
    if isinstance(node, dict):
        return {k: _untitled(v, names=k == "properties") for k, v in node.items()
                if names or not (k == "title" and isinstance(v, str))}  # fmt: skip
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    content: str  # JSON text (or the error's words)
    is_error: bool = False
    elapsed_ms: float = 0.0


def _jsonable(value: Any) -> Any:
    """Models, dataclasses, times, enums, numpy scalars and containers as plain JSON (a
    dataclass a reader returned, such as a cluster's outcome, failed the whole answer)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, Enum):
        value = value.value
    elif hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):  # NaN and inf are not JSON
        return None
    return value


def _cut_rows(value: Any, cut: list[bool], rows: int) -> Any:
    if isinstance(value, dict):
        return {k: _cut_rows(v, cut, rows) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > rows:
            cut[0] = True
            value = value[:rows]
        return [_cut_rows(v, cut, rows) for v in value]
    return value


def _cut_texts(value: Any, chars: int, cut: list[bool]) -> Any:
    """``value`` with each text longer than ``chars`` shortened to it, the cut said in it."""
    if isinstance(value, str) and len(value) > chars:
        cut[0] = True
        return f"{value[:chars]} … [{len(value) - chars:,} more characters cut]"
    if isinstance(value, dict):
        return {k: _cut_texts(v, chars, cut) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_texts(v, chars, cut) for v in value]
    return value


#: what JSON leaves raw (``ensure_ascii=False``) and an answer escapes as ``\uXXXX``: C1
#: controls (CSI, ``\x9b``, a terminal reads as ESC ``[``; NEL), the bidirectional marks
#: that make a line read other than it is, and the Unicode line and paragraph separators.
#: What the UI strips from a line it shows (``models.text``; C0 and the rest of its breaks
#: JSON escapes itself); here escaped, not stripped, so that the text decoded is the server's
_RAW_CONTROLS = re.compile(f"[{HIDDEN_MARKS}\u2028\u2029]")


def _encoded(result: Any, truncated: bool) -> str:
    doc = {"result": result, "truncated": True} if truncated else {"result": result}
    # a lone surrogate in a server's text (half an emoji) would not encode: replaced. Outside
    # JSON's strings there is no such character: each escaped is read back as it was
    text = without_surrogates(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _fits(text: str, limit: int) -> bool:
    return len(text.encode()) <= limit


def bounded_json(
    value: Any, *, rows: int = MAX_ROWS, limit: int = MAX_RESULT_BYTES, ips: bool = False
) -> str:
    """``value`` as JSON of at most ``limit`` bytes (as UTF-8), each text in it redacted
    (``ips``: IP addresses too): every list cut to ``rows`` items; then, while it does not
    fit, its long texts shortened (TEXT_CHARS, each said in the text) and its lists halved
    (one long text no longer costs the other rows); ``"truncated": true`` says something was
    left out. Still an object where even that is too big (a dict of thousands of keys): a note
    and the start of the answer's JSON text."""
    return _bounded(value, rows, limit, ips)[0]


def _bounded(value: Any, rows: int, limit: int, ips: bool) -> tuple[str, Any]:
    """``bounded_json``'s text, and the plain answer it holds (None: the last resort's note)."""
    cut = [False]
    # redacted once cut to ``rows`` (the halving below only cuts more): a huge answer's left
    # out rows cost nothing
    plain = redact_document(_cut_rows(_jsonable(value), cut, rows), ips=ips)
    text = _encoded(plain, cut[0])
    if _fits(text, limit):
        return text, plain
    for chars in TEXT_CHARS:
        short = _cut_texts(plain, chars, [False])
        most = rows
        while True:  # halving at all means something was left out: truncated either way
            shown = short if most >= rows else _cut_rows(short, [False], most)
            text = _encoded(shown, True)
            if _fits(text, limit) or most <= 1:
                break
            most = max(1, most // 2)
        if _fits(text, limit):
            return text, shown
    return _last_resort(text, limit), None


def _last_resort(text: str, limit: int) -> str:
    """An answer too big even with one row and short texts, as an object: a note, and as much
    of its JSON text as fits (measured encoded: a CJK character is 3 bytes, an escaped quote
    2)."""
    note = (f"the answer is over {limit:,} bytes even with its lists cut to one item and its "
            f"texts to {TEXT_CHARS[-1]} characters; the start of its JSON text is below: ask "
            "for less (a cluster, a node, a narrower query)")  # fmt: skip
    low, high = 0, min(len(text), limit)  # a character is at least a byte
    while low < high:  # the longest start that fits
        middle = (low + high + 1) // 2
        whole = _fits(_encoded({"note": note, "start": text[:middle]}, True), limit)
        low, high = (middle, high) if whole else (low, middle - 1)
    return _encoded({"note": note, "start": text[:low]}, True)


#: the most a cut's note (`` … [N more characters cut]``) takes, as UTF-8
_CUT_NOTE_BYTES = 64


def _cut_words(text: str, limit: int) -> str:
    """An error's words (plain text, not JSON) in at most ``limit`` bytes as UTF-8, the cut
    said as ``_cut_texts`` says it: a tool's error may join what each cluster said (80 Tempos'
    502 pages, 42 KB), and it goes whole to an MCP client and into the chat's session."""
    text = without_surrogates(text)  # one cannot be encoded (nor measured)
    if _fits(text, limit):
        return text
    kept = text.encode()[: limit - _CUT_NOTE_BYTES].decode(errors="ignore")  # whole characters
    return f"{kept} … [{len(text) - len(kept):,} more characters cut]"


def keeps_list(value: dict[str, Any], key: str, *, rows: int = MAX_ROWS,
               limit: int = MAX_RESULT_BYTES) -> bool:  # fmt: skip
    """Whether ``bounded_json`` gives every item of the list ``value[key]`` (their long texts
    may be shortened): a tool that says what it left out of a list sizes that list with it
    (its count said is then the one shown). The rest of ``value`` is measured as
    ``bounded_json`` leaves it: a list it cuts to ``rows`` anyway (150 clusters not read) or a
    long text it shortens anyway (a 20,000-character label) left one item of the list."""
    shown = _bounded(value, rows, limit, ips=False)[1]
    kept = shown.get(key) if isinstance(shown, dict) else None
    return isinstance(kept, list) and len(kept) == len(value[key])


class ToolError(AppError):
    """A tool's refusal, said for the model and the person (a bad cluster name, nothing
    configured)."""


@dataclass
class Turn:
    """One chat turn's calls, as ``ToolBox.call`` counts them: a file-writing tool runs once a
    turn at most. The chat runs every call its model asks for (20 a turn), and text in a tool
    result (a log line, an alert's summary) may ask for a report of every kind: the person
    asked one question, not for a folder of files."""

    wrote_file: bool = False


class ToolBox:
    def __init__(
        self, core: Core, tools: Iterable[Tool], *, timeout_s: float = CALL_TIMEOUT_S,
        redact_ips: bool = False,
    ) -> None:  # fmt: skip
        """``redact_ips``: IP addresses replaced in every answer too (``llm.redact_ips``: the
        MCP server's answers go to another assistant, often a cloud model, that no
        ``LlmClient`` redacts for; the chat's go through the app's own, which does)."""
        self.core = core
        self.tools = {t.name: t for t in tools}
        self.timeout_s = timeout_s
        self.redact_ips = redact_ips

    def names(self) -> list[str]:
        return list(self.tools)

    def specs(self, allowed: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The OpenAI ``tools`` list, only ``allowed`` ones when given."""
        keep = set(self.tools) if allowed is None else set(allowed)
        return [t.openai_spec() for name, t in self.tools.items() if name in keep]

    def _refusal(
        self, name: str, tool: Tool | None, allowed: Iterable[str] | None, turn: Turn | None
    ) -> str:
        """Why ``name`` is not run, said for the model; "" when it may run."""
        if tool is None or (allowed is not None and name not in set(allowed)):
            known = ", ".join(sorted(self.tools if allowed is None else allowed))
            return f"no tool named {name[:80]!r} here; the tools are: {known}"
        if tool.writes_file and turn is not None and turn.wrote_file:
            return (f"{name}: not run: one file is written a turn at most, and this turn has "
                    "written one; say what it holds, the person may ask for another")  # fmt: skip
        return ""

    async def call(
        self, name: str, arguments: str | dict[str, Any] | None, *,
        allowed: Iterable[str] | None = None, turn: Turn | None = None,
    ) -> ToolOutcome:  # fmt: skip
        """``turn``: the chat's turn this call is part of (a file-writing tool runs once in it);
        none (an MCP client's call: its client asks the person) sets no such limit."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        # addresses replaced: this box's setting, or its caller's (the chat's, whose model
        # client replaces them only after this box and its tools cut long texts, where a
        # split one is none)
        ips = self.redact_ips or REDACTING_IPS.get()

        def done(content: str, *, error: bool = False) -> ToolOutcome:
            """``content``: an error's words (redacted whole, then cut: a secret across the
            cut is still seen), or ``bounded_json``'s answer (redacted field by field)."""
            took = (loop.time() - started) * 1000
            if error:
                content = _cut_words(redact_for_llm(content, ips=ips), MAX_RESULT_BYTES)
            return ToolOutcome(name, content, is_error=error, elapsed_ms=took)

        tool = self.tools.get(name)
        refused = self._refusal(name, tool, allowed, turn)
        if tool is None or refused:
            return done(refused, error=True)
        try:
            parsed = _arguments(arguments)
            given = tool.input.model_validate(parsed)
        except (ValueError, ValidationError) as exc:
            return done(f"{name}: the arguments are not valid: {_said(exc)}", error=True)
        writer = turn if tool.writes_file else None
        if writer is not None:
            writer.wrote_file = True  # before it runs: a second call at once is refused too
        redacting = REDACTING_IPS.set(ips)  # for the texts a tool cuts itself
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await tool.run(self.core, given)
                # in a worker thread, within the deadline: converting and redacting a big
                # answer's rows held the event loop (the Qt thread) for seconds
                text = await asyncio.to_thread(bounded_json, result, ips=ips)
        except TimeoutError:  # its worker thread may still write: the turn's file is spent
            return done(f"{name} did not finish within {self.timeout_s:g} s", error=True)
        except AppError as exc:
            if writer is not None:  # refused before writing (a wrong name): it may try again
                writer.wrote_file = False
            return done(f"{name}: {exc}", error=True)
        except Exception as exc:
            # a known kind said; any other is a defect's: its traceback logged, and still an
            # answer, redacted (an MCP client got its raw words as a protocol error, the chat's
            # turn a traceback). A cancel is no Exception: it goes on
            expected = isinstance(exc, OSError | ValueError | KeyError | TypeError | RuntimeError)
            log.warning("tool failed", exc_info=not expected,
                        extra={"tool": name, "error": repr(exc)[:300]})  # fmt: skip
            return done(f"{name} failed: {type(exc).__name__}: {str(exc)[:300]}", error=True)
        finally:
            REDACTING_IPS.reset(redacting)
        return done(text)


def _arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):  # an MCP client's, parsed by its SDK: measured the same
        try:
            size = len(json.dumps(arguments, ensure_ascii=False).encode())
        except RecursionError:
            raise ValueError("nested too deep to read") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if size > MAX_ARGUMENT_BYTES:
            raise ValueError(f"over {MAX_ARGUMENT_BYTES:,} bytes of arguments")
        return arguments
    if len(arguments.encode()) > MAX_ARGUMENT_BYTES:
        raise ValueError(f"over {MAX_ARGUMENT_BYTES:,} bytes of arguments")
    try:
        parsed = json.loads(arguments)
    except RecursionError:  # an MCP client's arguments nested past Python's recursion
        raise ValueError("nested too deep to read") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(parsed, dict):
        raise ValueError("the arguments must be a JSON object")
    return parsed


def _said(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
    return str(exc)[:300]
