"""The main window's pages, named once: their keys (``--view`` and ``show_view``), the titles
the navigation shows, other names they answer to, and when their presenter runs. The window
builds navigation, ``--view``, the start and stop of readers and shutdown from this table.
No Qt here: the command line checks ``--view`` before Qt starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiops_desktop.services.runtime.access import Action


class Runs(StrEnum):
    ALWAYS = "always"  # from load to shutdown (in-memory reads, cheap)
    WHILE_SHOWN = "while shown"  # reads (the clusters, or memory into a big table) on a timer only
    # while it is on screen
    ON_SHOW = "on show"  # reads once each time it is shown


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    runs: Runs = Runs.ON_SHOW
    aliases: tuple[str, ...] = ()
    needs: Action | None = None  # what the role must allow for the page to be offered


PAGES: tuple[PageSpec, ...] = (
    PageSpec("fleet", "Fleet", Runs.WHILE_SHOWN),
    PageSpec("alerts", "Alerts", Runs.WHILE_SHOWN),
    PageSpec("incidents", "Incidents", Runs.ON_SHOW),
    PageSpec("anomalies", "Anomalies", Runs.ALWAYS),
    PageSpec("logs", "Logs", aliases=("loki",)),
    PageSpec("traces", "Traces", aliases=("tempo",)),
    PageSpec("gpu", "GPUs", Runs.WHILE_SHOWN, aliases=("gpus",)),
    PageSpec("ptp", "PTP", Runs.WHILE_SHOWN),
    PageSpec("sriov", "SR-IOV", Runs.WHILE_SHOWN, aliases=("sr-iov",)),
    PageSpec("drift", "Drift", Runs.WHILE_SHOWN),
    PageSpec("reports", "Reports"),
    PageSpec("chat", "Chat", aliases=("assistant",), needs=Action.CHAT),
    PageSpec("console", "Console"),
    PageSpec("diagnostics", "Diagnostics", Runs.WHILE_SHOWN),
)

#: views of one cluster: its dashboard (``cluster:NAME``) or its Kubernetes page
CLUSTER_VIEWS = ("cluster:", "details:")


def page_key(name: str) -> str | None:
    """The page a view name means (its key or an alias), or None."""
    for page in PAGES:
        if name == page.key or name in page.aliases:
            return page.key
    return None


def view_known(name: str) -> bool:
    """Whether ``--view NAME`` names something the window can show."""
    if name == "main" or page_key(name) is not None:
        return True
    return any(name.startswith(p) and len(name) > len(p) for p in CLUSTER_VIEWS)


def view_choices() -> str:
    return ", ".join(["main", *(p.key for p in PAGES), "cluster:NAME", "details:NAME"])
