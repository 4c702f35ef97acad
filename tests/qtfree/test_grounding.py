"""Grounded explanations: every sentence must cite real evidence, every number must match."""

from __future__ import annotations

from analysis.grounding import EvidenceItem, Verdict, evidence_text, split_sentences, verify

EVIDENCE = [
    EvidenceItem("C1", "Likely cause number 1: ran-east du-2/ens1f0, confidence 0.82, "
                 "first change 10:03:12 UTC."),
    EvidenceItem("E1", "openshift_ptp_offset_ns on ran-east du-2/ens1f0: robust z 7.3, "
                 "baseline 12, peak 1.524e+04, first deviation 10:03:12 UTC."),
    EvidenceItem("K1", "Runbook clock class 248 for ran-east du-2/ens1f0: the clock is "
                 "free-running."),
]  # fmt: skip


def test_a_sentence_with_real_citations_and_matching_numbers_is_verified() -> None:
    text = ("The PTP offset on du-2/ens1f0 rose to 1.524e+04 ns from 12 at 10:03 [E1]. "
            "It is the likely cause with confidence 0.82 [C1].")  # fmt: skip
    result = verify(text, EVIDENCE)
    assert [s.verdict for s in result.sentences] == [Verdict.VERIFIED, Verdict.VERIFIED]
    assert result.sentences[0].cited == ["E1"]


def test_rounding_as_written_and_percentages_match() -> None:
    text = "Its robust z was about 7 [E1]. Confidence 82% [C1]. Confidence 0.8 [C1]."
    assert verify(text, EVIDENCE).unverified == 0


def test_invented_numbers_ids_and_uncited_claims_are_unverified() -> None:
    text = ("The offset reached 99000 ns [E1]. "
            "A cable was cut [E9]. "
            "The GPU overheated. "
            "It started at 09:58 [C1].")  # fmt: skip
    result = verify(text, EVIDENCE)
    assert result.verified == 0 and result.unverified == 4
    reasons = [r for s in result.sentences for r in s.reasons]
    assert "the number 99000 is in none of the items it cites" in reasons
    assert "cites E9, which is not in the evidence" in reasons
    assert "cites no evidence item" in reasons
    assert "the time 09:58 is in none of the items it cites" in reasons


def test_a_number_must_be_in_the_items_it_cites_not_just_anywhere() -> None:
    # 0.82 is C1's, not E1's
    result = verify("The z-score was 0.82 [E1].", EVIDENCE)
    assert result.sentences[0].verdict is Verdict.UNVERIFIED


def test_ids_in_citation_groups_and_sentence_splitting() -> None:
    result = verify("Offset 12 then 7.3 z, confidence 0.82 [C1, E1]. Next: check K1 [K1]!",
                    EVIDENCE)  # fmt: skip
    assert result.sentences[0].cited == ["C1", "E1"] and result.unverified == 0
    assert split_sentences("One 1.5 value. Two\nThree.") == ["One 1.5 value.", "Two", "Three."]
    assert evidence_text(EVIDENCE[:1]).startswith("[C1] Likely cause")


def test_a_rambling_reply_is_cut_and_says_so() -> None:
    result = verify("Confidence 0.82 [C1]. " * 400, EVIDENCE)
    assert result.truncated and result.as_json()["truncated"] is True


def test_no_tolerance_lets_a_wrong_integer_count_or_date_through() -> None:
    # review r3: the x100 percentage form was tried for every number (baseline 45 -> "4500",
    # 3 signals -> "300") and 1 % tolerance was applied to integers (2026 -> "2025")
    items = [
        EvidenceItem("I1", "Incident INC-1: GPU hot; severity CRITICAL; opened 2026-12-04 "
                     "20:51:44 UTC; clusters ran-east; 3 signals."),
        EvidenceItem("E1", "DCGM_FI_DEV_GPU_TEMP on ran-east/gpu-3: robust z 6.2, baseline 45, "
                     "peak 92, first deviation 2026-12-04 20:50:10 UTC."),
        EvidenceItem("E2", "DCGM_FI_DEV_GPU_TEMP on ran-east/gpu-4: peak 92.4."),
        EvidenceItem("C1", "Likely cause number 1: ran-east/gpu-3, confidence 0.82."),
        EvidenceItem("P1", "Pod ran-du/du-l1-0 restarted 1 time in the window."),
    ]  # fmt: skip
    wrong = ["gpu-3 reached 9200 degrees [E1].",
             "The pod restarted 100 times in the window [P1].",  # 1 is a count, no fraction
             "The GPU ran 4500 degrees above normal [E1].",
             "300 signals were raised [I1].",
             "The incident opened on 2025-12-04 [I1].",
             "gpu-3 peaked at 93 degrees [E1]."]  # fmt: skip
    right = ["gpu-3 peaked at 92 degrees [E1].",
             "gpu-4 peaked at 92 degrees [E2].",
             "gpu-4 peaked at 92.4 degrees [E2].",
             "It is the likely cause with 82 % confidence [C1].",
             "3 signals were raised [I1].",
             "The incident opened on 2026-12-04 [I1]."]  # fmt: skip
    for text in wrong:
        assert verify(text, items).sentences[0].verdict is Verdict.UNVERIFIED, text
    for text in right:
        assert verify(text, items).sentences[0].verdict is Verdict.VERIFIED, text
    reasons = verify("The incident opened on 2025-12-04 [I1].", items).sentences[0].reasons
    assert reasons == ["the date 2025-12-04 is in none of the items it cites"]
