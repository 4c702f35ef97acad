"""What never reaches a model server: text redacted before any LLM request.

The logs' redaction (``aiops_desktop.logs.redact``: every secret the keyring has handled in this
process, bearer/basic headers, JWTs, OpenShift tokens, ``password=``/``token:`` pairs, URL
passwords, PEM private keys) and, for the LLM, also kubeconfig credential data
(``client-key-data``, ``client-certificate-data``, ``token``), cloud and API keys
(``AKIA...``, ``sk-...``, ``ghp_...``, ``xox...``, ``glpat-...``), the Authorization header's
value, a pull secret's ``auth`` and ``.dockerconfigjson``, and, when the person asks, IPv4 and
IPv6 addresses. A name and its value may be quoted as JSON text quotes inside a string
(``\\"password\\":\\"x\\"``): a document's text is redacted as its fields are.

``redact_fields`` redacts a map of names to values (log labels, span attributes) for what leaves
the site: a value whose name says it is a secret (``db.password``,
``http.request.header.x-api-key``, ``...cookie``) is redacted whole, whatever its shape.
"""

from __future__ import annotations

import ipaddress
import re

# the rule of which names hold a secret is the logs' (a capture's series labels follow it too)
from aiops_desktop.logs import QUOTE, REDACTED, _known, names_a_secret, redact

#: kubeconfig credential data, and a pull secret's: its ``.dockerconfigjson`` (base64 JSON) and
#: each registry's ``auth`` in it (base64 of user:password: no shape says it is a secret)
_KUBECONFIG_DATA = re.compile(
    r"(?i)((?:client-key-data|client-certificate-data|certificate-authority-data|"
    r"id-token|refresh-token|access-token|auth-provider|exec-token|dockerconfigjson|dockercfg|"
    rf"(?<![\w-])auth){QUOTE}?\s*[:=]\s*{QUOTE}?)"
    r"(?:[^\s\"',}\\]|\\(?![\"']))+"
)
_API_KEYS = re.compile(
    r"\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|hf_[A-Za-z0-9]{20,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,})\b"
)
#: a kubeadm bootstrap token (``abcdef.0123456789abcdef``: [a-z0-9]{6}.[a-z0-9]{16}), not part
#: of a longer name (a host ``abcdef.0123456789abcdef.svc``) and with a digit in it: a random
#: one has (all 22 characters letters: 1 in 1,300), a dotted pair of words
#: (``status.readinessprobeok``) mostly not
_BOOTSTRAP_TOKEN = re.compile(
    r"(?<![\w.-])(?=[a-z0-9.]{0,22}[0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![\w-]|\.\w)"
)
#: an incoming webhook's URL is its credential (whoever holds it posts to the channel): all of
#: it after the service's fixed part, to a space or a quote (Slack, Teams, Discord)
_WEBHOOK = re.compile(
    r"(?i)((?:hooks\.slack\.com/(?:services|workflows|triggers)/"
    r"|(?<![\w.-])[\w.-]*\.webhook\.office\.com/webhookb2/"
    r"|discord(?:app)?\.com/api/webhooks/))[^\s\"'\\<>]+"
)
#: a password said in prose, "password Winter2026!" (a space and no "=" or ":"): the next word
#: only, and only one with a digit or a symbol in it (a "!" that ends it is the sentence's). A
#: word of letters is the sentence going on ("password reset succeeded", PostgreSQL's "password
#: authentication failed for user", "the password is wrong", "password changed!"): kept. Not
#: a path's or a flag's (``/etc/passwd /etc/shadow``, ``passwd -l bob``), nor across a line's
#: end
_PROSE_PASSWORD = re.compile(
    r"(?i)((?<![a-z0-9/.-])pass(?:word|wd|phrase)[ \t]+\\?[\"']?)"
    r"(?![-/])(?=[^\s\"'\\]*?(?:[0-9@#$%^&*+=~]|![^\s\"'\\]))[^\s\"'\\]+"
)
#: the header's whole value (``Token x``, ``Negotiate x``: any scheme), to a quote, a comma, a
#: brace or the line's end; a backslash before a quote (JSON text) ends it too
_AUTH_HEADER = re.compile(
    rf"(?i)(authorization{QUOTE}?\s*[:=]\s*{QUOTE}?)(?:[^\"'\n,}}\\]|\\(?![\"']))+"
)
#: not part of a longer dotted number (a version 1.2.3.4.5), but one that ends a sentence is
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
IP_REDACTED = "[IP]"


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text  # a version string, a time "12:30:00"
    return IP_REDACTED


def secrets_known() -> int:
    """How many secrets the redaction knows by value (``register_secret``): they are only ever
    added, so a text redacted while this was N is redacted the same while it still is."""
    return len(_known())


def redact_for_llm(text: str, *, ips: bool = False) -> str:
    text = redact(text)
    text = _KUBECONFIG_DATA.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _API_KEYS.sub(REDACTED, text)
    text = _BOOTSTRAP_TOKEN.sub(REDACTED, text)
    text = _WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
    text = _PROSE_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    if ips:
        text = _IPV4.sub(_ip, text)
        text = _IPV6.sub(_ip, text)
    return text


def redact_fields(fields: dict[str, str]) -> dict[str, str]:
    """Labels or attributes as they leave the site: a value named a secret is redacted whole
    (a cookie or an API key has no shape a pattern knows), any other as text."""
    return {k: (REDACTED if v and names_a_secret(k) else redact_for_llm(v))
            for k, v in fields.items()}  # fmt: skip
