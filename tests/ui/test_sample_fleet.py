"""The window over the bundled sample capture, as a newcomer first sees it: the Fleet page
shows the sample's CRITICAL GPUs and FREERUN port (the fleet's one truth, from the capture's
recorded answers), the sidebar lists the hub's members, a member's dashboard says how old
its data is (not "no data yet · STALE" above full charts); a reference screenshot."""

from __future__ import annotations

import json
from pathlib import Path

from aiops_desktop.app import DesktopApp
from aiops_desktop.qt_boot import save_screenshot
from tests.qtfree.cli_runner import run_cli
from tests.ui.conftest import SAMPLE, run_until
from tests.ui.references import check_against_reference


def test_the_sample_fleet_page_shows_its_findings(
    sample_desktop: DesktopApp, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = sample_desktop.window
    window.show_view("fleet")
    fleet = sample_desktop.presenters.fleet

    def east() -> object:
        return next((t for t in fleet.tiles() if t.name == "ran-east"), None)

    run_until(qtbot, lambda: (tile := east()) is not None and tile.state == "CRITICAL")
    tiles = {t.name: t for t in fleet.tiles()}
    assert set(tiles) == {"ran-east", "ran-west", "ai-lab"}  # the hub's members
    assert "GPU 2 ✖" in tiles["ran-east"].findings and "PTP 1 ✖" in tiles["ran-east"].findings
    assert tiles["ai-lab"].state == "DEGRADED"
    assert tiles["ran-east"].freshness == "data as recorded in the capture"
    listed = [window.cluster_list.list.item(i).text()
              for i in range(window.cluster_list.list.count())]  # fmt: skip
    assert any(t.startswith("  ↳ ran-east") and "CRITICAL" in t for t in listed)
    # a member's tooltip quotes its worst finding, outside text shown as it is (escaped: a
    # crafted member or reason would otherwise be read as rich text)
    tips = [window.cluster_list.list.item(i).toolTip()
            for i in range(window.cluster_list.list.count())]  # fmt: skip
    east_tip = next(t for t in tips if t.startswith("<p>ran-east: member of fleet hub"))
    assert east_tip.endswith("<br/>gpu-0/gpu5: temperature 84 C (critical &gt;= 80 C)</p>")
    window._refresh_status()  # the status bar counts what the truth says (members included)
    assert window.status_clusters.text() == "4 clusters · 1 critical · 2 degraded · 1 ok"
    run_until(qtbot, lambda: sum(t.isVisible() for t in window.fleet.tiles) == 3)
    # the page shows the refreshed truth (it first shows what is known before the findings)
    run_until(qtbot, lambda: window.fleet.summary.text().startswith("Fleet · 3 clusters · 1 crit"))
    shot = save_screenshot(window, tmp_path / "fleet_sample.png")
    check_against_reference(shot, "fleet_sample.png", tolerance=12.0)

    window.show_cluster("ran-east")
    freshness = window.dashboard.freshness
    day = sample_desktop.core.capture.until[:10]  # the capture's last day
    run_until(qtbot, lambda: freshness.text().startswith(f"data up to {day}"))
    assert "STALE" not in freshness.text() and "not polled" in freshness.text()


def test_tiles_fleet_json_and_a_report_tell_one_truth(
    sample_desktop: DesktopApp, qtbot, tmp_path: Path, secret_service
) -> None:  # type: ignore[no-untyped-def]
    """The GUI's tiles, `fleet --json` and a handover report on the same data (the sample
    capture) give every cluster the same state, health score and worst finding."""
    fleet = sample_desktop.presenters.fleet
    sample_desktop.window.show_view("fleet")
    run_until(qtbot, lambda: any(t.state == "CRITICAL" for t in fleet.tiles()))
    tiles = {t.name: (t.state, t.health_score) for t in fleet.tiles()}
    worst = {t.name: t.worst for t in fleet.tiles()}

    env, home = dict(secret_service.env), tmp_path / "home"
    done = run_cli(home, env, "--capture", str(SAMPLE), "fleet", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout) if r["hub"]}  # the hub's members
    assert {n: (r["state"], r["health_score"]) for n, r in rows.items()} == tiles
    for name, row in rows.items():
        first = row["findings"][0]
        assert f"{first['subject']}: {first['reason']}" in worst[name]

    out = tmp_path / "handover.json"
    made = run_cli(home, env, "--capture", str(SAMPLE), "report", "--type", "handover",
                   "--out", str(out), timeout=180)  # fmt: skip
    assert made.returncode == 0, made.stderr
    sections = {s["title"]: s for s in json.loads(out.read_text())["sections"]}
    for name, (state, score) in tiles.items():
        assert sections[name]["state"] == state
        facts = {f["label"]: f["value"] for f in sections[name]["facts"]}
        assert facts["Health score"] == ("-" if score is None else str(score))
        found = next(t for t in sections[name]["tables"] if t["title"] == "Findings now")
        first = rows[name]["findings"][0]
        assert found["rows"][0] == [first["severity"], first["domain"], first["subject"],
                                    first["reason"]]  # fmt: skip
