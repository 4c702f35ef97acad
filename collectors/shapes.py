"""Reading a server's objects where a field may be of any type.

Kubernetes objects are read with plain ``.get`` chains, as the API documents them. A broken
or hostile server (or a crafted capture) can put a list where a mapping belongs, a number for
a name: then a chain raises AttributeError, TypeError, KeyError or ValueError somewhere inside.
``malformed_as`` turns that into ``CollectorBadResponse`` naming what was being read, so every
caller's handling of a bad answer applies, and no traceback reaches a person. ``read_json``
does the same for the JSON text itself: not JSON, or JSON nested deeper than Python recurses
(``[[[[...`` a hundred thousand deep raises RecursionError, not ValueError).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from collectors.errors import CollectorBadResponse

P = ParamSpec("P")
R = TypeVar("R")

#: what a field of the wrong type raises somewhere in a ``.get`` chain or a conversion
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ValueError, IndexError, OverflowError)
#: what decoding JSON from outside raises: not JSON, or nested past the recursion limit
JSON_ERRORS = (ValueError, RecursionError)


def read_json(text: str | bytes, what: str) -> Any:
    """``text`` decoded as JSON, or CollectorBadResponse saying why ``what`` (e.g. "a tail
    frame") is not: every caller then handles it as the bad answer it is."""
    try:
        return json.loads(text)
    except JSON_ERRORS as exc:
        said = str(exc)[:120] if isinstance(exc, ValueError) else "nested too deep"
        raise CollectorBadResponse(f"{what} is not JSON ({type(exc).__name__}: {said})") from exc


def malformed_as(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A parser of ``what`` (e.g. "a pod") whose shape errors become a clear message."""

    def wrap(parse: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(parse)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return parse(*args, **kwargs)
            except CollectorBadResponse:
                raise
            except SHAPE_ERRORS as exc:
                raise CollectorBadResponse(
                    f"{what} is not in Kubernetes format ({type(exc).__name__}: {exc})"[:300]
                ) from exc

        return checked

    return wrap


#: a UTF-16 surrogate: JSON's "\ud83d" escape decodes to one when the pair is cut in half
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (half an emoji) replaced by U+FFFD: one cannot be
    encoded as UTF-8, so a session holding it could never be saved again."""
    return _SURROGATE.sub("\ufffd", text)


def document_without_surrogates(value: Any) -> Any:
    """Parsed JSON with each lone surrogate in its texts and keys replaced (a "\\ud800"
    escape parses to one): a model's tool arguments, an MCP client's message, a server's
    answer. Walked with a list of the containers still to copy, not by recursion: json.loads
    reads a document nested deeper than a recursive walk could follow."""
    to_copy: list[tuple[Any, Any]] = []  # (a list or dict, its copy, yet empty)

    def copied(item: Any) -> Any:
        """``item`` cleaned, or an empty copy of a container, filled once taken off the list."""
        if isinstance(item, str):
            return without_surrogates(item)
        if isinstance(item, list | dict):
            copy: Any = [] if isinstance(item, list) else {}
            to_copy.append((item, copy))
            return copy
        return item

    document = copied(value)
    while to_copy:
        source, copy = to_copy.pop()
        if isinstance(source, list):
            copy.extend(copied(item) for item in source)
        else:
            copy.update((without_surrogates(k), copied(v)) for k, v in source.items())
    return document
