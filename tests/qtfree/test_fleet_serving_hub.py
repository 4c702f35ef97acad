"""``FleetState.serving_hub`` names the hub a member is judged from, as ``snapshot`` does, at
the time asked: a member's dashboard asks on every tick (the truth a refresh published kept
a hub that went down for up to a minute)."""

from __future__ import annotations

from aiops_desktop.models.polling import Source
from tests.qtfree.test_fleet_truth_failures import T0, cluster, make_wall, polled


def test_the_hub_serving_a_member_is_the_truths_and_follows_a_hub_going_down() -> None:
    hubs = [cluster(name, hub=True, members=("ran-east",)) for name in ("thanos-hub", "acm-hub")]
    w = make_wall([*hubs, cluster("lab")])  # registered not by name
    w.poller.member_seen = {"acm-hub": {"ran-east": T0}, "thanos-hub": {"ran-east": T0}}
    served = w.fleet.serving_hub("ran-east")
    assert served is not None and served.name == "acm-hub"  # both serve it: the first by name
    for source in (Source.METRICS, Source.ALERTS):
        polled(w.poller, "acm-hub", source, T0, failing=True)
    served = w.fleet.serving_hub("ran-east")
    member = w.fleet.snapshot().get("ran-east")
    assert served is not None and member is not None
    assert served.name == member.hub == "thanos-hub"
    assert w.fleet.serving_hub("lab") is None  # registered: served by itself
    assert w.fleet.serving_hub("ran-nowhere") is None  # no hub serves it
