"""The command line: the GUI by default, and script-friendly subcommands on the same services.

Exit codes a script can rely on:
  0 success; 1 runtime error (keyring, cache); 2 invalid input or usage;
  3 partial result (some clusters failed); 4 not found; 5 already exists.
Secrets are read only from stdin or a file, never from an argument (process lists, history).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

from aiops_desktop import __version__
from aiops_desktop.cli_outputs import (
    add_capture_commands,
    add_report_commands,
    capture_command,
    report_command,
    reports_command,
)
from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.models import (
    Aggregation,
    Cluster,
    ClusterKind,
    ClusterType,
    EndpointKind,
    Environment,
    Platform,
    QueryStatus,
)
from aiops_desktop.models.enums import Sensitivity, ValidationOutcome
from aiops_desktop.models.intelligence import ANOMALY_LOOKBACK
from aiops_desktop.secrets import SecretsError
from aiops_desktop.services.alerts import GroupBy, group_alerts
from aiops_desktop.services.capture import CaptureError, open_capture
from aiops_desktop.services.console import ConsoleRequest
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu import read_gpu_fleet
from aiops_desktop.services.kube import validate
from aiops_desktop.services.kubeconfig import KubeconfigError
from aiops_desktop.services.poller import Source
from aiops_desktop.services.ptp import read_ptp_board
from aiops_desktop.services.registry import (
    ClusterNotFoundError,
    ClusterSecrets,
    ClusterSpec,
    DuplicateClusterError,
    RegistryError,
)
from aiops_desktop.services.wall import PAGES, parse_pages
from aiops_desktop.settings import resolve_paths
from aiops_desktop.store import StoreError
from analysis.detect import SeriesInput
from analysis.ptp_compliance import Threshold, pct_text
from collectors.errors import CollectorError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_NOT_FOUND, EXIT_EXISTS = 0, 1, 2, 3, 4, 5
log = logging.getLogger("aiops.cli")


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _enum_arg(enum: type[Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return enum(text.upper().replace("-", "_"))
        except ValueError:
            choices = ", ".join(e.value for e in enum)
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {choices}") from None

    parse.__name__ = enum.__name__
    return parse


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> timedelta:
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 30s, 5m, 1h, 2d") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be positive")
    return timedelta(seconds=value * unit)


def _instant(text: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or a Unix timestamp."""
    try:
        when = (
            datetime.fromtimestamp(float(text), UTC)
            if text.replace(".", "", 1).isdigit()
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use e.g. 2026-11-27T06:00:00Z or a Unix timestamp"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use WIDTHxHEIGHT, e.g. 1400x900") from None
    if w < 200 or h < 150:
        raise argparse.ArgumentTypeError("the size must be at least 200x150")
    return w, h


def _add_data_commands(sub: Any) -> None:
    gpu = sub.add_parser("gpu", help="every GPU's state and health reasons (DCGM), worst first")
    gpu.add_argument(
        "--clusters", help="comma-separated names (default: every cluster with metrics)"
    )
    gpu.add_argument("--json", action="store_true")
    ptp = sub.add_parser("ptp", help="the PTP timing board of every cluster with compliance")
    ptp.add_argument("--clusters", help="comma-separated names (default: all with metrics)")
    ptp.add_argument("--window", type=_duration, default=timedelta(hours=1), metavar="DURATION")
    ptp.add_argument(
        "--until", type=_instant, metavar="TIME",
        help="end the window here (ISO 8601 or Unix time; default now): last night's incident",
    )  # fmt: skip
    ptp.add_argument(
        "--threshold-ns", type=float, default=100.0, metavar="NS",
        help="the +/- band for nodes whose PtpConfig profile sets no ptpClockThreshold",
    )  # fmt: skip
    ptp.add_argument("--json", action="store_true")

    query = sub.add_parser("query", help="run one PromQL over clusters in parallel")
    query.add_argument("promql")
    query.add_argument(
        "--clusters", help="comma-separated names (default: every cluster with metrics)"
    )
    query.add_argument(
        "--range", type=_duration, metavar="DURATION", help="range query over e.g. 1h"
    )
    query.add_argument("--step", type=_duration, default=timedelta(minutes=1), metavar="DURATION")
    query.add_argument(
        "--agg",
        type=_enum_arg(Aggregation),
        default=Aggregation.MERGE,
        help="merge (default), sum, avg, max, min across clusters",
    )
    query.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    query.add_argument("--json", action="store_true")

    alerts = sub.add_parser("alerts", help="firing alerts of every cluster, grouped")
    alerts.add_argument(
        "--group-by", type=GroupBy, choices=list(GroupBy), default=GroupBy.ALERTNAME
    )
    alerts.add_argument("--json", action="store_true")

    fleet = sub.add_parser("fleet", help="state, health and freshness of every cluster (one poll)")
    fleet.add_argument("--json", action="store_true")

    analyse = sub.add_parser(
        "analyse", help="find anomalies in a PromQL's series over a lookback (no LLM)"
    )
    analyse.add_argument("--query", required=True, metavar="PROMQL")
    analyse.add_argument(
        "--clusters", help="comma-separated names (default: every cluster with metrics)"
    )
    analyse.add_argument("--since", type=_duration, default=ANOMALY_LOOKBACK, metavar="DURATION")
    analyse.add_argument(
        "--step", type=_duration, metavar="DURATION", help="default: about 2,000 points"
    )
    analyse.add_argument(
        "--sensitivity",
        type=_enum_arg(Sensitivity),
        default=Sensitivity.MEDIUM,
        help="low (3.0), medium (2.5, default), high (2.0), extreme (1.5)",
    )
    analyse.add_argument("--unit", help="override the signal type by unit (%%, s, ns, celsius)")
    analyse.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")
    analyse.add_argument("--json", action="store_true")


def _add_kube_commands(clusters: Any) -> None:
    check = clusters.add_parser(
        "validate", help="check a cluster's API server, identity and what it may read (10 s)"
    )
    check.add_argument("name")
    check.add_argument("--json", action="store_true")

    endpoint = clusters.add_parser(
        "set-endpoint",
        help="your own endpoint URL (discovery never replaces it); no URL removes it",
    )
    endpoint.add_argument("name")
    endpoint.add_argument(
        "kind", type=_enum_arg(EndpointKind), help="PROMETHEUS, ALERTMANAGER, LOKI, TEMPO"
    )
    endpoint.add_argument("url", nargs="?", default=None)
    endpoint.add_argument(
        "--use-cluster-token", action="store_true", help="send the cluster's credential to it"
    )

    disc = clusters.add_parser(
        "discover", help="find a cluster's endpoints, operators and CNF workloads (and store them)"
    )
    disc.add_argument("name")
    disc.add_argument("--json", action="store_true")


def _add_wall_command(sub: Any) -> None:
    wall = sub.add_parser("wall", help="the NOC wall: locked, full screen, rotating pages")
    wall.add_argument("--screen", type=int, default=0, metavar="N", help="monitor (0: first)")
    wall.add_argument("--rotate", type=float, default=20.0, metavar="SECONDS")
    wall.add_argument(
        "--pages", type=parse_pages, default=list(PAGES), metavar="LIST",
        help=f"comma-separated, in order (default {','.join(PAGES)})",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops-desktop",
        description="AIOps Desktop: a NOC console for OpenShift/Kubernetes fleets.",
        epilog="Exit codes: 0 ok, 1 error, 2 invalid input, 3 partial, 4 not found, 5 exists.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", help="cache, logs and reports folder (or AIOPS_DESKTOP_HOME)")
    parser.add_argument("--verbose", "-v", action="store_true", help="also log to stderr")
    parser.add_argument(
        "--capture", type=Path, metavar="FILE",
        help="work on a capture (read-only, offline) instead of the cache",
    )  # fmt: skip
    gui = parser.add_argument_group("window")
    gui.add_argument("--offscreen", action="store_true", help="render without a display")
    gui.add_argument("--screenshot", metavar="PATH", help="save the window as PNG and exit")
    gui.add_argument("--view", default="main", help="view to open/screenshot (default: main)")
    gui.add_argument("--size", type=_size, default=(1400, 900), metavar="WxH")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    clusters = sub.add_parser("clusters", help="the cluster registry").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    ls = clusters.add_parser("list", help="list registered clusters")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    add = clusters.add_parser("add", help="register a cluster")
    add.add_argument("name", help="DNS-style name, e.g. prod-east-1")
    add.add_argument("--display-name", default="")
    add.add_argument("--api-url", help="API server URL (https)")
    for kind in ("prometheus", "alertmanager", "loki", "tempo"):
        add.add_argument(f"--{kind}-url", help=f"{kind.capitalize()} URL")
        add.add_argument(f"--{kind}-token-file", metavar="FILE", help=f"bearer token for {kind}")
    add.add_argument(
        "--kind",
        type=_enum_arg(ClusterKind),
        default=ClusterKind.CLUSTER,
        help="CLUSTER, or FLEET for a Thanos/ACM hub serving many clusters",
    )
    add.add_argument(
        "--type",
        type=_enum_arg(ClusterType),
        default=ClusterType.SPOKE,
        help="HUB, SPOKE (default), EDGE, FAR_EDGE",
    )
    add.add_argument("--platform", type=_enum_arg(Platform), default=Platform.KUBERNETES)
    add.add_argument("--environment", type=_enum_arg(Environment), default=Environment.PRODUCTION)
    add.add_argument("--region")
    add.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--ca-file", metavar="FILE", help="custom CA bundle (PEM)")
    auth = add.add_mutually_exclusive_group()
    auth.add_argument("--token-stdin", action="store_true", help="read the bearer token from stdin")
    auth.add_argument("--token-file", metavar="FILE", help="read the bearer token from a file")
    auth.add_argument("--kubeconfig", metavar="FILE", help="take the credentials of --context")
    auth.add_argument("--basic-user", metavar="USER", help="basic auth; password from stdin")
    auth.add_argument(
        "--client-cert", metavar="FILE", help="client certificate (with --client-key)"
    )
    add.add_argument("--context", help="the kubeconfig context for --kubeconfig")
    add.add_argument("--client-key", metavar="FILE")
    add.add_argument(
        "--endpoints-use-token",
        action="store_true",
        help="send the cluster credential to its Prometheus/Alertmanager too",
    )
    add.add_argument("--json", action="store_true")

    imp = clusters.add_parser("import-kubeconfig", help="register every context of a kubeconfig")
    imp.add_argument("file")
    imp.add_argument("--context", action="append", help="only these contexts (repeatable)")
    imp.add_argument("--json", action="store_true")

    rm = clusters.add_parser("remove", help="unregister a cluster and delete its credentials")
    rm.add_argument("name")

    _add_kube_commands(clusters)
    _add_data_commands(sub)
    _add_wall_command(sub)
    add_capture_commands(sub, _duration, _instant)
    add_report_commands(sub, _duration, _instant)
    return parser


def _read_secret_file(path: str, what: str) -> str:
    try:
        value = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CliError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    if not value:
        raise CliError(f"{what} file {path} is empty")
    return value


def _read_stdin(stdin: TextIO, what: str) -> str:
    value = stdin.read().strip()
    if not value:
        raise CliError(f"no {what} on standard input")
    return value


def _spec_and_secrets(
    args: argparse.Namespace, stdin: TextIO
) -> tuple[ClusterSpec, ClusterSecrets]:
    labels = {}
    for item in args.label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--label {item!r}: use KEY=VALUE")
        labels[key] = value
    ca_pem = None
    if args.ca_file:
        ca_pem = _read_secret_file(args.ca_file, "CA bundle")
        if "BEGIN CERTIFICATE" not in ca_pem:
            raise CliError(f"{args.ca_file} is not a PEM certificate bundle")
    urls = {
        EndpointKind.PROMETHEUS: args.prometheus_url,
        EndpointKind.ALERTMANAGER: args.alertmanager_url,
        EndpointKind.LOKI: args.loki_url,
        EndpointKind.TEMPO: args.tempo_url,
    }
    spec = ClusterSpec(
        name=args.name,
        api_server_url=args.api_url,
        display_name=args.display_name,
        kind=args.kind,
        cluster_type=args.type,
        platform=args.platform,
        environment=args.environment,
        region=args.region,
        labels=labels,
        endpoint_urls={k: v for k, v in urls.items() if v},
        ca_bundle_pem=ca_pem,
    )
    secrets = ClusterSecrets(endpoints_use_cluster_token=args.endpoints_use_token)
    if args.token_stdin:
        secrets.token = _read_stdin(stdin, "token")
    elif args.token_file:
        secrets.token = _read_secret_file(args.token_file, "token")
    elif args.basic_user:
        secrets.basic_username = args.basic_user
        secrets.basic_password = _read_stdin(stdin, "password")
    elif args.client_cert:
        if not args.client_key:
            raise CliError("--client-cert needs --client-key")
        secrets.client_cert_pem = _read_secret_file(args.client_cert, "client certificate")
        secrets.client_key_pem = _read_secret_file(args.client_key, "client key")
    for kind in ("prometheus", "alertmanager", "loki", "tempo"):
        path = getattr(args, f"{kind}_token_file")
        if path:
            secrets.endpoint_tokens[EndpointKind(kind.upper())] = _read_secret_file(path, "token")
    if args.kubeconfig and not args.context:
        raise CliError("--kubeconfig needs --context NAME")
    return spec, secrets


def _cluster_line(c: Any) -> str:
    tls = "" if c.tls_verify else "  [TLS NOT VERIFIED]"
    url = c.api_server_url or next((e.url for e in c.endpoints), "")
    score = c.status.health_score if c.status.last_check_at else "-"
    return (
        f"{c.name:<28} {c.status.state.value:<12} {score:>3}  "
        f"{c.cluster_type.value:<8} {c.environment.value:<11} {url}{tls}"
    )


async def _list(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    clusters = core.registry.clusters()
    if args.json:
        json.dump([c.model_dump(mode="json") for c in clusters], out, indent=2)
        out.write("\n")
    elif not clusters:
        out.write(
            "No clusters registered. Add one with `aiops-desktop clusters add` or "
            "`aiops-desktop clusters import-kubeconfig FILE`.\n"
        )
    else:
        out.write(f"{'NAME':<28} {'STATE':<12} {'HP':>3}  {'TYPE':<8} {'ENV':<11} URL\n")
        for c in clusters:
            out.write(_cluster_line(c) + "\n")
    return EXIT_OK


async def _add(core: Core, args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    spec, secrets = _spec_and_secrets(args, stdin)
    if args.kubeconfig or secrets.token or secrets.basic_password or secrets.client_key_pem:
        core.secrets.check()
    warnings: list[str] = []
    if args.kubeconfig:
        cluster, warnings = await core.registry.add_from_kubeconfig(
            spec, args.kubeconfig, args.context
        )
    else:
        cluster = await core.registry.add(spec, secrets)
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if args.json:
        out.write(cluster.model_dump_json(indent=2) + "\n")
    else:
        cred = cluster.credential.describe() if cluster.credential else "no credential"
        out.write(f"added {cluster.name} ({cred})\n")
    return EXIT_OK


async def _import(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    core.secrets.check()
    report = await core.registry.import_kubeconfig(args.file, args.context)
    for warning in report.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if args.json:
        payload = {
            "imported": [c.name for c in report.imported],
            "skipped": [{"context": c, "reason": r} for c, r in report.skipped],
            "warnings": report.warnings,
        }
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        for c in report.imported:
            out.write(f"imported {c.name} (context {c.display_name!r})\n")
        for ctx, reason in report.skipped:
            out.write(f"skipped context {ctx!r}: {reason}\n")
    if not report.imported:
        return EXIT_USAGE
    return EXIT_PARTIAL if report.skipped else EXIT_OK


async def _remove(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    removed = await core.registry.remove(args.name)
    out.write(f"removed {removed.name} and its credentials\n")
    return EXIT_OK


async def _validate(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    cluster = core.registry.get(args.name)
    result = await validate(cluster, core.secrets)
    if args.json:
        out.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        out.write(f"{result.cluster}: {result.outcome.value} - {result.reason}\n")
        if result.server:
            out.write(f"  server   {result.server}\n")
        if result.version:
            out.write(f"  version  {result.version} ({result.platform or '?'})\n")
        if result.user:
            out.write(f"  user     {result.user} (groups: {', '.join(result.groups) or '-'})\n")
        if result.permissions:
            can = len(result.permissions) - len(result.denied)
            out.write(f"  reads    {can} of {len(result.permissions)} the app uses\n")
        for p in result.denied:
            mark = "ESSENTIAL" if p.essential else "optional"
            out.write(f"  cannot   {p.need} ({p.why}; {mark})\n")
    return EXIT_OK if result.outcome is ValidationOutcome.VALID else EXIT_ERROR


async def _set_endpoint(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    if args.kind is EndpointKind.API_SERVER:
        raise CliError("the API server URL is not an endpoint; register the cluster again")
    cluster = await core.registry.set_endpoint(
        args.name, args.kind, args.url, use_cluster_token=args.use_cluster_token
    )
    chosen = cluster.endpoint(args.kind)
    what = f"{chosen.url} (yours: discovery keeps it)" if chosen else "removed"
    out.write(f"{cluster.name} {args.kind.value.lower()}: {what}\n")
    return EXIT_OK


async def _discover(core: Core, args: argparse.Namespace, out: TextIO, _stdin: TextIO) -> int:
    try:
        found = await core.discovery.run(args.name)
    except CollectorError as exc:
        raise CliError(f"discovery of {args.name} failed: {exc}", EXIT_ERROR) from exc
    if args.json:
        out.write(json.dumps(found.to_json(), indent=2) + "\n")
        return EXIT_OK
    caps = found.capabilities
    out.write(f"{found.cluster}: {found.platform.value} {found.platform_version or ''}\n")
    for f in found.endpoints:
        used = "used" if f.external else "in-cluster only, not used"
        out.write(f"  {f.kind.value.lower():<13} {f.url}  ({f.how}; {used})\n")
    if caps.gpu_count or caps.has_gpu_operator:
        models = ", ".join(caps.gpu_types) or "model unknown"
        operator = "GPU operator" if caps.has_gpu_operator else "no GPU operator"
        out.write(f"  gpu           {caps.gpu_count} GPUs on {caps.gpu_nodes} nodes ({models}); "
                  f"{operator}\n")  # fmt: skip
    if caps.has_ptp:
        out.write(f"  ptp           profiles {', '.join(found.ptp_profiles) or '-'}; "
                  f"{len(found.ptp_devices)} nodes with PTP devices\n")  # fmt: skip
    if caps.has_sriov:
        failed = [n for n, s in found.sriov_nodes.items() if s != "Succeeded"]
        out.write(f"  sr-iov        {len(found.sriov_nodes)} nodes ({len(failed)} not synced), "
                  f"networks {', '.join(found.sriov_networks) or '-'}\n")  # fmt: skip
    if found.cnf_namespaces:
        cnf = ", ".join(f"{ns} ({t})" for ns, t in sorted(found.cnf_namespaces.items()))
        out.write(f"  cnf           {cnf}\n")
    if found.absent:
        out.write(f"  not installed {', '.join(found.absent)}\n")
    if found.denied:
        out.write(f"  not readable  {', '.join(found.denied)}\n")
    if found.vanished:
        out.write(f"  VANISHED      {', '.join(found.vanished)} (found before, not now)\n")
    return EXIT_OK


_ACTIONS = {
    "list": _list,
    "add": _add,
    "import-kubeconfig": _import,
    "remove": _remove,
    "validate": _validate,
    "discover": _discover,
    "set-endpoint": _set_endpoint,
}


async def _clusters(core: Core, args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    await core.registry.load()
    return await _ACTIONS[args.action](core, args, out, stdin)


def _chosen_clusters(core: Core, names: str | None) -> list[Cluster]:
    """The named clusters, or every cluster with metrics; none at all is a usage error."""
    if names:
        return [core.registry.get(n.strip()) for n in names.split(",") if n.strip()]
    chosen = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.PROMETHEUS)]
    if not chosen:
        raise CliError("no cluster with a Prometheus endpoint is registered", EXIT_NOT_FOUND)
    return chosen


def _labels_text(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


async def _query(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    _chosen_clusters(core, args.clusters)  # says so when there is nothing to ask
    request = ConsoleRequest(
        promql=args.promql,
        clusters=[n.strip() for n in (args.clusters or "").split(",") if n.strip()],
        range_s=int(args.range.total_seconds()) if args.range else None,
        step_s=max(1, int(args.step.total_seconds())),
        aggregation=args.agg,
        timeout_s=args.timeout,
    )
    answer = await core.console.run(request)
    if args.json:
        out.write(answer.to_model().model_dump_json(indent=2) + "\n")
    else:
        out.write(f"{'CLUSTER':<20} {'POINTS':>6} {'LAST':>14}  SERIES\n")
        for tagged in answer.series:
            last = tagged.series.last
            value = f"{last[1]:.6g}" if last else "-"
            out.write(
                f"{tagged.cluster:<20} {tagged.series.values.size:>6} {value:>14}  "
                f"{_labels_text(tagged.series.labels)}\n"
            )
    for failed in answer.failures:
        sys.stderr.write(
            f"{answer.status.value}: {failed.cluster}: {failed.reason}: {failed.error}\n"
        )
    if answer.status is QueryStatus.ERROR:
        return EXIT_ERROR
    return EXIT_PARTIAL if answer.status is QueryStatus.PARTIAL else EXIT_OK


async def _alerts(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    sources = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)]
    if not sources:
        raise CliError("no cluster with an Alertmanager endpoint is registered", EXIT_NOT_FOUND)
    results = await asyncio.gather(*(core.poller.run_source(c, Source.ALERTS) for c in sources))
    alerts = [a for group in core.poller.alerts.values() for a in group]
    groups = group_alerts(alerts, args.group_by)
    if args.json:
        payload = {
            "alerts": [a.model_dump(mode="json") for a in alerts],
            "groups": [
                {
                    "key": g.key,
                    "severity": g.severity.value,
                    "count": len(g.alerts),
                    "clusters": g.clusters,
                    "namespaces": g.namespaces,
                }
                for g in groups
            ],
            "failed": [c.name for c, ok in zip(sources, results, strict=True) if not ok],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        out.write(f"{'SEVERITY':<9} {'COUNT':>5}  {args.group_by.value.upper():<28} CLUSTERS\n")
        for g in groups:
            out.write(
                f"{g.severity.value:<9} {len(g.alerts):>5}  {g.key:<28} {', '.join(g.clusters)}\n"
            )
    for cluster, ok in zip(sources, results, strict=True):
        if not ok:
            error = core.poller.status[(cluster.name, Source.ALERTS)].last_error
            sys.stderr.write(f"PARTIAL: {cluster.name}: {error}\n")
    return EXIT_OK if all(results) else (EXIT_PARTIAL if any(results) else EXIT_ERROR)


async def _fleet(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    await core.poller.poll_once()
    rows = []
    for c in core.registry.clusters():
        metrics = core.poller.status.get((c.name, Source.METRICS))
        age = metrics.age_s() if metrics else None
        rows.append(
            {
                "name": c.name,
                "kind": c.kind.value,
                "state": c.status.state.value,
                "health_score": c.status.health_score,
                "connectivity": c.status.connectivity.value,
                "metrics_age_s": None if age is None else round(age, 1),
                "stale": metrics.stale() if metrics else None,
                "alerts_firing": len(core.poller.alerts.get(c.name, [])),
                "hub_newest_sample_age_s": core.poller.hub_age_s.get(c.name),
                "last_error": c.status.last_error or (metrics.last_error if metrics else None),
            }
        )
    if args.json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        out.write(f"{'NAME':<24} {'STATE':<10} {'HP':>3} {'ALERTS':>6}  {'FRESHNESS':<12} ERROR\n")
        for r in rows:
            fresh = (
                "stale"
                if r["stale"]
                else (f"{r['metrics_age_s']:.0f}s ago" if r["metrics_age_s"] is not None else "-")
            )
            out.write(
                f"{r['name']:<24} {r['state']:<10} {r['health_score']:>3} {r['alerts_firing']:>6}  "
                f"{fresh:<12} {r['last_error'] or ''}\n"
            )
    down = [r for r in rows if r["state"] in ("OFFLINE", "DEGRADED")]
    return EXIT_PARTIAL if down and len(down) < len(rows) else (EXIT_ERROR if down else EXIT_OK)


async def _analyse(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    _chosen_clusters(core, args.clusters)  # says so when there is nothing to ask
    since = int(args.since.total_seconds())
    step = int(args.step.total_seconds()) if args.step else max(15, since // 2000)
    request = ConsoleRequest(
        promql=args.query,
        clusters=[n.strip() for n in (args.clusters or "").split(",") if n.strip()],
        range_s=since,
        step_s=max(1, step),
        aggregation=Aggregation.MERGE,
        timeout_s=args.timeout,
    )
    answer = await core.console.run(request)
    for failed in answer.failures:
        sys.stderr.write(
            f"{answer.status.value}: {failed.cluster}: {failed.reason}: {failed.error}\n"
        )
    if answer.status is QueryStatus.ERROR:
        return EXIT_ERROR
    inputs = [
        SeriesInput(
            t.cluster,
            args.query,
            {k: v for k, v in t.series.labels.items() if k != "__name__"},
            t.series.timestamps,
            t.series.values,
        )
        for t in answer.series
    ]
    found = await core.anomalies.analyse(inputs, sensitivity=args.sensitivity, unit=args.unit)
    found.sort(key=lambda a: a.timestamp)
    if args.json:
        out.write(
            json.dumps(
                {
                    "query": args.query,
                    "sensitivity": args.sensitivity.value,
                    "series": len(inputs),
                    "anomalies": [a.model_dump(mode="json") for a in found],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        out.write(f"{len(found)} anomalies in {len(inputs)} series over {args.since}\n")
        for a in found:
            out.write(
                f"{a.timestamp:%Y-%m-%d %H:%M:%S}  {a.cluster:<14} {a.severity.value:<6} "
                f"{a.type.value:<16} {_labels_text(a.labels)}  {a.explanation}\n"
            )
    return EXIT_PARTIAL if answer.status is QueryStatus.PARTIAL else EXIT_OK


def _unreadable(outcomes: list[Any]) -> list[str]:
    """One line per cluster that could not be read (each reader asks several queries)."""
    return sorted({f"{o.cluster}: {o.error}" for o in outcomes})


def _reader_exit(failed: list[str], *, found: bool) -> int:
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if found else EXIT_ERROR


async def _gpu(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    clusters = _chosen_clusters(core, args.clusters)
    fleet = await read_gpu_fleet(core.queries, clusters)
    failed = _unreadable(fleet.outcomes)
    if args.json:
        doc = {
            "summary": fleet.summary(),
            "gpus": [
                {**asdict(h.reading), "state": h.state.value, "reasons": h.reasons,
                 "high_utilisation": h.high_utilisation}
                for h in fleet.gpus
            ],
            "errors": failed,
        }  # fmt: skip
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        s = fleet.summary()
        states = ", ".join(f"{n} {k}" for k, n in sorted(s["by_state"].items())) or "none"
        out.write(f"{s['gpus']} GPUs on {s['nodes']} nodes of {s['clusters']} clusters: {states}\n")
        for h in fleet.gpus:
            r = h.reading
            mig = f" MIG {r.mig_profile}" if r.mig_profile else ""
            util = (
                "-"
                if r.util_pct is None
                else f"{r.util_pct:g}%" + (" HIGH" if h.high_utilisation else "")
            )
            temp = "-" if r.temperature_c is None else f"{r.temperature_c:g}C"
            pods = ", ".join(r.pods) or "-"
            out.write(f"{h.state.value:<8} {r.key:<34} {r.model + mig:<32} util {util:<9} "
                      f"temp {temp:<5} pods {pods}\n")  # fmt: skip
            for reason in h.reasons:
                out.write(f"         - {reason}\n")
        for line in failed:
            out.write(f"unreadable: {line}\n")
    return _reader_exit(failed, found=bool(fleet.gpus))


async def _ptp(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    clusters = _chosen_clusters(core, args.clusters)
    profiles, unread = await core.kube.ptp_thresholds()
    board = await read_ptp_board(
        core.queries, clusters, window=args.window, end=args.until,
        threshold=Threshold.symmetric(args.threshold_ns), thresholds=profiles,
    )  # fmt: skip
    failed = _unreadable(board.outcomes) + unread
    if args.json:
        rows = []
        for r in board.rows:
            row = asdict(r)
            row.pop("history")  # the chart's data, not a figure
            row["state"] = r.state.value
            rows.append(row)
        doc = {
            "window_s": board.window.total_seconds(),
            "threshold_ns": board.threshold.max_ns,
            "rows": rows,
            "errors": failed,
        }
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        hours = board.window.total_seconds() / 3600
        out.write(
            f"{len(board.rows)} PTP ports, worst first; compliance over {hours:g} h, "
            f"threshold {board.threshold.band} unless a PtpConfig profile sets one\n"
        )
        for r in board.rows:
            c = r.compliance
            offset = "-" if r.offset_ns is None else f"{r.offset_ns:g} ns"
            figures = (
                f"locked {pct_text(c.locked_pct)} within {pct_text(c.within_pct)} "
                f"holdover {c.holdover_s:g} s freerun {c.freerun_s:g} s"
                if c
                else "no history"
            )
            out.write(f"{r.state.value:<9} {r.cluster}/{r.node}/{r.iface} ({r.process}) "
                      f"{r.role} class {r.clock_class} offset {offset} | {figures}\n")  # fmt: skip
            for note in r.notes:
                out.write(f"          - {note}\n")
        for line in failed:
            out.write(f"unreadable: {line}\n")
    return _reader_exit(failed, found=bool(board.rows))


_COMMANDS = {
    "query": _query,
    "alerts": _alerts,
    "fleet": _fleet,
    "analyse": _analyse,
    "gpu": _gpu,
    "ptp": _ptp,
    "capture": capture_command,
    "report": report_command,
    "reports": reports_command,
}


async def _loaded(core: Core, command: Any, args: argparse.Namespace, out: TextIO) -> int:
    await core.registry.load()
    result: int = await command(core, args, out)
    return result


def _run(core: Core, coro_factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    async def main() -> int:
        try:
            return await coro_factory()
        finally:
            await core.supervisor.shutdown()
            await core.pool.aclose()

    return asyncio.run(main())


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"aiops-desktop: error: {message}\n")
    raise SystemExit(code)


#: errors a person can act on, and the exit code each gets (the first match counts)
_EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (ClusterNotFoundError, EXIT_NOT_FOUND),
    (DuplicateClusterError, EXIT_EXISTS),
    (RegistryError, EXIT_USAGE),
    (KubeconfigError, EXIT_USAGE),
    (CaptureError, EXIT_USAGE),
    (SecretsError, EXIT_ERROR),
    (StoreError, EXIT_ERROR),
)
_EXPECTED = (CliError, *(kind for kind, _ in _EXIT_CODES))


def _exit_code(exc: Exception) -> int:
    if isinstance(exc, CliError):
        return exc.code
    return next(code for kind, code in _EXIT_CODES if isinstance(exc, kind))


def main(
    argv: list[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> int:
    args = build_parser().parse_args(argv)
    paths = resolve_paths(args.data_dir)
    if args.command == "capture" and args.action == "open":
        args.capture, args.command = args.file, None
    if args.command is None:
        from aiops_desktop.app import run_gui

        return run_gui(args, paths)
    if args.command == "wall":
        from aiops_desktop.wall_app import run_wall

        return run_wall(args, paths)
    configure_logging(paths.ensure().log_file, stderr=args.verbose)
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    try:
        core = open_capture(args.capture) if args.capture else Core.open(paths)
    except _EXPECTED as exc:
        _fail(str(exc), _exit_code(exc))
    try:
        for notice in core.notices:
            sys.stderr.write(f"aiops-desktop: {notice}\n")
        if args.command == "clusters":
            return _run(core, lambda: _clusters(core, args, out, stdin))
        return _run(core, lambda: _loaded(core, _COMMANDS[args.command], args, out))
    except _EXPECTED as exc:
        _fail(str(exc), _exit_code(exc))
    finally:
        core.close()
        shutdown_logging()
