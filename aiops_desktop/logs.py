"""Structured JSON logs to a rotating file, with secrets redacted before anything is written.

Two layers of redaction: patterns that look like credentials (bearer tokens, JWTs, cloud and
API keys, passwords, PEM keys, user:password in URLs and command lines), and the exact values
the secrets store has handled in this process (``register_secret``), so a token of any shape
never reaches a log line.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.text import printable

REDACTED = "[REDACTED]"
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5

#: a quote around a name or a value, also as JSON text writes it inside a string (a quote
#: after a backslash): a redaction over a JSON document's text must see the password of
#: ``{"line": "{\\"password\\": \\"x\\"}"}`` as it sees the one of ``{"password": "x"}``.
#: JSON text in JSON text escapes it again (``\\\\\\"``, a docker-json line holding a JSON
#: log holding a request's body): any run of backslashes, read from the run's first (a start
#: inside a long run would read the rest of it again)
QUOTE = r"(?:(?<!\\)\\*[\"'])"
#: a value after ``name=``: up to a space, a quote, a comma or a brace; a run of backslashes
#: is part of it unless it escapes a quote (then the quote ends the value and the JSON text
#: stays whole, however deep). Not an array or an object, but a colour code opens a value
#: (``password=[31mX``: a text made printable before it is redacted keeps an ANSI colour
#: code's "[31m", its ESC gone)
VALUE = r"(?!\{|\[(?!\d{1,3}(?:;\d{1,3})*m))(?:[^\s\"',}\\]|\\++(?![\"']))+"
#: names whose value is a secret: token, secret, password and the like, last in a name
#: (``db_password``, ``aws_secret_access_key``, ``db_pass``) or before a word that still names
#: the secret itself (``token.value``), not one that names something about it (``token_count``,
#: ``secret_name`` are kept); a bare ``pass`` only as a word of its own (not ``bypass``, but
#: ``dbPass`` as names_a_secret splits it) and not before a colon (``tests: pass: 12``). The
#: words are names_a_secret's (SECRET_WORDS, a KEY_KINDS key) but a header's, whose value holds
#: spaces: a cookie's and an Authorization's have patterns of their own. A key's kind is glued
#: or joined by - or _, not a dot (``private.key: permission denied`` names a file). Bounded:
#: redaction reads whole log lines. Text only (names_a_secret does not know them): a connection
#: string's ``Pwd=`` (ODBC, SQL Server) and Azure's ``AccountKey=``, and Rails'
#: ``SECRET_KEY_BASE`` (a key's ``_base``). A bare ``pwd`` only as a name of its own (not
#: ``OLDPWD``, ``pwd_hash_rounds``), not before a colon (the shell's ``pwd: command not found``)
#: and not with a path for its value (an environment's ``PWD=/home/bob``: the working folder)
_NAME_TAIL = r"(?:[_.-](?:value|data|string|secret|key|base64|base|b64)){0,2}(?![a-z0-9_.-])"
_PWD = rf"(?<![a-z])pwd(?![a-z]|\s*:|{QUOTE}?\s*[:=]\s*{QUOTE}?[/~])"
_KEY_KINDS = r"(?:api|access|client|private|secret|signing|encryption|account)"
_CREDENTIAL_NAME = (
    r"(?:token|secrets?|credentials?|pass(?:wd|word|phrase)|(?<![a-z])pass(?![a-z]|\s*:)"
    rf"|(?-i:(?<=[a-z0-9])Pass)(?![a-z]|\s*:)|{_PWD}"
    rf"|{_KEY_KINDS}[_-]?keys?)" + _NAME_TAIL
)
#: of those, the names whose unquoted value is mostly prose or a count in a log line
#: ("credentials: permission denied", "secrets=12", "firstPass=3"): theirs is taken after "="
#: where it is no plain number, after ":" where it holds a digit or a symbol (a word of
#: letters is prose); a quoted value, JSON's, is taken whatever it is
_PROSE_NAME = (
    r"(?:secrets|credentials?|(?-i:(?<=[a-z0-9])Pass)(?![a-z]|\s*:)"
    rf"|{_KEY_KINDS}[_-]?keys)" + _NAME_TAIL
)
#: the others, whose unquoted value is taken after a colon too (token: X, password: X)
_SECRET_NAME = (
    rf"(?:token|secret|pass(?:wd|word|phrase)|(?<![a-z])pass(?![a-z]|\s*:)|{_PWD}"
    rf"|{_KEY_KINDS}[_-]?key)" + _NAME_TAIL
)
#: the programs of MySQL and MariaDB that take a password glued to -p (-pPASSWORD; a bare -p
#: asks for it): their -p only, a -p elsewhere is mostly a port (nc -p8080)
_MYSQL = (
    r"(?:mysql(?:admin|dump|import|check|show|slap)?"
    r"|mariadb(?:-?(?:admin|dump|import|check|show|slap))?)(?![\w.-])"
)
#: what parts a command line's arguments: spaces, or in the JSON text of an argument list (a
#: container's ``command``) a quote, a comma and a quote (``", "``, ``","``, and escaped as
#: JSON text inside JSON text writes them)
_QUOTE_GAP = r"\\*[\"']\s*,\s*\\*[\"']"
_ARG_GAP = rf"(?:\s+|{_QUOTE_GAP})"
#: what parts a flag and its value: a gap, or none (glued, ``-PX``)
_FLAG_GAP = rf"(?:{_QUOTE_GAP}|\s*)"
#: an argument, to its gap: a shell's ; | & ends the command
_ARG = r"(?:[^\s;|&\"'\\]++|\\++(?![\"'])|\\*+[\"'](?!\s*,))++"
#: an argument of the same command, up to a dozen before the password (mysql -h db -P 3306
#: -u root -pX). Bounded: each start reads at most these
_SAME_COMMAND_ARGS = rf"(?:{_ARG_GAP}{_ARG}){{0,12}}?{_ARG_GAP}"
#: a cookie header's name
_COOKIE = r"(?:set-)?cookies?"
#: a cookie's quoted value (RFC 6265's ``JSESSIONID="x"; $Path="/"``), after its "=": no
#: space, quote, comma, ";" or backslash in it
_QUOTED_COOKIE = r"(?<==)\"[^\s\";,\\]*+\""
#: where a cookie header's name starts: a line's start, after a quote or a brace (a header
#: line, JSON's), or mid-line where its value opens with a cookie's ``name=`` (spaces around
#: its "=" too): Go's %v of an http.Header (``map[Accept:[*/*] Cookie:[sid=x]]``, as
#: oauth-proxy logs a request's), a request logged on one line (``Host: console Cookie: sid =
#: x``), logfmt's ``cookie="sid=x"`` and Traefik's JSON access log, its name after a prefix
#: (``"request_Cookie":"sid=x"``); prose's "missing cookie: session expired" names none. The
#: name stops at a colon: a line of "cookie:" repeated is read once, not once from each of its
#: starts
_COOKIE_HEADER = (
    rf"(?:(?m:^)|(?<=[\"'{{])|(?:(?<=_)|(?<![\w-]))(?={_COOKIE}{QUOTE}?\s*[:=]\s*+\[?\s*+"
    rf"{QUOTE}?[^\s=;,:\[\]{{}}\"'\\]++[ \t]*=)){_COOKIE}"
)
#: a JSON array of quoted strings for a secret's value, as Go's encoding/json writes each
#: header of an ``http.Header`` (``"Cookie":["sessionid=x"]``, ``"X-Api-Key":["k1","k2"]``),
#: as JSON text writes them too (``redact_arrays``)
_ARRAY_ITEM = re.compile(QUOTE)
#: an item that is not quoted: a number, true/false/null, a YAML flow sequence's plain words
#: (``password: [correct horse battery staple]``), Go's %v of a header (``[Bearer X]``), all
#: its words to a comma or a bracket (its first alone left "Bearer"'s value, the patterns
#: after it no longer seeing "Bearer"); a PEM key's BEGIN line is left to its own pattern
#: (redacted to its END). "REDACTED" is this redaction's own output, read again (a line is
#: redacted once more whole), kept as it is
_BARE = r"[^\s,\[\]{}\"'\\]"
_BARE_ITEM = re.compile(rf"(?!-----BEGIN ){_BARE}++(?:[ \t]++{_BARE}++)*+")
#: an ANSI colour code made printable (its ESC gone, ``[31m``): a value's opening, no array
_COLOUR_CODE = r"\[\d{1,3}(?:;\d{1,3})*m"
_NEXT_ITEM = re.compile(rf"\s*+,\s*+(?={QUOTE}|{_BARE})")
#: what may end an item: a run of backslashes and its quote (the run read whole, from its
#: first: a start inside a long run would read the rest of it again), or a line's end
_ITEM_ENDS = {q: re.compile(rf"(?<!\\)\\*+{q}|\n") for q in "\"'"}
#: the items of an array written each (``redact_arrays``): any after them are hidden too
MOST_ITEMS = 64


def secret_array(names: str, first: str = QUOTE) -> re.Pattern[str]:
    """Where an array opens after a name of ``names`` (a pattern): its name and its "[",
    before its first item, which ``first`` matches (by default a quote: an array of quoted
    strings) (``redact_arrays``)."""
    return re.compile(rf"(?i)(?:{names}){QUOTE}?\s*[:=]\s*(?!{_COLOUR_CODE})\[\s*+(?={first})")


def _depth(backslashes: int) -> int:
    """How many JSON texts deep a quote after this run of backslashes is a quote: each level
    escapes it once more (``"``, ``\\"``, ``\\\\\\"``: its run's trailing 1 bits), a backslash
    before it doubled (an item ending in a backslash, ``"C:\\\\"``, ends at its quote)."""
    return (~backslashes & (backslashes + 1)).bit_length() - 1


def _item_end(
    text: str, start: int, quote: str, end: int | None = None, *, shallower_ends: bool = True
) -> tuple[int, int | None]:
    """Where the item ``quote`` opens before ``start`` ends, and where its closing quote does
    (None: not closed, the item then ends at its line's end, at the end of the JSON string it
    is in, a quote less deep, or at the text's). A quote deeper in it is the value's own
    (``\\\\\\"`` in an item quoted ``\\"``), however long the item is; without
    ``shallower_ends``, a quote less deep is too (a shell line's ``password=\\"pa"ss\\"``)."""
    depth = _depth(len(quote) - 1)
    stop = len(text) if end is None else end
    for found in _ITEM_ENDS[quote[-1]].finditer(text, start, stop):
        deep = -1 if found.group() == "\n" else _depth(len(found.group()) - 1)
        if deep == depth:
            return found.start(), found.end()
        if deep < depth and (shallower_ends or deep < 0):
            return found.start(), None
    return stop, None


def redact_arrays(opens: re.Pattern[str], text: str) -> str:
    """Each item of each array ``opens`` (a ``secret_array``) finds redacted, its quotes kept
    (still JSON): however long it is (a cookie of many pairs, a Negotiate ticket) and however
    many they are. One not closed (a line cut in it) is redacted to its end, as a PEM key is.
    Each character is read once: a line of array starts costs one read of it. What it writes
    is no longer than a few times what it read, as the patterns after it read that: an empty
    item is kept (it hides nothing), and the items after an array's MOST_ITEMS are folded
    into its last (a line of one-letter items, each "[REDACTED]", grew fourfold)."""
    if not _ARRAY_OPENS.search(text):  # most text has none: a tenth of the names' search
        return text
    out: list[str] = []
    done = 0
    while found := opens.search(text, done):
        out.append(text[done : found.end()])
        done = found.end()
        written = 0
        closed: int | None
        while True:
            if bare := _BARE_ITEM.match(text, done):  # a number, a plain word: no quotes
                if written < MOST_ITEMS:
                    out.append("REDACTED" if bare.group() == "REDACTED" else REDACTED)
                    written += 1
                done = closed = bare.end()
            elif item := _ARRAY_ITEM.match(text, done):
                quote = item.group()
                stop, closed = _item_end(text, item.end(), quote)
                if written < MOST_ITEMS:
                    hidden = REDACTED if stop > item.end() else ""
                    out.append(quote + hidden + ("" if closed is None else quote))
                    written += 1
                done = stop if closed is None else closed
            else:
                break
            if closed is None or not (comma := _NEXT_ITEM.match(text, closed)):
                break
            if written < MOST_ITEMS:
                out.append(comma.group())
            done = comma.end()
    out.append(text[done:])
    return "".join(out)


#: a quoted value after a secret's name: it runs to its closing quote, spaces and all ("horse
#: battery staple"), that quote read at the value's JSON depth (a quote in a password three
#: JSON texts deep is escaped deeper than the value's own: it does not end it). At most
#: MOST_QUOTED characters, on one line: one not closed in them is left to the patterns after
_QUOTED_OPENS = re.compile(rf"(?i){_CREDENTIAL_NAME}{QUOTE}?\s*[:=]\s*({QUOTE})")
MOST_QUOTED = 1024


def _redact_quoted(text: str) -> str:
    out: list[str] = []
    done = 0
    search = 0
    while found := _QUOTED_OPENS.search(text, search):
        quote = found.group(1)
        most = found.end() + MOST_QUOTED
        stop, closed = _item_end(text, found.end(), quote, most, shallower_ends=False)
        if closed is None or stop == found.end():  # not closed in bounds, or empty: kept
            search = found.end()
            continue
        out.append(text[done : found.end()] + REDACTED)
        done = search = stop
    out.append(text[done:])
    return "".join(out)


_SECRET_ARRAY = secret_array(rf"{_CREDENTIAL_NAME}|{_COOKIE_HEADER}")
#: an array whose first item is not quoted, after a name whose plain value is a secret (not
#: ``secrets=[3]``, ``credentials: [expired]``: _PROSE_NAME's counts and prose; not a path,
#: ``pwd=[/home/bob]``)
_PLAIN_ARRAY = secret_array(_SECRET_NAME, rf"(?![/~]){_BARE}")
#: where an array opens as a value (of quoted strings, or of plain items: ``items=[1, 2]``):
#: text with none, most log lines, skips both array scans at a tenth of the cost of looking
#: for the names; a line with one (any list) pays both scans, about 20 us
_ARRAY_OPENS = re.compile(rf"[:=]\s*\[\s*(?:{QUOTE}|{_BARE})")

#: terminal codes a logger writes before a value (a colour, ESC[2K), as they are or made
#: printable (a colour's "[31m", its ESC gone): a Bearer value after them is still one
_ANSI_CODES = (
    rf"(?:(?:\x1b|\\+(?:u001[bB]|x1[bB]|033|e))\[[0-9;?]{{0,16}}[A-Za-z]|{_COLOUR_CODE}){{0,8}}"
)

#: cloud and API keys by their vendors' shapes: AWS access key ids (AKIA, ASIA), OpenAI-style
#: sk-, GitHub's (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), Hugging Face's hf_, Slack's xox.-,
#: GitLab's glpat-, Google's AIza, Grafana's service accounts' glsa_ (32 letters and digits,
#: "_", 8 hex), NVIDIA's nvapi- (NGC, NIM: 64 key characters; 40 or more are taken, a capital
#: or a "_" among them, which a Deployment's pod ``nvapi-proxy-5f7d8c9b6d-x2k9p``, however
#: long, never has: a pod's name hidden merged two pods' series into one in a capture). Each
#: a whole word (``task-runner``, ``sk-learn``, ``xoxo``, ``glsa_dashboard_panel_total`` are
#: none): a token in an alert's summary or an error reaches captures and reports as it does a
#: model. An sk- key is any 16 or more key characters after it (OpenAI's and Anthropic's mix
#: cases, DeepSeek's is 32 hex, Langfuse's a lowercase UUID): a name of that shape (a pod
#: ``sk-payments-worker-…``) is hidden too, a key is never shown. Each shape's first letter
#: is looked at first: most of a text's characters are none, and redact reads every stored
#: string (a third of the cost of trying each shape there)
API_KEYS = re.compile(
    r"(?=[Aghnsx])(?:\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|"
    r"sk-[A-Za-z0-9_-]{16,}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|hf_[A-Za-z0-9]{20,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|"
    r"glsa_[A-Za-z0-9]{32}_[0-9a-f]{8})\b"
    r"|(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])"  # Google's, which may end in "-"
    r"|(?<![\w-])nvapi-(?=[a-z0-9-]*+[A-Z_])[A-Za-z0-9_-]{40,}+(?![\w-]))"
)

_PATTERNS = [
    re.compile(rf"(?i)(bearer\s+{_ANSI_CODES})[A-Za-z0-9._~+/=-]{{8,}}"),
    re.compile(rf"(?i)(basic\s+{_ANSI_CODES})[A-Za-z0-9+/=]{{8,}}"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"sha256~[A-Za-z0-9_-]{20,}"),  # OpenShift OAuth tokens
    re.compile(r"(?<![\w.])hv[sbr]\.[A-Za-z0-9_-]{20,}"),  # Vault service, batch, recovery
    API_KEYS,
    re.compile(rf"(?i)({_SECRET_NAME}{QUOTE}?\s*[:=]\s*{QUOTE}?){VALUE}"),
    re.compile(
        rf"(?i)({_PROSE_NAME}{QUOTE}?\s*(?:=\s*{QUOTE}?(?!\d+(?:[\s,;}}\"']|$))"
        rf"|:\s*{QUOTE}?(?=[^\s\"',}}]*?[0-9!@#$%^&*+/=~_])))"
        rf"{VALUE}"
    ),
    # user:password@host, the password to the @ a host follows (it may hold / ! ? # and @
    # itself): the last one before a ? or # (``p@ss/w0rd@db``), an @ in the query or fragment
    # after the host no end (``@prom:9090/q?query=up@1700000000``); else, the password holding
    # the ? or #, the first one after it (``redis://:S3cr#tPw@redis``). The user may be empty
    # (redis://:pw@host), and holds no ? # [ ] (a host's query, an IPv6 host's brackets:
    # ``https://h?q=a:b@c``, ``http://[::1]:9090/q?t=up@1``). Digits after the colon are a
    # port before a path, or before a query (an = & or / before any @: ``http://h:9090?q=a@b``),
    # not before a password's ? or # (``redis://:123#abc@redis``). The password stops at the
    # next "://": a line of "://a:" repeated is then read once, not once from each of its
    # starts (seconds a line). The host ends a URL at a path, query, fragment, space, quote,
    # or the prose after it: ``(https://thanos:pw@store:10901)``, ``..., b``
    re.compile(
        r"(://[^/\s:@\"'\\?#\[\]]*:)(?!\d{1,5}(?:[/\s\"']|$|[?#][^\s@=/&]*+[=/&]))"
        r"(?:(?:(?!://)[^\s\"'\\?#])*|(?:(?!://)[^\s\"'\\])*?)"
        r"(@)(?=\[|[\w.%-]++(?::\d{1,5})?(?:[/?#\s\"'\\),;>\]]|$))"
    ),
    # a secret-named flag and the argument after it (--db-password X, "--token", "X")
    re.compile(
        r"(?i)((?<![\w-])--?[\w-]{0,64}?(?:password|passwd|token|secret|api-?key)[\w-]{0,64}"
        rf"{_ARG_GAP})(?!-)[^\s\"'\\]+"
    ),
    # a login's password flag (oc login -u kubeadmin -p X, podman login -p=X): -p only after
    # "login" in the same line (mkdir -p, kubectl logs -p are none); and curl's -u user:pw
    # (not a uid:gid, docker run -u 1000:1000)
    re.compile(rf"((?<![\w-])login\b[^\n]{{0,200}}?(?<![\w-])-p(?:=|{_ARG_GAP}))[^\s\"'\\]+"),
    # mysql's -p with its password glued (mysql -uroot -pX), redis-cli's -a X and --pass X
    re.compile(rf"((?<![\w-]){_MYSQL}{_SAME_COMMAND_ARGS}-p\\?[\"']?)[^\s\"'\\]+"),
    re.compile(
        rf"((?<![\w-])redis-cli{_SAME_COMMAND_ARGS}(?:-a|--pass){_ARG_GAP}\\?[\"']?)[^\s\"'\\]+"
    ),
    # a BMC's password to ipmitool's -P (its -p is a port), and sshpass's -p: after sshpass's
    # own options only (an ssh -p after them is ssh's port)
    re.compile(rf"((?<![\w-])ipmitool{_SAME_COMMAND_ARGS}-P{_FLAG_GAP}\\?[\"']?)[^\s\"'\\]+"),
    re.compile(
        rf"((?<![\w-])sshpass(?:{_ARG_GAP}-(?:[fdP]{_FLAG_GAP}{_ARG}|[vhe](?:{_ARG})?)){{0,4}}?"
        rf"{_ARG_GAP}-p{_FLAG_GAP}\\?[\"']?)"
        r"[^\s\"'\\]+"
    ),
    re.compile(
        rf"((?<![\w-])(?:-u|--user)(?:=|{_ARG_GAP})\\?[\"']?[^\s:\"'\\]*:)"
        r"(?!\d+(?:[\s\"'\\]|$))[^\s\"'\\]+"
    ),
    # a cookie header's whole value (one written as a JSON array is _SECRET_ARRAY's); Go's %v
    # of one (``Cookie:[a=1 b=2]``) to its "]", the header's other names after it kept (its
    # "[REDACTED]", a line redacted again, is kept as it is); a cookie's quoted value is read
    # through, its quote no end. And the signature and credential of a signed URL, and a URL's
    # API key (``?key=``, Google's: 20 or more key characters; a cache's, etcd's or an S3
    # object's key, ``?key=/registry/pods/default``, is kept)
    re.compile(
        rf"(?i)({_COOKIE_HEADER}{QUOTE}?\s*[:=]\s*+{QUOTE}?(?:(?!{_COLOUR_CODE}|\[REDACTED\])\[)?+)"
        rf"(?!\s*{QUOTE})(?:(?<=\[)(?:[^\[\]\"'\n\\]|{_QUOTED_COOKIE})+"
        rf"|(?<!\[)(?:[^\"'\n\\]|{_QUOTED_COOKIE})+)"
    ),
    re.compile(
        r"(?i)((?:x-amz-(?:signature|credential|security-token)|x-goog-(?:signature|credential)"
        r"|(?<=[?&])sig|signature)=)[^&\s\"'\\]+"
    ),
    re.compile(r"(?i)((?<=[?&])key=)[A-Za-z0-9_-]{20,}+(?=[&#\s\"'\\]|$)"),
    # a PEM private key (or a PGP one's armored block), whole; one cut before its END line (a
    # log line cut to its most) is redacted to the end of the text, or of the JSON string it
    # is in (an unescaped quote). Its END is looked for before that quote only (a key holds
    # none): a line of BEGIN lines and quotes is then read once, not once from each BEGIN to
    # the text's end
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?:(?:[^\"\\]|\\[\s\S])*?"
        r"-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|(?:[^\"\\]|\\[\s\S])*)"
    ),
]

_known_secrets: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret so that any later log line containing it is redacted."""
    if value and len(value) >= 4:
        with _known_lock:
            _known_secrets.add(value)


def longest_secret() -> int:
    """The length of the longest secret registered (0 for none): what a text cut before it
    is redacted must keep beyond its cut, so no secret straddling the cut is missed."""
    with _known_lock:
        return max(map(len, _known_secrets), default=0)


def _known() -> list[str]:
    with _known_lock:
        return sorted(_known_secrets, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _known():
        text = text.replace(secret, REDACTED)
    text = redact_arrays(_SECRET_ARRAY, text)  # before the patterns that take a value whole
    text = redact_arrays(_PLAIN_ARRAY, text)
    text = _redact_quoted(text)
    for pattern in _PATTERNS:
        if pattern.groups >= 1:
            text = pattern.sub(
                lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text
            )
        else:
            text = pattern.sub(REDACTED, text)
    return text


#: the words of a field's name that say its value is a secret (``x-api-key``, ``db.password``,
#: ``set-cookie``, ``aws_secret_access_key``, ``privateKey``)
SECRET_WORDS = frozenset({
    "password", "passwd", "pass", "passphrase", "secret", "secrets", "token", "apikey",
    "cookie", "cookies", "authorization", "credential", "credentials",
})  # fmt: skip
#: a "key" is a secret after these words (``x-api-key``, ``privateKey``), not alone
#: (``cache.key``, ``messaging.kafka.message.key``)
KEY_KINDS = frozenset({"api", "private", "access", "secret", "client", "signing", "encryption"})
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def names_a_secret(name: str) -> bool:
    """Whether a field's name says its value is a secret: its last word (split at punctuation
    and camelCase) is a SECRET_WORDS word, or "key" after a word that makes it one
    (``db.password``, ``x-api-key``, ``set-cookie``); a name about a secret is not one
    (``k8s.secret.name``, ``token_count``), nor ``bypass`` or ``cache.key``."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    if words[-1] in ("key", "keys"):
        return len(words) > 1 and words[-2] in KEY_KINDS
    return words[-1] in SECRET_WORDS


def _redact_escaped(text: str) -> str:
    """Each known secret as JSON text writes it (a quote, a backslash or a control character
    escaped, non-ASCII as is or as \\u escapes) redacted from a JSON document's text."""
    for secret in _known():
        for form in {json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}:
            if form != secret:
                text = text.replace(form, REDACTED)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON line a record. Its message, extras and exception text are redacted each as
    it is, before JSON escapes them (a secret holding a quote, a backslash or a tab is not
    found verbatim in JSON text); the line is then redacted once more as a whole (patterns
    that span a name and its value, and each known secret's escaped form)."""

    _SKIP: ClassVar[set[str]] = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in self._SKIP and not key.startswith("_"):
                keep = isinstance(value, int | float | bool | None)
                entry[key] = value if keep else redact(str(value))
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return _redact_escaped(redact(json.dumps(entry, ensure_ascii=False)))


class RedactingFormatter(logging.Formatter):
    """For a terminal: redacted, and with no control character a server's text carried (an
    escape sequence in an upstream error would retitle or clear the operator's terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(redact(super().format(record)))


class _OwnerOnlyFileHandler(logging.handlers.RotatingFileHandler):
    """Log files readable by their owner only (0600): they name clusters, hosts and errors."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def configure_logging(log_file: Path, *, level: int = logging.INFO, stderr: bool = False) -> None:
    """Send the app's logs to ``log_file`` as JSON lines (rotating), optionally to stderr; a
    log file that cannot be opened is a ``UsageError``."""
    root = logging.getLogger("aiops")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _OwnerOnlyFileHandler(
            log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:  # the data folder's place is wrong: said in a line, no traceback
        raise UsageError(f"cannot write the log file {log_file}: {exc.strerror or exc}") from exc
    file_handler.setFormatter(JsonFormatter())
    root.addHandler(file_handler)
    if stderr:
        console = logging.StreamHandler()
        console.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
    root.setLevel(level)
    root.propagate = False


def shutdown_logging() -> None:
    """The app's handlers flushed and closed. One that cannot write what it holds (a full
    disk) loses those lines, not the command's own answer: its error is said on stderr, and
    the exit is the command's (the traceback hid the message saying the disk was full)."""
    root = logging.getLogger("aiops")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        try:
            handler.close()
        except OSError as exc:
            print(f"aiops-desktop: the log could not be written: {exc}", file=sys.stderr)
