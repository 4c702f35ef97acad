"""`rca --explain` says each sentence's verdict: verified, cited but not checked (it cites real
items and holds nothing to match: never printed as verified), or unverified; the header counts
the three, and --json carries the verdict of each sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.grounding import NOT_CHECKED
from tests.qtfree.cli_runner import call_main
from tests.qtfree.test_cli_commands_review_fixes import RCA, _sse_reply, _Stub

#: one sentence of each verdict: C1 reads "Likely cause number 1: ..."; C9 is no item
VERIFIED = "The likely cause is number 1 [C1]."
CITED = "The cause is a failed power supply [C1]."
UNVERIFIED = "A cable was cut [C9]."


def test_rca_explain_marks_each_sentence_by_its_verdict(tmp_path: Path) -> None:
    server = _Stub(lambda _path: (200, "text/event-stream",
                                  _sse_reply(f"{VERIFIED} {CITED} {UNVERIFIED}")))  # fmt: skip
    try:
        code, _, err = call_main(tmp_path, "llm", "set", "--endpoint", f"{server.url}/v1",
                                 "--model", "m")  # fmt: skip
        assert code == 0, err
        code, out, err = call_main(tmp_path, *RCA, "--explain")
        assert code == 0, err
        told = out[out.index("\nExplanation by the local model: ") :].splitlines()[1:]
        assert told[0] == ("Explanation by the local model: 1 of 3 sentences verified against "
                           "the evidence; 1 cited, not checked; 1 unverified")  # fmt: skip
        assert told[1:] == [
            f"  [verified   ] {VERIFIED}",
            f"  [NOT CHECKED] {CITED}",
            f"                {NOT_CHECKED}",
            f"  [UNVERIFIED ] {UNVERIFIED}",
            "                cites C9, which is not in the evidence",
        ]
        code, out, err = call_main(tmp_path, *RCA, "--explain", "--json")
        assert code == 0, err
        explained = json.loads(out)["explanation"]
        assert [s["verdict"] for s in explained["sentences"]] == [
            "verified", "cited, not checked", "unverified"]  # fmt: skip
        assert (explained["verified"], explained["unchecked"], explained["unverified"]) == (1, 1, 1)
    finally:
        server.stop()


def test_rca_help_says_the_three_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_main(tmp_path, "rca", "--help")  # argparse prints its help to sys.stdout
    said = " ".join(capsys.readouterr().out.split())
    assert "verified" in said and "not checked" in said and "unverified" in said
