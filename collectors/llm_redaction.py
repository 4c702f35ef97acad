"""What never reaches a model server: text redacted before any LLM request.

The logs' redaction (``aiops_desktop.logs.redact``: every secret the keyring has handled in this
process, bearer/basic headers, JWTs, OpenShift tokens, cloud and API keys (``AKIA...``,
``sk-...``, ``ghp_...``, ``xox...``, ``glpat-...``, ``AIza...``: ``logs.API_KEYS``),
``password=``/``token:`` pairs, URL passwords, PEM private keys) and, for the LLM, also
kubeconfig credential data (``client-key-data``, ``client-certificate-data``, ``token``), the
Authorization header's value (each of an array's, as Go writes a header's values), a pull
secret's ``auth`` and ``.dockerconfigjson``, the value of a variable whose name says it is a
secret (as JSON and YAML write it, its name or its value first, and as the kubelet's Go prints
it), and, when the person asks, IPv4 and IPv6 addresses. A name and its
value may be quoted as JSON text quotes inside a string (``\\"password\\":\\"x\\"``): a
document's text is redacted as its fields are.

``redact_fields`` redacts a map of names to values (log labels, span attributes) for what leaves
the site: a value whose name says it is a secret (``db.password``,
``http.request.header.x-api-key``, ``...cookie``) is redacted whole, whatever its shape.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import Any

# the rule of which names hold a secret is the logs' (a capture's series labels follow it too)
from aiops_desktop.logs import (
    QUOTE,
    REDACTED,
    _known,
    names_a_secret,
    redact,
    redact_arrays,
    secret_array,
)

#: kubeconfig credential data, and a pull secret's: its ``.dockerconfigjson`` (base64 JSON) and
#: each registry's ``auth`` in it (base64 of user:password: no shape says it is a secret)
_KUBECONFIG_DATA = re.compile(
    r"(?i)((?:client-key-data|client-certificate-data|certificate-authority-data|"
    r"id-token|refresh-token|access-token|auth-provider|exec-token|dockerconfigjson|dockercfg|"
    rf"(?<![\w-])auth){QUOTE}?\s*[:=]\s*{QUOTE}?)"
    r"(?:[^\s\"',}\\]|\\++(?![\"']))+"
)
#: a kubeadm bootstrap token (``abcdef.0123456789abcdef``: [a-z0-9]{6}.[a-z0-9]{16}), not part
#: of a longer name (a host ``abcdef.0123456789abcdef.svc``) and with a digit in it: a random
#: one has (all 22 characters letters: 1 in 1,300), a dotted pair of words
#: (``status.readinessprobeok``) mostly not
_BOOTSTRAP_TOKEN = re.compile(
    r"(?<![\w.-])(?=[a-z0-9.]{0,22}[0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![\w-]|\.\w)"
)
#: an incoming webhook's URL is its credential (whoever holds it posts to the channel): all of
#: it after the service's fixed part, to a space or a quote (Slack, Teams, Discord)
_WEBHOOK = re.compile(
    r"(?i)((?:hooks\.slack\.com/(?:services|workflows|triggers)/"
    r"|(?<![\w.-])[\w.-]*\.webhook\.office\.com/webhookb2/"
    r"|discord(?:app)?\.com/api/webhooks/))[^\s\"'\\<>]+"
)
#: a password said in prose, "password Winter2026!" (a space and no "=" or ":"): the next word
#: only, and only one with a digit or a symbol in it (a "!" that ends it is the sentence's). A
#: word of letters is the sentence going on ("password reset succeeded", PostgreSQL's "password
#: authentication failed for user", "the password is wrong", "password changed!"): kept. Not
#: a path's or a flag's (``/etc/passwd /etc/shadow``, ``passwd -l bob``), nor across a line's
#: end
_PROSE_PASSWORD = re.compile(
    r"(?i)((?<![a-z0-9/.-])pass(?:word|wd|phrase)[ \t]+\\?[\"']?)"
    r"(?![-/])(?=[^\s\"'\\]*?(?:[0-9@#$%^&*+=~]|![^\s\"'\\]))[^\s\"'\\]+"
)
#: the header's whole value (``Token x``, ``Negotiate x``: any scheme), to a quote, a comma, a
#: brace or the line's end; backslashes before a quote (JSON text) end it too. Go's JSON of an
#: ``http.Header`` writes its values as an array (``"Authorization":["Token x"]``): each is
#: redacted (_AUTH_ARRAY)
_AUTH_ARRAY = secret_array("authorization")
_AUTH_HEADER = re.compile(
    rf"(?i)(authorization{QUOTE}?\s*[:=]\s*+{QUOTE}?)(?!\[\s*{QUOTE})"
    r"(?:[^\"'\n,}\\]|\\++(?![\"']))+"
)
#: a variable written as its name and its value, whose name (names_a_secret's) says the value
#: is a secret: as JSON writes it (a pod's ``{"name": "DB_PASSWORD", "value": "x"}``, its text
#: inside a JSON string too), as the kubelet prints a container (Go's
#: ``EnvVar{Name:DB_PASSWORD,Value:x,ValueFrom:nil,}``, or ``%+v``'s spaces) and as YAML (``-
#: name: DB_PASSWORD`` and ``value: x`` on the next line). JSON's and YAML's may come value
#: first (JSON's keys are in any order: some serialisers and hand-written manifests write
#: ``{"value": "x", "name": "DB_PASSWORD"}``): the name, then, is read ahead of the match, which
#: ends at the value; a value is matched whether a name follows it or not (group "name" None),
#: so that the match takes it and no start inside it reads it again (``value: a value: a ...``
#: would cost a full read each). The name is group "name", the value follows group 1 (and its
#: quote, group "quote"). A value runs to its end however long (one cut at 512 characters kept
#: its tail in clear, or left a quoted one unredacted): the match takes all it reads, so that no
#: start inside it is read again; what a start reads before its value is bounded
_NAME = r"(?P<name>[\w.-]{1,256})"
_GAP = r"(?:\s|\\[nrt]){0,128}"  # a newline in JSON text is "\n"
#: a quoted value, to its quote (one escaped in it is not its end); nothing follows it in a
#: pattern, so its first closing quote ends the match, and one never closed is read to the
#: line's end once: the start after it that opens a quote closes at the next one
_YAML_QUOTED = rf"(?P<quote>{QUOTE})(?!(?P=quote))(?:\\.|(?!(?P=quote))[^\\\n])+?(?P=quote)"
_JSON_NAME = rf"{QUOTE}name{QUOTE}{_GAP}:{_GAP}{QUOTE}{_NAME}{QUOTE}"
_JSON_VALUE_KEY = rf"{QUOTE}value{QUOTE}{_GAP}:{_GAP}"
_JSON_VALUE = rf"(?:{_YAML_QUOTED}|-?\d[\w.+-]{{0,64}})"  # a number (a PIN, a numeric token) too
_JSON_PAIR = re.compile(rf"(?i)({_JSON_NAME}{_GAP},{_GAP}{_JSON_VALUE_KEY}){_JSON_VALUE}")
_JSON_VALUE_FIRST = re.compile(
    rf"(?i)({_JSON_VALUE_KEY}){_JSON_VALUE}(?={_GAP},{_GAP}{_JSON_NAME})?"
)
#: Go's value runs to its ValueFrom (a value may hold a comma or a space) in the same braces (an
#: HTTPHeader{Name:,Value:,} has none: the next EnvVar's is not its), else to a comma, a brace
#: or a space; an empty one (a secretKeyRef's) is none
_GO_PAIR = re.compile(
    rf"((?<![\w.-])Name:{_NAME}[,\s]\s{{0,16}}Value:)"
    r"(?:(?![,\s]ValueFrom:)[^\n{]{1,512}?(?=[,\s]ValueFrom:)|[^\s,]+)"
)
#: YAML's value, quoted, runs to its quote; else to the line's end (or, in JSON text, to its
#: "\n" or to the string's quote); a block scalar's (``value: |-``) is _YAML_BLOCK's
_YAML_NAME = rf"(?<![\w.-])name:[ \t]{{0,16}}(?P<q1>{QUOTE}?){_NAME}(?P=q1)[ \t]{{0,16}}"
_YAML_VALUE_KEY = r"(?<![\w.-])value:[ \t]{0,16}"
_YAML_NL = r"(?:\r?\n|(?:\\r)?\\n)"  # a line's end, or its "\n" in JSON text
_YAML_PLAIN = r"(?:[^\s\\]|[ \t]+(?=[^\s\\])|\\(?![nr\"']))"  # a plain value's character
_BLOCK_MARK = r"[|>](?:[-+][1-9]?|[1-9][-+]?)?[ \t]{0,16}"
_YAML_PAIR = re.compile(
    rf"({_YAML_NAME}{_YAML_NL}[ \t]{{0,128}}value:[ \t]{{0,16}})"
    rf"(?:{_YAML_QUOTED}|(?![ \t]*{_BLOCK_MARK}(?:\r?\n|\\[rn]|$)){_YAML_PLAIN}+)"
)
_YAML_VALUE_FIRST = re.compile(
    rf"({_YAML_VALUE_KEY})(?:{_YAML_QUOTED}|{_YAML_PLAIN}+)"
    rf"(?=[ \t]{{0,16}}{_YAML_NL}[ \t]{{0,128}}{_YAML_NAME})?"
)
#: a block scalar's value: the lines after ``value: |`` (or ``>``) indented more than
#: ``value:`` is, blank ones between them, each to its end. In JSON text (its lines' ends "\n")
#: a line ends at the string's quote too
_RAW_NL = r"\r?\n(?:[ \t]*\r?\n){0,16}"  # blank lines between
_TEXT_NL = r"(?:\\r)?\\n(?:[ \t]*(?:\\r)?\\n){0,16}"
_TEXT_CHAR = r"(?:[^\\\"\r\n]|\\[^nr])"
_YAML_BLOCK = re.compile(
    rf"({_YAML_NAME}(?:(?P<raw>\r?\n)|(?:\\r)?\\n)(?P<indent>[ \t]{{0,128}})value:[ \t]{{0,16}}"
    rf"{_BLOCK_MARK}(?(raw){_RAW_NL}|{_TEXT_NL})(?P=indent)[ \t]{{1,128}})"
    rf"(?(raw)[^\r\n]+(?:{_RAW_NL}(?P=indent)[ \t]{{1,128}}\S[^\r\n]*)*"
    rf"|{_TEXT_CHAR}+(?:{_TEXT_NL}(?P=indent)[ \t]{{1,128}}(?![\s\\\"]){_TEXT_CHAR}+)*)"
)
#: a block scalar written first (``value: |``, its lines, then ``name:`` less indented): its
#: lines are those indented as its first one is, or more, each to its end
_YAML_BLOCK_VALUE_FIRST = re.compile(
    rf"({_YAML_VALUE_KEY}{_BLOCK_MARK}(?:(?P<raw>{_RAW_NL})|{_TEXT_NL})(?P<indent>[ \t]{{1,128}}))"
    rf"(?(raw)[^\r\n]*(?:{_RAW_NL}(?P=indent)[^\r\n]*)*"
    rf"|{_TEXT_CHAR}*(?:{_TEXT_NL}(?P=indent){_TEXT_CHAR}*)*)"
    rf"(?=(?(raw){_RAW_NL}|{_TEXT_NL})[ \t]{{0,128}}{_YAML_NAME})?"
)
#: YAML's flow mapping, ``{name: DB_PASSWORD, value: x}`` or ``{value: x, name: DB_PASSWORD}``:
#: a plain value runs to a comma, a brace or a bracket (none is in one)
_FLOW_PLAIN = r"(?:[^\s,{}\[\]\\]|[ \t]+(?=[^\s,{}\[\]\\])|\\(?![nr\"']))"
_YAML_FLOW = re.compile(
    rf"({_YAML_NAME},[ \t]{{0,16}}value:[ \t]{{0,16}})(?:{_YAML_QUOTED}|{_FLOW_PLAIN}+)"
)
_YAML_FLOW_VALUE_FIRST = re.compile(
    rf"({_YAML_VALUE_KEY})(?:{_YAML_QUOTED}|{_FLOW_PLAIN}+)"
    rf"(?=[ \t]{{0,16}},[ \t]{{0,16}}{_YAML_NAME})?"
)
_PAIRS = (
    _JSON_PAIR,
    _JSON_VALUE_FIRST,
    _GO_PAIR,
    _YAML_BLOCK,
    _YAML_BLOCK_VALUE_FIRST,
    _YAML_PAIR,
    _YAML_VALUE_FIRST,
    _YAML_FLOW,
    _YAML_FLOW_VALUE_FIRST,
)
#: not part of a longer dotted number (a version 1.2.3.4.5), but one that ends a sentence is;
#: zero-padded, every part to 3 digits (``010.000.001.023``), too
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
#: an address in a node's hostname: AWS's (and OpenShift's on AWS) ``ip-10-0-1-23.ec2.internal``
#: and ``ec2-203-0-113-5.compute-1.amazonaws.com``; not one more number on (ip-1-2-3-4-5). And
#: a pod's DNS name, its address the first label (``10-128-2-15.ran-du.pod.cluster.local``): two
#: labels after it, the first with a letter, as a pod's and a service's names have (a date and
#: hour ``26-12-08-01`` alone, a version's ``1-2-3-4.5``, a file's ``25-12-08-13.log``, an
#: image tag's ``4-18-1-2.el9`` are none). The label's first letter is the one read (its
#: characters before it no letter): one way to read a long label, not one for each letter
_IPV4_LABEL = re.compile(
    r"(?i)(?<![\w-])((?:ip|ec2)-)?(\d{1,3}(?:-\d{1,3}){3})"
    r"(?(1)(?!\w|-\d)|(?=\.[0-9-]*+[a-z][a-z0-9-]*+\.[a-z]))"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
IP_REDACTED = "[IP]"


#: a word naming a version just before a dotted number: it is no address
_VERSION_BEFORE = re.compile(
    r"(?i)\b(?:firmware|fw|version|ver|v|bios|release|build|revision|rev)\b[\s:=]{0,4}$"
)


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        # zero-padded (ipaddress takes none): an address once its zeros are dropped, unless
        # it reads as a time (12.07.05.123: two digits each, then three) or follows a word
        # that names a version (firmware 7.00.00.171, fw 22.31.06.00)
        octets = text.split(".")
        if len(octets) != 4 or not all(1 <= len(octet) <= 3 for octet in octets):
            return text
        if [len(octet) for octet in octets] == [2, 2, 2, 3] or _VERSION_BEFORE.search(
            match.string, max(0, match.start() - 24), match.start()
        ):
            return text
        unpadded = ".".join(str(int(octet)) for octet in octets)
        try:
            ipaddress.IPv4Address(unpadded)
        except ValueError:
            return text  # a version string, a time "12:30:00"
    return IP_REDACTED


def _ip_label(match: re.Match[str]) -> str:
    if any(int(octet) > 255 for octet in match.group(2).split("-")):
        return match.group(0)
    return (match.group(1) or "") + IP_REDACTED


def _pair(match: re.Match[str]) -> str:
    """The value of a pair whose name says it is a secret, redacted (its quotes kept); one
    written first with no name after it is kept."""
    name = match.group("name")
    if name is None or not names_a_secret(name):
        return match.group(0)
    quote = match.groupdict().get("quote") or ""
    return match.group(1) + quote + REDACTED + quote


def secrets_known() -> int:
    """How many secrets the redaction knows by value (``register_secret``): they are only ever
    added, so a text redacted while this was N is redacted the same while it still is."""
    return len(_known())


def redact_for_llm(text: str, *, ips: bool = False) -> str:
    text = redact(text)
    text = _KUBECONFIG_DATA.sub(lambda m: m.group(1) + REDACTED, text)
    text = redact_arrays(_AUTH_ARRAY, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BOOTSTRAP_TOKEN.sub(REDACTED, text)
    text = _WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
    text = _PROSE_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    for pair in _PAIRS:
        text = pair.sub(_pair, text)
    if ips:
        text = _IPV4_LABEL.sub(_ip_label, text)
        text = _IPV4.sub(_ip, text)
        text = _IPV6.sub(_ip, text)
    return text


def redact_fields(fields: dict[str, str]) -> dict[str, str]:
    """Labels or attributes as they leave the site: a value named a secret is redacted whole
    (a cookie or an API key has no shape a pattern knows), any other as text."""
    return {k: (REDACTED if v and names_a_secret(k) else redact_for_llm(v))
            for k, v in fields.items()}  # fmt: skip


def holds_known_secret(text: str) -> bool:
    """Whether ``text`` holds a secret this process has handled (``register_secret``)."""
    return any(secret in text for secret in _known())


def redact_document(value: Any, *, ips: bool = False) -> Any:
    """Every text in ``value`` (a plain JSON-able one) redacted for a model, field by field,
    its keys too; a field whose name says it is a secret (a label ``credentials``,
    ``x-api-key``, a pod's ``{"name": "DB_PASSWORD", "value": x}``) whole, whatever its
    value's shape (a flag such as ``use_cluster_token: true`` holds none); ``ips``: IP
    addresses too. The answer's JSON text is not redacted again as a whole: a text ending in
    ``password=`` made the next field's ``","`` the password, and the answer no JSON."""
    if isinstance(value, str):
        return redact_for_llm(value, ips=ips)
    if isinstance(value, dict):
        paired = _paired_value(value)
        read = _command_line(value, ips=ips)
        out: dict[str, Any] = {}
        for k, v in value.items():
            hidden = _secret(k, v, paired=k == paired)
            out[_unique(redact_for_llm(k, ips=ips), out)] = (
                REDACTED if hidden else read[k] if k in read else redact_document(v, ips=ips)
            )
        return out
    if isinstance(value, list):
        return _redact_list(value, ips=ips)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED if holds_known_secret(str(value)) else value  # a PIN as a number
    return value


def _secret(name: str, value: Any, *, paired: bool = False) -> bool:
    """Whether a field's value is a secret: its name, or the name it is ``paired`` with, says
    so (``names_a_secret``, or the text patterns: ``client-key-data``, ``.dockerconfigjson``,
    ``token.value``); an empty one or a flag is none."""
    if value in (None, "", [], {}) or isinstance(value, bool):
        return False
    return paired or names_a_secret(name) or _names_a_secret_in_text(name)


#: a value no pattern takes for a secret by its shape: only a name before it can make it one
_PROBE = "Zq7xK9mL2vR4"


@functools.lru_cache(maxsize=4096)
def _names_a_secret_in_text(name: str) -> bool:
    """Whether the text patterns take the value after ``name``, as JSON writes a field, for a
    secret: the names only they know, each redacted in an answer's text once."""
    return _PROBE not in redact_for_llm(json.dumps({name: _PROBE}))


#: a command line's first word: a program's name or path (a list whose first item is prose,
#: as a list of log lines, is read item by item: read as one line, a "last login" in one
#: line and a "-p 8080" in the next took the port for a login's password)
_PROGRAM = re.compile(r"[\w./+-]{1,256}")


def _redact_list(items: list[Any], *, ips: bool, argv: bool = False) -> list[Any]:
    """Each item redacted, the value after a secret flag whole (``["--db-password", "a b"]``)
    and, where the list is an argument list (``argv``, or its first item a program's name),
    its texts read together too, as the JSON text of one: a password is often one only by
    the arguments before it (``["mysql", "-pX"]``, ``["oc", "login", "-p", "X"]``), as the
    text patterns read a command line."""
    out = [REDACTED if i and isinstance(v, str) and v and _flags_a_secret(items[i - 1])
           else redact_document(v, ips=ips) for i, v in enumerate(items)]  # fmt: skip
    texts = all(isinstance(v, str) for v in items)
    if len(items) > 1 and texts and (argv or _PROGRAM.fullmatch(items[0])):
        out = _read_together(out, ips=ips)
    return out


def _read_together(texts: list[str], *, ips: bool) -> list[str]:
    """``texts`` (each redacted already) as the redaction of their JSON array's text leaves
    them: an item it changed is redacted from its first change to its end (an argument is one
    word whatever it holds: the patterns' value stops at a space or a quote); each REDACTED
    whole where they no longer read as the same number of texts (a pattern took a value
    across items: which item held the secret is not known)."""
    text = json.dumps(texts, ensure_ascii=False)
    redacted = redact_for_llm(text, ips=ips)
    if redacted == text:
        return texts
    try:
        read = json.loads(redacted)
    except ValueError:
        read = None
    if not (isinstance(read, list) and len(read) == len(texts)
            and all(isinstance(t, str) for t in read)):  # fmt: skip
        return [REDACTED] * len(texts)
    return [t if t == r else t[: _first_change(t, r)] + REDACTED
            for t, r in zip(texts, read, strict=True)]  # fmt: skip


def _first_change(before: str, after: str) -> int:
    """Where ``after`` first differs from ``before``."""
    same = (i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a)
    return next(same, min(len(before), len(after)))


def _flags_a_secret(item: Any) -> bool:
    """Whether ``item`` ends in a command line's flag whose argument is a secret (``--token``,
    ``/usr/bin/app --db-password``), as the text patterns read a JSON array of arguments
    (its last characters: the pattern reads a flag of at most 140)."""
    return isinstance(item, str) and "-" in item and _flag_probe(item[-140:])


@functools.lru_cache(maxsize=4096)
def _flag_probe(flag: str) -> bool:
    return _PROBE not in redact_for_llm(json.dumps([flag, _PROBE]))


def _command_line(container: dict[str, Any], *, ips: bool) -> dict[str, list[Any]]:
    """A container's ``command`` and ``args`` redacted as the one command line they are
    (Kubernetes keeps the program in one, its arguments in the other: ``mysqldump`` and
    ``-pX``), by their keys; nothing for an object without both lists."""
    command, args = container.get("command"), container.get("args")
    if not (isinstance(command, list) and isinstance(args, list)):
        return {}
    read = _redact_list([*command, *args], ips=ips, argv=True)
    return {"command": read[: len(command)], "args": read[len(command) :]}


def _paired_value(fields: dict[str, Any]) -> str | None:
    """The key of the value of a variable written as its name and its value, whose name says
    it is a secret (a pod's ``{"name": "DB_PASSWORD", "value": "x"}``, in any case, as the
    text patterns read it); None for any other object."""
    keys = {k.lower(): k for k in fields}
    name, value = fields.get(keys.get("name", "")), keys.get("value")
    return value if isinstance(name, str) and names_a_secret(name) else None


def _unique(key: str, taken: dict[str, Any]) -> str:
    """``key``, or ``key #2`` (``#3``...) once redacting made another key the same (two
    addresses, each ``[IP]``): no field is lost."""
    unique, count = key, 1
    while unique in taken:
        count += 1
        unique = f"{key} #{count}"
    return unique
