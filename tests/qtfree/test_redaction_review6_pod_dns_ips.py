"""With "hide IP addresses" on, a pod's DNS name (``10-128-2-15.ran-du.pod.cluster.local``)
gave the pod's address away: a dashed address that starts a DNS label is one, as an AWS
node's ``ip-10-0-1-23`` is; dashed dates and numbers that are no address are kept."""

from __future__ import annotations

import pytest

from collectors.llm_redaction import IP_REDACTED, redact_document, redact_for_llm


@pytest.mark.parametrize(
    "text",
    [
        "dial tcp: lookup 10-128-2-15.ran-du.pod.cluster.local: no such host",
        "GET http://10-128-2-15.ran-du.pod:8080/metrics",
        "resolved 10-128-2-15.du-web.ran-du.svc.cluster.local",
        "peer=172-30-0-7.openshift-dns.pod.cluster.local",
    ],
)
def test_a_pod_address_in_a_dns_name_is_redacted(text: str) -> None:
    said = redact_for_llm(text, ips=True)
    assert IP_REDACTED in said
    assert "10-128-2-15" not in said and "172-30-0-7" not in said, said
    assert ".pod" in said or ".svc" in said  # the name's other labels are kept
    answer = redact_document({"events": [{"message": text}]}, ips=True)
    assert answer["events"][0]["message"] == said
    assert redact_for_llm(text) == text  # only when asked


@pytest.mark.parametrize(
    "text",
    [
        "backup 2026-12-08-01.tar.gz written",  # a date and an hour
        "on 2026-12-08. Next run 2026-12-09.",
        "archive 26-12-08-01 kept",  # no DNS label after it
        "10-300-2-15.ran-du.pod.cluster.local",  # no address: 300 is no octet
        "1-2-3-4.5 released",  # a version, no label of letters after it
        "job-10-128-2-15.ran-du done",  # part of a longer label
        "10-128-2-15-7.ran-du done",  # one number more
    ],
)
def test_dashed_numbers_that_are_no_address_are_kept(text: str) -> None:
    assert redact_for_llm(text, ips=True) == text
