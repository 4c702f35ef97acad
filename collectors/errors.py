"""The collectors' own errors. Callers never see raw httpx or ssl exceptions."""

from __future__ import annotations

import re

from aiops_desktop.logs import redact
from aiops_desktop.models.errors import AppError


class CollectorError(AppError):
    """Base: something went wrong talking to a backend; the message is for the user. It often
    quotes the backend, which may echo what it was sent: the message is redacted (tokens,
    passwords, keys the app holds) before anyone can store, export or print it."""

    reason = "error"

    def __init__(self, message: str, *, backend: str = "", status: int | None = None) -> None:
        super().__init__(redact(message))
        self.backend = backend
        self.status = status


class CollectorAuthError(CollectorError):
    reason = "auth_failed"


class CollectorTimeout(CollectorError):
    reason = "timed_out"


class CollectorUnreachable(CollectorError):
    reason = "unreachable"


class CollectorTLSError(CollectorUnreachable):
    reason = "tls_untrusted"


class CollectorInvalidQuery(CollectorError):
    """The backend refused the query; ``upstream`` carries its own error text."""

    reason = "invalid_query"

    def __init__(self, message: str, *, upstream: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.upstream = redact(upstream)


class CollectorServerError(CollectorError):
    reason = "server_error"


class CollectorRateLimited(CollectorError):
    """429: the backend asks this app to slow down (the poller backs off)."""

    reason = "rate_limited"


class CollectorResponseTooLarge(CollectorError):
    reason = "response_too_large"


class CollectorBadResponse(CollectorError):
    """Malformed JSON, or JSON not in the documented upstream shape."""

    reason = "bad_response"


class ExecExited(CollectorError):
    """A command run in a pod ended with a non-zero exit code; ``output``: what it printed on
    stdout before (nvidia-smi prints every GPU it can read, then exits 14 where one GPU's
    infoROM is corrupted: the caller decides whether those rows count)."""

    def __init__(self, message: str, *, backend: str, code: int, output: str) -> None:
        super().__init__(message, backend=backend)
        self.code = code
        self.output = output


def headers_too_large(where: str, cause: str, backend: str) -> CollectorBadResponse:
    """A server whose answer's headers pass the HTTP library's own limits (h11, http.client):
    the same words from every client."""
    return CollectorBadResponse(
        f"{where} answered headers larger than this app reads ({cause})", backend=backend
    )


def root_cause(exc: BaseException, limit: int = 200) -> str:
    """The innermost reason of a chained network error, in a few words."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return (str(exc) or type(exc).__name__)[:limit]


class ReadOnlyViolation(RuntimeError):
    """A programming error: something asked the read-only client to change the cluster."""


class KubeConfigInvalid(CollectorError):
    """The kubeconfig (or the credential in it) cannot be used at all."""

    reason = "invalid_config"


class KubeForbidden(CollectorAuthError):
    reason = "forbidden"


class KubeNotFound(CollectorError):
    """The API path or object does not exist (a missing operator's CRD, for instance)."""

    reason = "not_found"


class KubeGone(CollectorError):
    """410: the resourceVersion is too old; list again."""

    reason = "gone"


#: a refused credential (401) or access (403) in the words every backend says it
REFUSED_WORDS = {401: "rejected the credentials", 403: "denied access"}
#: those words as a failure's text keeps them (a poll's status keeps its failure's words only)
_REFUSAL = re.compile(
    rf"\b(?:{'|'.join(map(re.escape, REFUSED_WORDS.values()))}) \(HTTP (?:401|403)\)"
)


def says_refused(why: str | None) -> bool:
    """Whether a failure's text says its credential or access was refused (401, 403)."""
    return bool(why) and _REFUSAL.search(why or "") is not None


def auth_refused(where: str, backend: str, status: int) -> CollectorAuthError:
    """A refused credential (401) or access (403), in the words every backend says it."""
    what = REFUSED_WORDS[401] if status == 401 else REFUSED_WORDS[403]
    return CollectorAuthError(
        f"{where} {what} (HTTP {status}): check the token or its permissions",
        backend=backend,
        status=status,
    )
