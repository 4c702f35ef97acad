"""A password on a command line written as an argument list (a container's ``command`` and
``args``, JSON text of one in a log line) is redacted as the same command line written as text
is: mysql's glued -p, ``oc login -p``, sshpass, redis-cli, ipmitool, curl's -u user:pw. A -p
or -u that is no password (mkdir -p, ssh -p 22, docker run -u 1000:1000) is kept."""

from __future__ import annotations

import json

import pytest

from aiops_desktop.logs import REDACTED, redact
from collectors.llm_redaction import redact_document, redact_for_llm

SECRET = "Wint3r!Sky-42"

WITH_PASSWORD = [
    (["mysql", "-h", "db", "-u", "root", f"-p{SECRET}"], 5),
    (["mariadb-dump", "--single-transaction", f"-p{SECRET}", "shop"], 2),
    (["oc", "login", "-u", "kubeadmin", "-p", SECRET, "https://api.ocp:6443"], 5),
    (["sshpass", "-p", SECRET, "ssh", "-p", "2222", "core@node1"], 2),
    (["redis-cli", "-h", "cache", "-a", SECRET, "ping"], 4),
    (["ipmitool", "-I", "lanplus", "-H", "bmc1", "-U", "root", "-P", SECRET, "power", "status"], 8),
    (["curl", "-u", f"admin:{SECRET}", "https://grafana.local/api"], 2),
    (["/usr/bin/app", "--db-password", SECRET], 2),
]

KEPT = [
    ["mkdir", "-p", "/var/lib/data"],
    ["kubectl", "logs", "-p", "etcd-0"],
    ["nc", "-l", "-p", "8080"],
    ["ssh", "-p", "22", "core@node1"],
    ["docker", "run", "-u", "1000:1000", "busybox"],
    ["mysql", "-h", "db", "-P", "3306", "-e", "select 1"],
]


@pytest.mark.parametrize(("argv", "at"), WITH_PASSWORD)
def test_an_argument_list_loses_its_password_and_keeps_the_rest(argv: list[str], at: int) -> None:
    out = redact_document(argv)
    assert len(out) == len(argv)
    assert SECRET not in json.dumps(out)
    assert REDACTED in out[at]
    assert [a for i, a in enumerate(out) if i != at] == [a for i, a in enumerate(argv) if i != at]


@pytest.mark.parametrize(("argv", "at"), WITH_PASSWORD)
@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
def test_the_json_text_of_an_argument_list_loses_its_password(
    argv: list[str], at: int, separators: tuple[str, str]
) -> None:
    text = json.dumps({"command": argv}, separators=separators)
    for redacted in (redact_for_llm(text), redact(text)):
        assert SECRET not in redacted
        assert json.loads(redacted)["command"][:at] == argv[:at]  # still JSON, the rest kept
    escaped = json.dumps({"log": text})  # JSON text inside a JSON string (a docker-json line)
    assert SECRET not in redact_for_llm(escaped)


@pytest.mark.parametrize("argv", KEPT)
def test_an_argument_list_without_a_password_is_kept(argv: list[str]) -> None:
    assert redact_document(argv) == argv
    assert redact_for_llm(json.dumps(argv)) == json.dumps(argv)
    assert redact_for_llm(json.dumps(argv, separators=(",", ":"))) == json.dumps(
        argv, separators=(",", ":")
    )


def test_a_containers_command_and_args_are_read_as_one_command_line() -> None:
    """Kubernetes splits a command line in two fields: the program in ``command``, its
    arguments in ``args`` (the password is in one, what makes it one in the other)."""
    pod = {
        "spec": {
            "containers": [
                {"name": "backup", "command": ["mysqldump"], "args": ["-uroot", f"-p{SECRET}"]},
                {"name": "login", "command": ["oc", "login"], "args": ["-p", SECRET]},
                {"name": "web", "command": ["nginx"], "args": ["-p", "/etc/nginx"]},
            ]
        }
    }
    out = redact_document(pod)
    assert SECRET not in json.dumps(out)
    backup, login, web = out["spec"]["containers"]
    assert backup["command"] == ["mysqldump"] and backup["args"] == ["-uroot", f"-p{REDACTED}"]
    assert login["command"] == ["oc", "login"] and login["args"] == ["-p", REDACTED]
    assert web == pod["spec"]["containers"][2]


def test_a_list_of_texts_is_still_redacted_item_by_item() -> None:
    """Each item's own secret is redacted whether the list reads as a command line or not,
    and items that are not texts are left to their own rules."""
    items = ["password=hunter2x", "plain", 3, None, {"token": "abc123def"}]
    out = redact_document(items)
    assert out[0] == f"password={REDACTED}" and out[1:4] == ["plain", 3, None]
    assert out[4] == {"token": REDACTED}


@pytest.mark.parametrize(
    "value", [f"{SECRET} horse battery", f"-{SECRET}", f'pa"ss:{SECRET}', f"pa\\ss{SECRET}"]
)
def test_the_argument_after_a_secret_flag_is_hidden_whole(value: str) -> None:
    """An argument is one word whatever it holds: spaces, quotes, a leading dash."""
    assert redact_document(["/usr/bin/app", "--db-password", value]) == [
        "/usr/bin/app",
        "--db-password",
        REDACTED,
    ]


def test_an_items_own_redaction_is_kept_when_the_list_is_read_together() -> None:
    """What only the item's own redaction finds (a tab before a password, which JSON writes
    as ``\\t``) stays redacted where the list is also read as a command line."""
    out = redact_document(["app", f"password\t{SECRET} token=abc123def", "--db-password", "x1y2"])
    assert SECRET not in json.dumps(out) and "abc123def" not in json.dumps(out)
    assert out[0] == "app" and out[3] == REDACTED


@pytest.mark.parametrize(
    "lines",
    [
        ["sshd[812]: Accepted publickey for core", "sudo: prompt Password:", "etcd: done"],
        ["core: last login Tue", "podman run -p 8080:80 nginx"],
        ["events: BackOff pulling image mysql", "-pod restarted"],
        ["kubectl top -u", "node1:cpu 90%"],
    ],
)
def test_a_list_of_lines_is_not_read_as_one_command_line(lines: list[str]) -> None:
    assert redact_document(lines) == lines
