"""Secrets a query_logs answer carried to the model past both redaction layers (the tool's and
the client's, each ``redact_for_llm`` over the logs' ``redact``): a value named by a word the
field-name rule knows but the text rule did not (``credentials``), mysql's glued ``-pPASSWORD``,
a HashiCorp Vault token, redis-cli's ``-a PASSWORD``. What only looks like them is kept."""

from __future__ import annotations

import json
import time

import pytest

from aiops_desktop.logs import SECRET_WORDS, names_a_secret, redact
from aiops_desktop.services.assistant.toolbox import bounded_json
from aiops_desktop.services.assistant.tools import _said
from collectors.llm import LlmClient, LlmEndpoint
from collectors.llm_redaction import REDACTED, redact_for_llm

SECRET = "Sup3rS3cret!"
VAULT = "hvs.CAESIJxSup3rS3cretVaultTokenAbc123"

#: each line, and what is left of it once redacted: the secret gone, the rest of the line kept
LEAKS = {
    '{"level":"info","msg":"login","credentials":"Sup3rS3cret!"}':
        f'{{"level":"info","msg":"login","credentials":"{REDACTED}"}}',
    "db-init: running mysql -uroot -pSup3rS3cret! appdb":
        f"db-init: running mysql -uroot -p{REDACTED} appdb",
    "mysqladmin -h db -P 3306 -u root -pSup3rS3cret! status":
        f"mysqladmin -h db -P 3306 -u root -p{REDACTED} status",
    "exec mariadb-dump -uroot -p'Sup3rS3cret!' shop":
        f"exec mariadb-dump -uroot -p'{REDACTED}' shop",
    f"vault: renewed token {VAULT}": f"vault: renewed token {REDACTED}",
    "batch hvb.AAAAAQJSup3rS3cret_batch-token-0123 ok": f"batch {REDACTED} ok",
    "redis-cli -h cache -a Sup3rS3cret! ping": f"redis-cli -h cache -a {REDACTED} ping",
    "redis-cli --user app --pass Sup3rS3cret! info": f"redis-cli --user app --pass {REDACTED} info",
    # the other names the field-name rule has: a credential, secrets, a signing or encryption
    # key, a camelCase ...Pass, a cookies field
    "credential=Sup3rS3cret! user=bob": f"credential={REDACTED} user=bob",
    "secrets: Sup3rS3cret!": f"secrets: {REDACTED}",
    "signing_key=Sup3rS3cret! alg=HS256": f"signing_key={REDACTED} alg=HS256",
    "encryptionKey: Sup3rS3cret!": f"encryptionKey: {REDACTED}",
    "secretKey=Sup3rS3cret!": f"secretKey={REDACTED}",
    "dbPass=Sup3rS3cret! host=db": f"dbPass={REDACTED} host=db",
    '{"cookies": "sid=Sup3rS3cret!"}': f'{{"cookies": "{REDACTED}"}}',
}  # fmt: skip


@pytest.mark.parametrize("text", list(LEAKS))
def test_each_form_is_redacted_and_the_rest_of_the_line_kept(text: str) -> None:
    assert redact(text) == LEAKS[text]  # the app log's layer
    assert redact_for_llm(text) == LEAKS[text]  # the model's


@pytest.mark.parametrize(
    "text",
    [
        "kubectl port-forward -p 8080 svc/du 8080:80",  # a port, not after mysql
        "nc -p8080 host 80",
        "mysql -p appdb",  # mysql prompts: no value is glued to its -p
        "mysql-operator ready; curl -p8080 x",
        "mysql ready; nc -p8080 host 80",
        "mysqld started; tar -a -cf x.tgz dir",  # -a not after redis-cli
        "redis-cli -h cache ping",
        "hvs is a word; hvs.short and ahvs.CAESIJxSup3rS3cretVaultTokenAbc123",
        "credentials rotated for user bob",  # no value
        "credentials_file=/etc/app/creds.json",
        "credential_id=42",  # about a credential
        "missing cookie: session expired for user=bob, retried 3 times",
        "bypass=on compass=north",
        # prose and counts after the plural and camel-case names: an error's meaning is kept
        "grpc: credentials: transport: authentication handshake failed",
        "failed to load credentials: permission denied",
        "Credentials: none configured; using anonymous access",
        "pool stats client_keys=3 secrets=12 tokens=5",
        "upload firstPass=3 secondPass=4",
    ],
)
def test_what_only_looks_like_them_is_kept(text: str) -> None:
    assert redact_for_llm(text) == text


#: a header's value holds spaces: these have patterns of their own (a cookie header's, at a
#: line's start or a JSON name's; the Authorization header's, its whole value)
HEADERS = {"cookie", "cookies", "authorization"}


def test_the_text_rule_names_what_the_field_name_rule_names() -> None:
    # each word the field-name rule takes as a secret's name is one in a line's text too
    for word in SECRET_WORDS - HEADERS:
        for name in (word, f"db_{word}", f"db.{word}"):
            assert names_a_secret(name)
            line = f"{name}=Sup3rS3cret! next"
            assert redact_for_llm(line) == f"{name}={REDACTED} next"
    for word in HEADERS:
        assert names_a_secret(word)
        assert redact_for_llm(f'{{"{word}": "a=Sup3rS3cret! b"}}') == f'{{"{word}": "{REDACTED}"}}'


def test_what_the_model_server_receives_holds_none_of_them() -> None:
    lines = list(LEAKS)
    result = bounded_json({"lines": [{"line": _said(line)} for line in lines]})
    body = LlmClient(LlmEndpoint("http://127.0.0.1:9/v1", "m")).payload(
        [{"role": "tool", "tool_call_id": "c1", "content": result}]
    )
    sent = json.dumps(body)
    assert SECRET not in sent and "Sup3rS3cret" not in sent
    shown = json.loads(body["messages"][0]["content"])["result"]["lines"]
    assert [s["line"] for s in shown] == [LEAKS[line] for line in lines]


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
    ["mysql ", "mysql -p ", "mysql -u", "redis-cli ", "redis-cli -a", "hvs.", "hvs.a", "dbPass"],
)
def test_a_crafted_line_of_the_new_forms_costs_about_what_a_plain_one_does(piece: str) -> None:
    crafted = (piece * (SIZE // len(piece) + 1))[:SIZE]
    plain = ("lorem ipsum " * (SIZE // 12 + 1))[:SIZE]
    ratio = _cost(crafted) / _cost(plain)
    assert ratio < MOST_RATIO, f"{piece!r}: {ratio:.0f} times a plain line's work"
