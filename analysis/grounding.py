"""Grounded explanations: the model may only say what the evidence says.

The app hands the model numbered evidence items (``E1`` ...), never raw data, and asks for a
short explanation that cites them in brackets (``[E2]``). ``verify`` then reads the answer
sentence by sentence: a sentence is *verified* when it cites at least one item that exists and
every number in it matches a number of the items it cites (as written: "7.3" matches 7.31,
"0.8" matches 0.82, "82" matches a fraction 0.82, "10:03" matches 10:03:12; a whole number
must be exact once rounded, so a wrong year or count does not pass); anything else is
*unverified*, with the reason, and the page shows it so. Nothing here trusts the model's
words: ids and numbers are matched, never interpreted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum

#: an id as the app writes it: a capital letter and a number ("E3", "C1", "K2")
_ID = r"[A-Z]\d{1,3}"
_CITATION = re.compile(rf"\[\s*({_ID}(?:\s*[,;]\s*{_ID})*)\s*\]")
_CITED_ID = re.compile(_ID)
#: a clock time (10:03, 10:03:12), a date part, or a number (-1.5e-3, 12,345, 99.9%)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])|\n+")
#: the reply's length the app reads (a model that rambles is cut, and says so)
MAX_EXPLANATION_CHARS = 4000


class Verdict(StrEnum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class EvidenceItem:
    """One fact the app stands behind: ``id`` ("E3"), its words, and the numbers in them."""

    id: str
    text: str

    @property
    def numbers(self) -> list[float]:
        return _numbers_in(self.text)


@dataclass(frozen=True)
class Sentence:
    text: str
    verdict: Verdict
    cited: list[str] = field(default_factory=list)
    #: why it is unverified ("cites E9, which is not in the evidence"); empty when verified
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    sentences: list[Sentence]
    truncated: bool = False

    @property
    def verified(self) -> int:
        return sum(s.verdict is Verdict.VERIFIED for s in self.sentences)

    @property
    def unverified(self) -> int:
        return len(self.sentences) - self.verified

    def as_json(self) -> dict[str, object]:
        return {
            "verified": self.verified,
            "unverified": self.unverified,
            "truncated": self.truncated,
            "sentences": [
                {"text": s.text, "verdict": s.verdict.value, "cited": s.cited,
                 "reasons": s.reasons}
                for s in self.sentences
            ],
        }  # fmt: skip


def evidence_text(items: list[EvidenceItem]) -> str:
    """The items as the prompt lists them, one per line."""
    return "\n".join(f"[{i.id}] {i.text}" for i in items)


def _numbers_in(text: str) -> list[float]:
    """The numbers of a text, clock times and citation ids left out."""
    text = _CITATION.sub(" ", _TIME.sub(" ", text))
    found = []
    for raw in _NUMBER.findall(text):
        try:
            found.append(float(raw.replace(",", "")))
        except ValueError:  # pragma: no cover (the pattern only matches numbers)
            continue
    return found


def _decimals(raw: str) -> int:
    mantissa = raw.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _matches(written: str, value: float, known: list[float]) -> bool:
    """``written`` as the model wrote it matches a known number rounded the same way ("92" of
    92.4, "0.8" of 0.82), or a fraction's percentage form (0.82 -> 82; not 1: a count of 1
    is no "100"). Only a number written with decimals may also be within 1 % of it (its own
    rounding, "1.52e+04" of 15240): an integer must be the value as displayed, or a wrong
    year, date part or count would pass."""
    places = _decimals(written)
    for k in known:
        # the x100 form only for fractions: else a baseline of 45 would verify "4500"
        for candidate in (k, k * 100) if 0 < abs(k) < 1 else (k,):
            if not math.isfinite(candidate):
                continue
            if round(candidate, places) == round(value, places):
                return True
            if places and candidate and abs(value - candidate) <= 0.01 * abs(candidate):
                return True
    return False


def _check_numbers(sentence: str, cited: list[EvidenceItem]) -> list[str]:
    known = [n for item in cited for n in item.numbers]
    times = {t for item in cited for t in _TIME.findall(item.text)}
    reasons = []
    for t in _TIME.findall(sentence):
        if not any(k == t or k.startswith(t + ":") for k in times):
            reasons.append(f"the time {t} is in none of the items it cites")
    bare = _CITATION.sub(" ", _TIME.sub(" ", sentence))
    for raw in _NUMBER.findall(bare):
        value = float(raw.replace(",", ""))
        if not _matches(raw.replace(",", ""), value, known):
            reasons.append(f"the number {raw} is in none of the items it cites")
    return reasons


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def verify(text: str, evidence: list[EvidenceItem]) -> Explanation:
    """Every sentence of ``text`` checked against ``evidence`` (see the module's doc)."""
    truncated = len(text) > MAX_EXPLANATION_CHARS
    by_id = {item.id: item for item in evidence}
    sentences = []
    for sentence in split_sentences(text[:MAX_EXPLANATION_CHARS]):
        cited = [i for group in _CITATION.findall(sentence) for i in _CITED_ID.findall(group)]
        cited = list(dict.fromkeys(cited))
        reasons = [f"cites {i}, which is not in the evidence" for i in cited if i not in by_id]
        real = [by_id[i] for i in cited if i in by_id]
        if not cited:
            reasons.append("cites no evidence item")
        else:
            reasons += _check_numbers(sentence, real)
        verdict = Verdict.UNVERIFIED if reasons else Verdict.VERIFIED
        sentences.append(Sentence(sentence, verdict, cited, reasons))
    return Explanation(sentences, truncated)
