"""Reports of every type from a site's stored data, written by `aiops-desktop report` (Qt draws
the PDF offscreen) and read back with poppler: pdftotext for the sections, cluster names and
figures, pdftoppm for every page; the first page of each type against its reference."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import run_cli
from tests.site_data import SPIKE_VALUE, build_site
from tests.ui.conftest import run_coro
from tests.ui.references import check_against_reference

pytestmark = pytest.mark.integration
TYPES = ("executive", "detailed", "incident", "capacity", "handover")


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return unicodedata.normalize("NFKC", done.stdout)  # ligatures ("ﬀ") as letters


def render_pages(pdf: Path, folder: Path) -> list[Path]:
    pages = int(next(
        line.split()[-1]
        for line in subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
        if line.startswith("Pages:")
    ))  # fmt: skip
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(folder / pdf.stem)],
                   check=True, capture_output=True)  # fmt: skip
    shown = sorted(folder.glob(f"{pdf.stem}-*.png"))
    assert len(shown) == pages >= 1
    return shown


@pytest.fixture
def site_home(tmp_path: Path, qtbot, qloop, secret_service) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    core = Core.open(resolve_paths(home), secrets=SecretStore(secret_service.backend()))
    try:
        run_coro(qtbot, build_site(core), timeout=120)
    finally:
        run_coro(qtbot, core.shutdown())
    return home


def test_every_report_type_as_pdf_markdown_json_and_html(
    site_home: Path, tmp_path: Path, secret_service
) -> None:  # type: ignore[no-untyped-def]
    env = dict(secret_service.env)
    texts = {}
    for kind in TYPES:
        since = "96h" if kind == "capacity" else "24h"  # a trend needs 3 days or more
        outs = [tmp_path / f"{kind}.{fmt}" for fmt in ("pdf", "md", "json", "html")]
        args = [a for out in outs for a in ("--out", str(out))]
        done = run_cli(site_home, env, "report", "--type", kind, "--since", since, *args,
                       timeout=180)  # fmt: skip
        # 3: partial, its clusters (127.0.0.1:9) unreachable on purpose, and said on stderr
        assert done.returncode == 3 and "could not be read" in done.stderr, done.stderr
        assert done.stdout.count("wrote ") == 4
        text = pdf_text(outs[0])
        texts[kind] = text
        for heading in ("Summary", "Recommendations", "east", "west", "ran-a", "ran-b"):
            assert heading in text, f"{kind}: {heading!r} missing"
        assert "Period" in text and "Generated" in text and "live cache" in text
        assert "3 clusters: 1 DEGRADED, 2 ONLINE" not in text  # members are their own sections
        doc = json.loads(outs[2].read_text())
        clusters = [s for s in doc["sections"] if s["state"]]  # not Timeline, Incidents, RCA
        titles = [s["title"] for s in clusters]
        # the hub has its own section (its own checks and alerts) before its members'
        assert doc["type"] == kind and titles == ["east", "hub", "ran-a", "ran-b", "west"]
        states = [s["state"] for s in clusters]
        # the state now is the fleet's one truth's: the site's endpoints (127.0.0.1:9) answer
        # nothing now, and the hub's members are judged through it; the period's own changes
        # come from the stored checks (below)
        assert states == ["OFFLINE"] * 5
        assert "east is OFFLINE" in text
        assert ("Findings now" in text) is (kind != "capacity")
        assert outs[1].read_text().startswith("# ")
        assert "data:image/png;base64," in outs[3].read_text() or kind == "executive"
        pages = render_pages(outs[0], tmp_path)
        check_against_reference(pages[0], f"report_{kind}.png", tolerance=16.0)

    detailed = texts["detailed"]
    assert "State changes" in detailed and "ONLINE -> OFFLINE" in detailed
    assert "OFFLINE -> ONLINE" in detailed and "east/prometheus unreachable" in detailed
    assert f"{SPIKE_VALUE:.1f}" in detailed  # the spike's value in the anomalies table
    assert "(node_cpu on east from" in detailed and "investigate." in detailed
    capacity = texts["capacity"]
    assert "16-day forecast" in capacity and "trend (east-node-0)" in capacity
    # east rises 0.5 %/h = 12 %/day to ~78 %: 80 % is within the horizon (4 x 4 days)
    assert "Plan capacity on east" in capacity
    assert "Alerts in the period (1 fired, 1 resolved)" in detailed
    assert "PrometheusDown" in detailed and "east's Prometheus is" in detailed
    handover = texts["handover"]
    assert "1 alerts fired and 1 resolved in the period" in handover
    # the incidents the next shift takes over (the spike on east, resolved since)
    assert "Incidents of the period (1)" in handover and "Root cause:" not in handover
    assert "Shift handover" in handover and "Alerts firing at the end of the period" in handover
    assert "GPU health changes in the period" in handover and "GPUs not OK" in handover
    assert "PTP compliance in the period" in handover
    # the report's own reads now find every Prometheus unreachable (127.0.0.1:9): its GPU
    # read failed, said as such and why, not "no live GPU metrics" (no GPUs to read)
    assert "GPU health not read (east/prometheus (http://127.0.0.1:9) is unreachable" in handover
    assert "not read (no live GPU metrics)" not in handover
    incident = texts["incident"]
    # 2 stored state changes, 3 more found by the report's own poll now (east, west and the
    # hub, in its own section, go OFFLINE: 127.0.0.1:9 answers nothing), 1 spike, the alert
    # fired and resolved, and the incident the spike opened
    assert "Timeline" in incident and "Events (9)" in incident
    # the period's incidents (the spike on east) and the root cause of each
    assert "Incidents of the period (1)" in incident and "Root cause: INC-" in incident
    assert "alert PrometheusDown (CRITICAL)" in incident
    assert incident.index("ONLINE -> OFFLINE") < incident.rindex("WARNING SPIKE node_cpu")
    executive = texts["executive"]
    assert "Executive summary" in executive and "anomalies" in executive
    listed = run_cli(site_home, env, "reports")
    assert listed.returncode == 0 and "no reports in" in listed.stdout  # --out: elsewhere


def test_report_dialog_shows_progress_and_lists_the_report(
    desktop,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    core, window = desktop.core, desktop.window
    run_coro(qtbot, build_site(core), timeout=120)
    window.show_view("reports")
    assert window.reports.table.rowCount() == 0
    dialog = window.open_report_dialog()
    dialog.kind.setCurrentIndex(dialog.kind.findText("Executive summary"))
    dialog.period.setCurrentText("24 h")
    dialog.formats["md"].setChecked(True)
    seen: list[int] = []
    desktop.presenters.reports.sig_progress.connect(lambda _text, pct: seen.append(pct))
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.isVisible() and not dialog.generate_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Written:"), timeout=60_000)
    assert seen == [10, 60, 100] and dialog.generate_button.isEnabled()
    written = [Path(p) for p in dialog.status.text().splitlines()[1:]]
    assert sorted(p.suffix for p in written) == [".md", ".pdf"] and all(p.exists() for p in written)
    assert "Executive summary" in pdf_text(next(p for p in written if p.suffix == ".pdf"))
    qtbot.waitUntil(lambda: window.reports.table.rowCount() == 2, timeout=10_000)
    names = {window.reports.table.item(r, 0).text() for r in range(2)}
    assert names == {p.name for p in written}
    window.reports.table.selectRow(0)
    assert window.reports.selected_path() in written
    dialog.close()


def test_a_report_from_the_sample_capture_reads_its_recorded_answers_and_is_kept(
    tmp_path: Path, secret_service
) -> None:  # type: ignore[no-untyped-def]
    """The handover from a capture: its recorded GPU and PTP answers (not "not read"),
    recommendations worst first with what was found first, written to the user's reports
    folder (it went to the capture's temporary folder, deleted at exit)."""
    from ui.main_window import SAMPLE_CAPTURE

    env, home = dict(secret_service.env), tmp_path / "home"
    done = run_cli(home, env, "--capture", str(SAMPLE_CAPTURE), "report", "--type", "handover",
                   "--since", "2h")  # fmt: skip
    assert done.returncode == 0, done.stderr
    kept = run_cli(home, env, "reports")
    assert kept.returncode == 0 and ".pdf" in kept.stdout  # listed in the user's folder
    pdf = next((home / "reports").glob("*.pdf"))
    text = " ".join(pdf_text(pdf).split())
    assert "not read (no live GPU metrics)" not in text
    assert "XID 79" in text and "84 C" in text
    # set without ligatures: the identifier is found (and copied) as written, "ff" two letters
    assert "ptp_offset" in text and "\ufb00" not in text
    actions = text[text.index("Recommendations") :]
    first_anomaly = actions.find("investigate.")
    for found in ("XID 79", "temperature 84 C", "Clock in FREERUN on PTP port du-2/ens1f0"):
        assert -1 < actions.find(found) < first_anomaly, found  # ranked before anomalies


def test_a_long_unbroken_value_wraps_inside_the_page(tmp_path: Path, qapp, theme) -> None:  # type: ignore[no-untyped-def]
    """A 300-character label value (a server's) has no word boundary: it wraps inside its
    cell instead of running off the page, so all of it is printed."""
    from datetime import UTC, datetime

    from aiops_desktop.models.reports import Report, ReportType, Section, Table
    from ui.report_pdf import write_pdf

    value = "x=" + "A" * 150 + "MIDDLEMARK" + "B" * 150 + "ENDMARK"
    report = Report(
        type=ReportType.INCIDENT, title="Incident", since=datetime(2026, 12, 1, tzinfo=UTC),
        until=datetime(2026, 12, 2, tzinfo=UTC), clusters=["east"],
        generated_at=datetime(2026, 12, 2, tzinfo=UTC), source="cache", summary=["s"],
        recommendations=[],
        sections=[Section(title="Evidence", tables=[Table(title="t", headers=["signal", "z"],
                                                          rows=[[value, "3.0"]])])],
    )  # fmt: skip
    text = pdf_text(write_pdf(report, tmp_path / "long.pdf", theme)).replace("\n", "")
    squeezed = "".join(text.split())
    assert "MIDDLEMARK" in squeezed and "ENDMARK" in squeezed
