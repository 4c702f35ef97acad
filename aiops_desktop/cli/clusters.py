"""``aiops-desktop clusters ...``: the cluster registry (list, add, import a kubeconfig, remove,
validate, set an endpoint, discover)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from aiops_desktop.cli.args import (
    JSON_HELP,
    Io,
    enum_arg,
    examples,
    json_text,
    read_secret_file,
    read_stdin,
)
from aiops_desktop.models import ClusterKind, ClusterType, EndpointKind, Environment, Platform
from aiops_desktop.models.cluster import validate_ca_bundle
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    AppError,
    UsageError,
)
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.models.text import age_text
from aiops_desktop.services.clusters.registry import (
    BASIC_NOT_FOR_API,
    CredentialsNotDeletedError,
)
from aiops_desktop.services.runtime.access import Action
from collectors.errors import CollectorError

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core


ALLOW_EXEC_HELP = (
    "import contexts whose credential runs a command (an exec plugin, such as oc or "
    "kubelogin) or asks an identity provider, or sends a token file from outside the "
    "kubeconfig's folder (in ~/.kube or ~/.minikube) as its bearer token: without it they "
    "are skipped, with the command they would run or the file they would send"
)
#: what a kubeconfig context gives, so ``clusters add --kubeconfig`` refuses them given too
KUBECONFIG_GIVES = ("api_url", "ca_file", "endpoints_use_token")


def _values(enum: type[Any]) -> str:
    return ", ".join(e.value for e in enum)


def add_commands(sub: Any) -> None:
    clusters = sub.add_parser(
        "clusters", help="the cluster registry: list, add, import, validate, discover",
        epilog=examples(
            "aiops-desktop clusters list",
            "aiops-desktop clusters import-kubeconfig ~/.kube/config",
            "aiops-desktop clusters validate prod-east-1",
        ),
    ).add_subparsers(dest="action", metavar="ACTION", required=True, help="what to do")  # fmt: skip
    ls = clusters.add_parser(
        "list", help="list registered clusters and their last endpoint check",
        epilog=examples("aiops-desktop clusters list", "aiops-desktop clusters list --json"),
    )  # fmt: skip
    ls.add_argument("--json", action="store_true", help=JSON_HELP)

    add = clusters.add_parser(
        "add", help="register a cluster; a secret is read from stdin or a file, never an argument",
        epilog=examples(
            "aiops-desktop clusters add prod-east-1 --api-url https://api.prod-east-1.example:6443"
            " --token-file ~/secrets/prod-east-1.token",
            "aiops-desktop clusters add ran-east --prometheus-url https://thanos.ran-east.example"
            " --prometheus-token-file prom.token --type edge --environment production"
            " --label site=east",
            "aiops-desktop clusters add acm-hub --kind fleet --type hub"
            " --prometheus-url https://thanos.hub.example --token-stdin < hub.token",
            "aiops-desktop clusters add lab-1 --kubeconfig ~/.kube/config --context lab-1-admin",
        ),
    )  # fmt: skip
    add.add_argument("name", help="DNS-style name, e.g. prod-east-1")
    add.add_argument(
        "--display-name",
        default="",
        metavar="TEXT",
        help="name shown in the window (default: the name; with --kubeconfig, the context)",
    )
    add.add_argument("--api-url", metavar="URL", help="Kubernetes API server URL (https)")
    for kind in ("prometheus", "alertmanager", "loki", "tempo"):
        what = "Prometheus or Thanos Querier" if kind == "prometheus" else kind.capitalize()
        add.add_argument(f"--{kind}-url", metavar="URL", help=f"{what} URL (https)")
        add.add_argument(
            f"--{kind}-token-file", metavar="FILE",
            help=f"file holding the bearer token for {kind.capitalize()}",
        )  # fmt: skip
    add.add_argument(
        "--kind",
        type=enum_arg(ClusterKind),
        default=ClusterKind.CLUSTER,
        help="CLUSTER, or FLEET for a Thanos/ACM hub serving many clusters",
    )
    add.add_argument(
        "--type",
        type=enum_arg(ClusterType),
        default=ClusterType.SPOKE,
        help=f"the cluster's role: {_values(ClusterType)}",
    )
    add.add_argument("--platform", type=enum_arg(Platform), default=Platform.KUBERNETES,
                     help=_values(Platform))  # fmt: skip
    add.add_argument("--environment", type=enum_arg(Environment),
                     default=Environment.PRODUCTION, help=_values(Environment))  # fmt: skip
    add.add_argument("--region", metavar="TEXT", help="free text, e.g. us-east or site-12")
    add.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                     help="a label, e.g. site=east (repeatable)")  # fmt: skip
    add.add_argument("--ca-file", metavar="FILE", help="custom CA bundle (PEM)")
    auth = add.add_mutually_exclusive_group()
    auth.add_argument(
        "--token-stdin", action="store_true",
        help="read the bearer token from stdin (the API server's; without --api-url, the "
        "endpoints')",
    )  # fmt: skip
    auth.add_argument(
        "--token-file", metavar="FILE",
        help="read the bearer token from a file (the API server's; without --api-url, the "
        "endpoints')",
    )  # fmt: skip
    auth.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="take the server, CA and credentials of --context from this kubeconfig",
    )
    auth.add_argument(
        "--basic-user", metavar="USER",
        help="basic auth for the endpoints (without --api-url); password from stdin. Not for "
        "the API server: a Kubernetes API client never sends a password",
    )  # fmt: skip
    auth.add_argument(
        "--client-cert", metavar="FILE", help="client certificate, PEM (with --client-key)"
    )
    add.add_argument("--context", metavar="NAME", help="the kubeconfig context for --kubeconfig")
    add.add_argument("--allow-exec", action="store_true", help=ALLOW_EXEC_HELP)
    add.add_argument("--client-key", metavar="FILE", help="client key, PEM (with --client-cert)")
    add.add_argument(
        "--endpoints-use-token",
        action="store_true",
        help="also send the cluster credential to every endpoint given without a token of "
        "its own: Prometheus, Alertmanager, Loki, Tempo (without --api-url they always get it)",
    )
    add.add_argument("--json", action="store_true", help=JSON_HELP)

    imp = clusters.add_parser(
        "import-kubeconfig", help="register every context of a kubeconfig",
        epilog=examples(
            "aiops-desktop clusters import-kubeconfig ~/.kube/config",
            "aiops-desktop clusters import-kubeconfig ~/.kube/config --context prod-east-1"
            " --context prod-west-2",
        ),
    )  # fmt: skip
    imp.add_argument("file", help="the kubeconfig file")
    imp.add_argument("--context", action="append", metavar="NAME",
                     help="only this context (repeatable; default: every context)")  # fmt: skip
    imp.add_argument("--allow-exec", action="store_true", help=ALLOW_EXEC_HELP)
    imp.add_argument("--json", action="store_true", help=JSON_HELP)

    rm = clusters.add_parser(
        "remove", help="unregister a cluster and delete its credentials",
        epilog=examples("aiops-desktop clusters remove lab-1"),
    )  # fmt: skip
    rm.add_argument("name", help="the registered name")

    check = clusters.add_parser(
        "validate", help="check a cluster's API server, identity and what it may read (10 s)",
        epilog=examples(
            "aiops-desktop clusters validate prod-east-1",
            "aiops-desktop clusters validate prod-east-1 --json",
        ),
    )  # fmt: skip
    check.add_argument("name", help="the registered name")
    check.add_argument("--json", action="store_true", help=JSON_HELP)

    endpoint = clusters.add_parser(
        "set-endpoint",
        help="your own endpoint URL (discovery never replaces it); no URL removes it",
        epilog=examples(
            "aiops-desktop clusters set-endpoint prod-east-1 prometheus"
            " https://thanos-querier.prod-east-1.example --use-cluster-token",
            "aiops-desktop clusters set-endpoint prod-east-1 loki  # remove your Loki URL",
        ),
    )
    endpoint.add_argument("name", help="the registered name")
    endpoint.add_argument(
        "kind", type=enum_arg(EndpointKind), help="PROMETHEUS, ALERTMANAGER, LOKI or TEMPO"
    )
    endpoint.add_argument("url", nargs="?", default=None,
                          help="the endpoint's URL (https); none removes it")  # fmt: skip
    endpoint.add_argument(
        "--use-cluster-token", action="store_true",
        help="send the cluster's credential to it (without this, an endpoint's own token "
        "stays with it at its new URL)",
    )  # fmt: skip

    disc = clusters.add_parser(
        "discover", help="find a cluster's endpoints, operators and CNF workloads (and store them)",
        epilog=examples(
            "aiops-desktop clusters discover prod-east-1",
            "aiops-desktop clusters discover ran-east --json",
        ),
    )  # fmt: skip
    disc.add_argument("name", help="the registered name")
    disc.add_argument("--json", action="store_true", help=JSON_HELP)

    for action, handler in ACTIONS.items():
        clusters.choices[action].set_defaults(handler=handler)


def _ca_bundle(path: str) -> str:
    """The CA bundle ``--ca-file`` names: PEM certificates, and no key (a combined
    certificate + key PEM would put the key into the cache and ``clusters list --json``)."""
    ca_pem = read_secret_file(path, "CA bundle")
    if "BEGIN CERTIFICATE" not in ca_pem:
        raise UsageError(f"{path} is not a PEM certificate bundle")
    try:
        validate_ca_bundle(ca_pem)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}; give a file of the CA certificates alone") from None
    return ca_pem


def _spec_and_secrets(
    args: argparse.Namespace, stdin: TextIO
) -> tuple[ClusterSpec, ClusterSecrets]:
    labels = {}
    for item in args.label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--label {item!r}: use KEY=VALUE")
        labels[key] = value
    ca_pem = _ca_bundle(args.ca_file) if args.ca_file else None
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
        secrets.token = read_stdin(stdin, "token")
    elif args.token_file:
        secrets.token = read_secret_file(args.token_file, "token")
    elif args.basic_user:
        if args.api_url:  # refused before the password is asked for
            raise UsageError(f"--basic-user: {BASIC_NOT_FOR_API}")
        secrets.basic_username = args.basic_user
        secrets.basic_password = read_stdin(stdin, "password")
    elif args.client_cert:
        if not args.client_key:
            raise UsageError("--client-cert needs --client-key")
        secrets.client_cert_pem = read_secret_file(args.client_cert, "client certificate")
        secrets.client_key_pem = read_secret_file(args.client_key, "client key")
    for kind in ("prometheus", "alertmanager", "loki", "tempo"):
        path = getattr(args, f"{kind}_token_file")
        if path:
            secrets.endpoint_tokens[EndpointKind(kind.upper())] = read_secret_file(path, "token")
    if args.kubeconfig:
        _kubeconfig_alone(args)
    return spec, secrets


def _kubeconfig_alone(args: argparse.Namespace) -> None:
    """``--kubeconfig`` takes what its context gives: given as well, the server and CA were
    silently dropped. An endpoint's own token it does not give (a context of an exec plugin
    has none to share): that is taken."""
    if not args.context:
        raise UsageError("--kubeconfig needs --context NAME")
    given = [f"--{o.replace('_', '-')}" for o in KUBECONFIG_GIVES if getattr(args, o)]
    if given:
        raise UsageError(
            f"{', '.join(given)}: --kubeconfig takes the server, CA and credentials from its "
            "context; leave these out, or --kubeconfig"
        )


def _last_check(c: Any, now: datetime) -> str:
    """The endpoint check's facts (reachability, not the cluster's state: that is the fleet's
    one truth's, `fleet`)."""
    status = c.status
    if status.last_check_at is None:
        return "never"
    up = sum(1 for ok in status.endpoint_health.values() if ok)
    ago = age_text((now - status.last_check_at).total_seconds())
    return f"{up}/{len(status.endpoint_health)} up, {ago}"


def _cluster_line(c: Any, now: datetime) -> str:
    tls = "" if c.tls_verify else "  [TLS NOT VERIFIED]"
    url = c.api_server_url or next((e.url for e in c.endpoints), "")
    return (
        f"{c.name:<28} {c.cluster_type.value:<8} {c.environment.value:<11} "
        f"{_last_check(c, now):<18} {url}{tls}"
    )


def _listed(c: Any) -> dict[str, Any]:
    """A cluster as `clusters list --json` gives it: its registration and its last endpoint
    check; never a state or score of its own (those are `fleet`'s)."""
    doc: dict[str, Any] = c.model_dump(mode="json")
    check = doc.pop("status")
    check.pop("state", None)
    check.pop("health_score", None)
    doc["last_check"] = check
    return doc


async def _list(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    clusters = core.registry.clusters()
    if args.json:
        out.write(json_text([_listed(c) for c in clusters]) + "\n")
    elif not clusters:
        out.write(
            "No clusters registered. Add one with `aiops-desktop clusters add` or "
            "`aiops-desktop clusters import-kubeconfig FILE`.\n"
        )
    else:
        now = core.now()
        out.write(f"{'NAME':<28} {'TYPE':<8} {'ENV':<11} {'LAST CHECK':<18} URL\n")
        for c in clusters:
            out.write(_cluster_line(c, now) + "\n")
        out.write("States and findings: `aiops-desktop fleet` (it reads every source).\n")
    return EXIT_OK


async def _add(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    core.access.require(Action.MANAGE_CLUSTERS)  # before the keyring or stdin is touched
    await core.registry.sweep_orphans()  # what a crash may have left in the keyring
    spec, secrets = _spec_and_secrets(args, io.stdin)
    warnings: list[str] = []
    if args.kubeconfig:
        cluster, warnings = await core.registry.add_from_kubeconfig(
            spec, args.kubeconfig, args.context, allow_exec=args.allow_exec,
            endpoint_tokens=secrets.endpoint_tokens,
        )  # fmt: skip
    else:
        cluster = await core.registry.add(spec, secrets)
    for warning in warnings:
        io.err.write(f"warning: {warning}\n")
    if args.json:
        out.write(cluster.model_dump_json(indent=2) + "\n")
    else:
        cred = cluster.credential.describe() if cluster.credential else "no credential"
        out.write(f"added {cluster.name} ({cred})\n")
    return EXIT_OK


async def _import(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    core.access.require(Action.MANAGE_CLUSTERS)  # before the keyring or stdin is touched
    await core.registry.sweep_orphans()  # what a crash may have left in the keyring
    report = await core.registry.import_kubeconfig(
        args.file, args.context, allow_exec=args.allow_exec
    )
    for warning in report.warnings:
        io.err.write(f"warning: {warning}\n")
    if args.json:
        payload = {
            "imported": [c.name for c in report.imported],
            "replaced": [c.name for c in report.replaced],
            "skipped": [{"context": c, "reason": r} for c, r in report.skipped],
            "warnings": report.warnings,
        }
        out.write(json_text(payload) + "\n")
    else:
        for c in report.imported:
            out.write(f"imported {c.name} (context {c.display_name!r})\n")
        for c in report.replaced:  # registered by an import before: the same cluster
            context = c.credential.context if c.credential else c.display_name
            out.write(f"credential replaced: {c.name} (context {context!r})\n")
        for ctx, reason in report.skipped:
            out.write(f"skipped context {ctx!r}: {reason}\n")
    if not report.imported and not report.replaced:
        return EXIT_USAGE
    return EXIT_PARTIAL if report.skipped else EXIT_OK


async def _remove(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    core.access.require(Action.MANAGE_CLUSTERS)  # before the keyring or stdin is touched
    await core.registry.sweep_orphans()  # what a crash may have left in the keyring
    try:
        removed = await core.registry.remove(args.name)
    except CredentialsNotDeletedError as exc:  # removed; a credential waits for the keyring
        out.write(f"removed {exc.cluster.name}\n")
        io.err.write(f"warning: {exc}\n")
        return exc.exit_code
    out.write(f"removed {removed.name} and its credentials\n")
    return EXIT_OK


async def _validate(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    cluster = core.registry.get(args.name)
    result = await core.kube.validate(cluster.name)
    if args.json:
        out.write(json_text(result.to_json()) + "\n")
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


async def _set_endpoint(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    if args.kind is EndpointKind.API_SERVER:
        raise UsageError("the API server URL is not an endpoint; register the cluster again")
    code = EXIT_OK
    try:
        cluster = await core.registry.set_endpoint(
            args.name, args.kind, args.url, use_cluster_token=args.use_cluster_token
        )
    except CredentialsNotDeletedError as exc:  # set; its old token waits for the keyring
        cluster, code = exc.cluster, exc.exit_code
        io.err.write(f"warning: {exc}\n")
    chosen = cluster.endpoint(args.kind)
    what = f"{chosen.url} (yours: discovery keeps it)" if chosen else "removed"
    out.write(f"{cluster.name} {args.kind.value.lower()}: {what}\n")
    return code


async def _discover(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    try:
        found = await core.discovery.run(args.name)
    except CollectorError as exc:
        raise AppError(f"discovery of {args.name} failed: {exc}") from exc
    if args.json:
        out.write(json_text(found.to_json()) + "\n")
        return EXIT_OK
    caps = found.capabilities
    out.write(f"{found.cluster}: {found.platform.value} {found.platform_version or ''}\n")
    for f in found.endpoints:
        used = "used" if f.external else "not used"  # why is in ``how``: in-cluster, no tenant
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
    if found.unreadable:  # a read they come from was denied: what was known is kept
        out.write(f"  unreadable    {', '.join(found.unreadable)} (kept as before)\n")
    if found.vanished:
        out.write(f"  VANISHED      {', '.join(found.vanished)} (found before, not now)\n")
    return EXIT_OK


ACTIONS = {
    "list": _list,
    "add": _add,
    "import-kubeconfig": _import,
    "remove": _remove,
    "validate": _validate,
    "discover": _discover,
    "set-endpoint": _set_endpoint,
}
