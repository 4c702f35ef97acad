"""``aiops-desktop wall``: the NOC wall, locked, full screen, pages rotating (a Qt program of
its own: ``aiops_desktop.wall_app``)."""

from __future__ import annotations

import argparse
from typing import Any

from aiops_desktop.cli.args import bounded, examples
from aiops_desktop.models.wall import WALL_PAGES


def parse_pages(text: str) -> list[str]:
    pages = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in pages if p not in WALL_PAGES]
    if unknown or not pages:
        raise argparse.ArgumentTypeError(
            f"{text!r}: pages are a comma-separated choice of {', '.join(WALL_PAGES)}"
        )
    # a page twice would be two turns of one page, and the rotation would lose its place
    if twice := sorted({p for p in pages if pages.count(p) > 1}):
        raise argparse.ArgumentTypeError(
            f"{text!r}: {', '.join(twice)} named more than once: name each page once"
        )
    return pages


def add_commands(sub: Any) -> None:
    wall = sub.add_parser(
        "wall", help="the NOC wall: locked, full screen, rotating pages",
        epilog=examples(
            "aiops-desktop wall",
            "aiops-desktop wall --screen 1 --rotate 30 --pages fleet,gpu,ptp",
        ),
    )  # fmt: skip
    wall.add_argument("--screen", type=int, default=0, metavar="N",
                      help="the monitor to fill, 0 the first")  # fmt: skip
    wall.add_argument(
        "--rotate", type=bounded(1, 3600, "seconds"), default=20.0, metavar="SECONDS",
        help="show each page this long: more than 1, at most 3600",
    )  # fmt: skip
    wall.add_argument(
        "--pages", type=parse_pages, default=list(WALL_PAGES), metavar="LIST",
        help=f"comma-separated, in order, of {', '.join(WALL_PAGES)}",
    )  # fmt: skip
