"""What the sixth review's redaction took too much of, and what it still let pass: a URL
password read to the last "@" of its query (host, path and query lost), one that starts with
digits and holds "?" or "#" (read as a port), dashed numbers before a file's extension taken
for a pod's address, every ``?key=`` value, names that start as NVIDIA's and Grafana's keys
do (two pods' series merged into one in a capture), and cookies quoted, in Traefik's JSON
access log, in logfmt and with spaces around "="."""

from __future__ import annotations

import pytest

from aiops_desktop.logs import redact
from aiops_desktop.store.capture_redact import redact_labels
from collectors.llm_redaction import IP_REDACTED, REDACTED, redact_document, redact_for_llm
from tests.qtfree.redaction_cost import MOST_RATIO, ratio, repeated

PASSWORD = "Xk9vQ2mz"


def _everywhere(text: str) -> list[str]:
    """``text`` as the app's log, a model's prompt and a tool's answer have it."""
    answer = redact_document({"lines": [{"line": text}]})["lines"][0]["line"]
    return [redact(text), redact_for_llm(text), answer]


# 1. a URL password ends at the "@" before its host --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"GET http://admin:{PASSWORD}@prom:9090/api/v1/query?query=up@1700000000 200",
            f"GET http://admin:{REDACTED}@prom:9090/api/v1/query?query=up@1700000000 200",
        ),
        (
            f"dial postgres://app:{PASSWORD}@db:5432/app?application_name=x&user=bob@corp.com",
            f"dial postgres://app:{REDACTED}@db:5432/app?application_name=x&user=bob@corp.com",
        ),
        (
            f"https://user:{PASSWORD}@grafana/d/x#panel@3",
            f"https://user:{REDACTED}@grafana/d/x#panel@3",
        ),
        (
            f"GET http://user:{PASSWORD}@[2001:db8::1]:9090/api/v1/query?query=up@1700000000",
            f"GET http://user:{REDACTED}@[2001:db8::1]:9090/api/v1/query?query=up@1700000000",
        ),
        ("postgres://app:p@ss9w0rd@db/app", f"postgres://app:{REDACTED}@db/app"),  # "@" in it
    ],
)
def test_a_url_password_ends_at_the_at_before_its_host(text: str, expected: str) -> None:
    assert _everywhere(text) == [expected] * 3


# 2. a URL password that starts with digits and holds "?" or "#" -------------------------------


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("url=redis://:123#abcSecret@redis:6379/0", "123#abcSecret"),
        ("dial postgres://app:2024?Winter@db:5432/app", "2024?Winter"),
    ],
)
def test_a_url_password_starting_with_digits_is_redacted(text: str, password: str) -> None:
    for said in _everywhere(text):
        assert password not in said and password[4:] not in said, said
        assert f":{REDACTED}@" in said, said


@pytest.mark.parametrize(
    "text",
    [
        "GET http://prometheus:9090?query=up&user=bob@corp.com 200",
        "GET http://grafana:3000?orgId=1&email=ops@corp.com 200",
        "open https://console:8443#/k8s/ns?name=a:b@c",
    ],
)
def test_a_port_before_a_query_holding_an_at_is_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


# 3. dashed numbers before a file's extension are no pod address -------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "rotated /var/log/app/25-12-08-13.log",
        "helm push chart 1-2-3-4.tgz",
        "image quay.io/x/y:4-18-1-2.el9",
        "ts=12-08-01-05.123Z",
    ],
)
def test_dashed_numbers_before_an_extension_are_kept(text: str) -> None:
    assert redact_for_llm(text, ips=True) == text


def test_a_pod_address_before_two_labels_is_still_hidden() -> None:
    said = redact_for_llm("GET http://10-128-2-15.ran-du.pod:8080/metrics", ips=True)
    assert said == f"GET http://{IP_REDACTED}.ran-du.pod:8080/metrics"


# 4. a URL's key= is a secret when it looks like an API key ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "GET /cache?key=user:123:profile 200",
        "etcd GET /v3/kv/range?key=/registry/pods/default 200",
        "GET /download?bucket=reports&key=2026/q4/summary.csv 404",
        "GET /api/items?sort=asc&key=name 200",
    ],
)
def test_a_url_key_that_is_no_api_key_is_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


def test_a_url_api_key_is_redacted_to_its_fragment() -> None:
    text = "GET /maps/embed?key=AbC9f8e7d6c5b4a3_92817-06f5#map 200"
    assert _everywhere(text) == [f"GET /maps/embed?key={REDACTED}#map 200"] * 3


# 5. names that start as NVIDIA's and Grafana's keys do ----------------------------------------

POD_A = "nvapi-proxy-5f7d8c9b6d-x2k9p"
POD_B = "nvapi-proxy-5f7d8c9b6d-q7w4z"


@pytest.mark.parametrize(
    "text",
    [
        f"pod {POD_A} OOMKilled",
        "pod nvapi-llm-deployment-7f9c8d6b5-x2x9z ready",
        "pod nvapi-inference-gateway-llama-70b-instruct-5f7d8c9b6d-x2k9p Running",
        "metric glsa_dashboard_panel_overview_total=3",
    ],
)
def test_names_with_a_vendor_keys_prefix_are_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


def test_two_pods_named_so_stay_two_series_in_a_capture() -> None:
    a = redact_labels({"pod": POD_A, "namespace": "nim"})
    b = redact_labels({"pod": POD_B, "namespace": "nim"})
    assert a == {"pod": POD_A, "namespace": "nim"} and a != b


@pytest.mark.parametrize(
    "secret",
    [
        "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",
        "nvapi-Qm7_Zt2Lx9Kp4Vb8Nc3Hd6Jf1Gs5Wq0Er8Ty2Uio",  # a shorter one: 40 characters
        "glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345_abcdef12",
    ],
)
def test_a_vendor_key_is_still_redacted(secret: str) -> None:
    for said in _everywhere(f"auth failed for {secret} now"):
        assert said == f"auth failed for {REDACTED} now"


# 6. cookie shapes -----------------------------------------------------------------------------

COOKIE_VALUE = "Qm9vX2s3Y3JldA9z"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f'GET / HTTP/1.1 Host: app Cookie: JSESSIONID="{COOKIE_VALUE}"; $Path="/"', "Cookie: "),
        (f'Cookie: sid="{COOKIE_VALUE}"', "Cookie: "),
        (
            f'{{"level":"info","request_Cookie":"sid={COOKIE_VALUE}","RequestPath":"/"}}',
            '"request_Cookie":"[REDACTED]","RequestPath":"/"}',
        ),
        (f'level=info cookie="sid={COOKIE_VALUE}" path=/', 'cookie="[REDACTED]" path=/'),
        (f"GET / Host: app Cookie: sid = {COOKIE_VALUE}", "Host: app Cookie: "),
    ],
)
def test_a_cookie_of_these_shapes_is_redacted(text: str, kept: str) -> None:
    for said in _everywhere(text):
        assert COOKIE_VALUE not in said and COOKIE_VALUE[4:] not in said, said
        assert kept in said, said
        assert redact_for_llm(said) == said  # a tool's answer is redacted again: as it was


@pytest.mark.parametrize(
    "text",
    [
        "missing cookie: session expired",
        "request_cookie: none sent by the browser",
        "set cookie=true for the client",
    ],
)
def test_a_cookie_named_in_prose_is_still_kept(text: str) -> None:
    assert all(said == text for said in _everywhere(text))


# the work a crafted line costs ----------------------------------------------------------------

SIZE = 100 * 1024
#: each repeated to SIZE, or once before a run of letters to SIZE: starts of the patterns
#: changed here that never end in a match
HOSTILE = ["://a:1?", "://a:1#x", "://u:@a", "://u:p@a.", "?key=", "&key=a", "nvapi-a",
           " nvapi-a-", "glsa_a", " 1-1-1-1.a", "_cookie:", "cookie=", 'Cookie: a="',
           "Cookie: a =", " cookie: a"]  # fmt: skip
RUNS = ["://u:@", "://u:1?", "1-1-1-1.", " 1-1-1-1.a", "nvapi-", "?key=", 'Cookie: a="']


@pytest.mark.parametrize("piece", HOSTILE)
def test_a_line_of_crafted_starts_costs_about_what_a_plain_one_does(piece: str) -> None:
    work = ratio(repeated(piece, SIZE))
    assert work < MOST_RATIO, f"{piece!r}: {work:.0f} times a plain line's work"


@pytest.mark.parametrize("start", RUNS)
def test_a_start_before_a_long_run_costs_about_what_a_plain_line_does(start: str) -> None:
    work = ratio((start + "a" * SIZE)[:SIZE])
    assert work < MOST_RATIO, f"{start!r}: {work:.0f} times a plain line's work"


def test_the_new_cases_are_redacted_once() -> None:
    texts = [
        f"GET http://admin:{PASSWORD}@prom:9090/api/v1/query?query=up@1700000000 200",
        "url=redis://:123#abcSecret@redis:6379/0",
        f'Cookie: JSESSIONID="{COOKIE_VALUE}"; $Path="/"',
        f'{{"request_Cookie":"sid={COOKIE_VALUE}"}}',
        f'cookie="sid={COOKIE_VALUE}"',
        f"Cookie: sid = {COOKIE_VALUE}",
        "GET /maps/embed?key=AbC9f8e7d6c5b4a3_92817-06f5#map 200",
        "lookup 10-128-2-15.ran-du.pod.cluster.local",
    ]
    for text in texts:
        once = redact_for_llm(text, ips=True)
        assert redact_for_llm(once, ips=True) == once
        assert redact(redact(text)) == redact(text)
