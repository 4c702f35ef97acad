"""Secrets of common shapes that reached the model, an MCP answer and a stored chat: an ODBC
connection string's ``Pwd=``, Azure's ``AccountKey=``, a kubeadm bootstrap token, Rails'
``SECRET_KEY_BASE``, a Slack/Teams/Discord webhook URL, and a password written after the word
"password" with only a space between. The ordinary text around such words stays as it was
(``password authentication failed``, ``pwd: command not found``, an environment's ``PWD=/x``).

And the request body: each round of a turn re-redacted every message the earlier rounds had
already redacted (0.78 s on the Qt thread for 20 tool results); a client now redacts only what
it has not redacted before, and a secret registered since is still found."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from aiops_desktop.logs import redact, register_secret
from aiops_desktop.services.assistant.toolbox import bounded_json
from collectors import llm
from collectors.llm import LlmClient, LlmEndpoint, redacted_messages
from collectors.llm_redaction import REDACTED, redact_for_llm

PW = "Winter2026!"
AZURE = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg=="
RAILS = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SLACK = "T0AB12CD3/B0EF45GH6/aB3dE5fG7hI9jK1lM3nO5pQ7"

#: each line and what is left of it once redacted: the secret gone, the rest kept
LEAKS = {
    f"db init failed: Server=mssql;Database=billing;Uid=sa;Pwd={PW}":
        f"db init failed: Server=mssql;Database=billing;Uid=sa;Pwd={REDACTED}",
    f"DRIVER={{ODBC Driver 18}};UID=sa;PWD={PW}":
        f"DRIVER={{ODBC Driver 18}};UID=sa;PWD={REDACTED}",
    f'{{"db_pwd": "{PW}"}}': f'{{"db_pwd": "{REDACTED}"}}',
    f"DefaultEndpointsProtocol=https;AccountName=nocbackup;AccountKey={AZURE}":
        f"DefaultEndpointsProtocol=https;AccountName=nocbackup;AccountKey={REDACTED}",
    f"AZURE_STORAGE_ACCOUNT_KEY={AZURE} region=eu":
        f"AZURE_STORAGE_ACCOUNT_KEY={REDACTED} region=eu",
    "node join: using bootstrap token abcdef.0123456789abcdef for du-3":
        f"node join: using bootstrap token {REDACTED} for du-3",
    "token 07401b.f395accd246ae52d expires in 23h.": f"token {REDACTED} expires in 23h.",
    f"env dump: SECRET_KEY_BASE={RAILS}": f"env dump: SECRET_KEY_BASE={REDACTED}",
    f"notifier: POST https://hooks.slack.com/services/{SLACK} failed":
        f"notifier: POST https://hooks.slack.com/services/{REDACTED} failed",
    "www.discordapp.com/api/webhooks/1/x ok": f"www.discordapp.com/api/webhooks/{REDACTED} ok",
    "POST https://discord.com/api/webhooks/112233445566778899/Ab-Cd_ef0123456789 ok":
        f"POST https://discord.com/api/webhooks/{REDACTED} ok",
    "https://contoso.webhook.office.com/webhookb2/1b2c3d4e-aaaa@5f6a7b8c-bbbb/IncomingWebhook/"
    "0a1b2c3d4e5f/9e8d7c6b-cccc":
        f"https://contoso.webhook.office.com/webhookb2/{REDACTED}",
    f"ldap bind failed for admin with password {PW}":
        f"ldap bind failed for admin with password {REDACTED}",
    f"Password {PW} rejected": f"Password {REDACTED} rejected",
    "using passphrase c0rrect-horse-battery for the key":
        f"using passphrase {REDACTED} for the key",
    f'{{"msg": "db_password {PW}"}}': f'{{"msg": "db_password {REDACTED}"}}',
}  # fmt: skip

#: ordinary text that holds the same words or shapes: kept as it is, readable
KEPT = [
    "password reset succeeded for user bob",
    'FATAL: password authentication failed for user "postgres"',
    "password expired 3 days ago; password policy requires 12 characters",
    "the password is wrong",
    "password changed! (user_name=bob)",
    "password required_field missing",
    "passwords: 3 rotated",
    "pwd: command not found",
    "env: PWD=/home/bob OLDPWD=/tmp HOME=/home/bob",
    '{"PWD": "/var/lib/app"}',
    "ls -l /etc/passwd /etc/shadow",
    "passwd -l bob",
    "grep bob /etc/passwd 2>/dev/null",
    "accounts: 3 accountName=bob account key rotation scheduled",
    "node01.example.com status.readinessprobeok v1.28.3 sha abc123.def456",
    "host abcdef.0123456789abcdef.svc.cluster.local",  # a token's shape inside a hostname
    "chunk abcdef.0123456789abcdef0 and abcdefg.0123456789abcdef",  # longer: not one
    "secret_key_base_url=https://x.example secrets=12",
    "see https://hooks.slack.com/ and https://slack.com/services for docs",
    "pwd_hash_rounds=12 discount=20 cwd=/root",
]


@pytest.mark.parametrize("line", list(LEAKS))
def test_a_common_secret_shape_is_redacted(line: str) -> None:
    assert redact_for_llm(line) == LEAKS[line]


@pytest.mark.parametrize("line", KEPT)
def test_ordinary_text_around_the_same_words_is_kept(line: str) -> None:
    assert redact_for_llm(line) == line


def test_the_names_are_redacted_in_the_logs_too() -> None:
    # a name's rule is the logs' own (what the app writes to its log file)
    assert redact(f"Uid=sa;Pwd={PW}") == f"Uid=sa;Pwd={REDACTED}"
    assert redact(f"AccountKey={AZURE}") == f"AccountKey={REDACTED}"
    assert redact(f"SECRET_KEY_BASE={RAILS}") == f"SECRET_KEY_BASE={REDACTED}"
    assert redact("pwd: command not found") == "pwd: command not found"


def test_neither_a_tool_answer_nor_the_request_body_holds_them() -> None:
    """The reviewer's path: an alert's summary in a tool's answer (MCP's, the stored chat's),
    then the request body the model server receives."""
    lines = list(LEAKS)
    answer = bounded_json({"alerts": [{"summary": line} for line in lines]})
    shown = [a["summary"] for a in json.loads(answer)["result"]["alerts"]]
    assert shown == [LEAKS[line] for line in lines]
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    raw = json.dumps({"alerts": [{"summary": line} for line in lines]})
    body = client.payload([{"role": "tool", "tool_call_id": "c1", "content": raw}])
    sent = json.dumps(body)
    for secret in (PW, AZURE, RAILS, "0123456789abcdef", "aB3dE5fG7hI9jK1lM3nO5pQ7"):
        assert secret not in sent


SIZE = 64 * 1024
MOST_RATIO = 10  # as test_redaction_gaps_linear: a rescan from each start costs hundreds


def _cost(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        redact_for_llm(text, ips=True)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize(
    "piece",
    ["password ", "password a", "passwd\t", "abcdef.", "abcdef.0123456789abcde",
     "hooks.slack.com/services/", "Pwd=", "AccountKey=", "key_base="],
)  # fmt: skip
def test_a_line_of_the_new_shapes_costs_about_what_a_plain_one_does(piece: str) -> None:
    crafted = (piece * (SIZE // len(piece) + 1))[:SIZE]
    plain = ("lorem ipsum " * (SIZE // 12 + 1))[:SIZE]
    ratio = _cost(crafted) / _cost(plain)
    assert ratio < MOST_RATIO, f"{piece!r}: {ratio:.0f} times a plain line's work"


# the request body: each round redacts only what it has not redacted before


def _wire(results: int) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = [
        {"role": "system", "content": "you help"},
        {"role": "user", "content": f"why? password={PW}"},
    ]
    for i in range(results):
        wire.append({"role": "tool", "tool_call_id": str(i), "content": f"line {i} token: t{i}x"})
    return wire


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = llm.redact_for_llm

    def counted(text: str, *, ips: bool = False) -> str:
        seen.append(text)
        return real(text, ips=ips)

    monkeypatch.setattr(llm, "redact_for_llm", counted)
    return seen


def test_a_later_round_redacts_only_its_new_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    seen = _counting(monkeypatch)
    first = client.payload(_wire(20))
    assert len(seen) > 20
    seen.clear()
    # the next round: the same history, built anew (new dicts, as wire_messages builds it),
    # and one more tool result
    second = client.payload(_wire(21))
    assert seen == ["tool", "20", "line 20 token: t20x"]  # the new message's strings only
    assert second["messages"][:-1] == first["messages"]
    assert second["messages"] == redacted_messages(_wire(21), redact_ips=False)
    assert PW not in json.dumps(second) and "t20x" not in json.dumps(second)


def test_a_message_changed_in_place_is_redacted_anew() -> None:
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    wire = _wire(1)
    client.payload(wire)
    wire[2]["content"] = f"now secret={PW}"
    assert client.payload(wire)["messages"][2]["content"] == f"now secret={REDACTED}"


def test_a_secret_registered_since_the_last_round_is_redacted() -> None:
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    later = "Qz7-registered-later-Kx9"
    wire = [{"role": "tool", "tool_call_id": "c", "content": f"value {later} seen"}]
    assert later in json.dumps(client.payload(wire))
    register_secret(later)  # the keyring handled it: from now on never sent
    assert client.payload(wire)["messages"][0]["content"] == f"value {REDACTED} seen"


def test_true_and_one_are_not_the_same_message() -> None:
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    assert client.payload([{"role": "user", "content": "a", "x": 1}])["messages"][0]["x"] == 1
    assert client.payload([{"role": "user", "content": "a", "x": True}])["messages"][0]["x"] is True


def test_the_cache_is_bounded() -> None:
    client = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m"))
    for i in range(llm.MOST_REDACTED_KEPT + 50):
        client.payload([{"role": "user", "content": f"q{i}"}])
    assert len(client._redacted) == llm.MOST_REDACTED_KEPT
