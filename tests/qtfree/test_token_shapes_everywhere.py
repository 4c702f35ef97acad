"""The well-known token shapes (AWS key ids, GitHub, OpenAI-style, Slack, GitLab, Hugging Face
and Google keys) are hidden by ``logs.redact`` too, not by the LLM's redaction only: an alert
summary holding a GitHub token went into a capture file and a report in clear. One definition
serves both; words that only look like a prefix are kept."""

from __future__ import annotations

import pytest

from aiops_desktop.logs import REDACTED, redact
from aiops_desktop.store.capture_redact import redact_labels
from collectors.alertmanager import parse_alert
from collectors.llm_redaction import redact_for_llm

TOKENS = [
    "AKIAIOSFODNN7EXAMPLE",  # an AWS access key id
    "ASIAY34FZKBOKMUTVV7A",  # an AWS temporary one
    "ghp_R8kq2LmZ7vXw4Tn9Pb3Hc6Jd1Fs5Ga0Ye2Ui",
    "gho_7Tz1Vb8Nc3Hd6Jf0Wp5Ys2Ga7UeR8kq2LmZ7vX",
    "ghs_Nc3Hd6Jf0Wp5Ys2Ga7UeR8kq2LmZ7vXw4Tn9",
    "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOPqrstUV",
    "sk-proj-Qx7Lm2Rv9Tz4Kp1Nw8Bc3Hd6Jf0Ys5Ga",
    "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "glpat-xT3qZ9mK2vL8nR4pW7yB",
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01",
    "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "sk-c4a7e0b91d2f4a6c8e0b2d4f6a8c0e2d",  # DeepSeek's: 32 hex, no capital
    "sk-lf-1c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6",  # Langfuse's: a lowercase UUID
]

#: words that start like a token, or hold one's prefix, but are none
KEPT = [
    "task-runner pod restarted 3 times",
    "model trained with sk-learn 1.4 on node gpu-0",
    "risk-assessment-pipeline-threshold exceeded",
    "desk-booking-service-v2-canary is ready",
    "ghp_short and gho_ are no tokens",
    "xoxo from the on-call team",
    "AKIA alone, AKIAshort and ASIA-pacific region",
    "glpat-short expired",
    "chef_de_cuisine_deployment and pdf_renderer_worker",
    "AIzaShort is no key",
]


@pytest.mark.parametrize("token", TOKENS)
def test_logs_redact_hides_each_token_shape(token: str) -> None:
    line = f"GITHUB_CI push rejected: credential {token} revoked; retrying"
    assert redact(line) == f"GITHUB_CI push rejected: credential {REDACTED} revoked; retrying"


@pytest.mark.parametrize("token", TOKENS)
def test_llm_redaction_still_hides_each_token_shape(token: str) -> None:
    assert redact_for_llm(f"using {token} now") == f"using {REDACTED} now"


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_words_are_kept(text: str) -> None:
    assert redact(text) == text
    assert redact_for_llm(text) == text


def test_an_alert_read_from_alertmanager_carries_no_token() -> None:
    """What an alert keeps (its annotations, labels) reaches captures, reports and incidents."""
    github, aws = TOKENS[2], TOKENS[0]
    alert = parse_alert(
        {
            "fingerprint": "a1b2c3d4e5f60718",
            "labels": {"alertname": "GitPushFailing", "repo_credential": github},
            "annotations": {"summary": f"GITHUB_TOKEN {github} rejected; aws {aws}"},
            "status": {"state": "active"},
            "startsAt": "2026-01-05T10:00:00Z",
        },
        "east",
    )
    kept = str(alert.model_dump())
    assert github not in kept and aws not in kept
    assert alert.annotations["summary"] == f"GITHUB_TOKEN {REDACTED} rejected; aws {REDACTED}"
    assert redact_labels({"job": f"mirror {github}"}) == {"job": f"mirror {REDACTED}"}
