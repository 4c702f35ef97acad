"""Credentials a sixth review found passing the redaction whole, to a model, to a tool's answer
and to the app's log: a session cookie in the middle of a line (Go's %v of an http.Header, as
oauth-proxy logs a request's headers, and a request logged on one line), a URL password
holding "#" or "?", and the API keys of this fleet's own vendors (NVIDIA's NGC and NIM,
Grafana's service accounts) and a URL's ``key=``."""

from __future__ import annotations

import pytest

from aiops_desktop.logs import redact
from collectors.llm_redaction import REDACTED, redact_document, redact_for_llm
from tests.qtfree.redaction_cost import MOST_RATIO, ratio, repeated

OAUTH_COOKIE = "_oauth_proxy=YWRtaW5AY2x1c3Rlcg==|1765012345|Xk3v9Qz"
SESSION = "eyJ1c2VyIjoiYWRtaW4ifQ.Z3x9Rk2m"


def _everywhere(text: str) -> list[str]:
    """``text`` as the app's log, a model's prompt and a tool's answer have it."""
    answer = redact_document({"lines": [{"line": text}]})["lines"][0]["line"]
    return [redact(text), redact_for_llm(text), answer]


# 1. a cookie mid-line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            f"oauthproxy.go:812: request headers map[Accept:[*/*] Cookie:[{OAUTH_COOKIE}]"
            " User-Agent:[curl/8.5]]",
            ["map[Accept:[*/*] Cookie:[", "] User-Agent:[curl/8.5]]"],
        ),
        (
            f"handler.go:55: headers=map[Set-Cookie:[session={SESSION}; Path=/; HttpOnly]]",
            ["headers=map[Set-Cookie:["],
        ),
        (
            f"GET /console HTTP/1.1 Host: console Cookie: {OAUTH_COOKIE}",
            ["GET /console HTTP/1.1 Host: console Cookie: "],
        ),
        (f"Cookie:[{OAUTH_COOKIE}] next=1", ["Cookie:[", "] next=1"]),  # at a line's start
    ],
)
def test_a_cookie_in_the_middle_of_a_line_is_redacted(text: str, kept: list[str]) -> None:
    for said in _everywhere(text):
        assert "YWRtaW5AY2x1c3Rlcg" not in said and "Xk3v9Qz" not in said, said
        assert SESSION not in said and "Z3x9Rk2m" not in said, said
        assert REDACTED in said
        assert all(part in said for part in kept), said
        assert redact_for_llm(said) == said  # a tool's answer is redacted again: as it was


@pytest.mark.parametrize(
    "text",
    [
        "missing cookie: session expired for user=bob, retried 3 times",
        "browser sent no cookie: login required",
        "cookie jar empty; set-cookie: header ignored by policy",
        "map[Accept:[*/*] User-Agent:[curl/8.5]]",
    ],
)
def test_a_cookie_named_in_prose_is_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


# 2. a URL password holding "#" or "?" ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ('level=info msg="connecting" url=redis://:S3cr#tPw@redis:6379/0', "S3cr#tPw"),
        ("dial postgres://app:Pa?ss99@db:5432/app failed", "Pa?ss99"),
        ("DATABASE_URL=postgresql://app:Qw#9z?X@db/app", "Qw#9z?X"),
    ],
)
def test_a_url_password_holding_a_hash_or_question_mark_is_redacted(
    text: str, password: str
) -> None:
    for said in _everywhere(text):
        assert password not in said and password[3:] not in said, said
        assert f":{REDACTED}@" in said, said


@pytest.mark.parametrize(
    "text",
    [
        "GET https://grafana.example.com/d/ab12?orgId=1&from=now-1h#panel-2 200",
        "open https://console.example.com:8443/k8s/ns?name=a:b@c#top",
        "GET http://prometheus:9090/api/v1/query?query=up&user=bob@corp.com 200",
        "see https://docs.example.com/faq#who:ops@example.com",
        "GET https://grafana.example.com?orgId=1&q=a:b@c#x 200",  # a query after the host
        "GET http://[fd00::1]:9090/graph?g0.expr=up@1765012345 200",  # an IPv6 host
    ],
)
def test_a_url_with_a_query_or_fragment_and_no_password_is_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


# 3. this fleet's vendors' API keys ------------------------------------------------------------

NGC_KEY = "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"
GRAFANA_TOKEN = "glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345_abcdef12"
MAPS_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"nim-llm: NGC auth failed for key {NGC_KEY}", NGC_KEY),
        (f"grafana-agent: using {GRAFANA_TOKEN} now", GRAFANA_TOKEN),
        (f"GET /maps/api/geocode/json?key={MAPS_KEY} 200", MAPS_KEY),
        (f"GET /v1/search?q=ran&key={MAPS_KEY}&lang=en 200", MAPS_KEY),
    ],
)
def test_a_vendor_key_of_this_fleet_is_redacted(text: str, secret: str) -> None:
    for said in _everywhere(text):
        assert secret not in said and secret[-12:] not in said, said
        assert REDACTED in said


@pytest.mark.parametrize(
    "text",
    [
        "pod nvapi-gateway-7d9f restarted",  # a name, too short for a key
        "dashboard glsa_panel ok",
        "cache monkey=9f8e7d6c5b4a3928 hotkey=ab12",  # no "key=" after ? or &
    ],
)
def test_names_like_those_keys_are_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


# the work a crafted line costs ----------------------------------------------------------------

SIZE = 64 * 1024
#: each repeated to SIZE: starts of the widened patterns that never end in a match
HOSTILE = [
    " cookie:", "Cookie:[", "map[Cookie:[a", " Cookie: a", "://a:#", "://:?", "?key=",
    "nvapi-", "glsa_", "1-1-1-1.", "10-0-0-1.1",
]  # fmt: skip


@pytest.mark.parametrize("piece", HOSTILE)
def test_a_crafted_line_costs_about_what_a_plain_one_does(piece: str) -> None:
    work = ratio(repeated(piece, SIZE))
    assert work < MOST_RATIO, f"{piece!r}: {work:.0f} times a plain line's work"
