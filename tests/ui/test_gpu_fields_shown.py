"""PRODUCT.md 3 on the GPU page: the chosen GPU's card says its uuid, model, driver, memory,
memory utilisation, power draw/limit and clocks ("—" where unknown, never 0); a heatmap cell's
tooltip says its memory and power; the fleet's summary line its memory totals."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models.gpu import GpuFleet, GpuReading
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, node_readings
from analysis.gpu_health import assess
from collectors.nvidia_smi import parse_gpus
from ui.theme import Theme
from ui.views.fleet_hw_views import GpuFleetView

SMI = (
    "0, GPU-5f1c, NVIDIA H100 80GB HBM3, 550.54.15, 81559, 71234, 9786, 97, 61, 75, 612.3,"
    " 700.00, [N/A]\n"
)


def fleet_of(readings: list[GpuReading]) -> GpuFleet:
    return GpuFleet([assess(r, xid_table()) for r in readings], [])


def view_of(qtbot: Any, theme: Theme, fleet: GpuFleet) -> GpuFleetView:
    view = GpuFleetView(theme)
    qtbot.addWidget(view)
    view.show_fleet(fleet)
    return view


def test_the_chosen_gpus_card_says_its_memory_power_driver_and_clocks(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    readings, _ = node_readings("prod", [NodeGpus("node-1", "ns/pod", parse_gpus(SMI))])
    reading = readings[0]
    reading.sm_clock_mhz, reading.mem_clock_mhz = 1980.0, 2619.0
    view = view_of(qtbot, theme, fleet_of(readings))
    view.heatmap.cellClicked.emit(0, 0)  # the GPU clicked
    card = view.detail.facts.text()
    for said in (
        "GPU-5f1c",
        "driver 550.54.15",
        "memory 71,234 / 81,559 MiB used (9,786 free)",
        "memory 61 %",
        "power 612 / 700 W",
        "clocks SM 1,980 / memory 2,619 MHz",
    ):
        assert said in card, (said, card)
    assert "NVIDIA H100 80GB HBM3" in view.detail.heading.text()
    assert "\n" not in card
    tip = view.heatmap.item(0, 0).toolTip()
    assert "memory 71,234 / 81,559 MiB" in tip and "power 612 / 700 W" in tip
    assert view.summary.text().startswith("memory 71,234 / 81,559 MiB used")


def test_what_is_unknown_is_a_dash_never_0(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    blank = GpuReading("c1", "n1", "0", "GPU-1", model="A100", temperature_c=40.0)
    view = view_of(qtbot, theme, fleet_of([blank]))
    view.heatmap.cellClicked.emit(0, 0)
    card = view.detail.facts.text()
    assert "driver —" in card and "memory — / — MiB used (— free)" in card
    assert "memory —" in card and "power — / — W" in card and "clocks SM — / memory — MHz" in card
    assert " 0 " not in f" {card} "
    tip = view.heatmap.item(0, 0).toolTip()
    assert "memory — / — MiB" in tip and "power — / — W" in tip
    assert view.summary.text().startswith("memory unknown")


def test_the_summary_says_the_gpus_whose_memory_is_unknown(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    readings = [GpuReading("c1", "n1", "0", "GPU-1", mem_total_mib=1000.0, mem_used_mib=250.0),
                GpuReading("c1", "n1", "1", "GPU-2")]  # fmt: skip
    view = view_of(qtbot, theme, fleet_of(readings))
    assert view.summary.text().startswith("memory 250 / 1,000 MiB used (1 GPU unknown)")


def test_outside_text_on_the_card_is_one_cut_line(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    evil = GpuReading("c1", "n1", "0", "GPU-1\nINJECTED" + "x" * 5000, model="A100",
                      driver="535\r\n" + "y" * 5000)  # fmt: skip
    view = view_of(qtbot, theme, fleet_of([evil]))
    view.heatmap.cellClicked.emit(0, 0)
    card = view.detail.facts.text()
    assert "\n" not in card and "\r" not in card and len(card) < 1500
