"""The command line's second review: `analyse` says which series were too short to analyse
(never a quiet "0 anomalies"), `ptp` prints the time it has no sample of beside its shares and
refuses an --until in the future, `report --clusters` takes a fleet hub's member as the other
commands do, and a capture that cannot answer a query is a usage error naming what it can."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models.anomalies import ANOMALY_MIN_POINTS
from aiops_desktop.models.errors import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from aiops_desktop.models.reports import ReportType
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.reports import gather
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import read_manifest
from tests.qtfree.cli_runner import call_main
from tests.qtfree.range_prometheus import RangePrometheus, RangeSeries

SAMPLE = resources_dir() / "samples" / "sample.aiops"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A copy of the bundled sample capture: the sample itself is never opened here."""
    copy = tmp_path / "site.aiops"
    shutil.copy(SAMPLE, copy)
    return copy


# -- analyse: a series too short for the detectors is said, not a quiet all-clear -------------


def _spiked(history: dict[str, float]) -> RangeSeries:
    """Every range query answered with one series over the range asked: a steady ~10 with a
    spike of 1000 three steps before its end. ``history``: a query's series has only the
    samples of its last that many seconds (it began then: a new pod), however far back the
    range asks."""

    def series(query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        n = int((end - start) // step) + 1
        values = [[start + i * step, "1000" if i == n - 3 else f"{10 + i % 3 / 10}"]
                  for i in range(n)]  # fmt: skip
        if query in history:  # a second's slack: the grid ends at ``end``
            values = [v for v in values if v[0] >= end - history[query] - 1]
        return [{"metric": {"__name__": query, "pod": "api-0"}, "values": values}]

    return series


@pytest.fixture
def prometheus() -> Iterator[RangePrometheus]:
    server = RangePrometheus(_spiked({"errors_total": 20 * 60}))  # 21 points a minute apart
    yield server
    server.stop()


def _analyse(home: Path, query: str, since: str, *more: str) -> tuple[int, str, str]:
    return call_main(home, "--role", "viewer", "analyse", "--query", query, "--since", since,
                     "--step", "1m", "--methods", "ZSCORE,MAD", *more)  # fmt: skip


def test_analyse_says_a_series_too_short_to_analyse(tmp_path: Path, prometheus: Any) -> None:
    code, _, err = call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url",
                             prometheus.url)  # fmt: skip
    assert code == 0, err
    # 21 points, under the detectors' least: never "0 anomalies" and success
    code, out, err = _analyse(tmp_path, "errors_total", "20m")
    assert code == EXIT_PARTIAL, out + err
    assert f"fewer than {ANOMALY_MIN_POINTS} points" in err and "1 of 1 series" in err
    assert "1 too short to analyse" in out.splitlines()[0]
    code, out, err = _analyse(tmp_path, "errors_total", "20m", "--json")
    assert code == EXIT_PARTIAL, err
    doc = json.loads(out)
    assert doc["series"] == 1 and doc["too_short"] == 1 and doc["anomalies"] == []
    assert doc["min_points"] == ANOMALY_MIN_POINTS
    # a series of 41 points and more: analysed, the spike found, nothing said short
    code, out, err = _analyse(tmp_path, "requests_total", "40m", "--json")
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["too_short"] == 0 and len(doc["anomalies"]) == 1
    assert "fewer than" not in err


def test_analyse_of_a_rule_only_signal_needs_no_history(tmp_path: Path, prometheus: Any) -> None:
    """A PTP clock state is judged by its domain rule alone, at every point: a short series
    of it is analysed whole, not skipped."""
    call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url", prometheus.url)
    code, out, err = call_main(tmp_path, "--role", "viewer", "analyse", "--query",
                               "openshift_ptp_clock_state", "--since", "20m", "--step", "1m",
                               "--json")  # fmt: skip
    assert code == EXIT_OK, err
    assert json.loads(out)["too_short"] == 0


# -- ptp: the time not sampled is printed; a future --until is refused ---------------------------


def _du0(out: str) -> str:
    [line] = [line for line in out.splitlines() if "ran-west/du-0/" in line]
    return line


def test_ptp_prints_the_time_it_has_no_sample_of(capture: Path, tmp_path: Path) -> None:
    code, out, err = call_main(tmp_path, "--capture", str(capture), "ptp", "--clusters",
                               "ran-west", "--window", "2h")  # fmt: skip
    assert code == EXIT_OK, err
    line = _du0(out)
    assert "locked 50.2% within 50.2% of the window" in line, line
    assert "sampled 50.2% (3585 s unknown)" in line, line
    # the capture recorded its PTP history over its last hour: a longer window is said so
    assert "the capture recorded PTP history from " in err and "first 60 min" in err, err
    code, out, err = call_main(tmp_path, "--capture", str(capture), "ptp", "--clusters",
                               "ran-west", "--window", "1h")  # fmt: skip
    assert code == EXIT_OK, err
    assert "sampled 100.0% (0 s unknown)" in _du0(out)
    assert "recorded PTP history from" not in err, err


def test_ptp_refuses_an_until_after_now(capture: Path, tmp_path: Path) -> None:
    end = datetime.fromisoformat(read_manifest(capture).until)
    later = (end + timedelta(minutes=5)).isoformat()
    code, out, err = call_main(tmp_path, "--capture", str(capture), "ptp", "--until", later)
    assert code == EXIT_USAGE, out + err
    assert out == "" and "--until" in err and "after the capture's end" in err, err
    code, out, err = call_main(tmp_path, "ptp", "--until", "2099-01-01T00:00:00Z")
    assert code == EXIT_USAGE and "--until" in err and "in the future" in err, err
    # its end itself is taken
    code, _, err = call_main(tmp_path, "--capture", str(capture), "ptp", "--until",
                             end.isoformat())  # fmt: skip
    assert code == EXIT_OK, err


# -- report --clusters: a hub's member by name, as gpu/ptp/rca take it ---------------------------


@pytest.mark.asyncio
async def test_a_report_of_a_hub_member_is_of_that_member(capture: Path) -> None:
    core = await asyncio.to_thread(open_capture, capture)
    try:
        await core.registry.load()
        assert core.registry.hubs_of("ran-east")  # a member, not a registered cluster
        inputs = await gather(core.reports, ReportType.HANDOVER, ["ran-east"],
                              timedelta(hours=1))  # fmt: skip
        assert [f.name for f in inputs.clusters] == ["ran-east"]
        assert inputs.clusters[0].observed
        # the hub by its name: its own section and every member's, as before
        every = await gather(core.reports, ReportType.HANDOVER, ["ran-hub"], timedelta(hours=1))
        assert {"ran-hub", "ran-east", "ran-west"} <= {f.name for f in every.clusters}
    finally:
        await core.shutdown()


# -- a capture that cannot answer a query: usage (2), naming what it can -------------------------


def test_a_range_query_a_capture_did_not_record_is_a_usage_error(
    capture: Path, tmp_path: Path
) -> None:
    code, out, err = call_main(tmp_path, "--capture", str(capture), "query",
                               "DCGM_FI_DEV_GPU_TEMP", "--range", "1h")  # fmt: skip
    assert code == EXIT_USAGE, out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("aiops-desktop: error: "), last
    assert "'DCGM_FI_DEV_GPU_TEMP'" in last and "openshift_ptp_offset_ns" in last, last
    assert "stored series" in last, last
    # a range query it did record is answered
    code, out, err = call_main(tmp_path, "--capture", str(capture), "query",
                               "openshift_ptp_offset_ns", "--range", "30m")  # fmt: skip
    assert code == EXIT_OK, err
    # --json still prints its document, with the errors, before the error line
    code, out, err = call_main(tmp_path, "--capture", str(capture), "query",
                               "DCGM_FI_DEV_GPU_TEMP", "--range", "1h", "--json")  # fmt: skip
    assert code == EXIT_USAGE, err
    assert json.loads(out)["errors"]


def test_analyse_of_a_query_a_capture_did_not_record(capture: Path, tmp_path: Path) -> None:
    code, out, err = call_main(tmp_path, "--capture", str(capture), "analyse", "--query",
                               "DCGM_FI_DEV_GPU_TEMP", "--since", "2h")  # fmt: skip
    assert code == EXIT_USAGE, out + err
    assert "openshift_ptp_offset_ns" in err.strip().splitlines()[-1], err
    code, out, err = call_main(tmp_path, "--capture", str(capture), "analyse", "--query",
                               "DCGM_FI_DEV_GPU_TEMP", "--json")  # fmt: skip
    assert code == EXIT_USAGE, err
    doc = json.loads(out)
    assert doc["status"] == "ERROR" and doc["anomalies"] == [] and doc["series"] == 0
    assert doc["errors"] and "not recorded" in doc["errors"][0]["reason"], doc


def test_analyse_reads_its_window_and_lead_at_one_step_that_fits(
    tmp_path: Path, prometheus: Any
) -> None:
    """44 h at 15 s is 10,560 points: with the detector's 750 learning samples the read was
    over 11,000 points, coarsened by the query layer to 16 s, the lead cut under 750 and the
    series said to have begun late. The step that fits both (16 s) is asked, and said."""
    call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url", prometheus.url)
    code, out, err = call_main(tmp_path, "--role", "viewer", "analyse", "--query",
                               "requests_total", "--since", "44h", "--step", "15s",
                               "--json")  # fmt: skip
    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["partly_judged"] == 0 and doc["lead_points"] == 750
    assert "read at a step of 16s, not 15s" in err and "began less than" not in err
