"""What a server or a label says is text, never markup or a terminal command (issue 14, item
8), and a secret a server echoes back is redacted before it is stored, exported or printed
(item 4). The attacks are real answers from a server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models.cluster import member_name
from aiops_desktop.models.reports import Chart, Report, ReportType, Section, Table
from aiops_desktop.models.text import labels_text, md_escape, one_line, printable
from aiops_desktop.services.queries.multicluster import fleet_member
from aiops_desktop.settings import resolve_paths
from analysis.reports.render_text import to_html, to_markdown
from collectors.alertmanager import parse_alert
from tests.qtfree.cli_runner import call_main
from tests.servers.faults import FaultServer

ESC = "\x1b"
#: a terminal attack: retitle the window, clear the screen, hide what follows
TERMINAL = f"{ESC}]0;owned{chr(7)}{ESC}[2J{ESC}[8mhidden"
#: a Markdown attack: a heading, a script link, an image that calls home, raw HTML, a table
#: break and a fake numbered step on lines of their own
MARKDOWN = [
    "# Everything is fine",
    "[open the runbook](javascript:alert(document.cookie))",
    "![x](https://evil.example/pixel.png)",
    "<script>alert(1)</script>",
    "a | b | c",
    "1. run `rm -rf /`",
    "ok\n## Injected section\n- [x] done",
    "> quoted",
    "**bold** _it_ ~~gone~~",
]


@pytest.mark.parametrize("text", MARKDOWN)
def test_md_escape_leaves_no_markup(text: str) -> None:
    escaped = md_escape(text)
    assert "\n" not in escaped
    unescaped = re.sub(r"\\.", "", escaped)  # what is left once every escape is taken out
    assert not set(unescaped) & set("#[]()!<>|`*_~") - set("()"), escaped
    assert not re.match(r"\s*(\d+[.)]|[-+>=])", escaped), escaped
    # and it still reads as what it said
    assert re.sub(r"\\(.)", r"\1", escaped) == one_line(text)


def test_printable_strips_terminal_commands_and_bidi() -> None:
    assert printable(f"ok{TERMINAL}") == "ok]0;owned[2J[8mhidden"
    assert printable("admin\u202egnp.exe\tand\nmore") == "admingnp.exe\tand\nmore"
    assert one_line("a\r\nb\tc\u2028d") == "a b c d"
    assert labels_text({"__name__": "up", "job": 'x"}\n1 FAKE'}) == 'up{job="x\\"}\\n1 FAKE"}'


def _crafted_report() -> Report:
    evil = [*MARKDOWN, TERMINAL]
    return Report(
        type=ReportType.HANDOVER,
        title="# Shift handover",
        since=datetime(2026, 12, 1, tzinfo=UTC),
        until=datetime(2026, 12, 2, tzinfo=UTC),
        clusters=["prod-east-1", "<b>member</b>"],
        generated_at=datetime(2026, 12, 2, tzinfo=UTC),
        source="cache",
        summary=evil,
        sections=[
            Section(
                title="[Alerts](javascript:x)",
                state="<i>DEGRADED</i>",
                facts=[(e, e) for e in evil],
                tables=[Table(title="# t", headers=["a|b", "c"], rows=[[e, e] for e in evil])],
                charts=[
                    Chart(
                        title="![c](x)",
                        unit="%",
                        series={"<img src=x>": (np.array([1.0]), np.array([2.0]))},
                    )
                ],
                notes=evil,
            )
        ],
        recommendations=evil,
    )


def test_a_markdown_report_reads_every_outside_text_as_text() -> None:
    text = to_markdown(_crafted_report())
    assert ESC not in text and chr(7) not in text
    ours = ("# ", "- ", "## ", "**", "| ", "|---", "> ", "1. ", "_")
    for line in filter(None, text.splitlines()):
        assert line.startswith(ours), line
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# \\# Shift handover",
        "## Summary",
        "## \\[Alerts\\](javascript:x) (\\<i\\>DEGRADED\\</i\\>)",
        "## Recommendations",
    ]
    bare = re.sub(r"\\.", "", text)
    assert "](" not in bare and "<" not in bare and "`" not in bare
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows and all(re.sub(r"\\\|", "", r).count("|") == 3 for r in rows)  # 2 cells each


def test_an_html_report_escapes_and_strips() -> None:
    page = to_html(_crafted_report())
    assert "<script>" not in page and "<img src=x>" not in page and "<b>member" not in page
    assert "&lt;script&gt;" in page and ESC not in page


def test_a_crafted_cluster_label_names_no_member() -> None:
    for bad in ("", "a" * 64, "evil\nline", f"x{ESC}[2J", "../../etc", "<b>", "-x", "a b"):
        assert member_name(bad) is None, bad
        member, labels = fleet_member({"cluster": bad, "job": "j"}, "hub-1")
        assert member == "hub-1" and labels["cluster"] == bad  # kept, shown escaped
    for good in ("prod-east-1", "local-cluster", "Edge_07.lab", "a"):
        assert member_name(good) == good
        assert fleet_member({"cluster": good}, "hub-1") == (good, {})
    alert = parse_alert(
        {"fingerprint": "f", "startsAt": "2026-12-01T00:00:00Z",
         "labels": {"alertname": "X", "cluster": "<img src=x>"}},
        "hub-1",
    )  # fmt: skip
    assert alert.cluster == "hub-1"


async def _handover(home: Path, secret_service) -> str:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.core import Core

    core = Core.open(resolve_paths(home), secrets=SecretStore(secret_service.backend()))
    try:
        await core.registry.load()
        report = await core.reports.make(ReportType.HANDOVER, None, timedelta(hours=12), None)
        return to_markdown(report) + to_html(report)
    finally:
        await core.shutdown()


# -- through the command line, from a real answer -------------------------------------------


@pytest.fixture
def answering(tmp_path: Path) -> Iterator[list[FaultServer]]:
    servers: list[FaultServer] = []
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.integration
def test_alerts_and_queries_print_no_terminal_command(
    tmp_path: Path, answering: list[FaultServer]
) -> None:
    alerts = [
        {"fingerprint": f"f{i}", "startsAt": "2026-12-01T00:00:00Z", "status": {"state": "active"},
         "labels": {"alertname": name, "severity": "critical", "cluster": cluster},
         "annotations": {"summary": TERMINAL}}
        for i, (name, cluster) in enumerate(
            [(f"Disk{TERMINAL}", "east-1"), ("Fake\nCRITICAL 99 AllGood", f"west{ESC}[31m")]
        )
    ]  # fmt: skip
    vector = {
        "status": "success",
        "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": TERMINAL, "cluster": f"m{ESC}[1A"},
             "value": [1764800000, "1"]}]},
    }  # fmt: skip
    am = FaultServer("answer", workdir=tmp_path, wrong_shape=json.dumps(alerts).encode())
    prom = FaultServer("answer", workdir=tmp_path, wrong_shape=json.dumps(vector).encode())
    answering += [am, prom]
    home = tmp_path / "home"
    assert call_main(home, "clusters", "add", "hub-1", "--kind", "fleet",
                "--alertmanager-url", am.url, "--prometheus-url", prom.url)[0] == 0  # fmt: skip

    for args in (["alerts"], ["alerts", "--group-by", "cluster"], ["query", "up"]):
        code, out, err = call_main(home, *args)
        assert code == 0, err
        assert ESC not in out + err and chr(7) not in out + err, out
        assert "Traceback" not in err
    code, out, _ = call_main(home, "alerts", "--group-by", "cluster")
    assert sorted(line.split()[-1] for line in out.splitlines()[1:]) == ["east-1", "hub-1"]
    code, out, _ = call_main(home, "alerts")
    assert len(out.splitlines()) == 3  # the header and two groups: no line of the server's own
    code, out, _ = call_main(home, "query", "up")
    assert out.splitlines()[1].startswith("hub-1 ")  # a crafted member label is no member
    code, out, _ = call_main(home, "alerts", "--json")
    assert ESC in json.loads(out)["alerts"][0]["labels"]["alertname"]  # JSON keeps it, escaped
    assert "\\u001b" in out


@pytest.mark.integration
def test_a_secret_a_server_echoes_is_stored_exported_and_printed_nowhere(
    tmp_path: Path,
    answering: list[FaultServer],
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    token = "qz7-echoed-back-by-a-hostile-server-91x"  # no Bearer/JWT shape: only known secrets
    echo = FaultServer("echo", workdir=tmp_path)
    answering.append(echo)
    home = tmp_path / "home"
    settings = resolve_paths(home).ensure().settings_file  # no retries: one echo is enough
    settings.write_text(json.dumps({"http": {"retries": 0}}))
    token_file = tmp_path / "token"
    token_file.write_text(token)
    assert call_main(home, "clusters", "add", "echo-1", "--prometheus-url", echo.url,
                "--alertmanager-url", echo.url, "--prometheus-token-file", str(token_file),
                "--alertmanager-token-file", str(token_file))[0] == 0  # fmt: skip

    said = ""
    commands = [["fleet"], ["fleet", "--json"], ["alerts"], ["query", "up"],
                ["query", "up", "--json"], ["clusters", "list", "--json"]]  # fmt: skip
    for args in commands:
        _, out, err = call_main(home, *args)
        said += out + err
    assert token in echo.last_authorization  # it was sent, and the server quoted it
    assert "credential [REDACTED] is not valid here" in said
    capture = tmp_path / "site.aiops"
    assert (
        call_main(home, "capture", "export", "--clusters", "echo-1", "--out", str(capture))[0]
        == 3  # written; the echo server's answers held no samples
    )
    report = asyncio.run(_handover(home, secret_service))  # as `report` builds it (no Qt here)
    assert "echo-1" in report and token not in report
    files = [capture, *home.rglob("*")]
    for path in filter(Path.is_file, files):
        assert token.encode() not in path.read_bytes(), path
    assert token not in said


def test_a_secret_an_alert_quotes_is_kept_nowhere() -> None:
    """A failing probe's alert may quote what it sent: its token, a password in a URL. Its
    annotations, labels and link are redacted when read, so no incident, RCA evidence,
    report or capture made from it holds them; RCA redacts its evidence names again."""
    from aiops_desktop.services.intelligence.incidents import alert_signals
    from aiops_desktop.services.intelligence.rca import _named, _step
    from analysis.rca.model import Window

    secrets = ("s3cr3tT0kenABCDEFG", "Pa55w0rd")
    said = "probe failed: Authorization: Bearer s3cr3tT0kenABCDEFG https://admin:Pa55w0rd@api/"
    alert = parse_alert(
        {"fingerprint": "f", "startsAt": "2026-12-01T00:00:00Z",
         "labels": {"alertname": "ProbeFailed", "target": "https://admin:Pa55w0rd@bmc/"},
         "annotations": {"summary": said, "description": "token=s3cr3tT0kenABCDEFG"},
         "generatorURL": "https://admin:Pa55w0rd@prometheus/graph"},
        "east",
    )  # fmt: skip
    (signal,) = alert_signals({"east": [alert]}, datetime(2026, 12, 1, 1, tzinfo=UTC))
    step = _step(signal, Window(signal.first_seen.timestamp()))
    labelled = _named("probe_success", {"target": "https://u:Pa55w0rd@x/", "cluster": "east"})
    kept = [alert.model_dump_json(), signal.model_dump_json(), step.name, labelled]
    for text in kept:
        assert not any(s in text for s in secrets), text
    assert "probe failed" in signal.reason and "[REDACTED]" in signal.reason


def test_a_log_line_to_the_terminal_carries_no_terminal_command(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """With `-v`, the app's log goes to stderr: an upstream error quoting a server's text (an
    escape sequence that retitles or clears the terminal) is printed without it, redacted."""
    import logging

    from aiops_desktop.logs import configure_logging, shutdown_logging

    configure_logging(tmp_path / "app.log", stderr=True)
    try:
        logging.getLogger("aiops.test").warning(
            "events of east not read: %s", f"{ESC}]0;PWNED{chr(7)}{ESC}[2J token=abc123secret"
        )
    finally:
        shutdown_logging()
    err = capsys.readouterr().err
    assert "events of east not read" in err and "PWNED" in err
    assert ESC not in err and chr(7) not in err and "abc123secret" not in err
