"""A table's CSV export that cannot be written says so, and keeps what the file held."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from ui.views.rows_table import Row, RowsTable


def test_an_unwritable_path_is_said_and_a_surrogate_does_not_stop_the_export(
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    table = RowsTable(["Pod", "Reason"])
    qtbot.addWidget(table)
    table.set_rows([Row(["web-1", "ok"]), Row(["half \ud83d emoji", "CrashLoop"])])
    out = tmp_path / "pods.csv"
    table.export_csv_dialog().fileSelected.emit(str(out))  # what choosing the file does
    lines = out.read_text(encoding="utf-8").splitlines()  # the surrogate as the table shows it
    assert lines[:2] == ["Pod,Reason", "web-1,ok"] and lines[2].endswith(" emoji,CrashLoop")
    missing = tmp_path / "no-such-folder" / "pods.csv"
    box = table.export_csv(str(missing))
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text().startswith(f"{missing} was not written: ")
    assert not missing.parent.exists()
    box.close()


def test_a_failed_write_leaves_the_file_as_it_was(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Pod"])
    qtbot.addWidget(table)
    table.set_rows([Row(["web-1"])])
    out = tmp_path / "pods.csv"
    out.write_text("kept\n")

    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    box = table.export_csv(str(out))
    monkeypatch.undo()
    assert box is not None and "No space left on device" in box.text()
    assert out.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "pods.csv"
    ]
    box.close()


def test_an_export_over_a_link_writes_where_it_points(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = RowsTable(["Pod"])
    qtbot.addWidget(table)
    table.set_rows([Row(["web-1"])])
    synced = tmp_path / "synced"
    synced.mkdir()
    (synced / "pods.csv").write_text("old\n")
    link = tmp_path / "pods.csv"
    link.symlink_to(synced / "pods.csv")
    assert table.export_csv(str(link)) is None
    assert link.is_symlink() and (synced / "pods.csv").read_text().splitlines() == ["Pod", "web-1"]
