"""The CLI's help (issue "NOC ergonomics", item 8): every argument of every command says what
it takes and its default, every command shows examples, and every example is a command line
this CLI accepts. `fleet` says HEALTH for the health score."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator

import pytest

from aiops_desktop.cli import build_parser
from aiops_desktop.cli.args import HelpFormatter, default_text, shows_default
from aiops_desktop.cli.data import fleet_table
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    Health,
)

#: where an example's command line ends: a pipe, a redirection, a second command
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", "<", ">", ">>"}


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The root parser and every command's and subcommand's, by their command line."""
    todo = [("aiops-desktop", build_parser())]
    while todo:
        name, parser = todo.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {cmd}", sub) for cmd, sub in action.choices.items()]


PARSERS = dict(parsers())


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def example_lines(epilog: str) -> list[str]:
    """The command lines of an epilog: ``example: aiops-desktop ...`` or an indented
    ``aiops-desktop ...`` (``examples()``)."""
    found = []
    for line in epilog.splitlines():
        text = line.strip()
        if text.lower().startswith("example:"):
            text = text.partition(":")[2].strip()
        if text.startswith("aiops-desktop"):
            found.append(text)
    return found


def argv_of(line: str) -> list[str]:
    """The arguments a shell passes: comments dropped, cut at a pipe or a redirection."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if word in SHELL_OPERATORS:
            break
        words.append(word)
    assert words[0] == "aiops-desktop", line
    return words[1:]


def test_the_walk_finds_every_command() -> None:
    assert len(PARSERS) >= 30
    for name in ("aiops-desktop fleet", "aiops-desktop clusters add", "aiops-desktop llm set"):
        assert name in PARSERS


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_argument_says_what_it_takes(name: str) -> None:
    parser = PARSERS[name]
    assert issubclass(parser.formatter_class, HelpFormatter), name
    for action in arguments(parser):
        assert action.help and action.help.strip(), f"{name}: {action.dest} has no help"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_default_is_said(name: str) -> None:
    parser = PARSERS[name]
    text = parser.format_help()
    for action in arguments(parser):
        if not shows_default(action):
            continue
        said = parser._get_formatter()._expand_help(action)
        assert "default" in said, f"{name}: {action.dest} does not say its default"
        assert "".join(said.split()) in "".join(text.split()), (name, said)
        if "default" not in (action.help or ""):
            # the formatter wrote it: the command line takes it back as that very default
            shown = default_text(action.default)
            assert f"(default: {shown})" in said
            if action.type is not None:
                assert callable(action.type)
                assert action.type(shown) == action.default, (name, action.dest, shown)


def test_a_default_is_said_once() -> None:
    help_text = PARSERS["aiops-desktop wall"].format_help()
    assert "(default: 20)" in help_text and "(default: 0)" in help_text
    assert "(default: fleet,gpu,ptp,incidents,alerts)" in help_text
    ptp = " ".join(PARSERS["aiops-desktop ptp"].format_help().split())
    assert "(default: 1h)" in ptp and "(default: 100, the PTP operator's)" in ptp
    assert "(default: 100, the PTP operator's) (default" not in ptp
    # an option that is off, or has no default, says nothing of one
    assert "default" not in PARSERS["aiops-desktop fleet"].format_help()


@pytest.mark.parametrize("name", sorted(n for n in PARSERS if n != "aiops-desktop"))
def test_every_command_shows_examples(name: str) -> None:
    parser = PARSERS[name]
    assert parser.epilog and "example" in parser.epilog.lower(), name
    assert example_lines(parser.epilog), name
    assert parser.description, name  # its help line, under the usage


def _all_examples() -> list[tuple[str, str]]:
    return [(n, line) for n, p in sorted(PARSERS.items()) for line in example_lines(p.epilog or "")]


@pytest.mark.parametrize(("name", "line"), _all_examples(), ids=lambda v: v[:60])
def test_every_example_is_a_valid_command_line(name: str, line: str) -> None:
    argv = argv_of(line)
    args = build_parser().parse_args(argv)  # a usage error would exit 2 here
    if name != "aiops-desktop":  # a command's examples run that command
        words = name.split()[1:]
        assert words[0] == args.command, line
        if len(words) > 1:
            assert words[1] in (getattr(args, "action", None), getattr(args, "llm_action", None))


def test_examples_print_as_written() -> None:
    help_text = PARSERS["aiops-desktop clusters add"].format_help()
    for line in example_lines(PARSERS["aiops-desktop clusters add"].epilog or ""):
        assert f"\n  {line}\n" in help_text  # not wrapped: it can be copied
    mcp = PARSERS["aiops-desktop mcp"].format_help()
    assert (
        '  {"mcpServers": {"aiops-desktop": {"command": "aiops-desktop", "args": ["mcp"]}}}' in mcp
    )


@pytest.mark.parametrize("argv", [["--help"], ["fleet", "--help"], ["clusters", "add", "--help"]])
def test_help_still_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv)
    assert done.value.code == 0
    assert "usage: aiops-desktop" in capsys.readouterr().out


def test_the_help_formatter_keeps_what_the_help_says() -> None:
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--a", default=5, help="five (default: five)")
    parser.add_argument("--b", default=5, help="100%% sure")
    parser.add_argument("--c", action="store_true", help="off")
    parser.add_argument("--d", default="", help="empty")
    text = parser.format_help()
    assert "five (default: five)" in text and "(default: five) (default" not in text
    assert "100% sure (default: 5)" in text
    assert "off (default" not in text and "empty (default" not in text


def _truth(
    name: str,
    score: int | None,
    state: Health = Health.OK,
    hub: str | None = None,
    findings: list[Finding] | None = None,
) -> ClusterTruth:
    return ClusterTruth(
        name=name, title=name, hub=hub, state=state, health_score=score, data_age_s=12.0,
        findings=findings or [], coverage={"metrics": Coverage.READ},
    )  # fmt: skip


def test_fleet_says_health_not_hp() -> None:
    hot = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-0", "XID 79")
    lines = fleet_table(
        [
            _truth("ran-east", 25, hub="gpu-hub", state=Health.CRITICAL, findings=[hot]),
            _truth("ai-lab", 100),
            _truth("dark-9", None, state=Health.OFFLINE),
        ]
    )
    header, *rows = lines
    assert header.split() == ["NAME", "STATE", "HEALTH", "DATA", "FINDINGS"]
    assert " HP " not in header
    # the score is right-aligned under its header, the data age starts under DATA
    end = header.index("HEALTH") + len("HEALTH")
    for row, score in zip(rows, ("25", "100", "-"), strict=True):
        assert row[:end].endswith(f" {score}"), row
        assert row[end] == " " and row[header.index("DATA") - 1] == " "
    assert rows[0].startswith("ran-east (via gpu-hub)") and "worst: gpu-0: XID 79" in rows[0]
    for row in rows:
        assert row[header.index("DATA") :].startswith("12 s ago"), row
        assert row[header.index("STATE") :].split()[0] in {"CRITICAL", "OK", "OFFLINE"}
