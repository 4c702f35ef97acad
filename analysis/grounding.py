"""Grounded explanations: the model may only say what the evidence says.

The app hands the model numbered evidence items (``E1`` ...), never raw data, and asks for a
short explanation that cites them in brackets (``[E2]``). ``verify`` then reads the answer
sentence by sentence: a sentence is *verified* when it cites at least one item that exists and
every number, time, date and name in it matches those of the items it cites (as written: "7.3"
matches 7.31, "0.8" matches 0.82, "82 %" matches a fraction 0.82, "10:03" matches 10:03:12,
"2026-12-04" or "December 4" a date 2026-12-04, "2026-12-04T10:03Z" the date and time
2026-12-04 10:03:12 (together, an offset taken off), "10:03 PM" 22:03 (a time in a named zone
other than UTC matches none), "du-2" a name du-2 (as "gpu5", "worker3.ocp.example.com": a
word with a digit); a whole number must be
exact once rounded, and a date's parts or a name's digits are no count, so a wrong year or
count does not pass). A sentence that cites real items but has no number, time or date is
*cited, not checked*: nothing in it could be matched. Anything else is *unverified*, with the
reason, and the page shows it so. Nothing here trusts the model's words: ids and numbers are
matched, never interpreted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops_desktop.models.enums import Verdict

#: an id as the app writes it: a capital letter and a number ("E3", "C1", "K2")
_ID = r"[A-Z]\d{1,3}"
_CITATION = re.compile(rf"\[\s*({_ID}(?:\s*[,;]\s*{_ID})*)\s*\]")
_CITED_ID = re.compile(_ID)
#: a date-time (ISO 8601, "2026-12-04T10:03:12Z", "2026-12-04 10:03", "...+02:00"), a clock
#: time (10:03, 10:03:12), a date (2026-12-04; "December 4, 2026", "4 Dec"), a name with
#: digits ("du-2", "INC-20261204-205144-44416e"; matched whole, as "gpu-3" of
#: "ran-east/gpu-3"), or a number (-1.5e-3, 12,345, 99.9%). A date-time is one unit: read as
#: a date and a time, its hour was skipped (no word boundary after "T") and its minutes and
#: seconds checked as counts, so a wrong time whose parts were counts verified. An offset's
#: minutes are those zones have (00, 30, 45): "14:03-14:07" is a range, not 14:03 at -14:07.
_DATETIME = re.compile(
    r"(?<![\w.-])(\d{4})-(\d{2})-(\d{2})[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[-+]\d{2}(?::?(?:00|30|45))?)?(?![\w:])"
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_DATE = re.compile(r"(?<![\w.-])(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH = (r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")  # fmt: skip
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_WORD_DATE = re.compile(rf"\b(?:{_MONTH}\s+{_DAY}|{_DAY}\s+{_MONTH})(?:,?\s+(\d{{4}}))?\b")
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
#: not a name: a rank ("top-3", "Bottom-5") says a count, as "top 3" does, and is checked so
#: (only the rank alone: "top-3-east" is a name). A name is hyphenated ("du-2") or a word
#: with a digit ("gpu5", "ens1f0", "worker3"), with its dotted parts ("worker3.ocp.example.com"):
#: only hyphenated ones were checked, so a wrong GPU, interface or node FQDN verified. Not a
#: name: an item's id ("E3") or a quantile ("p99": a latency's, whatever its metric is called)
_NAME = re.compile(
    r"(?<![\w.-])(?!(?i:top|bottom)-\d+(?![\w-]))(?![A-Z]\d{1,3}\b|[pP]\d{1,3}\b)"
    r"(?:[A-Za-z]\w*(?:-\w+)+|[A-Za-z][A-Za-z_]*\d\w*)(?:\.[A-Za-z0-9][\w-]*)*"
)
#: what may follow a clock time: 12-hour form ("10:03 PM", "10:05 p.m.") or a zone's name.
#: The items write UTC; "10:03 PM" is 22:03, and a time in another named zone cannot be
#: matched (it verified as if it were UTC)
_MERIDIEM = re.compile(r"\s*([AaPp])\.?[Mm]\b\.?")
_ZONE = re.compile(
    r"\s*(EST|EDT|CST|CDT|MST|MDT|PST|PDT|AKST|AKDT|HST|CET|CEST|EET|EEST|WET|WEST|BST|IST|"
    r"MSK|JST|KST|HKT|SGT|AEST|AEDT|ACST|AWST|NZST|NZDT|SAST|WIB|BRT|ART|local time)\b"
)
#: after a number, what makes it a percentage (only then is 0.82 written "82")
_PERCENT = re.compile(r"\s?(?:%|percent\b|per cent\b)")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])|\n+")
#: the reply's length the app reads (a model that rambles is cut, and says so)
MAX_EXPLANATION_CHARS = 4000


#: the reason a cited sentence gives: a page that reads "no reasons" as verified must not
#: say so of a claim nothing checked ("a failed power supply [C1]")
NOT_CHECKED = "nothing in it (a number, time or date) could be checked against the items it cites"


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
    #: why it is not verified ("cites E9, which is not in the evidence"); empty when verified
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    sentences: list[Sentence]
    truncated: bool = False

    @property
    def verified(self) -> int:
        return sum(s.verdict is Verdict.VERIFIED for s in self.sentences)

    @property
    def unchecked(self) -> int:
        """Sentences that are cited, not checked (``Verdict.CITED``)."""
        return sum(s.verdict is Verdict.CITED for s in self.sentences)

    @property
    def unverified(self) -> int:
        return sum(s.verdict is Verdict.UNVERIFIED for s in self.sentences)

    def as_json(self) -> dict[str, object]:
        return {
            "verified": self.verified,
            "unchecked": self.unchecked,
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


def _bare(text: str) -> str:
    """``text`` without what is matched whole (citations, dates, times, names): the numbers
    left are counts and measures. A date's month or an id's digits counted as numbers once,
    so "12 signals" was verified by a date in December."""
    for pattern in (_CITATION, _DATETIME, _WORD_DATE, _DATE, _TIME, _NAME):
        text = pattern.sub(" ", text)
    return text


def _moment(m: re.Match[str]) -> tuple[datetime, str] | None:
    """A date-time as UTC to the minute, and its seconds as written ("12", "12.5", ""): an
    offset moves the hour and the date ("16:05+02:00" is 14:05 UTC, as the items write it),
    never the seconds. None for no such moment (February 30, 25:05): it is in no item."""
    try:
        at = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]))
    except ValueError:
        return None
    zone = m[8] or "Z"
    if zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        at -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    seconds = m[6] or ""
    return at, f"{seconds}.{m[7]}" if m[7] else seconds


def _same_moment(written: tuple[datetime, str] | None, known: tuple[datetime, str]) -> bool:
    """``written`` is ``known`` to its own precision: "14:05" of 14:05:12, "14:05:12" of
    14:05:12.345, "14:05:12.000" of 14:05:12 (its zeros are no claim), not "14:05:12.5"."""
    if written is None:
        return False
    (at, seconds), (k_at, k_seconds) = written, known
    if at != k_at:
        return False
    if not seconds:
        return True
    whole, _, fraction = seconds.partition(".")
    k_whole, _, k_fraction = k_seconds.partition(".")
    return whole == k_whole and k_fraction.ljust(len(fraction), "0").startswith(fraction)


def _dates_in(text: str) -> set[tuple[int, int, int]]:
    return {(int(y), int(m), int(d)) for y, m, d in _DATE.findall(text)}


def _names_in(text: str) -> set[str]:
    return {n.lower() for n in _NAME.findall(text) if any(c.isdigit() for c in n)}


def _named(name: str, names: set[str]) -> bool:
    """``name`` is one of ``names``, or a cited host's short form ("worker-3" of
    "worker-3.ocp.example.com", as people write a node)."""
    return name in names or any(n.startswith(name + ".") for n in names)


def _numbers_in(text: str) -> list[float]:
    """The numbers of a text, clock times, dates, names and citation ids left out."""
    found = []
    for raw in _NUMBER.findall(_bare(text)):
        try:
            found.append(float(raw.replace(",", "")))
        except ValueError:  # pragma: no cover (the pattern only matches numbers)
            continue
    return found


def _decimals(raw: str) -> int:
    mantissa = raw.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _matches(written: str, value: float, known: list[float], *, percent: bool = False) -> bool:
    """``written`` as the model wrote it matches a known number rounded the same way ("92" of
    92.4, "0.8" of 0.82), or, written as a percentage (``percent``), a fraction's percentage
    form (0.82 -> "82 %"; not 1: a count of 1 is no "100 %"). Only a number written with
    decimals may also be within 1 % of it (its own rounding, "1.52e+04" of 15240): an integer
    must be the value as displayed, or a wrong year or count would pass."""
    places = _decimals(written)
    for k in known:
        # the x100 form only for fractions written as a percentage: else a baseline of 45
        # would verify "4500", a confidence of 0.50 "50 pods"
        for candidate in (k, k * 100) if percent and 0 < abs(k) < 1 else (k,):
            if not math.isfinite(candidate):
                continue
            if round(candidate, places) == round(value, places):
                return True
            if places and candidate and abs(value - candidate) <= 0.01 * abs(candidate):
                return True
    return False


def _time_reasons(text: str, times: set[str]) -> tuple[bool, list[str]]:
    """Whether ``text`` (no date-times left) has a clock time, and why each is in none of
    ``times`` (the cited items' clock times, UTC)."""
    reasons = []
    found = False
    for m in _TIME.finditer(text):
        found = True
        t = m[0]
        if zone := _ZONE.match(text, m.end()):
            reasons.append(f"the time {t} {zone[1]} is not in UTC, as the items it cites are")
            continue
        if half := _MERIDIEM.match(text, m.end()):
            if zone := _ZONE.match(text, half.end()):
                reasons.append(f"the time {t} {half[0].strip()} {zone[1]} is not in UTC, as "
                               "the items it cites are")  # fmt: skip
                continue
            hour, rest = t.split(":", 1)
            hour24 = int(hour) % 12 + (12 if half[1] in "Pp" else 0)
            t = f"{hour24:02d}:{rest}" if int(hour) <= 12 else t
        if not any(k == t or k.startswith(t + ":") or k.zfill(len(t)) == t
                   or k.startswith("0" + t + ":") for k in times):  # fmt: skip
            reasons.append(f"the time {m[0]} is in none of the items it cites")
    return found, reasons


def _check_numbers(sentence: str, cited: list[EvidenceItem]) -> tuple[list[str], bool]:
    """Why ``sentence``'s numbers, times, dates and names are not those of the items it
    cites, and whether it had a number, time or date to check at all (a name is no check:
    "du-2 has a failed power supply" says nothing the items confirm)."""
    known = [n for item in cited for n in item.numbers]
    moments = [k for item in cited for m in _DATETIME.finditer(item.text) if (k := _moment(m))]
    # an item's date-time written with a "T" has no time _TIME finds: its clock time counts
    times = {t for item in cited for t in _TIME.findall(item.text)}
    times |= {f"{at:%H:%M}:{s}" if s else f"{at:%H:%M}" for at, s in moments}
    dates = {d for item in cited for d in _dates_in(item.text)}
    names = {n for item in cited for n in _names_in(item.text)}
    reasons = []
    text = _CITATION.sub(" ", sentence)
    checked = False
    # its date and time together, and then no longer a date, a time or counts
    for m in _DATETIME.finditer(text):
        checked = True
        if not m[8] and (zone := _ZONE.match(text, m.end())):
            reasons.append(f"the time {m[0]} {zone[1]} is not in UTC, as the items it cites are")
        elif not any(_same_moment(_moment(m), k) for k in moments):
            reasons.append(f"the time {m[0]} is in none of the items it cites")
    text = _DATETIME.sub(" ", text)
    found, reasons_of_times = _time_reasons(text, times)
    checked = checked or found
    reasons += reasons_of_times
    for m in _DATE.finditer(text):
        checked = True
        if (int(m[1]), int(m[2]), int(m[3])) not in dates:
            reasons.append(f"the date {m[0]} is in none of the items it cites")
    for m in _WORD_DATE.finditer(text):
        checked = True
        month = _MONTHS.index((m[1] or m[4])[:3]) + 1
        day, year = int(m[2] or m[3]), m[5]
        if not any((mo, d) == (month, day) and year in (None, str(y)) for y, mo, d in dates):
            reasons.append(f"the date {m[0]} is in none of the items it cites")
    for name in _NAME.findall(text):
        if any(c.isdigit() for c in name) and not _named(name.lower(), names):
            reasons.append(f"the name {name} is in none of the items it cites")
    bare = _bare(text)
    for m in _NUMBER.finditer(bare):
        checked = True
        raw = m[0].replace(",", "")
        percent = _PERCENT.match(bare, m.end()) is not None
        if not _matches(raw, float(raw), known, percent=percent):
            reasons.append(f"the number {m[0]} is in none of the items it cites")
    return reasons, checked


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
        checked = False
        if not cited:
            reasons.append("cites no evidence item")
        else:
            wrong, checked = _check_numbers(sentence, real)
            reasons += wrong
        if reasons:
            verdict = Verdict.UNVERIFIED
        elif not checked:
            verdict, reasons = Verdict.CITED, [NOT_CHECKED]
        else:
            verdict = Verdict.VERIFIED
        sentences.append(Sentence(sentence, verdict, cited, reasons))
    return Explanation(sentences, truncated)
