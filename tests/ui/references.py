"""Screenshot references: compare tolerantly (fonts, axis times), regenerate on request."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
UPDATE = os.environ.get("AIOPS_UPDATE_REFERENCES") == "1"


def image_distance(a: QImage, b: QImage) -> float:
    """Mean absolute difference (0-255) of two images scaled to 160x100."""
    size = (160, 100)
    mode, smooth = Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    a = a.convertToFormat(QImage.Format.Format_RGB32).scaled(*size, mode, smooth)
    b = b.convertToFormat(QImage.Format.Format_RGB32).scaled(*size, mode, smooth)
    total = 0
    for y in range(size[1]):
        for x in range(size[0]):
            pa, pb = a.pixelColor(x, y), b.pixelColor(x, y)
            total += abs(pa.red() - pb.red()) + abs(pa.green() - pb.green())
            total += abs(pa.blue() - pb.blue())
    return total / (size[0] * size[1] * 3)


def check_against_reference(shot: Path, name: str, tolerance: float) -> float:
    reference = REFERENCE_DIR / name
    if UPDATE or not reference.exists():
        assert UPDATE, f"missing reference {reference}: run with AIOPS_UPDATE_REFERENCES=1"
        shutil.copyfile(shot, reference)
    distance = image_distance(QImage(str(shot)), QImage(str(reference)))
    assert distance < tolerance, f"{name} differs from its reference: {distance:.1f}"
    return distance
