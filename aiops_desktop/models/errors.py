"""The one root of every error the app raises on purpose, and the exit codes scripts rely on.

Each layer has its own branch (``CollectorError``, ``StoreError``, ``SecretsError``,
``RegistryError``, ``CaptureError``, ...), all of them ``AppError``: its message is for a
person, and its ``exit_code`` is what the command line exits with, so no caller maps error
types to codes by hand. Anything that is not an ``AppError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_ERROR = 1  # a runtime failure: keyring, cache, a source that cannot be read
EXIT_USAGE = 2  # invalid input or usage
EXIT_PARTIAL = 3  # some sources could not be read (the rest were)
EXIT_NOT_FOUND = 4
EXIT_EXISTS = 5

EXIT_CODES_TEXT = "0 ok, 1 error, 2 invalid input, 3 partial, 4 not found, 5 already exists"


class AppError(Exception):
    """An error the app expected; ``str(error)`` says what happened and what to do."""

    exit_code: ClassVar[int] = EXIT_ERROR


class UsageError(AppError):
    """The request itself is wrong (an argument, a file's content, a name)."""

    exit_code = EXIT_USAGE


class NotFoundError(AppError):
    exit_code = EXIT_NOT_FOUND


class AlreadyExistsError(AppError):
    exit_code = EXIT_EXISTS
