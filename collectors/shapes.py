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
