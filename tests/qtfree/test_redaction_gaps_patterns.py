"""Credentials the LLM redaction missed: a URL password after an empty user, a pull secret's
``auth``, the ``-p`` of a registry or cluster login and curl's ``-u user:password``, a field
whose name says it is a secret (whatever its value's shape) in a tool's answer, and, when the
person asks for it, an address at the end of a sentence."""

from __future__ import annotations

import json

import pytest

from aiops_desktop.services.assistant.toolbox import bounded_json
from collectors.llm_redaction import IP_REDACTED, REDACTED, redact_for_llm

LEAKS = {
    "connecting to redis://:S3cretRedisPw@redis-master:6379/0": "S3cretRedisPw",
    "amqp://:Rabb1tPw!x@mq:5672/": "Rabb1tPw!x",
    '{"auths":{"quay.io":{"auth":"a3ViZWFkbWluOlMzY3JldFB3"}}}': "a3ViZWFkbWluOlMzY3JldFB3",
    '{"line": "{\\"auths\\":{\\"r.io\\":{\\"auth\\":\\"dXNlcjpQdzEy\\"}}}"}': "dXNlcjpQdzEy",
    "auths:\n  quay.io:\n    auth: a3ViZWFkbWluOlMzY3JldFB3\n": "a3ViZWFkbWluOlMzY3JldFB3",
    ".dockerconfigjson: eyJhdXRocyI6eyJxLmlvIjp7fX19": "eyJhdXRocyI6eyJxLmlvIjp7fX19",
    "oc login -u kubeadmin -p Xk2Pq-AbCdE-12345-ZyXwV https://api.ocp.example:6443":
        "Xk2Pq-AbCdE-12345-ZyXwV",
    "podman login -u robot -p=R0bot.Pw quay.io": "R0bot.Pw",
    "curl -sk -u admin:S3cretAdminPw https://alertmanager:9093/api/v2/alerts": "S3cretAdminPw",
    "curl --user=admin:An0ther.Pw https://x": "An0ther.Pw",
}  # fmt: skip


@pytest.mark.parametrize("text", list(LEAKS))
def test_a_credential_of_these_shapes_is_redacted(text: str) -> None:
    said = redact_for_llm(text)
    assert LEAKS[text] not in said
    assert REDACTED in said


@pytest.mark.parametrize(
    "text",
    [
        "mkdir -p /var/lib/etcd",  # -p that is no password
        "kubectl logs -p du-0 -n ran",
        "docker run -u 1000:1000 -p 8080:80 img",  # a uid:gid
        "prometheus https://prom.example:9090 answered 200",
        "auth ok for user bob",
    ],
)
def test_text_that_holds_no_credential_is_kept(text: str) -> None:
    assert redact_for_llm(text) == text


def test_a_field_named_a_secret_is_redacted_whole_in_a_tool_answer() -> None:
    labels = {"app": "du", "credentials": "Zm9vOmJhcg-cred-9912", "db.password": "x y z",
              "x-api-key": ["k1", "k2"], "token_count": "12", "uses_token": True}  # fmt: skip
    sent = json.loads(bounded_json({"labels": labels}))["result"]["labels"]
    assert sent == {"app": "du", "credentials": REDACTED, "db.password": REDACTED,
                    "x-api-key": REDACTED, "token_count": "12", "uses_token": True}  # fmt: skip


def test_an_address_at_the_end_of_a_sentence_is_redacted() -> None:
    said = redact_for_llm("etcd member 10.128.0.15 down. Last seen from 10.128.0.16.", ips=True)
    assert said == f"etcd member {IP_REDACTED} down. Last seen from {IP_REDACTED}."
    assert redact_for_llm("version 1.2.3.4.5 is out", ips=True) == "version 1.2.3.4.5 is out"
