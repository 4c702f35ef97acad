"""``aiops-desktop wall``: the NOC wall, locked, full screen, pages rotating (a Qt program of
its own: ``aiops_desktop.wall_app``)."""

from __future__ import annotations

import argparse
from typing import Any

from aiops_desktop.cli.args import bounded
from aiops_desktop.models.wall import WALL_PAGES


def parse_pages(text: str) -> list[str]:
    pages = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in pages if p not in WALL_PAGES]
    if unknown or not pages:
        raise argparse.ArgumentTypeError(
            f"{text!r}: pages are a comma-separated choice of {', '.join(WALL_PAGES)}"
        )
    return pages


def add_commands(sub: Any) -> None:
    wall = sub.add_parser("wall", help="the NOC wall: locked, full screen, rotating pages")
    wall.add_argument("--screen", type=int, default=0, metavar="N", help="monitor (0: first)")
    wall.add_argument("--rotate", type=bounded(1, 3600, "seconds"), default=20.0, metavar="SECONDS")
    wall.add_argument(
        "--pages", type=parse_pages, default=list(WALL_PAGES), metavar="LIST",
        help=f"comma-separated, in order (default {','.join(WALL_PAGES)})",
    )  # fmt: skip
