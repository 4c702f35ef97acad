"""A secret the secrets store handled never reaches the app log, whatever characters it holds:
a quote, a backslash, a tab or another control character (which JSON escapes) and non-ASCII
text are redacted from the message, the extras and the exception text alike."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aiops_desktop.logs import REDACTED, configure_logging, register_secret, shutdown_logging

SECRETS = [
    'Xy7"kQ9!mZ2p',  # a quote
    r"Rt5\vL8#wq3N",  # a backslash
    "line1-tok\tABCD1234",  # a tab
    "ctl-\x01\x1b[0mTOKEN77",  # control characters, an escape sequence
    "pässwörd-ключ-密码-7",  # non-ASCII
    'all"of\\them\there\u00e9\u2028ok',  # every one of them at once
    "plainSecret99",
]


def escaped_forms(secret: str) -> set[str]:
    """The secret as it could appear in a JSON line: verbatim and escaped either way."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def test_a_secret_with_json_escaped_characters_never_reaches_the_log(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "app.log"
    configure_logging(log_file)
    log = logging.getLogger("aiops.test.escaped")
    try:
        for secret in SECRETS:
            register_secret(secret)  # as SecretStore.get/put do
            log.error("upstream rejected the credential %s", secret)  # a server echoing it
            log.warning("probe failed", extra={"error": f"auth failed for {secret}",
                                               "detail": {"token": secret}})  # fmt: skip
            try:
                raise ValueError(f"bad credential {secret!s} and {secret!r}")
            except ValueError:
                log.exception("login failed")
    finally:
        shutdown_logging()
    raw = log_file.read_text(encoding="utf-8")
    leaked = [s for s in SECRETS for form in escaped_forms(s) if form in raw]
    assert leaked == [], f"secrets in the log file: {leaked!r}"
    records = [json.loads(line) for line in raw.splitlines()]  # every line is still JSON
    assert len(records) == 3 * len(SECRETS)
    for record in records:
        text = " ".join(str(v) for v in record.values())
        assert not [s for s in SECRETS if s in text]
        assert REDACTED in text  # said where it was, not dropped
    assert records[0]["msg"] == f"upstream rejected the credential {REDACTED}"
    assert records[1]["error"] == f"auth failed for {REDACTED}"
    assert "ValueError: bad credential [REDACTED]" in records[2]["exc"]
