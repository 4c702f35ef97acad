"""The OpenAI-compatible client against answers in the exact upstream format (llama.cpp's
server-sent events, recorded from llama-cpp-python 0.3.36), and the redaction that runs before
any request: a canary secret never reaches the server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aiops_desktop.logs import register_secret
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorResponseTooLarge,
)
from collectors.llm import LlmClient, LlmEndpoint, Reply, TextDelta
from collectors.llm_redaction import redact_for_llm

CHUNK = (
    '{{"id": "chatcmpl-1", "model": "x", "created": 1796436974, "object": '
    '"chat.completion.chunk", "choices": [{{"index": 0, "delta": {delta}, "logprobs": null, '
    '"finish_reason": {finish}}}]}}'
)


def sse(*events: str) -> bytes:
    return b"".join(f"data: {e}\r\n\r\n".encode() for e in events)


def text_stream(*words: str) -> bytes:
    chunks = [CHUNK.format(delta='{"role": "assistant"}', finish="null")]
    chunks += [CHUNK.format(delta=json.dumps({"content": w}), finish="null") for w in words]
    chunks.append(CHUNK.format(delta="{}", finish='"stop"'))
    return sse(*chunks, "[DONE]")


def tool_stream() -> bytes:
    """llama-cpp-python's forced tool call: the id and name repeated, arguments in pieces."""

    def piece(args: str, index: int = 0, name: str = "list_clusters") -> str:
        call = {"index": index, "id": f"call__{index}_{name}", "type": "function",
                "function": {"name": name, "arguments": args}}  # fmt: skip
        delta = {"role": None, "content": None, "function_call": {"name": name},
                 "tool_calls": [call]}  # fmt: skip
        return CHUNK.format(delta=json.dumps(delta), finish="null")

    return sse(piece('{"'), piece('state'), piece('": "'), piece('OFFLINE"}'),
               piece('{}', index=1, name="list_alerts"),
               CHUNK.format(delta="{}", finish='"tool_calls"'), "[DONE]")  # fmt: skip


def client(handler: Any, **kw: Any) -> LlmClient:
    endpoint = LlmEndpoint("http://127.0.0.1:9/v1", "smollm2", **kw)
    return LlmClient(endpoint, transport=httpx.MockTransport(handler))


async def collect(c: LlmClient, messages: list[dict[str, Any]] | None = None, **kw: Any):
    events = [e async for e in c.stream(messages or [{"role": "user", "content": "hi"}], **kw)]
    await c.aclose()
    return events


@pytest.mark.asyncio
async def test_text_streams_in_order_and_ends_with_the_whole_reply() -> None:
    c = client(lambda r: httpx.Response(200, content=text_stream("Blue", " sky", ".")))
    events = await collect(c)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Blue", " sky", "."]
    reply = events[-1]
    assert isinstance(reply, Reply)
    assert reply.text == "Blue sky." and reply.finish_reason == "stop"
    # llama.cpp sends no usage in a stream: the chunks are counted, and it says so
    assert reply.completion_tokens == 3 and reply.tokens_counted
    assert reply.first_token_ms is not None and reply.total_ms >= reply.first_token_ms


@pytest.mark.asyncio
async def test_usage_from_the_server_is_taken_as_given() -> None:
    usage = '{"id": "c", "choices": [], "usage": {"prompt_tokens": 36, "completion_tokens": 2}}'
    body = text_stream("a", "b").replace(
        b"data: [DONE]", f"data: {usage}\r\n\r\ndata: [DONE]".encode()
    )
    events = await collect(client(lambda r: httpx.Response(200, content=body)))
    reply = events[-1]
    assert isinstance(reply, Reply)
    assert (reply.prompt_tokens, reply.completion_tokens, reply.tokens_counted) == (36, 2, False)


@pytest.mark.asyncio
async def test_tool_call_fragments_are_joined_by_index() -> None:
    events = await collect(client(lambda r: httpx.Response(200, content=tool_stream())))
    reply = events[-1]
    assert isinstance(reply, Reply)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("list_clusters", '{"state": "OFFLINE"}'),
        ("list_alerts", "{}"),
    ]
    assert reply.tool_calls[0].id == "call__0_list_clusters"
    assert reply.finish_reason == "tool_calls"


@pytest.mark.asyncio
async def test_the_request_is_the_openai_format_with_tools_and_choice() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=text_stream("ok"))

    tools = [{"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}]
    choice = {"type": "function", "function": {"name": "t"}}
    await collect(client(handler), tools=tools, tool_choice=choice, max_tokens=7)
    body = seen[0]
    assert body["stream"] is True and body["model"] == "smollm2"
    assert body["tools"] == tools and body["tool_choice"] == choice and body["max_tokens"] == 7


CANARY = "sha256~canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
KEYRING_CANARY = "k8s-token-that-only-the-keyring-holds-7Qz"


@pytest.mark.asyncio
async def test_a_canary_secret_never_reaches_the_server() -> None:
    """Every byte the server receives is searched: the secret the keyring handed out (any
    shape), an OpenShift token, a kubeconfig's key data, a bearer header, a password."""
    register_secret(KEYRING_CANARY)  # as SecretStore.get does for every value it reads
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content + str(request.url).encode())
        return httpx.Response(200, content=text_stream("ok"))

    leaky = (
        f"token {CANARY}; the keyring's {KEYRING_CANARY}; "
        "client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t; "
        "Authorization: Bearer abcdefghijklmnop1234; password=hunter2hunter2"
    )
    messages = [
        {"role": "system", "content": f"context {KEYRING_CANARY}"},
        {"role": "user", "content": leaky},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "t", "arguments": json.dumps({"q": CANARY})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"token": CANARY})},
    ]  # fmt: skip
    await collect(client(handler), messages)
    wire = b"".join(sent)
    for secret in (CANARY, KEYRING_CANARY, "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t",
                   "abcdefghijklmnop1234", "hunter2hunter2"):  # fmt: skip
        assert secret.encode() not in wire, secret
    assert b"[REDACTED]" in wire


def test_ip_addresses_go_only_when_asked() -> None:
    text = "node 10.0.12.7 and fe80::1ff:fe23:4567:890a at 12:30:00, version 4.16.2"
    assert redact_for_llm(text) == text
    hidden = redact_for_llm(text, ips=True)
    assert "10.0.12.7" not in hidden and "fe80::" not in hidden
    assert "12:30:00" in hidden and "4.16.2" in hidden


@pytest.mark.asyncio
async def test_the_api_key_is_a_header_and_a_refusal_is_said() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer sk-local-key-123456789012"
        return httpx.Response(401, json={"error": {"message": "Invalid API Key"}})

    with pytest.raises(CollectorAuthError, match="refused the API key"):
        await collect(client(handler, api_key="sk-local-key-123456789012"))


@pytest.mark.asyncio
async def test_a_stream_cut_before_its_end_is_an_error_not_a_reply() -> None:
    cut = text_stream("Blue", " sky").split(b'data: {"id": "chatcmpl-1"')[0:3]
    body = b'data: {"id": "chatcmpl-1"'.join(cut)
    with pytest.raises(CollectorBadResponse, match="closed the stream before the reply"):
        await collect(client(lambda r: httpx.Response(200, content=body)))


@pytest.mark.asyncio
async def test_an_error_inside_the_stream_is_said() -> None:
    body = sse('{"error": {"message": "context window exceeded", "code": 400}}')
    with pytest.raises(CollectorBadResponse, match="context window exceeded"):
        await collect(client(lambda r: httpx.Response(200, content=body)))


@pytest.mark.asyncio
async def test_malformed_json_events_and_huge_streams_are_refused() -> None:
    with pytest.raises(CollectorBadResponse, match="not JSON"):
        await collect(client(lambda r: httpx.Response(200, content=sse("{not json"))))
    endless = b"data: " + b"x" * (300 * 1024)
    with pytest.raises(CollectorResponseTooLarge, match="over"):
        await collect(client(lambda r: httpx.Response(200, content=endless)))


@pytest.mark.asyncio
async def test_http_errors_quote_the_server() -> None:
    c = client(lambda r: httpx.Response(400, json={"error": {"message": "bad tool_choice"}}))
    with pytest.raises(CollectorBadResponse, match="HTTP 400"):
        await collect(c)


def test_endpoints_are_checked() -> None:
    with pytest.raises(CollectorError, match="http"):
        LlmEndpoint("file:///etc/passwd", "m")
    with pytest.raises(CollectorError, match="keyring"):
        LlmEndpoint("http://user:pw@127.0.0.1:8080/v1", "m")
    assert "sk-" not in repr(LlmEndpoint("http://127.0.0.1/v1", "m", api_key="sk-abcdefabcdef"))
    # the model is local: a host elsewhere receives the fleet's data only when the user says
    # so, and never in clear (the keyring's API key went over plain http to any host)
    for here in ("http://localhost:11434/v1", "http://[::1]:8080/v1", "http://127.0.0.2/v1"):
        LlmEndpoint(here, "m")
    with pytest.raises(CollectorError, match=r"must be on this machine.*--allow-remote"):
        LlmEndpoint("https://api.openai.com/v1", "m")
    with pytest.raises(CollectorError, match="https only"):
        LlmEndpoint("http://llm.example.net/v1", "m", allow_remote=True)
    LlmEndpoint("https://llm.example.net/v1", "m", allow_remote=True)


@pytest.mark.asyncio
async def test_models_are_listed() -> None:
    body = {"object": "list", "data": [{"id": "smollm2-135m", "object": "model"}]}
    c = client(lambda r: httpx.Response(200, json=body))
    assert await c.models() == ["smollm2-135m"]
    await c.aclose()


@pytest.mark.asyncio
async def test_a_model_allowed_elsewhere_stays_allowed_when_the_window_saves(core) -> None:  # type: ignore[no-untyped-def]
    """The window's settings do not ask whether a model may be elsewhere: saving them kept
    refusing the endpoint `llm set --allow-remote` had set."""
    await core.llm.set(endpoint="https://llm.example.net/v1", model="m", allow_remote=True)
    kept = await core.llm.set(endpoint="https://llm.example.net/v1", model="m2")
    assert kept.allow_remote and kept.model == "m2"
    local = await core.llm.set(endpoint="http://127.0.0.1:8080/v1", model="m", allow_remote=False)
    assert not local.allow_remote
