"""Rows whose body is a model as JSON, read back checked: the cache file is the app's own, but
a disk, a crash or a hand edit can damage one row, and one damaged row must not stop every
list that holds it (a traceback in `aiops-desktop incidents`, a regrouping that fails each
refresh). Damaged rows are skipped, said in the log, and left in place (nothing deleted)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from aiops_desktop.store.errors import StoreError

log = logging.getLogger("aiops.store")

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
T = TypeVar("T")


class DamagedRowError(StoreError):
    """One row of the cache cannot be read back."""


def read_rows(rows: Iterable[R], read: Callable[[R], T], what: str) -> list[T]:
    """Each row read by ``read``; a damaged one (``read`` raises ValueError, pydantic's
    ValidationError among them, or TypeError: a hand edit left a number where text was) is
    skipped, and all of them are counted in one warning (never their text)."""
    out, damaged = [], 0
    for row in rows:
        try:
            out.append(read(row))
        except (ValidationError, ValueError, TypeError):
            damaged += 1
    if damaged:
        log.warning("%d damaged %s rows in the cache were skipped (left in place)", damaged, what)
    return out


def read_all(model: type[M], bodies: Iterable[object], what: str) -> list[M]:
    """Each body as ``model``; a damaged one is skipped and logged."""
    return read_rows(
        bodies,
        lambda body: model.model_validate_json(body if isinstance(body, str | bytes) else ""),
        what,
    )


def read_one(model: type[M], body: object, what: str) -> M:
    """The body as ``model``; damaged: a clear error (never a validation traceback)."""
    try:
        return model.model_validate_json(body if isinstance(body, str | bytes) else "")
    except (ValidationError, ValueError) as exc:
        raise DamagedRowError(
            f"the cache's record of {what} is damaged and cannot be read "
            f"({type(exc).__name__}); the rest of the cache is unaffected"
        ) from None
