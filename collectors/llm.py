"""A client for any OpenAI-compatible chat endpoint (llama.cpp server, vLLM, Ollama).

``LlmClient.stream`` posts ``/chat/completions`` with ``stream: true`` and yields the reply as
it comes (server-sent events): text deltas, then one ``Reply`` with the whole text, the tool
calls (several per turn; their argument fragments joined by index), the finish reason, the
token counts and the latencies. Everything it sends is redacted first (``llm_redaction``): the
chokepoint, so no caller can forget. Bounded: 120 s for a whole reply, 4 MiB of stream, 256 KiB
per event; no proxy from the environment and no redirect (air-gapped; a redirect could carry
the key elsewhere); TLS verified by default. Cancelling the task that iterates closes the
connection, which stops the server's generation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx
from typing_extensions import Unpack

from aiops_desktop.models.chat import LLM_TIMEOUT_S  # the whole reply, first byte to last
from collectors.auth import EndpointAuth, is_loopback, ssl_context
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorResponseTooLarge,
)
from collectors.http import read_limited, transport_errors, upstream_error
from collectors.llm_redaction import redact_document, redact_for_llm, secrets_known
from collectors.shapes import without_surrogates
from collectors.transport import closing_transport

CONNECT_TIMEOUT_S = 5.0
MAX_STREAM_BYTES = 4 * 1024 * 1024
MAX_EVENT_BYTES = 256 * 1024
MAX_ERROR_BYTES = 64 * 1024
#: the most decoded bytes parsed at once: a few hundred gzip bytes on the wire can decode to
#: megabytes, parsed on the event loop (the UI thread) with no await in between
MAX_FEED_BYTES = 16 * 1024
#: the most tokens a usage count may say (more than any context): a larger one is no count
MAX_TOKENS = 2**31 - 1
#: the messages a client keeps redacted (a request carries the last 50 and the system prompt)
MOST_REDACTED_KEPT = 256


@dataclass(frozen=True)
class LlmEndpoint:
    """Where the model answers: the base URL that ends where ``/chat/completions`` follows
    (``http://127.0.0.1:8080/v1`` for llama.cpp, ``http://127.0.0.1:11434/v1`` for Ollama)."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    verify: bool = True
    timeout_s: float = LLM_TIMEOUT_S
    redact_ips: bool = False
    #: used when a request names none (None: the server's default)
    temperature: float | None = None
    #: a model off this machine, which then receives the fleet's data: the user's explicit
    #: say (``llm set --allow-remote``), and over https only
    allow_remote: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if "?" in self.base_url or "#" in self.base_url:  # before any message quotes the URL
            # ?api_key=… would be shown by `llm show`, and the client appends
            # /chat/completions after the query: a request to the wrong path
            raise CollectorError(
                "LLM endpoint: a URL is a base path only (no '?…' or '#…'): put the API key "
                "in the keyring (`aiops-desktop llm set --key-stdin`), not in the URL"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CollectorError(
                "the LLM endpoint must be an http(s) URL such as http://127.0.0.1:8080/v1, "
                f"not {self.base_url[:200]!r}"
            )
        try:  # a port that is no port (abc, 99999) fails every later request, unsaid
            port = parts.port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= 65535:
            raise CollectorError(
                "the LLM endpoint's port must be a number from 1 to 65535, as in "
                f"http://127.0.0.1:8080/v1: not {self.base_url[:200]!r}"
            )
        if not is_loopback(parts.hostname):
            if not self.allow_remote:
                raise CollectorError(
                    f"the LLM endpoint must be on this machine (127.0.0.1, ::1, localhost): "
                    f"{parts.hostname[:200]} would receive the fleet's data; allow a model "
                    "elsewhere with `aiops-desktop llm set --allow-remote` (https only)"
                )
            if parts.scheme != "https":
                raise CollectorError(
                    "a model off this machine is reached over https only: its API key and the "
                    "fleet's data would cross the network in clear"
                )
        if parts.username or parts.password:
            raise CollectorError(
                "LLM endpoint: put the API key in the keyring (`aiops-desktop llm set "
                "--key-stdin`), not in the URL"
            )


@dataclass(frozen=True)
class LlmToolCall:
    """One call the model asked for; ``arguments`` is the raw JSON text it wrote (it may be
    malformed: the caller says so to the model and the session goes on)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Reply:
    text: str
    tool_calls: list[LlmToolCall]
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    #: request sent -> first token (text or tool call), and the whole reply, in ms
    first_token_ms: float | None
    total_ms: float
    #: the server gave no usage (llama.cpp's streams): completion tokens counted as the
    #: stream's chunks, one token each there
    tokens_counted: bool = False

    @property
    def tokens_per_s(self) -> float | None:
        if not self.completion_tokens or self.first_token_ms is None:
            return None
        generating = (self.total_ms - self.first_token_ms) / 1000
        return self.completion_tokens / generating if generating > 0 else None


LlmEvent = TextDelta | Reply


class RequestOptions(TypedDict, total=False):
    """What a request may add to its messages (``LlmClient.payload``)."""

    tools: list[dict[str, Any]] | None
    tool_choice: str | dict[str, Any] | None
    max_tokens: int | None
    temperature: float | None


def redacted_messages(messages: list[dict[str, Any]], *, redact_ips: bool) -> list[dict[str, Any]]:
    """Every string a request carries (content, tool arguments, names), redacted; a tool's
    answer that is JSON field by field, as the tools redact theirs (``redact_document``):
    redacted as one text, a field ending in ``token=`` took the next field's ``","`` for
    the token, and the model read no JSON."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact_for_llm(value, ips=redact_ips)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    def one(message: dict[str, Any]) -> dict[str, Any]:
        content = message.get("content")
        if message.get("role") == "tool" and isinstance(content, str):
            try:
                doc = json.loads(content)
                if isinstance(doc, dict | list):
                    text = json.dumps(redact_document(doc, ips=redact_ips), ensure_ascii=False,
                                      separators=(",", ":"))  # fmt: skip
                    return {**clean({k: v for k, v in message.items() if k != "content"}),
                            "content": text}  # fmt: skip
            except (ValueError, RecursionError):  # not JSON, or nested past what is walked
                pass  # redacted as a text
        return dict(clean(message))

    return [one(m) for m in messages]


class _Sse:
    """Server-sent events from byte chunks, bounded per event and in total."""

    def __init__(self, where: str) -> None:
        self._where = where
        #: the unfinished line, in the pieces it came in (joined once it ends: joining at
        #: every chunk would copy it again and again)
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._data: list[bytes] = []
        self._size = 0
        self.total = 0

    def feed(self, chunk: bytes) -> list[str]:
        self.total += len(chunk)
        if self.total > MAX_STREAM_BYTES:
            raise CollectorResponseTooLarge(
                f"{self._where} streamed more than {MAX_STREAM_BYTES:,} bytes for one reply"
            )
        end = chunk.find(b"\n")
        if end == -1:
            self._partial.append(chunk)
            self._partial_size += len(chunk)
            self._check(self._partial_size)
            return []
        # scanned by index: splitting off one line at a time copied the rest of the buffer
        # for each line (a chunk of blank lines took seconds)
        buffer = b"".join([*self._partial, chunk])
        start, end = 0, end + self._partial_size
        events: list[str] = []
        while end != -1:
            line = buffer[start:end].rstrip(b"\r")
            start = end + 1
            end = buffer.find(b"\n", start)
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data).decode("utf-8", "replace"))
                self._data, self._size = [], 0
            elif line.startswith(b"data:"):
                piece = line[5:].removeprefix(b" ")
                self._size += len(piece)
                self._data.append(piece)
                self._check(self._size)
            # comments (":"), "event:", "id:", "retry:" carry nothing this client uses
        rest = buffer[start:]
        self._partial, self._partial_size = ([rest] if rest else []), len(rest)
        self._check(self._partial_size)
        return events

    def _check(self, size: int) -> None:
        if size > MAX_EVENT_BYTES:
            raise CollectorResponseTooLarge(
                f"{self._where} sent one event over {MAX_EVENT_BYTES:,} bytes"
            )

    def close(self) -> list[str]:
        """What a stream that ended without its last blank line still holds."""
        rest = self.feed(b"\n\n") if self._partial or self._data else []
        return rest


def _a_count(value: Any) -> bool:
    """``value`` is a token count: a server's usage said -1 (or true, or 10**30), which no
    reply could be kept with (the chat turn died, its text lost)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS


class _Assembly:
    """One reply put together from its chunks."""

    def __init__(self) -> None:
        self.text: list[str] = []
        #: each call by the index its first fragment gave, in the order they came
        self.calls: list[tuple[int, _Call]] = []
        #: the call an index's next fragments join: its latest
        self._open: dict[int, _Call] = {}
        self.finish: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.chunks = 0

    def take(self, chunk: dict[str, Any]) -> str:
        """The text this chunk adds ("" when none)."""
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            self.prompt_tokens = prompt if _a_count(prompt) else self.prompt_tokens
            if _a_count(completion):
                self.completion_tokens = completion
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish = choice["finish_reason"]
        delta: dict[str, Any] = {}
        for key in ("delta", "message"):  # "message": a server that ignored stream=true
            if isinstance(choice.get(key), dict):
                delta = choice[key]
                break
        added = ""
        if isinstance(delta.get("content"), str) and delta["content"]:
            added = without_surrogates(delta["content"])
            self.text.append(added)
            self.chunks += 1
        self._take_calls(delta.get("tool_calls"))
        return added

    def _take_calls(self, calls: Any) -> None:
        """Tool-call fragments: joined by index (ids and names come once, arguments in parts).
        Ollama gives every call index 0 (ollama/ollama#15457): a fragment with an id of its
        own, or with a name once the index's arguments are whole JSON, starts another call."""
        for n, call in enumerate(calls if isinstance(calls, list) else []):
            if not isinstance(call, dict):
                continue
            index: int = call["index"] if isinstance(call.get("index"), int) else n
            function: dict[str, Any] = (
                call["function"] if isinstance(call.get("function"), dict) else {}
            )
            call_id = call["id"] if isinstance(call.get("id"), str) else ""
            name = function["name"] if isinstance(function.get("name"), str) else ""
            slot = self._open.get(index)
            if slot is None or slot.another(without_surrogates(call_id), name):
                slot = _Call()
                self._open[index] = slot
                self.calls.append((index, slot))
            if call_id:
                slot.id = without_surrogates(call_id)
            if name:
                slot.name = without_surrogates(name)
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                slot.arguments += without_surrogates(arguments)
            elif isinstance(arguments, dict):  # some servers send the object itself
                slot.arguments += json.dumps(arguments)
            self.chunks += 1

    def tool_calls(self) -> list[LlmToolCall]:
        return [
            LlmToolCall(c.id or f"call_{i}", c.name, c.arguments)
            for i, (_, c) in enumerate(sorted(self.calls, key=lambda indexed: indexed[0]))
            if c.name
        ]


class _Call:
    """A tool call as its fragments come."""

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments = ""
        #: its arguments were read as JSON once, and were not whole: a name that came then
        #: is the same call's (read again at each fragment, a crafted stream costs its square)
        self._read = False

    def another(self, call_id: str, name: str) -> bool:
        """Whether a fragment at this call's index is a call of its own: it has a name and
        an id, not this call's (Ollama's calls, all at index 0), or a name after this call's
        arguments are whole (a server with no ids). This call's id again is this call (a
        server may repeat its id and name on each fragment, and in a finish chunk); a new id
        with no name is too (mlx-openai-server, Poolside: a fresh id on every fragment)."""
        if call_id and self.id:
            return call_id != self.id and bool(name)
        if not name or not self.name or not self.arguments or self._read:
            return False
        self._read = True
        try:
            json.loads(self.arguments)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            return False  # its arguments go on
        return True


class LlmClient:
    def __init__(
        self, endpoint: LlmEndpoint, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.endpoint = endpoint
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.where = f"the model server ({endpoint.base_url})"
        #: each message as redacted, by its JSON text; and how: the secrets known then, the IPs
        self._redacted: dict[str, dict[str, Any]] = {}
        self._redacted_how: tuple[int, bool] | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"User-Agent": "aiops-desktop", "Accept": "text/event-stream"}
            if self.endpoint.api_key:
                headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
            verify = ssl_context(verify=self.endpoint.verify, ca_pem=None, auth=EndpointAuth())
            self._client = httpx.AsyncClient(
                base_url=self.endpoint.base_url.rstrip("/"),
                headers=headers,
                timeout=httpx.Timeout(self.endpoint.timeout_s, connect=CONNECT_TIMEOUT_S),
                verify=verify,
                transport=self._transport or closing_transport(verify),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def payload(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> dict[str, Any]:
        """The request body, redacted: what the server receives, byte for byte.

        Each round of a turn sends the history again: a message this client has redacted for
        an earlier request is taken as redacted then (redacting 20 tool results of 16 KB anew
        took 0.8 s a round, on the event loop, the window's thread), found by its text (the
        history is built anew each round, and a message changed since is redacted anew).
        Forgotten once a secret is registered (a redaction then finds more), and bounded: the
        oldest go. A redacted message is shared by the bodies: a body is sent, never changed."""
        how = (secrets_known(), self.endpoint.redact_ips)
        if how != self._redacted_how:
            self._redacted.clear()
            self._redacted_how = how
        redacted: list[dict[str, Any]] = []
        for message in messages:
            try:
                text = json.dumps(message, ensure_ascii=False)
            except (TypeError, ValueError):  # not JSON: the request cannot carry it anyway
                text = None
            done = self._redacted.pop(text, None) if text is not None else None
            if done is None:
                done = redacted_messages([message], redact_ips=self.endpoint.redact_ips)[0]
            if text is not None:
                self._redacted[text] = done  # the newest last: the oldest are forgotten
                while len(self._redacted) > MOST_REDACTED_KEPT:
                    del self._redacted[next(iter(self._redacted))]
            redacted.append(done)
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": redacted,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        temperature = self.endpoint.temperature if temperature is None else temperature
        if temperature is not None:
            body["temperature"] = temperature
        return body

    async def stream(
        self, messages: list[dict[str, Any]], **options: Unpack[RequestOptions]
    ) -> AsyncIterator[LlmEvent]:
        """The reply as it comes; ``options`` as ``payload`` takes them. The request is built
        (redacted) in a thread: a turn's first round redacts its whole history (20 tool results
        of 16 KB: over a second), and the event loop is the UI thread."""
        body = await asyncio.to_thread(lambda: self.payload(messages, **options))
        started = time.perf_counter()
        first: float | None = None
        reply = _Assembly()
        sse = _Sse(self.where)
        timeout = self.endpoint.timeout_s
        with transport_errors(self.where, "llm", whole=timeout, connect_s=CONNECT_TIMEOUT_S,
                              read_s=timeout):  # fmt: skip
            async with (
                asyncio.timeout(timeout),
                self._http().stream("POST", "/chat/completions", json=body) as response,
            ):
                if response.status_code != 200:
                    await self._refuse(response)
                done = False
                async for chunk in response.aiter_bytes():
                    for at in range(0, len(chunk), MAX_FEED_BYTES):
                        if at:  # a large decoded chunk: let the loop (and the deadline) run
                            await asyncio.sleep(0)
                        for event in sse.feed(chunk[at : at + MAX_FEED_BYTES]):
                            if event.strip() == "[DONE]":
                                done = True
                                continue
                            added = reply.take(self._decode(event))
                            if first is None and reply.chunks:
                                first = (time.perf_counter() - started) * 1000
                            if added:
                                yield TextDelta(added)
                for event in sse.close():
                    if event.strip() == "[DONE]":
                        done = True
                    else:
                        reply.take(self._decode(event))
                if not done and reply.finish is None:
                    raise CollectorBadResponse(
                        f"{self.where} closed the stream before the reply was finished "
                        f"({sse.total:,} bytes received)",
                        backend="llm",
                    )
        completion = reply.completion_tokens
        counted = completion is None and reply.chunks > 0
        yield Reply(
            text="".join(reply.text),
            tool_calls=reply.tool_calls(),
            finish_reason=reply.finish,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.chunks if counted else completion,
            first_token_ms=first,
            total_ms=(time.perf_counter() - started) * 1000,
            tokens_counted=counted,
        )

    async def complete(
        self, messages: list[dict[str, Any]], **options: Unpack[RequestOptions]
    ) -> Reply:
        """The whole reply, streamed underneath (one path, one timeout)."""
        async for event in self.stream(messages, **options):
            if isinstance(event, Reply):
                return event
        raise CollectorBadResponse(f"{self.where} gave no reply", backend="llm")

    async def models(self) -> list[str]:
        """The model names the server offers (``GET /models``), for ``llm test``."""
        with transport_errors(self.where, "llm", whole=30.0, connect_s=CONNECT_TIMEOUT_S,
                              read_s=30.0):  # fmt: skip
            async with asyncio.timeout(30.0), self._http().stream("GET", "/models") as response:
                if response.status_code != 200:
                    await self._refuse(response)
                body = await read_limited(response, MAX_ERROR_BYTES * 4, self.where, "llm")
        try:
            data = json.loads(body)
            return [str(m["id"]) for m in data["data"] if isinstance(m, dict) and "id" in m]
        except (ValueError, RecursionError, KeyError, TypeError) as exc:
            raise CollectorBadResponse(
                f"{self.where} answered /models with something other than a model list",
                backend="llm",
            ) from exc

    def _decode(self, event: str) -> dict[str, Any]:
        try:
            data = json.loads(event)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
            raise CollectorBadResponse(
                f"{self.where} sent an event that is not JSON: {event[:120]!r}", backend="llm"
            ) from exc
        if not isinstance(data, dict):
            raise CollectorBadResponse(f"{self.where} sent a non-object event", backend="llm")
        if "error" in data:  # an error in the middle of a stream (llama.cpp, vLLM)
            error = data["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise CollectorBadResponse(
                f"{self.where} stopped with an error: {str(message)[:300]}", backend="llm"
            )
        return data

    async def _refuse(self, response: httpx.Response) -> None:
        status = response.status_code
        body = await read_limited(response, MAX_ERROR_BYTES, self.where, "llm")
        said = upstream_error(body)
        if status in (401, 403):
            raise CollectorAuthError(
                f"{self.where} refused the API key (HTTP {status}): set it with "
                "`aiops-desktop llm set --key-stdin`",
                backend="llm",
                status=status,
            )
        if 300 <= status < 400:
            raise CollectorError(
                f"{self.where} redirected (HTTP {status}); redirects are not followed: give "
                "the endpoint's own URL",
                backend="llm",
                status=status,
            )
        raise CollectorBadResponse(
            f"{self.where} answered HTTP {status}: {said}", backend="llm", status=status
        )
