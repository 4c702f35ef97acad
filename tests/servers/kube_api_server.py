"""The kmock side of the test Kubernetes API (run as a child process by tests.servers.kube_api).

kmock (an in-memory Kubernetes API emulator serving real HTTP) holds the objects and serves
discovery, lists and watches the way the official client expects. What it cannot serve is
answered here in the exact upstream JSON: ``/version``, SelfSubjectReview,
SelfSubjectRulesReview and SelfSubjectAccessReview, for the user nginx authenticated (it sets
``X-Remote-User`` from the bearer token, as an authenticating front proxy does). The custom
resources of the operators the app discovers are registered explicitly.

``python tests/servers/kube_api_server.py --port P --objects FILE.json``; only the standard
library is imported at the top, so the test process can import its tables. ``--churn N``
(benchmarks, off by default) creates and then updates Event objects in the ``churn`` namespace
N times a second in kmock's store, so every events watch streams them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

VERSION = {
    "major": "1",
    "minor": "29",
    "gitVersion": "v1.29.8+f10c92d",
    "gitCommit": "f10c92d73b3a3c2c8b1e2d2c4b1f2a1d9b4c1e2f",
    "gitTreeState": "clean",
    "buildDate": "2024-09-04T12:05:39Z",
    "goVersion": "go1.21.11 (Red Hat 1.21.11-1.el9_4) X:strictfipsruntime",
    "compiler": "gc",
    "platform": "linux/amd64",
}

#: The custom resources kmock must know (group, version, plural, kind, namespaced).
CUSTOM_RESOURCES = [
    ("route.openshift.io", "v1", "routes", "Route", True),
    ("config.openshift.io", "v1", "clusterversions", "ClusterVersion", False),
    ("nvidia.com", "v1", "clusterpolicies", "ClusterPolicy", False),
    ("ptp.openshift.io", "v1", "ptpconfigs", "PtpConfig", True),
    ("ptp.openshift.io", "v1", "nodeptpdevices", "NodePtpDevice", True),
    ("sriovnetwork.openshift.io", "v1", "sriovnetworknodestates", "SriovNetworkNodeState", True),
    ("sriovnetwork.openshift.io", "v1", "sriovnetworks", "SriovNetwork", True),
    ("sriovnetwork.openshift.io", "v1", "sriovnetworknodepolicies", "SriovNetworkNodePolicy", True),
    ("loki.grafana.com", "v1", "lokistacks", "LokiStack", True),
    # tempo.grafana.com is not served: a cluster without the Tempo operator (discovery's "absent")
]

READ = ["get", "list", "watch"]

#: Users nginx maps tokens to, and their RBAC rules (SelfSubjectRulesReview resourceRules).
USERS: dict[str, dict[str, Any]] = {
    "admin": {
        "username": "system:admin",
        "groups": ["system:masters", "system:authenticated"],
        "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
    },
    "viewer": {
        "username": "noc-viewer",
        "groups": ["noc", "system:authenticated"],
        "rules": [
            {
                "verbs": READ,
                "apiGroups": [""],
                "resources": ["namespaces", "nodes", "pods", "events", "services"],
            },
            {"verbs": READ, "apiGroups": ["route.openshift.io"], "resources": ["routes"]},
            {"verbs": READ, "apiGroups": ["config.openshift.io"], "resources": ["clusterversions"]},
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["*"]},
        ],
    },
    "limited": {
        "username": "intern",
        "groups": ["system:authenticated"],
        "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["namespaces"]}],
    },
}

#: A user whose RBAC rules allow reading nodes and pods, but whom another authorizer (a
#: webhook) refuses: the rules review says yes, the reads answer 403.
USERS["webhooked"] = {
    "username": "contractor",
    "groups": ["system:authenticated"],
    "rules": USERS["viewer"]["rules"],
    "enforced": [{"verbs": READ, "apiGroups": [""], "resources": ["namespaces"]}],
}

TOKENS = {
    "admin-token": "admin",
    "viewer-token": "viewer",
    "limited-token": "limited",
    "webhooked-token": "webhooked",
}


def _rules_allow(rules: list[dict[str, Any]], attrs: dict[str, Any]) -> bool:
    def has(values: list[str], wanted: str) -> bool:
        return "*" in values or wanted in values

    resource = attrs.get("resource", "")
    if attrs.get("subresource"):
        resource = f"{resource}/{attrs['subresource']}"
    return any(
        has(r.get("apiGroups", []), attrs.get("group", ""))
        and has(r.get("resources", []), resource)
        and has(r.get("verbs", []), attrs.get("verb", ""))
        for r in rules
    )


def _patch_namespace_paths() -> None:
    """kmock 0.8 reads ``/api/v1/namespaces[/NAME]`` as a namespace prefix with nothing after
    it (and fails): serve it as the cluster-scoped ``namespaces`` resource it is."""
    from kmock._internal import parsing

    original = parsing.parse_path

    def parse_path(path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (3, 4):
            name = parts[3] if len(parts) == 4 else None
            return parsing.ParsedPath("", "v1", "namespaces", None, name, None)
        return original(path)

    parsing.parse_path = parse_path


REVIEW_GROUPS = {"authentication.k8s.io", "authorization.k8s.io"}
VERBS = {"LIST": "list", "WATCH": "watch", "FETCH": "get", "CREATE": "create",
         "UPDATE": "patch", "DELETE": "delete"}  # fmt: skip


CHURN_NAMESPACE = "churn"
CHURN_POOL = 1000  # events created first; later ticks update them in turn (count, time)


def churn_event(n: int, version: int, now: str) -> dict[str, Any]:
    """The n-th churned Event as an API server stores it (a pod's kubelet events)."""
    pod = f"worker-{n % 97}"
    warning = n % 5 == 0
    reason, message = (
        ("BackOff", f"Back-off restarting failed container main in pod {pod}")
        if warning
        else ("Pulled", 'Container image "registry.local/app:1.0" already present on machine')
    )
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"churn-{n % CHURN_POOL}", "namespace": CHURN_NAMESPACE,
                     "uid": f"uid-churn-{n % CHURN_POOL}", "resourceVersion": str(version),
                     "creationTimestamp": now},
        "involvedObject": {"kind": "Pod", "namespace": CHURN_NAMESPACE, "name": pod},
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "count": n // CHURN_POOL + 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet"},
    }  # fmt: skip


async def churn_events(k: Any, rate: float) -> None:
    """Create, then update, Event objects ``rate`` times a second, as kmock's own handler of a
    POST/PATCH does: the object is stored, then published on the resource's bus, which every
    events watch streams. Not over HTTP: kmock 0.8 answers a POST or PATCH after scanning every
    stored object and every past request (a core's worth at 15 a second with 20,000 pods)."""
    import datetime
    import time

    import kmock

    resource = kmock.resource("", "v1", "events")
    bus = k._buses[resource]  # the stream kmock's watch of /api/v1/events reads
    loop = asyncio.get_running_loop()
    start, n, reported = loop.time(), 0, loop.time()
    while True:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = churn_event(n, 1_000_000 + n, now)
        key = (resource, CHURN_NAMESPACE, event["metadata"]["name"])
        created = key not in k.objects
        k.objects[key] = event
        await bus.put({"type": "ADDED" if created else "MODIFIED", "object": k.objects[key].raw})
        n += 1
        if loop.time() - reported >= 5:  # the benchmark reads the rate it got from here
            reported = loop.time()
            print(f"churn: {n} sent in {reported - start:.1f} s at {time.time():.3f}", flush=True)
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))


async def serve(
    port: int, objects_file: Path | None, *, bare: bool = False, churn: float = 0.0
) -> None:
    import kmock

    _patch_namespace_paths()

    class Emulator(kmock.KubernetesEmulator):  # type: ignore[misc]
        """Reviews are answered, never stored (kmock would keep the nameless objects and
        refuse the next review with 409, which no API server does)."""

        async def _handle(self, request: Any) -> Any:
            resource = request.resource
            if resource is not None and resource.group in REVIEW_GROUPS:
                return await super(kmock.KubernetesEmulator, self)._handle(request)
            if resource is not None and request.action is not None:
                self._authorize(request)
            return await super()._handle(request)

        def _authorize(self, request: Any) -> None:
            """RBAC as the API server applies it: 403 in its Status JSON when the rules of
            the user nginx authenticated do not allow the verb on the resource."""
            who = request.headers.get("X-Remote-User", "")
            verb = VERBS.get(request.action.value, request.action.value.lower())
            attrs = {"group": request.resource.group or "", "resource": request.resource.plural,
                     "verb": verb}  # fmt: skip
            enforced = USERS[who].get("enforced", USERS[who]["rules"]) if who in USERS else []
            if who in USERS and not _rules_allow(enforced, attrs):
                group = f".{attrs['group']}" if attrs["group"] else ""
                raise kmock.KubernetesError(
                    status=403,
                    reason="Forbidden",
                    message=f'{attrs["resource"]}{group} is forbidden: User "'
                    f'{USERS[who]["username"]}" cannot {verb} resource "{attrs["resource"]}" '
                    f'in API group "{attrs["group"]}" at the cluster scope',
                    details={"group": attrs["group"], "kind": attrs["resource"]},
                )

    async with Emulator() as k, kmock.Server(k, port=port):
        k.resources.load_bundled()
        for group, version, plural, kind, namespaced in [] if bare else CUSTOM_RESOURCES:
            k.resources[kmock.resource(group, version, plural)] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, verbs={"get", "list", "watch"}
            )

        def user(req: Any) -> dict[str, Any]:
            return USERS[req.headers.get("X-Remote-User", "")]

        k["get /version"] << VERSION
        k["get /version/"] << VERSION  # kmock routes only the exact path
        k["post /apis/authentication.k8s.io/v1/selfsubjectreviews"] << (
            lambda req: {
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "status": {
                    "userInfo": {"username": user(req)["username"], "groups": user(req)["groups"]}
                },
            }
        )
        k["post /apis/authorization.k8s.io/v1/selfsubjectrulesreviews"] << (
            lambda req: {
                "kind": "SelfSubjectRulesReview",
                "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "spec": {"namespace": (req.data or {}).get("spec", {}).get("namespace", "")},
                "status": {
                    "resourceRules": user(req)["rules"],
                    "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/version"]}],
                    "incomplete": False,
                },
            }
        )
        k["post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] << (
            lambda req: {
                "kind": "SelfSubjectAccessReview",
                "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "spec": (req.data or {}).get("spec", {}),
                "status": {
                    "allowed": _rules_allow(
                        user(req)["rules"],
                        (req.data or {}).get("spec", {}).get("resourceAttributes", {}),
                    )
                },
            }
        )
        # A namespace whose events watch answers 410 Gone for the first list's resourceVersion,
        # as an API server does once that version is compacted away: the client must relist.
        lists = [0]

        def expiring(req: Any) -> Any:
            if req.params.get("watch") == "true":
                if req.params.get("resourceVersion") == "5":
                    gone = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "too old resource version: 5 (9)", "reason": "Expired",
                            "code": 410}  # fmt: skip
                    return json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n"
                meta = {"name": "e2", "namespace": "expiring", "uid": "e2", "resourceVersion": "10"}
                fresh = {"metadata": meta, "involvedObject": {"kind": "Pod", "name": "p"},
                         "reason": "Started"}  # fmt: skip
                return json.dumps({"type": "ADDED", "object": fresh}).encode() + b"\n"
            lists[0] += 1
            version = "5" if lists[0] == 1 else "9"
            return {"kind": "EventList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": version}, "items": []}  # fmt: skip

        k["get /api/v1/namespaces/expiring/events"] << expiring

        # A namespace whose events watch is cut after each event (as a proxy or an API server
        # restart does): the client must resume from the last resourceVersion it saw, so each
        # event arrives exactly once. The versions asked for are recorded for the test.
        asked: list[str] = []

        def event(n: int) -> dict[str, Any]:
            meta = {"name": f"r{n}", "namespace": "resuming", "uid": f"r{n}",
                    "resourceVersion": str(20 + n)}  # fmt: skip
            return {"metadata": meta, "involvedObject": {"kind": "Pod", "name": "p"},
                    "reason": f"Step{n}", "lastTimestamp": f"2026-11-27T10:0{n}:00Z"}  # fmt: skip

        def resuming(req: Any) -> Any:
            if req.params.get("watch") != "true":
                return {"kind": "EventList", "apiVersion": "v1",
                        "metadata": {"resourceVersion": "20"}, "items": [event(0)]}  # fmt: skip
            since = int(req.params.get("resourceVersion", "0"))
            asked.append(str(since))
            later = [event(n) for n in range(1, 4) if 20 + n > since][:1]  # one, then cut
            lines = [json.dumps({"type": "ADDED", "object": e}).encode() + b"\n" for e in later]
            return b"".join(lines)

        k["get /api/v1/namespaces/resuming/events"] << resuming
        k["get /resuming/asked"] << (lambda: {"asked": asked})
        if objects_file is not None:
            for obj in json.loads(objects_file.read_text()):
                group, _, version = obj["apiVersion"].rpartition("/")
                plural = obj.pop("__plural__")
                meta = obj["metadata"]
                k.objects[
                    kmock.resource(group, version, plural), meta.get("namespace"), meta["name"]
                ] = obj
        print("kube-api ready", flush=True)
        if churn > 0:
            await churn_events(k, churn)  # runs until the process ends
        await asyncio.Event().wait()


#: What ``nvidia-smi`` prints in the driver pods, in its exact format (", " separated, no
#: units; ``[N/A]`` where the board has no such sensor: an SXM H100 has no fan). Written in the
#: upstream format; no GPU could be reached to record it from this task.
NVIDIA_SMI_GPUS = "".join(
    f"{i}, GPU-5b8e2d2a-0c1f-4a3e-9d4b-1e2f3a4b5c{i:02d}, NVIDIA H100 80GB HBM3, 550.90.07, "
    f"81559, {used}, {81559 - used - 478}, {util}, {mem}, {temp}, {power}, 700.00, [N/A]\n"
    for i, (used, util, mem, temp, power) in enumerate(
        [(74213, 98, 61, 71, "612.45"), (1, 0, 0, 31, "69.92"), (74213, 97, 60, 83, "655.10"),
         (1, 0, 0, 30, "[N/A]")]
    )
)  # fmt: skip
NVIDIA_SMI_APPS = (
    "GPU-5b8e2d2a-0c1f-4a3e-9d4b-1e2f3a4b5c00, 481516, /usr/bin/python3, 74200\n"
    "GPU-5b8e2d2a-0c1f-4a3e-9d4b-1e2f3a4b5c02, 481517, /usr/bin/python3, 74200\n"
)


async def serve_exec(port: int) -> Any:
    """pods/exec as the API server serves it: a WebSocket in the v4 channel protocol (one
    byte of channel, then data; channel 3 carries the final Status)."""
    from aiohttp import WSMsgType, web

    async def handle(request: web.Request) -> web.StreamResponse:
        who = request.headers.get("X-Remote-User", "")
        attrs = {"group": "", "resource": "pods", "subresource": "exec", "verb": "create"}
        if who not in USERS or not _rules_allow(USERS[who]["rules"], attrs):
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                    "reason": "Forbidden", "message": "pods \"exec\" is forbidden"}  # fmt: skip
            return web.json_response(body, status=403)
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io", "channel.k8s.io"))
        await ws.prepare(request)
        command = request.query.getall("command", [])
        if command[:1] == ["nvidia-smi"] and any(a.startswith("--query-gpu") for a in command):
            out, status = NVIDIA_SMI_GPUS, {"metadata": {}, "status": "Success"}
        elif command[:1] == ["nvidia-smi"]:
            out, status = NVIDIA_SMI_APPS, {"metadata": {}, "status": "Success"}
        else:
            out = ""
            causes = [{"reason": "ExitCode", "message": "127"}]
            status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                      "message": "command terminated with non-zero exit code",
                      "details": {"causes": causes}}  # fmt: skip
        if out:
            await ws.send_bytes(b"\x01" + out.encode())
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        async for msg in ws:  # drain until the client closes too
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/exec", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def main(
    port: int, exec_port: int, objects_file: Path | None, bare: bool, churn: float = 0.0
) -> None:
    runner = await serve_exec(exec_port)
    try:
        await serve(port, objects_file, bare=bare, churn=churn)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--exec-port", type=int, required=True)
    parser.add_argument("--objects", type=Path)
    parser.add_argument("--bare", action="store_true", help="plain Kubernetes: no operator CRDs")
    parser.add_argument(
        "--churn", type=float, default=0.0, metavar="N",
        help=f"create/update N Event objects a second in namespace {CHURN_NAMESPACE!r} (0: off)",
    )  # fmt: skip
    args = parser.parse_args()
    asyncio.run(main(args.port, args.exec_port, args.objects, args.bare, args.churn))
