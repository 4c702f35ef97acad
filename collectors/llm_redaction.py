"""What never reaches a model server: text redacted before any LLM request.

The logs' redaction (``aiops_desktop.logs.redact``: every secret the keyring has handled in this
process, bearer/basic headers, JWTs, OpenShift tokens, ``password=``/``token:`` pairs, URL
passwords, PEM private keys) and, for the LLM, also kubeconfig credential data
(``client-key-data``, ``client-certificate-data``, ``token``), cloud and API keys
(``AKIA...``, ``sk-...``, ``ghp_...``, ``xox...``, ``glpat-...``), the Authorization header's
value, and, when the person asks, IPv4 and IPv6 addresses.
"""

from __future__ import annotations

import ipaddress
import re

from aiops_desktop.logs import REDACTED, redact

_KUBECONFIG_DATA = re.compile(
    r"(?i)((?:client-key-data|client-certificate-data|certificate-authority-data|"
    r"id-token|refresh-token|access-token|auth-provider|exec-token)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',}]+"
)
_API_KEYS = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,})\b"
)
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n,}]+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
IP_REDACTED = "[IP]"


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text  # a version string, a time "12:30:00"
    return IP_REDACTED


def redact_for_llm(text: str, *, ips: bool = False) -> str:
    text = redact(text)
    text = _KUBECONFIG_DATA.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _API_KEYS.sub(REDACTED, text)
    if ips:
        text = _IPV4.sub(_ip, text)
        text = _IPV6.sub(_ip, text)
    return text
