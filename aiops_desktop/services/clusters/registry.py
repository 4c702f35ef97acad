"""The cluster registry: add, edit, remove, import kubeconfigs, apply health checks.

Secrets go to the keyring (in a worker thread); the cluster row stores only references. The
registry keeps the clusters in memory after ``load`` so views never wait on SQLite, and
publishes ``CLUSTERS_CHANGED`` on the bus after every change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn
from uuid import UUID, uuid4

from pydantic import ValidationError

from aiops_desktop.logs import redact
from aiops_desktop.models import (
    AuthMethod,
    Cluster,
    ClusterKind,
    ClusterState,
    CredentialKind,
    CredentialRef,
    EndpointKind,
    FleetSummary,
    HealthRecord,
    utcnow,
)
from aiops_desktop.models.cluster import Endpoint, refuse_query
from aiops_desktop.models.enums import EndpointSource
from aiops_desktop.models.errors import (
    EXIT_EXISTS,
    EXIT_NOT_FOUND,
    EXIT_PARTIAL,
    AlreadyExistsError,
    AppError,
    NotFoundError,
    UsageError,
)
from aiops_desktop.models.registry import (
    ClusterSecrets,
    ClusterSpec,
    ImportReport,
    KubeconfigContext,
)
from aiops_desktop.models.text import cut_line
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters import health
from aiops_desktop.services.clusters.connections import (
    credential_may_travel,
    no_static_token,
    stored_json,
)
from aiops_desktop.services.clusters.kubeconfig import (
    MAX_STORED_TOTAL,
    bearer_token,
    read_contexts,
)
from aiops_desktop.services.runtime.access import Access, Action
from aiops_desktop.services.runtime.bus import CLUSTER_REMOVED, CLUSTERS_CHANGED, EventBus
from aiops_desktop.store.bodies import DamagedRowError
from aiops_desktop.store.clusters import ClusterRepository
from aiops_desktop.store.credential_keys import CredentialKeyRepository
from aiops_desktop.store.health import HealthRepository
from collectors.auth import check_client_pair
from collectors.errors import CollectorAuthError

log = logging.getLogger("aiops.services.registry")
#: how often a running app looks for clusters another process added to its cache
ADOPT_INTERVAL_S = 15.0
#: how long a keyring entry without its cluster may be a cluster being added (by this process
#: or another) before the sweep takes it for an orphan; an add takes milliseconds
ORPHAN_GRACE = timedelta(minutes=2)
#: names an imported context tries when the cache holds names this process has not read yet
#: (each retry reads them all: only a name taken again meanwhile needs another)
IMPORT_NAME_TRIES = 3
#: the most of a health check's error kept (last_error, a health record): a line or two of
#: each endpoint's reason, never a server's whole page
ERROR_CHARS = 500
#: the least of it each endpoint's reason keeps when a check has several
ERROR_SHARE = 80
#: why a cluster with an API server takes no basic auth: the Kubernetes API client never
#: sends one (registered, its API server was never reached); endpoints alone may take it
BASIC_NOT_FOR_API = (
    "basic auth is not for the API server: a Kubernetes API client sends a token or a client "
    "certificate, never a password; give one of those (--token-file, --token-stdin, "
    "--client-cert, --kubeconfig), or register the endpoints alone (no --api-url) with basic "
    "auth"
)


def _taken_meanwhile(name: str, exc: sqlite3.IntegrityError) -> NoReturn:
    """A save the cache refused because another process (the CLI, another window) registered
    ``name`` since this one read it (``adopt_added`` takes it in up to ADOPT_INTERVAL_S
    later) is a DuplicateClusterError; any other refusal is raised as it is."""
    if "clusters.name" not in str(exc):
        raise exc
    raise DuplicateClusterError(
        f"a cluster named {name!r} is already registered (by another process, meanwhile)"
    ) from exc


class RegistryError(UsageError):
    """A registry request that cannot be done; the message is for the user."""


class DuplicateClusterError(RegistryError, AlreadyExistsError):
    exit_code = EXIT_EXISTS


class ClusterNotFoundError(RegistryError, NotFoundError):
    exit_code = EXIT_NOT_FOUND


class CredentialsNotDeletedError(AppError):
    """The change was made, but keyring entries it no longer needs could not be deleted
    (the keyring is locked or gone): they stay recorded, and ``sweep_orphans`` deletes them
    once the keyring answers. ``cluster``: the cluster as the change left it (the removed
    one, for a removal); ``kept``: the entries left."""

    exit_code = EXIT_PARTIAL

    def __init__(self, done: str, cluster: Cluster, kept: list[CredentialRef], why: str) -> None:
        self.cluster = cluster
        self.kept = kept
        n = len(kept)
        message = (
            f"{done}, but {n} credential{'s' if n != 1 else ''} of it could not be deleted from "
            f"the OS keyring: {'they stay' if n != 1 else 'it stays'} recorded, and the next "
            "clean-up deletes it once the keyring answers (the app's maintenance, or any "
            f"`aiops-desktop clusters` change). {why}"
        )
        super().__init__(message.rstrip())


def validation_message(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "cluster"
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {msg}")
    return "; ".join(lines)


def cluster_credential_auth(ref: CredentialRef) -> AuthMethod:
    """How an endpoint presents the cluster's own credential (OpenShift routes take its
    token; a kubeconfig context's token is read from the context)."""
    return {
        CredentialKind.BEARER_TOKEN: AuthMethod.BEARER,
        CredentialKind.KUBECONFIG_CONTEXT: AuthMethod.BEARER,
        CredentialKind.CLIENT_CERTIFICATE: AuthMethod.MTLS,
        CredentialKind.BASIC_AUTH: AuthMethod.BASIC,
    }[ref.kind]


class ClusterRegistry:
    def __init__(
        self,
        clusters: ClusterRepository,
        history: HealthRepository,
        secrets: SecretStore,
        bus: EventBus,
        *,
        keys: CredentialKeyRepository | None = None,
        read_only: str | None = None,
        access: Access | None = None,
    ) -> None:
        """``keys``: the record of keyring entries written (so none is orphaned);
        ``read_only``: why nothing may change (an opened capture): every change says so."""
        self.read_only = read_only
        self._access = access or Access()
        self._keys = keys
        self._repo = clusters
        self._history = history
        self._secrets = secrets
        self._bus = bus
        self._clusters: dict[UUID, Cluster] = {}
        #: the clusters this process removed: one read from the cache before its deletion
        #: committed is not taken back in (``adopt_added``)
        self._removed: set[UUID] = set()
        #: each cluster's ``updated_at`` as this process last loaded or saved its row, and
        #: those of its saves still queued: a row stored with another was changed by another
        #: process (compared, not ordered: a wall clock stepped back stamps it earlier)
        self._versions: dict[UUID, list[datetime]] = {}
        self._reachability: dict[UUID, deque[bool]] = defaultdict(
            lambda: deque(maxlen=health.CONNECTIVITY_WINDOW)
        )

    # -- reading ---------------------------------------------------------------------------
    async def load(self) -> list[Cluster]:
        loaded = await asyncio.to_thread(self._repo.list)
        self._clusters = {c.id: c for c in loaded}
        self._versions = {c.id: [c.updated_at] for c in loaded}
        self._publish()
        return self.clusters()

    def clusters(self) -> list[Cluster]:
        return sorted(self._clusters.values(), key=lambda c: c.name)

    async def adopt_added(self) -> list[Cluster]:
        """The clusters another process sharing the cache (the CLI's ``clusters add``,
        ``import-kubeconfig``) registered since this one read it, taken in (their polling
        starts); and those it removed (``clusters remove``), let go with CLUSTER_REMOVED, as
        a removal here (a row damaged since is still registered: kept). What another
        process changed is taken in at the cluster's next health check (``apply_check``)."""
        known = set(self._clusters)  # one added here while the cache is read is not gone
        stored, ids = await asyncio.to_thread(lambda: (self._repo.list(), self._repo.ids()))
        gone = [self._clusters[i] for i in known - ids if i in self._clusters]
        for cluster in gone:
            self._let_go(cluster)
        if gone:
            self._publish()
        for cluster in gone:
            self._bus.publish(CLUSTER_REMOVED, cluster)
        names = {c.name for c in self._clusters.values()}
        added = [c for c in stored if c.id not in self._clusters
                 and c.id not in self._removed and c.name not in names]  # fmt: skip
        for cluster in added:
            self._clusters[cluster.id] = cluster
            self._versions[cluster.id] = [cluster.updated_at]
            log.info("cluster added elsewhere", extra={"cluster": cluster.name})
        if added:
            self._publish()
        return added

    async def follow_store(self, interval_s: float = ADOPT_INTERVAL_S) -> None:
        """``adopt_added`` every ``interval_s`` while the app runs (a failed read is logged
        and tried again: the loop never ends on an error)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.adopt_added()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a locked or damaged cache: the next round
                log.warning("clusters added elsewhere not read",
                            extra={"error": f"{type(exc).__name__}: {exc}"})  # fmt: skip

    def get(self, name: str) -> Cluster:
        for cluster in self._clusters.values():
            if cluster.name == name:
                return cluster
        raise ClusterNotFoundError(f"no cluster named {name!r} is registered")

    def hubs_of(self, name: str) -> list[Cluster]:
        """The fleet hubs a member cluster's data comes through, by name ([] for a registered
        cluster, or a name no hub has named)."""
        if any(c.name == name for c in self._clusters.values()):
            return []
        return sorted(
            (c for c in self._clusters.values()
             if c.kind is ClusterKind.FLEET and name in c.status.members),
            key=lambda c: c.name,
        )  # fmt: skip

    def hub_of(self, name: str) -> Cluster | None:
        """The hub a member is listed under (the first by name of those naming it)."""
        hubs = self.hubs_of(name)
        return hubs[0] if hubs else None

    def targets(self, names: Iterable[str]) -> tuple[list[Cluster], frozenset[str] | None]:
        """What to ask for ``names``: each registered cluster itself, each hub member its hubs;
        and which clusters' series to keep from the answers (None: all of them). A name
        neither registered nor named by a hub is not found."""
        clusters: dict[str, Cluster] = {}
        keep: set[str] = set()
        members = False
        for name in names:
            hubs = self.hubs_of(name)
            if not hubs:
                cluster = self.get(name)
                clusters[cluster.name] = cluster
                keep.add(cluster.name)
                if cluster.kind is ClusterKind.FLEET:
                    keep.update(self.members(cluster))
            else:  # every hub that names it: each may hold other series of it
                clusters.update((hub.name, hub) for hub in hubs)
                keep.add(name)
                members = True
        return list(clusters.values()), frozenset(keep) if members else None

    def fleet_summary(self) -> FleetSummary:
        clusters = self.clusters()
        summary = FleetSummary(total=len(clusters))
        for c in clusters:
            summary.by_state[c.status.state] = summary.by_state.get(c.status.state, 0) + 1
            summary.by_type[c.cluster_type] = summary.by_type.get(c.cluster_type, 0) + 1
            summary.by_environment[c.environment] = summary.by_environment.get(c.environment, 0) + 1
            summary.total_gpus += c.capabilities.gpu_count
            summary.clusters_with_cnf += int(c.capabilities.has_cnf)
        checked = [c.status.health_score for c in clusters if c.status.last_check_at]
        summary.average_health = sum(checked) / len(checked) if checked else None
        return summary

    async def health_history(self, name: str, since: datetime | None = None) -> list[HealthRecord]:
        cluster = self.get(name)
        return await asyncio.to_thread(self._history.history, cluster.id, since)

    # -- changing ----------------------------------------------------------------------------
    async def check_keyring(self) -> None:
        """Raise SecretsError (with what to do) unless a working OS keyring is there."""
        await asyncio.to_thread(self._secrets.check)

    async def preview_kubeconfig(self, path: str | Path) -> list[KubeconfigContext]:
        """A kubeconfig's contexts, each usable or with why not (nothing is stored)."""
        return await asyncio.to_thread(read_contexts, path)

    async def add(self, spec: ClusterSpec, secrets: ClusterSecrets | None = None) -> Cluster:
        """Register a cluster; its secrets (if any) go to the keyring, which must work."""
        self._refuse_changes()
        self._access.require(Action.MANAGE_CLUSTERS)
        secrets = secrets or ClusterSecrets()
        given = {"API server URL": spec.api_server_url}
        given |= {f"{k.value.lower()} URL": u for k, u in spec.endpoint_urls.items()}
        for what, url in given.items():
            if url:
                _refuse_query(url, what)
        self._ensure_unique(spec.name)
        await _check_client_pair(secrets)
        cluster, writes = self._plan_secrets(self._build(spec), secrets)
        if writes:  # any secret at all, the cluster's or an endpoint's
            await self.check_keyring()
        await self._save_with_secrets(cluster, writes)
        self._clusters[cluster.id] = cluster
        self._versions[cluster.id] = [cluster.updated_at]
        log.info("cluster added", extra={"cluster": cluster.name})
        self._publish()
        return cluster

    async def change(self, name: str, edit: Callable[[Cluster], Cluster]) -> Cluster:
        """Save ``edit`` of the cluster as it is now (same id); renaming checks uniqueness."""
        return (await self._change(name, edit))[1]

    async def _change(
        self, name: str, edit: Callable[[Cluster], Cluster]
    ) -> tuple[Cluster, Cluster]:
        """``change``: the cluster the edit was made on, and the one saved. Read, edit, queued
        save and the copy in memory come with no await in between (the writer thread saves
        in queue order); only then is the save awaited. So a health check folded in while
        the user sets an endpoint never writes back the cluster as it was, and no change
        waits on another. The stored row is read first: one another process changed since
        this one read it (the CLI's set-endpoint, its re-import, which deleted the old
        keyring entry) is the one edited, never this process's older copy saved over it;
        one it removed (``clusters remove``, its keyring entries deleted) is not put back,
        but let go here too: ClusterNotFoundError. The status stays this process's: it is
        its health checks' and polls' (``apply_check`` writes only it, never the row's time),
        and one read before a check here committed would put back the state before it."""
        self._refuse_changes()
        read = self.get(name)
        stored = await self._stored(read)
        current = self.get(name)
        if current.id == read.id:  # (not removed and added again here meanwhile)
            if stored is None:
                self._removed_elsewhere(current)
            versions = self._versions.setdefault(current.id, [])
            if stored.updated_at not in versions:  # not this process's row, nor a save queued
                versions.append(stored.updated_at)
                current = stored.model_copy(update={"status": current.status})
        cluster = edit(current)
        if cluster.id != current.id:
            raise RegistryError(f"an edit of {name!r} may not change its id")
        self._ensure_unique(cluster.name, allow=cluster.id)
        try:
            cluster = cluster.model_copy(update={"updated_at": utcnow()})
            cluster = Cluster.model_validate(cluster.model_dump())
        except ValidationError as exc:
            raise RegistryError(validation_message(exc)) from exc
        saved = self._repo.save(cluster)  # queued: saves land in the order they were made
        self._clusters[cluster.id] = cluster
        self._versions.setdefault(cluster.id, []).append(cluster.updated_at)
        self._publish()
        try:
            await asyncio.wrap_future(saved)
        except sqlite3.IntegrityError as exc:
            if self._clusters.get(cluster.id) is cluster:  # not changed again since: as stored
                self._clusters[cluster.id] = current
                self._publish()
            _taken_meanwhile(cluster.name, exc)
        finally:
            self._settle_version(cluster, saved)
        return current, cluster

    def _settle_version(self, cluster: Cluster, saved: Future[Cluster]) -> None:
        """``cluster``'s save is over: committed, the row has its version and no earlier one
        (saves commit in queue order); failed or stopped, never its version."""
        versions = self._versions.get(cluster.id, [])
        if cluster.updated_at not in versions:
            return
        at = versions.index(cluster.updated_at)
        if saved.done() and not saved.cancelled() and saved.exception() is None:
            del versions[:at]
        else:
            del versions[at]

    async def _stored(self, cluster: Cluster) -> Cluster | None:
        """The cluster's row as stored now (None: none; damaged: ``cluster``, and the save
        says so)."""
        try:
            return await asyncio.to_thread(self._repo.get, cluster.id)
        except DamagedRowError:
            return cluster

    def _let_go(self, cluster: Cluster) -> None:
        """``cluster``, whose row another process deleted (``clusters remove``), no longer
        held here; the caller publishes the removal."""
        del self._clusters[cluster.id]
        self._versions.pop(cluster.id, None)
        self._reachability.pop(cluster.id, None)
        log.info("cluster removed elsewhere", extra={"cluster": cluster.name})

    def _removed_elsewhere(self, cluster: Cluster) -> NoReturn:
        """``cluster``, whose row another process deleted, let go as a removal here (what the
        app keeps by its name goes too): ClusterNotFoundError."""
        self._let_go(cluster)
        self._publish()
        self._bus.publish(CLUSTER_REMOVED, cluster)
        raise ClusterNotFoundError(f"{cluster.name}: removed meanwhile (by another process)")

    async def set_endpoint(
        self, name: str, kind: EndpointKind, url: str | None, *, use_cluster_token: bool = False
    ) -> Cluster:
        """The user's own endpoint of ``kind`` (discovery never replaces it); ``url`` None
        removes it, so the next discovery may fill it again. ``use_cluster_token``: it gets
        the cluster's credential; else an endpoint that had a token of its own keeps it at
        its new URL (never one in clear: plain http to another machine is refused). A token
        of its own that it no longer uses is deleted from the keyring."""
        self._refuse_changes()
        self._access.require(Action.MANAGE_CLUSTERS)
        if url:
            _refuse_query(url, f"{kind.value.lower()} URL")
        if url and use_cluster_token:
            await self._refuse_tokenless_context(self.get(name))

        def with_endpoint(cluster: Cluster) -> Cluster:  # as stored now (``_change``)
            endpoint = _user_endpoint(cluster, kind, url, use_cluster_token=use_cluster_token)
            endpoints = [e for e in cluster.endpoints if e.kind is not kind]
            endpoints += [endpoint] if endpoint else []
            return cluster.model_copy(update={"endpoints": endpoints})

        before, cluster = await self._change(name, with_endpoint)
        await self._drop_unused(before, cluster)
        return cluster

    async def _refuse_tokenless_context(self, cluster: Cluster) -> None:
        """A RegistryError where the cluster's credential is a kubeconfig context with no
        static token (an exec plugin, an identity provider, a client certificate): an
        endpoint given it was refused at every request; so was one whose entry was changed
        outside the app (``stored_json``). An entry the keyring does not hold says nothing of
        it (this process's copy may be behind another's re-import)."""
        ref = cluster.credential
        if ref is None or ref.kind is not CredentialKind.KUBECONFIG_CONTEXT:
            return
        whose = f"{cluster.name}: its kubeconfig context"
        payload = await asyncio.to_thread(stored_json, self._secrets, ref, whose, RegistryError)
        if payload is not None and bearer_token(payload) is None:
            raise RegistryError(f"{cluster.name}: {no_static_token(ref)}")

    async def set_members(self, name: str, members: list[str]) -> Cluster:
        """A fleet hub's member clusters, as its latest poll found them (saved on change)."""
        current = self.get(name)
        if current.status.members == members:
            return current

        def with_members(c: Cluster) -> Cluster:  # on the status as it is then
            return c.model_copy(update={"status": c.status.model_copy(update={"members": members})})

        return await self.change(name, with_members)

    def members(self, cluster: Cluster, seen: Iterable[str] = ()) -> list[str]:
        """The names a cluster's data goes by: its own, or a fleet hub's members that are not
        registered clusters themselves (those have their own place); for a hub no poll of
        this version has named members of, those of ``seen`` no other hub names (a hub that
        never answered claimed every other hub's members, and showed them OFFLINE)."""
        if cluster.kind is not ClusterKind.FLEET:
            return [cluster.name]
        registered = {c.name for c in self._clusters.values()}
        named = cluster.status.members
        if not named:
            others = {n for c in self._clusters.values()
                      if c.kind is ClusterKind.FLEET for n in c.status.members}  # fmt: skip
            named = [n for n in seen if n not in others]
        return [n for n in named if n not in registered]

    async def remove(self, name: str) -> Cluster:
        self._refuse_changes()
        self._access.require(Action.MANAGE_CLUSTERS)
        try:
            cluster = self.get(name)
        except ClusterNotFoundError:  # in no list, but maybe a damaged row by that name
            return await self._remove_damaged(name)
        deleted = self._repo.delete(cluster.id)  # after any save queued before it
        del self._clusters[cluster.id]
        self._versions.pop(cluster.id, None)
        self._reachability.pop(cluster.id, None)  # its checks go with it, as its row
        self._removed.add(cluster.id)
        await asyncio.wrap_future(deleted)
        refs = _refs(cluster)
        gone, why = await self._forget(refs)
        if self._keys is not None and gone:  # the rest stay recorded: the sweep retries them
            await asyncio.wrap_future(self._keys.forget(gone))
        log.info("cluster removed", extra={"cluster": cluster.name})
        self._publish()
        self._bus.publish(CLUSTER_REMOVED, cluster)  # what the app keeps by its name goes too
        kept = _unique(r for r in refs if _key(r) not in {_key(g) for g in gone})
        if kept:
            raise CredentialsNotDeletedError(f"removed {cluster.name}", cluster, kept, why)
        return cluster

    async def _remove_damaged(self, name: str) -> Cluster:
        """Remove the cluster row named ``name`` that cannot be read (the notice of it says
        how): the keyring entries recorded for it (and those its id's usual names held)
        and what the app keeps by its name go with it. Not one: ClusterNotFoundError."""
        found = await asyncio.wrap_future(self._repo.delete_damaged(name))
        if found is None:
            raise ClusterNotFoundError(f"no cluster named {name!r} is registered")
        cluster_id, recorded = found
        # its row cannot be read: the id and name are all that what it left is known by
        cluster = Cluster.model_construct(id=cluster_id, name=name)
        usual = ["api", "kubeconfig", *(kind.value.lower() for kind in EndpointKind)]
        refs = [CredentialRef(kind=CredentialKind.BEARER_TOKEN, service=service, key=key)
                for service, key in recorded]  # fmt: skip
        refs += [CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=f"cluster/{cluster_id}/{u}")
                 for u in usual]  # fmt: skip
        gone, why = await self._forget(refs)
        if self._keys is not None and gone:  # the rest stay recorded: the sweep retries them
            await asyncio.wrap_future(self._keys.forget(gone))
        log.info("damaged cluster row removed", extra={"cluster": name})
        self._bus.publish(CLUSTER_REMOVED, cluster)
        done = {_key(g) for g in gone}
        kept = [r for r in refs[: len(recorded)] if _key(r) not in done]
        if kept:
            raise CredentialsNotDeletedError(f"removed {name}", cluster, kept, why)
        return cluster

    async def import_kubeconfig(
        self, path: str | Path, contexts: Iterable[str] | None = None, *,
        allow_exec: bool = False, consented: Mapping[str, str] | None = None,
    ) -> ImportReport:  # fmt: skip
        """Register every (or every chosen) context of a kubeconfig in one step. A context
        whose credential runs a command or asks an identity provider (``ctx.runs``) is
        skipped, with what it runs, unless ``allow_exec`` (the command line's flag) or the
        user ticked it having seen exactly that (``consented``: context -> what it runs, as
        the preview showed it): the file is read again here, and may have changed since."""
        self._refuse_changes()
        self._access.require(Action.MANAGE_CLUSTERS)
        found = await asyncio.to_thread(read_contexts, path)  # a bad file says so first
        await self.check_keyring()
        wanted = set(contexts) if contexts is not None else None
        if wanted is not None:
            missing = wanted - {c.context for c in found}
            if missing:
                raise RegistryError(f"context(s) not in {path}: {', '.join(sorted(missing))}")
        report = ImportReport()
        stored = 0  # the bytes this import wrote to the keyring: MAX_STORED_TOTAL in all
        try:
            for ctx in found:
                if wanted is not None and ctx.context not in wanted:
                    continue
                report.warnings.extend(ctx.warnings)
                if not ctx.usable:
                    skipped = (ctx.context, ctx.error or "unusable")
                    if skipped not in report.skipped:  # contexts of one name: said once
                        report.skipped.append(skipped)
                    continue
                seen = (consented or {}).get(ctx.context)
                if ctx.runs and not allow_exec and seen != ctx.runs:
                    report.skipped.append((ctx.context, _needs_consent(ctx)))
                    continue
                try:
                    registered = self._registered_from(ctx)
                    size = _entries_fit(path, ctx, stored, copies=len(registered) or 1)
                    if registered:  # imported before (its token expired since): refreshed
                        for cluster in registered:
                            replaced = await self._replace_credential(cluster, ctx, Path(path))
                            report.replaced.append(replaced)
                    else:
                        report.imported.append(await self._import_context(ctx, Path(path)))
                    stored += size
                except (RegistryError, DamagedRowError) as exc:  # this context's own
                    report.skipped.append((ctx.context, str(exc)))
        except BaseException:
            # One step: a failure that is not about one context (keyring, disk, a cancel)
            # takes back the contexts this import already registered. A credential already
            # replaced stays replaced: the one it replaced is deleted (it had expired).
            await asyncio.shield(self._take_back(report.imported))
            raise
        return report

    def _registered_from(self, ctx: KubeconfigContext) -> list[Cluster]:
        """The clusters an import of this context registered before: a kubeconfig credential
        of the same context name, to the same API server. The context's name is what
        kubeconfigs key a credential by (`oc login` writes the refreshed token under the
        same one, and names it after the user: ``default/api-x:6443/kube:admin``), so two
        users' contexts to one server are two clusters; the server guards against a context
        name reused for another cluster (``admin`` in every installer's kubeconfig). The
        file it was read from is not part of it: the same context copied elsewhere is the
        same credential, refreshed."""
        return [
            c for c in self.clusters()
            if c.credential is not None
            and c.credential.kind is CredentialKind.KUBECONFIG_CONTEXT
            and c.credential.context == ctx.context
            and c.api_server_url is not None
            and c.api_server_url == ctx.server
        ]  # fmt: skip

    async def _replace_credential(
        self, current: Cluster, ctx: KubeconfigContext, path: Path
    ) -> Cluster:
        """The cluster with ``ctx``'s credential in place of the one it has: its id, name,
        history and endpoints kept (those that shared the old credential share the new one).
        The new credential goes under a keyring entry of its own, and the cluster names it
        in one save: until that save the old one is in use, and a failure leaves it so; the
        old entry is deleted after. Shielded: a cancel never parts the row from its entry.
        TLS verification the cluster has is never turned off by a file that now skips it,
        nor pointed at another certificate authority."""
        if ctx.insecure_skip_tls_verify and current.tls_verify:
            raise RegistryError(
                f"{current.name} verifies its API server's TLS certificate, and this context "
                "now sets insecure-skip-tls-verify: its credential was not replaced (a "
                "re-import never turns verification off); remove insecure-skip-tls-verify "
                "from the file and import it again"
            )
        if current.tls_verify and not _same_pem(ctx.ca_pem or "", current.ca_bundle_pem or ""):
            # trusting whatever CA a file names is as bad as verification off (an attacker's
            # CA reads every request, the token included), and so is a file that names none
            # where one was pinned (any CA the system trusts would then do); a cluster that
            # verified nothing before loses nothing by verifying against it
            raise RegistryError(
                f"its certificate authority differs from the one stored for {current.name}: "
                "not replaced; remove the cluster and import it again if the API server's CA "
                "really changed"
            )
        return await asyncio.shield(self._swap_credential(current, ctx, path))

    async def _swap_credential(
        self, current: Cluster, ctx: KubeconfigContext, path: Path
    ) -> Cluster:
        ref = CredentialRef(
            kind=CredentialKind.KUBECONFIG_CONTEXT,
            key=f"cluster/{current.id}/kubeconfig-{uuid4().hex[:12]}",
            context=ctx.context,
            source_path=str(path.expanduser().resolve()),
            exec_command=ctx.exec_command,
        )

        def with_credential(cluster: Cluster) -> Cluster:  # as stored now (``_change``)
            old = cluster.credential
            endpoints = [
                e.model_copy(update={"credential": ref})
                if e.credential is not None and old is not None and _key(e.credential) == _key(old)
                else e
                for e in cluster.endpoints
            ]
            return cluster.model_copy(update={
                "credential": ref,
                "endpoints": endpoints,
                # the stored context is loaded as it is (its CA, its TLS setting): the row
                # says the same; a file that gives no CA says nothing about the routes'
                "ca_bundle_pem": ctx.ca_pem or cluster.ca_bundle_pem,
                "tls_verify": not ctx.insecure_skip_tls_verify,
            })  # fmt: skip

        if self._keys is not None:
            await asyncio.wrap_future(self._keys.record([ref], current.id))
        try:
            await asyncio.to_thread(self._secrets.put_json, ref, ctx.payload or {})
            before, cluster = await self._change(current.name, with_credential)
        except BaseException:
            now = self._clusters.get(current.id)
            if now is not None and now.credential is not None and _key(now.credential) == _key(ref):
                self._clusters[current.id] = current  # the save failed: as stored
                self._publish()
            gone, _ = await self._forget([ref])
            if gone and self._keys is not None:
                await asyncio.wrap_future(self._keys.forget(gone))
            raise
        log.info("cluster credential replaced", extra={"cluster": cluster.name})
        try:
            await self._drop_unused(before, cluster)
        except CredentialsNotDeletedError:  # recorded as no cluster's: the sweep deletes it
            log.warning("a replaced credential is left to the sweep",
                        extra={"cluster": cluster.name})  # fmt: skip
        return cluster

    async def _take_back(self, clusters: list[Cluster]) -> None:
        for cluster in clusters:
            try:
                await self.remove(cluster.name)
            except CredentialsNotDeletedError as exc:  # removed; the sweep deletes the rest
                log.warning("an imported cluster's credential is left to the sweep",
                            extra={"cluster": exc.cluster.name})  # fmt: skip
            except Exception:  # the sweep of orphan keys finishes what this cannot
                log.warning("could not take back an imported cluster", exc_info=True)

    async def add_from_kubeconfig(
        self, spec: ClusterSpec, path: str | Path, context: str, *, allow_exec: bool = False,
        endpoint_tokens: Mapping[EndpointKind, str] | None = None,
    ) -> tuple[Cluster, list[str]]:  # fmt: skip
        """Register one context under the name and fields of ``spec``; returns warnings. As
        an import, a context that runs a command needs ``allow_exec``. ``endpoint_tokens``:
        the endpoints' own (a context without a static token has none to give them)."""
        self._refuse_changes()
        self._access.require(Action.MANAGE_CLUSTERS)
        self._ensure_unique(spec.name)
        await self.check_keyring()
        found = {c.context: c for c in await asyncio.to_thread(read_contexts, path)}
        ctx = found.get(context)
        if ctx is None:
            raise RegistryError(f"context {context!r} is not in {path}")
        if not ctx.usable:
            raise RegistryError(ctx.error or f"context {context!r} cannot be used")
        if ctx.runs and not allow_exec:
            raise RegistryError(_needs_consent(ctx))
        spec.api_server_url = spec.api_server_url or ctx.server
        spec.ca_bundle_pem = spec.ca_bundle_pem or ctx.ca_pem
        spec.tls_verify = spec.tls_verify and not ctx.insecure_skip_tls_verify
        spec.display_name = spec.display_name or cut_line(ctx.context, 128)
        tokens = ClusterSecrets(endpoint_tokens=dict(endpoint_tokens or {}))
        return await self._import_context(ctx, Path(path), spec, tokens), ctx.warnings

    async def _import_context(
        self, ctx: KubeconfigContext, path: Path, spec: ClusterSpec | None = None,
        endpoint_tokens: ClusterSecrets | None = None,
    ) -> Cluster:  # fmt: skip
        """Register one context: under ``spec``'s name (a duplicate is refused), or under a
        free name made from its cluster's; its endpoints with ``endpoint_tokens``."""
        stored: set[str] = set()
        for attempt in range(IMPORT_NAME_TRIES):
            cluster = self._build(
                spec
                or ClusterSpec(
                    name=self._free_name(ctx.cluster_name, stored),
                    display_name=cut_line(ctx.context, 128),
                    api_server_url=ctx.server,
                    ca_bundle_pem=ctx.ca_pem,
                    tls_verify=not ctx.insecure_skip_tls_verify,
                )
            )
            ref = CredentialRef(
                kind=CredentialKind.KUBECONFIG_CONTEXT,
                key=f"cluster/{cluster.id}/kubeconfig",
                context=ctx.context,
                source_path=str(Path(path).expanduser().resolve()),
                exec_command=ctx.exec_command,
            )
            cluster, writes = self._plan_secrets(cluster, endpoint_tokens or ClusterSecrets())
            cluster = cluster.model_copy(update={"credential": ref})
            try:
                await self._save_with_secrets(cluster, [(ref, ctx.payload or {}), *writes])
            except (DuplicateClusterError, DamagedRowError):
                # the name was free in this process's copy of the registry, which can be
                # behind the cache (another process's add), or holds no row the cache cannot
                # read (a newer version's field): a name free in the cache too, rather than a
                # failure that takes back the whole import
                if spec is not None or attempt == IMPORT_NAME_TRIES - 1:
                    raise
                stored = await asyncio.to_thread(self._repo.names)
                continue
            break
        self._clusters[cluster.id] = cluster
        self._versions[cluster.id] = [cluster.updated_at]
        self._publish()
        return cluster

    async def apply_check(
        self,
        name: str,
        results: Mapping[EndpointKind, bool],
        error: str | Sequence[str] | None = None,
        *,
        at: datetime | None = None,
        answered: Collection[EndpointKind] = (),
    ) -> Cluster:
        """Fold one round of endpoint checks into score, state, connectivity and history.
        ``error``: the reason, or each endpoint's. ``answered``: the endpoints down that
        answered all the same (a refused credential): reachable (``health.reachable``)."""
        self._refuse_changes()
        # a server's words may echo a secret, and may be a megabyte of lines and escapes: one
        # short printable line, or every check adds it to the history again. Each endpoint's
        # reason is cut to its share first (the shortest first, what they leave to the
        # others), so a long first one (the API server's 401 advice) does not cut off the rest
        reasons = [redact(e) for e in ([error] if isinstance(error, str) else error or ()) if e]
        parts = [""] * len(reasons)
        left = ERROR_CHARS - 2 * (len(reasons) - 1)  # less the "; " between them
        for done, (i, reason) in enumerate(sorted(enumerate(reasons), key=lambda r: len(r[1]))):
            parts[i] = cut_line(reason, max(ERROR_SHARE, left // (len(reasons) - done)))
            left -= len(parts[i])
        error = cut_line("; ".join(parts), ERROR_CHARS) if parts else None
        cluster = self.get(name)
        at = at or utcnow()
        reach = self._reachability[cluster.id]
        reach.append(health.reachable(results, answered))
        status = cluster.status.model_copy(
            update={
                "state": health.next_state(cluster.status.state, results, answered),
                "health_score": health.health_score(results),
                "connectivity": health.connectivity(reach),
                "last_error": error,
                "last_check_at": at,
                "endpoint_health": dict(results),
            }
        )
        cluster = cluster.model_copy(update={"status": status})
        record = HealthRecord(
            cluster_id=cluster.id,
            checked_at=at,
            state=status.state,
            health_score=status.health_score,
            endpoint_health=dict(results),
            error=error,
        )
        saved = self._repo.save_status(cluster)  # queued: saves land in the order made
        self._clusters[cluster.id] = cluster
        self._publish()
        stored = await asyncio.wrap_future(saved)
        if stored is not None:  # a cluster removed elsewhere has no history to add to
            await asyncio.wrap_future(self._history.record(record))
        if self._clusters.get(cluster.id) is cluster and stored != cluster:
            # another process changed (the CLI's set-endpoint) or removed it since this one
            # read it: its row is the truth (unless this process changed it meanwhile)
            if stored is None:
                self._removed_elsewhere(cluster)
            self._clusters[cluster.id] = stored
            self._versions.setdefault(stored.id, []).append(stored.updated_at)
            log.info("cluster changed elsewhere", extra={"cluster": cluster.name})
            self._publish()
            return stored
        return cluster

    async def prune_history(self, now: datetime, keep: timedelta) -> int:
        """Delete the health records older than ``keep`` (store.health_retention)."""
        cutoff = now - keep
        return await asyncio.wrap_future(self._history.prune(cutoff))

    # -- helpers -----------------------------------------------------------------------------
    def _refuse_changes(self) -> None:
        if self.read_only:
            raise RegistryError(self.read_only)

    def _ensure_unique(self, name: str, allow: UUID | None = None) -> None:
        for cluster in self._clusters.values():
            if cluster.name == name and cluster.id != allow:
                raise DuplicateClusterError(f"a cluster named {name!r} is already registered")

    def _free_name(self, base: str, stored: Iterable[str] = ()) -> str:
        """``base``, or ``base-N``: a name neither this registry nor ``stored`` has."""
        taken = {c.name for c in self._clusters.values()} | set(stored)
        if base not in taken:
            return base
        n = 2
        while f"{base[:58]}-{n}" in taken:
            n += 1
        return f"{base[:58]}-{n}"

    def _build(self, spec: ClusterSpec) -> Cluster:
        try:
            endpoints = [
                Endpoint(kind=kind, url=url) for kind, url in spec.endpoint_urls.items() if url
            ]
            return Cluster(
                name=spec.name,
                display_name=spec.display_name,
                kind=spec.kind,
                api_server_url=spec.api_server_url or None,
                cluster_type=spec.cluster_type,
                platform=spec.platform,
                environment=spec.environment,
                region=spec.region,
                labels=spec.labels,
                endpoints=endpoints,
                ca_bundle_pem=spec.ca_bundle_pem,
                tls_verify=spec.tls_verify,
                status={"state": ClusterState.UNKNOWN},
            )
        except ValidationError as exc:
            raise RegistryError(validation_message(exc)) from exc

    def _plan_secrets(
        self, cluster: Cluster, secrets: ClusterSecrets
    ) -> tuple[Cluster, list[tuple[CredentialRef, str | dict[str, str]]]]:
        """The cluster with its credential references, and the keyring entries to write."""
        writes: list[tuple[CredentialRef, str | dict[str, str]]] = []
        base = f"cluster/{cluster.id}"
        api_ref: CredentialRef | None = None
        api_value: str | dict[str, str] | None = None
        if secrets.token:
            api_ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=f"{base}/api")
            api_value = secrets.token
        elif secrets.client_cert_pem and secrets.client_key_pem:
            api_ref = CredentialRef(kind=CredentialKind.CLIENT_CERTIFICATE, key=f"{base}/api")
            api_value = {"cert": secrets.client_cert_pem, "client_key": secrets.client_key_pem}
        elif secrets.basic_username and secrets.basic_password:
            if cluster.api_server_url is not None:
                raise RegistryError(f"{cluster.name}: {BASIC_NOT_FOR_API}")
            api_ref = CredentialRef(kind=CredentialKind.BASIC_AUTH, key=f"{base}/api")
            api_value = {"username": secrets.basic_username, "password": secrets.basic_password}
        if api_ref is not None and api_value is not None:
            writes.append((api_ref, api_value))
        # without an API server, the cluster's credential has nothing to reach but its
        # endpoints (a fleet hub's Thanos querier): it is theirs
        share = secrets.endpoints_use_cluster_token or cluster.api_server_url is None
        endpoints = []
        for original in cluster.endpoints:
            endpoint = original
            token = secrets.endpoint_tokens.get(endpoint.kind)
            if token:  # as set-endpoint refuses it: stored, it was refused at every request
                _refuse_in_clear(cluster.name, endpoint, "its token", "give its https URL")
                ref = CredentialRef(
                    kind=CredentialKind.BEARER_TOKEN, key=f"{base}/{endpoint.kind.value.lower()}"
                )
                writes.append((ref, token))
                endpoint = endpoint.model_copy(
                    update={"auth": AuthMethod.BEARER, "credential": ref}
                )
            elif share and api_ref is not None:
                _refuse_in_clear(
                    cluster.name, endpoint, "the cluster's credential",
                    "give its https URL" + (
                        ", or do not share the cluster's token with its endpoints"
                        if cluster.api_server_url else ""
                    ),
                )  # fmt: skip
                auth = cluster_credential_auth(api_ref)
                endpoint = endpoint.model_copy(update={"auth": auth, "credential": api_ref})
            endpoints.append(endpoint)
        return cluster.model_copy(update={"credential": api_ref, "endpoints": endpoints}), writes

    async def _save_with_secrets(
        self, cluster: Cluster, writes: list[tuple[CredentialRef, str | dict[str, str]]]
    ) -> None:
        """In an order that leaves no secret behind: the keys are recorded (committed), then
        written to the keyring, then the cluster is committed. A failure undoes what was
        done; a kill in between leaves a recorded key without a cluster, which
        ``sweep_orphans`` deletes."""
        refs = [ref for ref, _ in writes]
        if refs and self._keys is not None:
            await asyncio.wrap_future(self._keys.record(refs, cluster.id))
        written: list[CredentialRef] = []
        saving: asyncio.Future[Cluster] | None = None
        try:
            for ref, value in writes:
                writing = asyncio.ensure_future(
                    asyncio.to_thread(self._secrets.put_json, ref, value)
                    if isinstance(value, dict)
                    else asyncio.to_thread(self._secrets.put, ref, value)
                )
                try:
                    await asyncio.shield(writing)
                except BaseException:
                    # cancelled (the add left with Escape) while its thread still writes: the
                    # token would land after the rollback, unrecorded, never swept. It is
                    # waited for and undone with the rest (one never written is no harm)
                    await asyncio.gather(writing, return_exceptions=True)
                    written.append(ref)
                    raise
                written.append(ref)
            saving = asyncio.wrap_future(self._repo.save(cluster))
            try:
                await asyncio.shield(saving)  # a cancel does not stop the writer
            except sqlite3.IntegrityError as exc:
                _taken_meanwhile(cluster.name, exc)
        except BaseException:
            if not await self._unsaved(cluster, saving):
                raise  # the row stays, and its entries with it: a whole cluster
            gone, _ = await self._forget(written)
            # never written, or deleted again: nothing left to sweep; the rest stay recorded
            left = {_key(r) for r in written} - {_key(r) for r in gone}
            done = [r for r in refs if _key(r) not in left]
            if done and self._keys is not None:
                await asyncio.wrap_future(self._keys.forget(done))
            raise

    async def _unsaved(self, cluster: Cluster, saving: asyncio.Future[Cluster] | None) -> bool:
        """Whether the row of a save that failed or was cancelled (the add left with Escape)
        is not in the cache. A cancel while the writer has the row does not stop its commit:
        the row came back (``adopt_added``) without the entries its add deleted. So the save
        is waited for, and a committed row deleted; one that cannot be is kept (False), as
        its entries must then be."""
        if saving is None:
            return True
        await asyncio.gather(saving, return_exceptions=True)
        if saving.cancelled() or saving.exception() is not None:
            return True
        self._removed.add(cluster.id)  # a read of the cache meanwhile does not take it in
        try:
            await asyncio.wrap_future(self._repo.delete(cluster.id))
        except Exception:
            self._removed.discard(cluster.id)  # a whole cluster: ``adopt_added`` takes it in
            log.warning("a cancelled add's cluster is kept", exc_info=True,
                        extra={"cluster": cluster.name})  # fmt: skip
            return False
        return True

    async def sweep_orphans(self) -> int:
        """Delete the keyring entries this app wrote for clusters that are not in the cache
        (a crash or a kill between the keyring and the cache), once ``ORPHAN_GRACE`` has
        passed (a cluster may be being added right now); how many were deleted."""
        if self._keys is None or self.read_only:
            return 0
        cutoff = utcnow() - ORPHAN_GRACE
        unowned = await asyncio.to_thread(self._keys.unowned, cutoff)
        refs = [
            CredentialRef(kind=CredentialKind.BEARER_TOKEN, service=service, key=key)
            for service, key in unowned
        ]
        gone, _ = await self._forget(refs)
        if gone:  # what could not be deleted stays recorded: the next sweep retries it
            await asyncio.wrap_future(self._keys.forget(gone))
            log.info("orphaned keyring entries deleted", extra={"count": len(gone)})
        if len(gone) < len(refs):
            log.warning("orphaned keyring entries kept", extra={"count": len(refs) - len(gone)})
        return len(gone)

    async def _drop_unused(self, before: Cluster, after: Cluster) -> None:
        """Delete the keyring entries ``before`` used and ``after`` no longer does (an
        endpoint's own token, its endpoint replaced or removed). One that cannot be deleted
        now is recorded as no cluster's, so the sweep deletes it later; and said."""
        in_use = {_key(r) for r in _refs(after)}
        unused = _unique(r for r in _refs(before) if _key(r) not in in_use)
        if not unused:
            return
        gone, why = await self._forget(unused)
        kept = [r for r in unused if _key(r) not in {_key(g) for g in gone}]
        if self._keys is not None:
            if gone:
                await asyncio.wrap_future(self._keys.forget(gone))
            if kept:  # no cluster's now: the sweep's, once its grace has passed
                await asyncio.wrap_future(self._keys.record(kept, uuid4()))
        if kept:
            raise CredentialsNotDeletedError(f"changed {after.name}", after, kept, why)

    async def _forget(self, refs: Iterable[CredentialRef]) -> tuple[list[CredentialRef], str]:
        """Delete keyring entries: those deleted (or already gone), and why the others
        could not be ("" if none failed)."""
        gone: list[CredentialRef] = []
        why = ""
        for ref in _unique(refs):
            try:
                await asyncio.to_thread(self._secrets.delete, ref)
            except Exception as exc:
                why = str(exc) if isinstance(exc, AppError) else type(exc).__name__
                log.warning(
                    "could not delete a keyring entry", extra={"key": ref.key, "error": why}
                )
            else:
                gone.append(ref)
        return gone, why

    def _publish(self) -> None:
        self._bus.publish(CLUSTERS_CHANGED, self.clusters())


def _refs(cluster: Cluster) -> list[CredentialRef]:
    refs = [cluster.credential] if cluster.credential else []
    refs.extend(e.credential for e in cluster.endpoints if e.credential)
    return refs


def _unique(refs: Iterable[CredentialRef]) -> list[CredentialRef]:
    """Each keyring entry once (an endpoint may share the cluster's)."""
    seen: dict[tuple[str, str], CredentialRef] = {}
    for ref in refs:
        seen.setdefault(_key(ref), ref)
    return list(seen.values())


def _key(ref: CredentialRef) -> tuple[str, str]:
    """A keyring entry's identity: its service and key."""
    return ref.service, ref.key


def _same_pem(a: str, b: str) -> bool:
    """The same certificates, however the line ends and spacing were written."""
    return "".join(a.split()) == "".join(b.split())


def _user_endpoint(
    cluster: Cluster, kind: EndpointKind, url: str | None, *, use_cluster_token: bool
) -> Endpoint | None:
    """``set_endpoint``'s endpoint of ``kind`` on ``cluster`` as it is now (None: removed),
    with the credential it sends, or a RegistryError saying why it cannot have it."""
    if not url:
        return None
    before = cluster.endpoint(kind)
    ref: CredentialRef | None = None
    auth = AuthMethod.NONE
    own = not use_cluster_token and before is not None and _own_credential(cluster, before)
    if use_cluster_token and cluster.credential is not None:
        ref, auth = cluster.credential, cluster_credential_auth(cluster.credential)
    elif own and before is not None:
        ref, auth = before.credential, before.auth
    try:
        endpoint = Endpoint(kind=kind, url=url, source=EndpointSource.USER, auth=auth,
                            credential=ref)  # fmt: skip
    except ValidationError as exc:
        raise RegistryError(validation_message(exc)) from exc
    if own:
        _refuse_in_clear(
            cluster.name, endpoint, "its own token",
            "give its https URL, or remove the endpoint first (set-endpoint without a URL "
            "deletes its token) and set the http URL then",
        )  # fmt: skip
    elif ref is not None:
        _refuse_in_clear(
            cluster.name, endpoint, "the cluster's credential",
            "give its https URL, or set it without --use-cluster-token",
        )  # fmt: skip
    return endpoint


def _refuse_in_clear(name: str, endpoint: Endpoint, credential: str, advice: str) -> None:
    """A RegistryError (with ``advice``) where ``endpoint`` would take ``credential`` over
    plain http to another machine: the pool never sends one in clear, so stored, every
    request of it was refused (``credential_may_travel``)."""
    if not credential_may_travel(endpoint.url):
        raise RegistryError(
            f"{name}: {credential} would go to its {endpoint.kind.value.lower()} endpoint over "
            f"plain http to another machine ({endpoint.url}), which it never does: {advice}"
        )


def _own_credential(cluster: Cluster, endpoint: Endpoint) -> bool:
    """Whether ``endpoint`` has a credential of its own (not the cluster's)."""
    if endpoint.credential is None:
        return False
    shared = cluster.credential
    return shared is None or endpoint.credential.key != shared.key


def _entries_fit(path: str | Path, ctx: KubeconfigContext, stored: int, copies: int) -> int:
    """The bytes ``copies`` keyring entries of ``ctx`` hold; RegistryError where, with the
    ``stored`` bytes its import wrote before, they pass MAX_STORED_TOTAL (that context is
    skipped, those before it are kept). Only the contexts an import stores count: one left
    out costs nothing, and the preview offers every context."""
    size = copies * len(json.dumps(ctx.payload or {}, sort_keys=True))
    if stored + size > MAX_STORED_TOTAL:
        raise RegistryError(
            f"kubeconfig {path}: its contexts' credentials add up to more than "
            f"{MAX_STORED_TOTAL:,} bytes (each context's keyring entry holds its own copy "
            f"of what it shares with others: a user's token, key or certificate), so "
            f"context {ctx.context!r} ({size:,} bytes) is not imported. Import it with fewer "
            "of the kubeconfig's contexts, or with smaller credentials"
        )
    return size


def _needs_consent(ctx: KubeconfigContext) -> str:
    """Why a context that runs something, or sends a token file from outside its
    kubeconfig's folder, was not imported, with what it runs or reads (one that only reads
    a file runs nothing: its ``runs`` says what it reads)."""
    allow = "so it is imported only when you allow it (--allow-exec; in the window, tick it)"
    if ctx.auth not in ("exec", "auth-provider"):  # nothing runs: a tokenFile from elsewhere
        return (
            f"its credential {ctx.runs}: a kubeconfig from elsewhere may name any file of "
            f"yours as its token, {allow}"
        )
    return (
        f"its credential runs {ctx.runs!r} whenever it needs a token: a kubeconfig from "
        f"elsewhere may run anything, {allow}"
    )


async def _check_client_pair(secrets: ClusterSecrets) -> None:
    """A client certificate and key given are a usable pair (PEM, belonging together, no
    passphrase), or a RegistryError saying what is wrong: at the first connection it was
    an SSL error on every poll, and a passphrase was asked for on the terminal."""
    cert, key = secrets.client_cert_pem, secrets.client_key_pem
    if not cert and not key:
        return
    if not (cert and key):
        raise RegistryError("a client certificate needs its key, and a key its certificate")
    try:
        await asyncio.to_thread(check_client_pair, cert, key)
    except CollectorAuthError as exc:
        raise RegistryError(str(exc)) from None


def _refuse_query(url: str, what: str) -> None:
    try:
        refuse_query(url, what)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None
