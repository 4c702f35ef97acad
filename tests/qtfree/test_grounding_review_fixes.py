"""Review fixes to grounded explanations: a date's parts, an id's digits and a fraction's x100
form are no evidence for a count; a sentence with no number that cites a real item is "cited,
not checked", never "verified"."""

from __future__ import annotations

from analysis.grounding import EvidenceItem, Verdict, verify

ITEMS = [
    EvidenceItem("I1", "Incident INC-20261204-205144-44416e: PTP holdover on ran-east; severity "
                 "CRITICAL; opened 2026-12-04 20:51:44 UTC; clusters ran-east; 3 signals."),
    EvidenceItem("C1", "Likely cause number 1: node du-2, confidence 0.50, first change "
                 "2026-12-04 20:49:10 UTC."),
    EvidenceItem("E1", "openshift_ptp_offset_ns on ran-east du-2/ens1f0: robust z 7.3, "
                 "baseline 12, peak 1.524e+04, first deviation 2026-12-04 20:49:10 UTC."),
]  # fmt: skip


def verdict(text: str) -> Verdict:
    return verify(text, ITEMS).sentences[0].verdict


def test_a_date_part_or_an_id_digit_is_no_evidence_for_a_count() -> None:
    wrong = {
        "The incident has 12 signals [I1].": "the number 12",  # 12 is the month
        "It started on 4 clusters [I1].": "the number 4",  # 4 is the day
        "2026 pods restarted [C1].": "the number 2026",  # a year, not a count
        "205144 rows were read [I1].": "the number 205144",  # a part of the incident's id
        "2 NICs failed [C1].": "the number 2",  # the 2 of du-2
        "The incident opened on 2026-12-05 [I1].": "the date 2026-12-05",
        "It opened on December 5 [I1].": "the date December 5",
        "gpu-9 drifted by 12 ns [E1].": "the name gpu-9",  # a name is matched whole
    }
    for text, said in wrong.items():
        sentence = verify(text, ITEMS).sentences[0]
        assert sentence.verdict is Verdict.UNVERIFIED, text
        assert sentence.reasons == [f"{said} is in none of the items it cites"], text


def test_dates_times_names_and_real_counts_still_verify() -> None:
    right = [
        "The incident has 3 signals [I1].",
        "The incident opened on 2026-12-04 at 20:51 [I1].",
        "It opened on December 4, 2026 [I1].",
        "It opened on 4 Dec 2026 [I1].",
        "The offset on du-2 left its baseline of 12 on 2026-12-04 [E1].",
        "INC-20261204-205144-44416e has 3 signals [I1].",
        "du-2/ens1f0 reached 1.524e+04 ns from 12 [E1].",
    ]
    for text in right:
        assert verdict(text) is Verdict.VERIFIED, (text, verify(text, ITEMS).sentences[0])


def test_the_percentage_form_needs_a_percent_sign() -> None:
    assert verdict("50 pods were affected on du-2 [C1].") is Verdict.UNVERIFIED
    assert verdict("Its confidence is 0.50 [C1].") is Verdict.VERIFIED
    for text in ("Its confidence is 50% [C1].", "Its confidence is 50 % [C1].",
                 "Its confidence is 50 percent [C1]."):  # fmt: skip
        assert verdict(text) is Verdict.VERIFIED, text
    # a percent sign does not turn a count into a fraction's form
    assert verdict("300% more signals [I1].") is Verdict.UNVERIFIED


def test_a_cited_sentence_without_a_number_is_cited_not_checked() -> None:
    text = ("The cause is a failed power supply on the hub [C1]. "
            "The incident has 3 signals [I1]. "
            "The hub is on fire. "
            "A cable was cut [C9].")  # fmt: skip
    result = verify(text, ITEMS)
    assert [s.verdict for s in result.sentences] == [
        Verdict.CITED, Verdict.VERIFIED, Verdict.UNVERIFIED, Verdict.UNVERIFIED
    ]  # fmt: skip
    assert Verdict.CITED.value == "cited, not checked"
    assert (result.verified, result.unchecked, result.unverified) == (1, 1, 2)
    # a reason, so that a page reading "no reasons" as "verified" never says so of it
    assert result.sentences[0].reasons == [
        "nothing in it (a number, time or date) could be checked against the items it cites"
    ]
    shown = result.as_json()
    assert (shown["verified"], shown["unchecked"], shown["unverified"]) == (1, 1, 2)
    assert shown["sentences"][0]["verdict"] == "cited, not checked"  # type: ignore[index]
    # a name alone is no check either
    assert verdict("du-2 is the likely cause [C1].") is Verdict.CITED


ISO_ITEMS = [
    EvidenceItem("I1", "Incident INC-1: latency; severity critical; opened 2026-12-04 14:05:12 "
                 "UTC; clusters ran-east; 5 signals."),
    EvidenceItem("C1", "Likely cause number 1: east pod shop/checkout-7d9f, confidence 0.82, "
                 "first change 2026-12-04 14:03:40 UTC."),
    EvidenceItem("C2", "Likely cause number 2: east pod shop/cart-5c1a, confidence 0.41, "
                 "first change 2026-12-04 14:04:02 UTC."),
    EvidenceItem("C3", "Likely cause number 3: east node du-2, confidence 0.20, first change "
                 "2026-12-04 14:04:30 UTC."),
]  # fmt: skip


def test_an_iso_date_time_is_checked_whole_never_as_counts() -> None:
    """An ISO-8601 date-time ("2026-12-04T14:05:12Z") was read as a date and two counts (its
    hour skipped): a wrong time whose minutes and seconds were counts of the item verified,
    the right one did not."""
    right = [
        "The incident opened at 2026-12-04T14:05:12Z [I1].",
        "The incident opened at 2026-12-04T14:05Z [I1].",
        "The incident opened at 2026-12-04 14:05:12 [I1].",
        "The incident opened at 2026-12-04T14:05:12.000Z [I1].",
        "The incident opened at 2026-12-04T16:05:12+02:00 [I1].",  # the same moment
        "The incident opened at 2026-12-04T14:05:12+00:00 and has 5 signals [I1].",
    ]
    for text in right:
        sentence = verify(text, ISO_ITEMS).sentences[0]
        assert sentence.verdict is Verdict.VERIFIED, (text, sentence.reasons)
    wrong = {
        # its minutes and seconds are the item's count of 5 signals
        "The incident opened at 2026-12-04T23:05:05Z [I1].": "2026-12-04T23:05:05Z",
        "The incident opened at 2026-12-04T14:05:05Z [I1].": "2026-12-04T14:05:05Z",
        "The incident opened at 2026-12-05T14:05:12Z [I1].": "2026-12-05T14:05:12Z",
        # the item's wall-clock digits, but two hours off
        "The incident opened at 2026-12-04T14:05:12+02:00 [I1].": "2026-12-04T14:05:12+02:00",
        "The incident opened at 2026-12-04T14:05:12.5Z [I1].": "2026-12-04T14:05:12.5Z",
        # a date of one item with a time of another is no date-time of either
        "It began at 2026-12-04 14:03:40 [I1].": "2026-12-04 14:03:40",
    }
    for text, said in wrong.items():
        sentence = verify(text, ISO_ITEMS).sentences[0]
        assert sentence.verdict is Verdict.UNVERIFIED, text
        assert sentence.reasons == [f"the time {said} is in none of the items it cites"], text
    # an item's date-time written the ISO way still verifies a plain time and date
    iso_item = [EvidenceItem("I1", "Incident opened 2026-12-04T14:05:12Z; 5 signals.")]
    for text in ("It opened at 14:05 [I1].", "It opened at 2026-12-04T14:05:12Z [I1].",
                 "It opened on 2026-12-04 with 5 signals [I1]."):  # fmt: skip
        assert verify(text, iso_item).sentences[0].verdict is Verdict.VERIFIED, text
    assert verify("It opened at 05:12 [I1].", iso_item).sentences[0].reasons == [
        "the time 05:12 is in none of the items it cites"
    ]
    # no such day or hour: in no item, and no crash
    for text in ("It opened at 2026-02-30T14:05Z [I1].", "It opened at 2026-12-04T25:05Z [I1]."):
        assert verify(text, ISO_ITEMS).sentences[0].verdict is Verdict.UNVERIFIED, text
    # a range's end is no offset ("-14:07" is no zone): its start and end are checked
    ranged = verify("It ran 2026-12-04 14:05-14:07 [I1].", ISO_ITEMS).sentences[0]
    assert ranged.reasons == ["the time 14:07 is in none of the items it cites"]


def test_a_rank_like_top_3_is_a_number_not_a_name() -> None:
    """A rank like "top-3" has a count in it, as "top 3" does: it is checked as the number 3,
    never refused as a name with digits that no item has."""
    text = "The top-3 suspects all include checkout-7d9f [C1, C2, C3]."
    sentence = verify(text, ISO_ITEMS).sentences[0]
    assert sentence.verdict is Verdict.VERIFIED, sentence.reasons
    # citing one cause says nothing of three: the count is what is unverified, not a name
    sentence = verify("The top-3 suspects all include checkout-7d9f [C1].", ISO_ITEMS).sentences[0]
    assert sentence.reasons == ["the number 3 is in none of the items it cites"]
    assert verify("The Top-5 pods [C1, C2, C3].", ISO_ITEMS).sentences[0].reasons == [
        "the number 5 is in none of the items it cites"
    ]
    # only the rank alone: a name that merely starts so is still a name
    assert verify("top-3-east restarted [C1].", ISO_ITEMS).sentences[0].reasons == [
        "the name top-3-east is in none of the items it cites"
    ]


# -- review 4: names without a hyphen, and times in another zone --------------------------------
def _verdict(text: str, items: list[EvidenceItem]) -> tuple[str, list[str]]:
    s = verify(text, items).sentences[0]
    return s.verdict.value, s.reasons


def test_a_gpu_a_dotted_host_or_an_interface_named_wrong_is_not_verified() -> None:
    """Only hyphenated names were checked: "gpu7" where the item says gpu5, a node's FQDN,
    an interface passed as verified (RCA names a GPU ``worker-3/gpu5``)."""
    items = [
        EvidenceItem("C1", "Likely cause number 1: ran-east worker-3/gpu5, confidence 0.82."),
        EvidenceItem(
            "C2",
            "Likely cause number 2: ran-east node worker3.ocp.example.com, "
            "confidence 0.40; port ens1f0.",
        ),
    ]
    assert _verdict("The likely cause is gpu7 on worker-3, confidence 0.82 [C1].", items)[0] == (
        "unverified"
    )
    assert "gpu7" in _verdict("gpu7 on worker-3 at 0.82 [C1].", items)[1][0]
    assert _verdict("Node worker9.ocp.example.com follows, confidence 0.40 [C2].", items)[0] == (
        "unverified"
    )
    assert _verdict("Port ens2f1 follows, confidence 0.40 [C2].", items)[0] == "unverified"
    # the right ones still verify, and a name's digits are still no count
    assert _verdict("The likely cause is gpu5 on worker-3, confidence 0.82 [C1].", items)[0] == (
        "verified"
    )
    assert _verdict("Node worker3.ocp.example.com, port ens1f0, confidence 0.40 [C2].",
                    items)[0] == "verified"  # fmt: skip
    assert _verdict("It is worker3.ocp.example.com [C2].", items)[0] == "cited, not checked"


def test_a_time_in_twelve_hour_form_or_another_zone_is_read_as_such() -> None:
    """ "10:03 PM" and "10:03 EST" verified against an item's 10:03:12 UTC: a PM time is
    read as 22:03, and a time in a named zone other than UTC cannot be matched."""
    items = [EvidenceItem("E1", "PTP offset on ran-east du-2/ens1f0: robust z 8.1, first "
                          "deviation 2026-12-04 10:03:12 UTC; peak at 22:05.")]  # fmt: skip
    assert _verdict("It began at 10:03 PM [E1].", items)[0] == "unverified"
    assert _verdict("It began at 10:03 AM [E1].", items)[0] == "verified"
    assert _verdict("It peaked at 10:05 pm [E1].", items)[0] == "verified"
    verdict, reasons = _verdict("It began at 10:03 EST [E1].", items)
    assert verdict == "unverified" and "EST" in reasons[0]
    assert _verdict("It began at 10:03 CET on December 4 [E1].", items)[0] == "unverified"
    assert _verdict("It began at 10:03 UTC [E1].", items)[0] == "verified"
    assert _verdict("At 10:03 PTP offset rose [E1].", items)[0] == "verified"  # not a zone


def test_a_quantile_is_no_name() -> None:
    items = [EvidenceItem("E1", "PodClientLatencyP99(s) on checkout: robust z 8.1, peak 2.5.")]
    assert _verdict("The p99 latency peaked at 2.5 [E1].", items)[0] == "verified"


def test_a_node_named_short_for_its_fqdn_is_the_same_name() -> None:
    """The usual short form of a node the items name by its FQDN verifies (it failed once a
    name took its dotted parts); another node's short form does not."""
    items = [EvidenceItem("E1", "PTP offset on ran-east worker-3.ocp.example.com/ens1f0: "
                          "robust z 8.1, peak 250.")]  # fmt: skip
    assert _verdict("The offset on worker-3 peaked at 250 [E1].", items)[0] == "verified"
    assert _verdict("The offset on worker-4 peaked at 250 [E1].", items)[0] == "unverified"
    assert _verdict("The offset on worker-3.ocp peaked at 250 [E1].", items)[0] == "verified"


def test_a_zone_after_the_meridiem_or_a_date_time_is_read() -> None:
    items = [EvidenceItem("E1", "PTP offset on ran-east du-2/ens1f0: first deviation "
                          "2026-12-06 23:33:10 UTC.")]  # fmt: skip
    assert _verdict("It began at 11:33 PM [E1].", items)[0] == "verified"
    assert _verdict("It began at 11:33 PM EST [E1].", items)[0] == "unverified"
    assert _verdict("It began at 2026-12-06 23:33 EST [E1].", items)[0] == "unverified"
    assert _verdict("It began at 2026-12-06 23:33 UTC [E1].", items)[0] == "verified"
