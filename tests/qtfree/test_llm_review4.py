"""Review 4 of the model client and its redaction: Ollama's tool calls, all sent at index 0,
are kept apart; a secret-named variable written as a name and a value (a pod spec's JSON or
YAML, the kubelet's Go form) has its value redacted; and with IPs redacted, an address written
in a node's hostname (``ip-10-0-1-23``) or zero-padded (``010.000.001.023``) is too."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from collectors.llm import LlmClient, LlmEndpoint, LlmToolCall
from collectors.llm_redaction import IP_REDACTED, REDACTED, redact_for_llm

SECRET = "hunter2-Prod"


def sse(*chunks: dict[str, Any]) -> bytes:
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(events) + "data: [DONE]\n\n").encode()


def fragment(index: int, *, id: str = "", name: str = "", arguments: str = "") -> dict[str, Any]:
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v}
    call: dict[str, Any] = {"index": index, "type": "function", "function": function}
    if id:
        call["id"] = id
    return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}


FINISH = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


async def calls_of(*chunks: dict[str, Any]) -> list[LlmToolCall]:
    body = sse(*chunks, FINISH)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    llm = LlmClient(
        LlmEndpoint("http://127.0.0.1:9/v1", "m"), transport=httpx.MockTransport(handler)
    )
    try:
        reply = await llm.complete([{"role": "user", "content": "PTP east and GPUs west?"}])
    finally:
        await llm.aclose()
    return reply.tool_calls


def said(calls: list[LlmToolCall]) -> list[tuple[str, str, Any]]:
    return [(c.id, c.name, json.loads(c.arguments)) for c in calls]


EAST, WEST = '{"cluster": "ran-east"}', '{"cluster": "ran-west"}'


# 1. tool calls ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ollama_calls_all_at_index_0_with_their_ids_are_kept_apart() -> None:
    calls = await calls_of(
        fragment(0, id="call_a1", name="get_ptp_status", arguments=EAST),
        fragment(0, id="call_b2", name="get_gpu_summary", arguments=WEST),
    )
    assert said(calls) == [
        ("call_a1", "get_ptp_status", {"cluster": "ran-east"}),
        ("call_b2", "get_gpu_summary", {"cluster": "ran-west"}),
    ]


@pytest.mark.asyncio
async def test_calls_at_index_0_without_ids_are_kept_apart_once_the_arguments_are_whole() -> None:
    calls = await calls_of(
        fragment(0, name="get_ptp_status", arguments=EAST),
        fragment(0, name="get_ptp_status", arguments=WEST),  # the same tool, called again
    )
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_ptp_status", {"cluster": "ran-east"}),
        ("get_ptp_status", {"cluster": "ran-west"}),
    ]
    assert len({c.id for c in calls}) == 2


@pytest.mark.asyncio
async def test_one_call_in_many_fragments_with_its_id_in_the_first_is_one_call() -> None:
    calls = await calls_of(
        fragment(0, id="call_a1", name="get_ptp_status"),
        fragment(0, arguments='{"clus'),
        fragment(0, arguments='ter": '),
        fragment(0, arguments='"ran-east"}'),
    )
    assert said(calls) == [("call_a1", "get_ptp_status", {"cluster": "ran-east"})]


@pytest.mark.asyncio
async def test_a_server_that_repeats_the_id_on_each_fragment_gives_one_call() -> None:
    calls = await calls_of(
        fragment(0, id="call_a1", name="get_ptp_status", arguments='{"cluster": '),
        fragment(0, id="call_a1", arguments='"ran-east"}'),
    )
    assert said(calls) == [("call_a1", "get_ptp_status", {"cluster": "ran-east"})]


@pytest.mark.asyncio
async def test_calls_at_their_own_indexes_interleaved_are_joined_by_index() -> None:
    calls = await calls_of(
        fragment(0, id="call_a1", name="get_ptp_status", arguments='{"cluster": '),
        fragment(1, id="call_b2", name="get_gpu_summary", arguments='{"cluster": '),
        fragment(0, arguments='"ran-east"}'),
        fragment(1, arguments='"ran-west"}'),
    )
    assert said(calls) == [
        ("call_a1", "get_ptp_status", {"cluster": "ran-east"}),
        ("call_b2", "get_gpu_summary", {"cluster": "ran-west"}),
    ]


@pytest.mark.asyncio
async def test_a_name_after_arguments_nested_thousands_deep_is_no_crash() -> None:
    calls = await calls_of(
        fragment(0, id="call_a1", name="get_ptp_status", arguments="[" * 100_000),
        fragment(0, name="get_gpu_summary"),
    )
    assert [c.id for c in calls] == ["call_a1"]


@pytest.mark.asyncio
async def test_names_after_arguments_that_never_end_cost_no_square() -> None:
    # each name would have the arguments read again: 10,000 reads of up to 100,000 numbers
    chunks = [fragment(0, name="get_ptp_status", arguments='{"q": [')]
    chunks += [fragment(0, name="get_ptp_status", arguments="1," * 10) for _ in range(10_000)]
    started = time.perf_counter()
    calls = await calls_of(*chunks)
    assert len(calls) == 1 and len(calls[0].arguments) > 200_000
    assert time.perf_counter() - started < 3


# 2. name and value pairs --------------------------------------------------------------------

PAIRS = [
    '{"env":[{"name":"DB_PASSWORD","value":"hunter2-Prod"},{"name":"LOG_LEVEL","value":"debug"}]}',
    '{\n  "name": "DB_PASSWORD",\n  "value": "hunter2-Prod"\n}',
    'err="container &Container{Name:du-app,Env:[]EnvVar{EnvVar{Name:DB_PASSWORD,'
    'Value:hunter2-Prod,ValueFrom:nil,},},} start failed"',
    "{Name:DB_PASSWORD Value:hunter2-Prod ValueFrom:nil}",  # Go's %+v
    "env:\n- name: DB_PASSWORD\n  value: hunter2-Prod\n- name: LOG_LEVEL\n  value: debug",
    '- name: "DB_PASSWORD"\n  value: "hunter2-Prod"',
    "  - name: dbPassword\r\n    value: 'hunter2-Prod'",
]


@pytest.mark.parametrize("text", PAIRS)
def test_a_secret_named_variables_value_is_redacted(text: str) -> None:
    out = redact_for_llm(text)
    assert SECRET not in out and REDACTED in out
    # the variable's name stays (what the model reasons about), and a plain one's value too
    assert "DB_PASSWORD" in out or "dbPassword" in out
    assert ("debug" in out) == ("debug" in text)
    # as a tool's result holds it: the text JSON-escaped inside a document
    assert SECRET not in redact_for_llm(json.dumps({"lines": [{"line": text}]}))


def test_a_redacted_value_keeps_its_quotes_once() -> None:
    pairs = '[{"name":"DB_PASSWORD","value":"a b"},{"name":"API_TOKEN", "value": \'t\'}]'
    assert redact_for_llm(pairs) == (
        f'[{{"name":"DB_PASSWORD","value":"{REDACTED}"}},'
        f'{{"name":"API_TOKEN", "value": \'{REDACTED}\'}}]'
    )
    document = json.dumps({"line": pairs})
    assert json.loads(redact_for_llm(document)) == {"line": redact_for_llm(pairs)}
    yaml = '- name: DB_PASSWORD\n  value: "a b"\n- name: API_TOKEN\n  value: t t\n'
    assert redact_for_llm(yaml) == (
        f'- name: DB_PASSWORD\n  value: "{REDACTED}"\n- name: API_TOKEN\n  value: {REDACTED}\n'
    )
    assert json.loads(redact_for_llm(json.dumps(yaml))) == redact_for_llm(yaml)


def test_a_go_value_with_spaces_and_commas_is_redacted_to_value_from() -> None:
    out = redact_for_llm("EnvVar{Name:API_TOKEN,Value:tok 9f8e, 7d6c,ValueFrom:nil,}")
    assert out == f"EnvVar{{Name:API_TOKEN,Value:{REDACTED},ValueFrom:nil,}}"


@pytest.mark.parametrize(
    "text",
    [
        '{"name":"LOG_LEVEL","value":"debug"}',
        '{"name":"TOKEN_COUNT","value":"12"}',  # about a token, not one
        # an empty value (a secretKeyRef's) is none, and the next variable's is not its
        "EnvVar{Name:DB_PASSWORD,Value:,ValueFrom:&EnvVarSource{SecretKeyRef:nil},},"
        "EnvVar{Name:LOG_LEVEL,Value:debug,ValueFrom:nil,}",
        "{Name:DB_PASSWORD Value: ValueFrom:&EnvVarSource{}} {Name:A Value:b ValueFrom:nil}",
        json.dumps('[{"name":"DB_PASSWORD","value":""},{"name":"LOG_LEVEL","value":"debug"}]'),
        "- name: k8s.secret.name\n  value: db-creds",
        "- name: DB_HOST\n  value: db.example",
    ],
)
def test_a_plain_variable_is_kept(text: str) -> None:
    assert redact_for_llm(text) == text


# 3. IPs in hostnames ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "node ip-10-0-1-23.ec2.internal NotReady",
        "node ip-10-0-1-23.us-east-2.compute.internal NotReady",
        "node IP-10-0-1-23 NotReady",
        "peer 010.000.001.023 unreachable",
        "peer 10.000.001.023 unreachable",  # padded in part: an address still
        "connect to 192.168.01.023 failed",
    ],
)
def test_an_ip_in_a_hostname_or_zero_padded_is_redacted(text: str) -> None:
    out = redact_for_llm(text, ips=True)
    assert IP_REDACTED in out
    assert "10-0-1-23" not in out and "001" not in out and "023" not in out
    assert redact_for_llm(text) == text  # only when asked


@pytest.mark.parametrize(
    "text",
    [
        "kernel 1.2.3 and v1.28.3", "on 2024-01-02 and 2024.01.02", "build 1.2.3.4.5",
        "node ip-300-0-1-23.ec2.internal", "ip-10-0-1", "ip-1-2-3-4-5", "zip-10-0-1-23",
        "version 010.000.001", "999.000.001.023",
    ],
)  # fmt: skip
def test_versions_dates_and_no_addresses_are_kept(text: str) -> None:
    assert redact_for_llm(text, ips=True) == text


# the work a crafted line costs -----------------------------------------------------------------

SIZE = 1 << 17  # 128 KiB: a rescan per start (quadratic) costs thousands of times a plain line
#: each repeated to SIZE: starts of the new patterns that never end in a match
NEAR_MISSES = [
    '{"name":"DB_PASSWORD","value":"', '\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"a\\\\',
    '"name": "DB_PASSWORD" ', '"name":"' + "a" * 300, "Name:DB_PASSWORD,Value:",
    "Name:DB_PASSWORD,Value:a ", "name: DB_PASSWORD\n  ", "- name: DB_PASSWORD ",
    "name: DB_PASSWORD\\n  value: ", "ip-10-0-1-", "ip-1-", "010.000.001.", "0.",
    "name: DB_PASSWORD\n  value: |\n", "{name: DB_PASSWORD, value: ",
]  # fmt: skip
#: a crafted line may cost this many times a plain line; a rescan per start costs hundreds
MOST_RATIO = 8


def _cost(text: str) -> float:
    started = time.perf_counter()
    redact_for_llm(text, ips=True)
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def plain_cost() -> float:
    return _cost(("lorem ipsum " * (SIZE // 12 + 1))[:SIZE])


@pytest.mark.parametrize("piece", NEAR_MISSES)
def test_a_line_of_near_misses_costs_about_what_a_plain_one_does(
    piece: str, plain_cost: float
) -> None:
    crafted = (piece * (SIZE // len(piece) + 1))[:SIZE]
    ratio = _cost(crafted) / plain_cost
    assert ratio < MOST_RATIO, f"{piece!r}: {ratio:.0f} times a plain line's work"


# review 4b: regressions of the above ----------------------------------------------------------


@pytest.mark.asyncio
async def test_a_server_that_gives_each_fragment_a_new_id_gives_one_call() -> None:
    # mlx-openai-server before its PR #216, Poolside's API: a fresh id on every fragment of
    # one call; a piece with no name is the call's, whatever its id
    calls = await calls_of(
        fragment(0, id="call_a1", name="query_metrics"),
        fragment(0, id="call_a2", arguments='{"cluster": "ran-1",'),
        fragment(0, id="call_a3", arguments=' "query": "up"}'),
    )
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("query_metrics", {"cluster": "ran-1", "query": "up"})
    ]


@pytest.mark.asyncio
async def test_the_same_id_and_name_again_after_whole_arguments_is_the_same_call() -> None:
    whole = '{"cluster": "ran-1", "query": "up"}'
    calls = await calls_of(
        fragment(0, id="call_1", name="query_metrics", arguments=whole),
        fragment(0, id="call_1", name="query_metrics"),  # a finish chunk repeating them
    )
    assert said(calls) == [("call_1", "query_metrics", {"cluster": "ran-1", "query": "up"})]


@pytest.mark.parametrize(
    "text",
    [
        "iDRAC firmware 7.00.00.171, BIOS 2.19.1, NIC fw 22.31.06.00",
        "started 12.07.05.123 finished 12.09.41.007",
        "BIOS version 2.01.03.004 loaded",
    ],
)
def test_firmware_versions_and_times_with_padded_parts_are_kept(text: str) -> None:
    assert redact_for_llm(text, ips=True) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("- name: DB_PASSWORD\n  value: |-\n    hunter2\n    line2\n- name: LOG_LEVEL\n"
         "  value: debug\n", "- name: LOG_LEVEL\n  value: debug\n"),
        ("- name: DB_PASSWORD\n  value: >\n    hunter2\n\n    line2\n  name2: x\n", "  name2: x\n"),
        ("- {name: DB_PASSWORD, value: hunter2}\n- {name: LOG_LEVEL, value: debug}",
         "{name: LOG_LEVEL, value: debug}"),
        ("env: [{name: DB_PASSWORD, value: 'hunter2'}]", "env: [{name: DB_PASSWORD, value: '"),
        ('[{"name": "API_TOKEN", "value": 829301}, {"name": "PORT", "value": 8080}]',
         '{"name": "PORT", "value": 8080}'),
    ],
)  # fmt: skip
def test_a_secret_named_yaml_block_flow_or_json_number_value_is_redacted(
    text: str, kept: str
) -> None:
    out = redact_for_llm(text)
    assert "hunter2" not in out and "line2" not in out and "829301" not in out
    assert REDACTED in out and kept in out
    assert "hunter2" not in redact_for_llm(json.dumps({"line": text}))


def test_a_go_value_with_no_value_from_ends_at_its_brace() -> None:
    text = (
        "HTTPHeader{Name:X-Auth-Token,Value:abc,} "
        "Env:[]EnvVar{EnvVar{Name:LOG_LEVEL,Value:debug,ValueFrom:nil,},}"
    )
    assert redact_for_llm(text) == text.replace("Value:abc", f"Value:{REDACTED}")


def test_a_block_scalars_marker_and_indent_are_kept() -> None:
    text = "- name: DB_PASSWORD\n  value: |-\n    hunter2\n    line2\n- name: A\n  value: b\n"
    out = f"- name: DB_PASSWORD\n  value: |-\n    {REDACTED}\n- name: A\n  value: b\n"
    assert redact_for_llm(text) == out
    assert json.loads(redact_for_llm(json.dumps(text))) == out


def test_a_go_secret_holding_a_brace_is_redacted_whole() -> None:
    """A generated password with a "}" kept its tail in clear once a Go value stopped at a
    brace (to keep it from running into the next variable)."""
    out = redact_for_llm("{Name:API_TOKEN,Value:ab}cd-ef99,ValueFrom:nil}")
    assert "cd-ef99" not in out and "ab}" not in out and "[REDACTED]" in out
    header = "HTTPHeader{Name:X-Auth-Token,Value:abc,},EnvVar{Name:LOG_LEVEL,Value:debug,}"
    assert "LOG_LEVEL,Value:debug" in redact_for_llm(header)  # the next one is left alone


# value first: a pair's keys in either order ---------------------------------------------------

#: JSON's keys come in any order (some serialisers and hand-written manifests put "value" first)
VALUE_FIRST = [
    '{"value": "hunter2-Prod", "name": "DB_PASSWORD"}',
    '{"env":[{"value":"hunter2-Prod","name":"DB_PASSWORD"},{"value":"debug","name":"LOG_LEVEL"}]}',
    '{\n  "value": "hunter2-Prod",\n  "name": "DB_PASSWORD"\n}',
    "env:\n- value: hunter2-Prod\n  name: DB_PASSWORD\n- value: debug\n  name: LOG_LEVEL",
    "- value: 'hunter2-Prod'\n  name: \"DB_PASSWORD\"",
    "env: [{value: hunter2-Prod, name: DB_PASSWORD}, {value: debug, name: LOG_LEVEL}]",
    '- {value: "hunter2-Prod", name: DB_PASSWORD}',
    # a block scalar, and a plain value past 512 characters, kept theirs in clear (review 4c)
    "env:\n- value: |\n    hunter2-Prod\n    line2\n  name: DB_PASSWORD\n- value: debug\n"
    "  name: LOG_LEVEL",
    "- value: >-\n    hunter2-Prod\n\n      more\n\n  name: 'DB_PASSWORD'\n",
    "- value: |2\r\n     hunter2-Prod\r\n  name: DB_PASSWORD\r\n",
    "- value: hunter2-Prod" + "x" * 600 + "\n  name: DB_PASSWORD",
    "- {value: hunter2-Prod" + "x" * 600 + ", name: DB_PASSWORD}",
]


@pytest.mark.parametrize("text", VALUE_FIRST)
def test_a_secret_named_variables_value_written_first_is_redacted(text: str) -> None:
    for form in (text, json.dumps(text), json.dumps({"lines": [{"line": text}]})):
        out = redact_for_llm(form)
        assert SECRET not in out and REDACTED in out and "DB_PASSWORD" in out
        assert ("debug" in out) == ("debug" in text)


def test_a_value_written_first_keeps_its_quotes_and_a_plain_ones_value_is_kept() -> None:
    pairs = '[{"value": "a b", "name": "API_TOKEN"}, {"value": 829301, "name": "DB_PASSWORD"},'
    pairs += ' {"value": "8080", "name": "PORT"}]'
    assert redact_for_llm(pairs) == (
        f'[{{"value": "{REDACTED}", "name": "API_TOKEN"}}, {{"value": {REDACTED}, "name": '
        '"DB_PASSWORD"}, {"value": "8080", "name": "PORT"}]'
    )
    assert json.loads(redact_for_llm(json.dumps(pairs))) == redact_for_llm(pairs)
    yaml = "- value: 'a b'\n  name: API_TOKEN\n- value: 8080\n  name: PORT\n"
    assert redact_for_llm(yaml) == (
        f"- value: '{REDACTED}'\n  name: API_TOKEN\n- value: 8080\n  name: PORT\n"
    )
    assert json.loads(redact_for_llm(json.dumps(yaml))) == redact_for_llm(yaml)
    flow = "[{value: a b, name: API_TOKEN}, {value: 8080, name: PORT}]"
    assert redact_for_llm(flow) == flow.replace("value: a b", f"value: {REDACTED}")


def test_a_block_scalar_written_first_keeps_its_marker_and_indent_and_a_plain_ones_value() -> None:
    text = "- value: |-\n    hunter2\n    line2\n  name: API_TOKEN\n- value: b\n  name: A\n"
    out = f"- value: |-\n    {REDACTED}\n  name: API_TOKEN\n- value: b\n  name: A\n"
    assert redact_for_llm(text) == out
    assert json.loads(redact_for_llm(json.dumps(text))) == out
    plain = "- value: |\n    debug\n    line2\n  name: LOG_LEVEL\n- value: |\n    x\n"
    assert redact_for_llm(plain) == plain
    assert redact_for_llm(json.dumps(plain)) == json.dumps(plain)


#: starts of the value-first patterns that never end in a match
VALUE_FIRST_NEAR_MISSES = [
    '{"value":"a","name":', '\\"value\\":\\"a\\\\', '"value": "' + "a" * 600, '"value": 1',
    "- value: a ", "value: a\n  ", 'value: a\\n  name: "', "{value: a, ", "{value: 'a', name ",
    "value: |\n  ", "value: |\n    a\n", "- value: |\n    a\n  name: ", "value: |\\n    a\\n",
    "  value: |\n\n", "value: " + "a " * 300, "{value: " + "a" * 600,
]  # fmt: skip


@pytest.mark.parametrize("piece", VALUE_FIRST_NEAR_MISSES)
def test_a_hostile_line_for_a_value_first_pair_is_redacted_quickly(piece: str) -> None:
    crafted = (piece * (200_000 // len(piece) + 1))[:200_000]
    assert _cost(crafted) < 2, f"{piece!r}"


# a secret value past 512 characters, in every form (review 4d) ---------------------------------


def _long_secret(length: int) -> str:
    """A long secret as a connection string or a base64 blob is: no word, no space."""
    blob = base64.b64encode(bytes(range(256)) * (length // 256 + 1)).decode()
    return ("hunter2-Prod" + blob)[:length]


#: a secret-named value written each way a manifest, a pod's JSON or a tool's result writes it
LONG_FORMS = {
    "yaml block, name first": "- name: DB_PASSWORD\n  value: |\n    {s}\n- name: LOG_LEVEL\n"
    "  value: debug\n",
    "yaml block of two lines, name first": "- name: DB_PASSWORD\n  value: >-\n    {s}\n    {s}\n",
    "json, name first": '[{{"name": "DB_PASSWORD", "value": "{s}"}}, {{"name": "LOG_LEVEL", '
    '"value": "debug"}}]',
    "json, value first": '[{{"value": "{s}", "name": "DB_PASSWORD"}}, {{"value": "debug", '
    '"name": "LOG_LEVEL"}}]',
    "yaml quoted, name first": "- name: DB_PASSWORD\n  value: '{s}'\n",
    "yaml flow quoted, name first": '- {{name: DB_PASSWORD, value: "{s}"}}\n',
}


@pytest.mark.parametrize("length", [600, 5_000])
@pytest.mark.parametrize("form", list(LONG_FORMS))
def test_a_secret_value_past_512_characters_is_redacted_whole(form: str, length: int) -> None:
    """A value cut at 512 characters kept its tail in clear (a block scalar's line), or a
    quoted one was not redacted at all (JSON's, either order)."""
    secret = _long_secret(length)
    text = LONG_FORMS[form].format(s=secret)
    # as written, as a string's text, and as JSON text inside a tool's result
    for written in (text, json.dumps(text), json.dumps({"lines": [{"line": text}]})):
        out = redact_for_llm(written)
        left = [secret[i : i + 16] for i in range(0, length, 16) if secret[i : i + 16] in out]
        assert not left, f"{len(left) * 16} characters of the secret left in clear"
        assert REDACTED in out and "DB_PASSWORD" in out
        assert ("debug" in out) == ("debug" in text)


def test_a_secret_block_scalar_of_many_lines_is_redacted_whole() -> None:
    """A PEM key or a certificate chain runs past 256 lines: those past them were kept in clear."""
    key = _long_secret(64 * 400)
    lines = [key[i : i + 64] for i in range(0, len(key), 64)]
    text = "- name: TLS_PRIVATE_KEY\n  value: |\n" + "".join(f"    {line}\n" for line in lines)
    for written in (text, json.dumps(text)):
        out = redact_for_llm(written)
        assert lines[-1] not in out and lines[300] not in out and REDACTED in out


#: starts of the now unbounded name-first patterns that never end in a match, or end far on
UNBOUNDED_NEAR_MISSES = [
    '"name":"DB_PASSWORD","value":"' + "a" * 200_000,  # a quote never closed
    '\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"' + "a" * 200_000,
    '"value":"' + "a" * 200_000, '"value":"a', '"value":\'a', '"value":\\"a', "\"value\":'a\\'",
    '"name":"DB_PASSWORD","value":"a\\', '{"name":"DB_PASSWORD","value":\'a"',
    "- name: DB_PASSWORD\n  value: '", "- name: DB_PASSWORD\n  value: \"a\\'",
    "{name: DB_PASSWORD, value: 'a", "- value: \"a",
    "- name: DB_PASSWORD\n  value: |\n    " + "a" * 200_000,  # a block scalar's line
    "- name: DB_PASSWORD\\n  value: |\\n    " + "a" * 200_000,
    "- name: DB_PASSWORD\n  value: |\n    " + "a " * 100_000,
    "- name: DB_PASSWORD\n  value: |\n    a\n", "name: DB_PASSWORD\\n  value: |\\n    a\\n",
]  # fmt: skip


@pytest.mark.parametrize("piece", UNBOUNDED_NEAR_MISSES)
def test_a_hostile_line_for_an_unbounded_value_is_redacted_quickly(piece: str) -> None:
    crafted = (piece * (200_000 // len(piece) + 1))[:200_000]
    assert _cost(crafted) < 2, f"{piece[:60]!r}"
