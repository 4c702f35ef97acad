"""The Kubernetes side of one cluster for the UI: validation, inventory and a live events
timeline, each through the pooled read-only client. The timeline's watch runs as a supervised
task while someone looks at it (``follow``) and stops when they leave (``unfollow``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiops_desktop.logs import redact
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.kube import Inventory, ValidationResult
from aiops_desktop.models.ptp import Threshold
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, read_fleet_gpus
from aiops_desktop.services.kube.inventory import EventTimeline, follow_events, take_inventory
from aiops_desktop.services.kube.validation import has_kube_api, validate
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.ptp_profiles import node_thresholds
from collectors.errors import CollectorError, KubeNotFound
from collectors.kubernetes import KubeClient, WatchState
from collectors.shapes import malformed_as

log = logging.getLogger("aiops.services.kube.session")

SRIOV_STATES = "/apis/sriovnetwork.openshift.io/v1/sriovnetworknodestates"
PTPCONFIGS = "/apis/ptp.openshift.io/v1/ptpconfigs"
NODES = "/api/v1/nodes"
DCGM_PROBE = "DCGM_FI_DEV_GPU_UTIL"  # exported by every dcgm-exporter configuration
#: waits before following a cluster's events again after its client could not be opened
FOLLOW_RETRY_S = (5.0, 15.0, 30.0, 60.0)
#: how often a followed cluster's client is asked of the pool again: its credential, URL or CA
#: changed, the pool makes another, and the watch moves to it (the collector's watch retries
#: every error inside the client it started with, and never returns for one that cannot work)
CLIENT_CHECK_S = 5.0
#: how long one cluster's nvidia-smi readings are reused: the fleet's truth and the GPU page
#: each read GPUs every 30-60 s, and each read execs twice into every GPU node
SMI_MAX_AGE_S = 60.0
#: the most one cluster's PtpConfigs and nodes may take before the PTP board is drawn without
#: them (its last profiles kept): the board itself is Prometheus's, and refreshes often
PROFILES_WITHIN_S = 10.0


@malformed_as("a PtpConfig or a node")
def thresholds_of(
    configs: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> dict[str, Threshold]:
    """node -> its PtpConfig threshold, from the cluster's PtpConfigs and nodes."""
    labels = {
        str((n.get("metadata") or {}).get("name", "")): dict(
            (n.get("metadata") or {}).get("labels") or {}
        )
        for n in nodes
    }
    return node_thresholds(configs, labels)


@malformed_as("an object")
def slim(item: dict[str, Any], *, core: bool) -> dict[str, Any]:
    """An object as a capture keeps it. ``core`` (pods, nodes: a pod's spec may carry secrets
    in its environment): name, namespace, labels and phase only; operator objects (PtpConfig,
    SR-IOV) whole, less their managed fields and annotations."""
    meta = item.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "labels") if k in meta}
    if core:
        return {"metadata": kept, "status": {"phase": (item.get("status") or {}).get("phase")}}
    return item | {"metadata": kept}


class KubeSession:
    def __init__(
        self,
        registry: ClusterRegistry,
        pool: ClientPool,
        secrets: SecretStore,
        supervisor: TaskSupervisor,
    ) -> None:
        self._registry = registry
        self._pool = pool
        self._secrets = secrets
        self._supervisor = supervisor
        self._followed: dict[str, tuple[EventTimeline, WatchState, asyncio.Event]] = {}
        #: inside a capture: the object lists kept at export, answered instead of the API
        self.recorded: dict[str, list[dict[str, Any]]] | None = None
        #: while a capture is exported: every object list read, kept (slimmed) for it
        self.recording: dict[str, list[dict[str, Any]]] | None = None
        self._thresholds: tuple[Any, float, Any] | None = None  # (clusters, when, answer)
        self._smi: dict[str, tuple[float, list[NodeGpus]]] = {}  # name -> (when, readings)
        #: cluster -> the PtpConfig thresholds last read from it (kept while it cannot be read)
        self._last_thresholds: dict[str, dict[str, Threshold]] = {}

    async def validate(self, name: str) -> ValidationResult:
        """Who am I and what may I read; never inside a capture (no connection, no keyring:
        a capture's records name nothing to send)."""
        cluster = self._registry.get(name)
        if self._pool.offline:
            raise EndpointNotConfigured(f"{name}: {self._pool.offline}; nothing is validated")
        return await validate(cluster, self._secrets)

    async def inventory(self, name: str) -> Inventory:
        client = await self._pool.kube(self._registry.get(name))
        return await take_inventory(client)

    async def gpus_by_exec(self, name: str) -> list[NodeGpus]:
        """nvidia-smi in the driver pods: the fallback where Prometheus has no DCGM series;
        an answer younger than SMI_MAX_AGE_S is answered again (a failure is not kept: the
        next read tries again)."""
        cluster = self._registry.get(name)  # a cluster removed meanwhile: not found
        kept = self._smi.get(name)
        if kept is not None and time.monotonic() - kept[0] < SMI_MAX_AGE_S:
            return kept[1]
        client = await self._pool.kube(cluster)
        nodes = await read_fleet_gpus(client)
        self._smi[name] = (time.monotonic(), nodes)
        return nodes

    async def sriov_states(self, name: str) -> list[dict[str, Any]]:
        """The cluster's SriovNetworkNodeState objects ([] where the operator is absent)."""
        return await self.objects(name, SRIOV_STATES)

    async def objects_of_each(
        self, path: str, *, field_selector: str | None = None
    ) -> dict[str, list[dict[str, Any]] | AppError]:
        """The same list from every cluster with a Kubernetes API, all at once; a cluster that
        cannot be read (or a capture that did not record it) gets its error instead.
        ``field_selector``: filtered by the server (``type=Warning``: only what is wanted
        crosses the network)."""
        names = [c.name for c in self._registry.clusters() if has_kube_api(c)]
        answers = await asyncio.gather(
            *(self.objects(n, path, field_selector=field_selector) for n in names),
            return_exceptions=True,
        )
        out: dict[str, list[dict[str, Any]] | AppError] = {}
        for name, answer in zip(names, answers, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, AppError):
                raise answer
            out[name] = answer
        return out

    async def objects(
        self,
        name: str,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """A cluster-wide list ([] where the API is not served: the operator is absent)."""
        key = f"{name} {path} {label_selector or ''}"
        if field_selector:
            key += f" fields:{field_selector}"
        if self.recorded is not None:
            if key not in self.recorded:
                raise CollectorError(f"{path} of {name} was not recorded in the capture")
            return self.recorded[key]
        client = await self._pool.kube(self._registry.get(name))
        try:
            items, _ = await client.list(
                path, label_selector=label_selector, field_selector=field_selector
            )
        except KubeNotFound:
            items = []
        if self.recording is not None:
            core = path.startswith("/api/")  # the core group: pods, nodes
            self.recording[key] = [slim(item, core=core) for item in items]
        return items

    async def ptp_thresholds(
        self, *, max_age_s: float = 0.0, bounded: bool = True
    ) -> tuple[dict[tuple[str, str], Threshold], list[str]]:
        """(cluster, node) -> the threshold of the PtpConfig profile the node runs, for every
        cluster with a Kubernetes API; and the clusters that could not be read, with why.
        ``max_age_s``: an answer read without trouble that recently, for the same clusters,
        is given again (PtpConfigs and node labels change rarely; a board refreshes often).
        ``bounded``: each cluster within PROFILES_WITHIN_S (the board); False: as long as
        the caller allows (a capture's export, which has its own bound: a big fleet's node
        list may take longer, and a capture without it judges that cluster's ports against
        the default band)."""
        clusters = tuple((c.id, c.updated_at) for c in self._registry.clusters())
        kept = self._thresholds
        if kept and kept[0] == clusters and time.monotonic() - kept[1] <= max_age_s:
            return kept[2]
        answer = await self._read_thresholds(PROFILES_WITHIN_S if bounded else None)
        self._thresholds = (clusters, time.monotonic(), answer) if not answer[1] else None
        return answer

    async def _read_thresholds(
        self, within_s: float | None
    ) -> tuple[dict[tuple[str, str], Threshold], list[str]]:
        """Every cluster's at once, each within ``within_s`` (None: unbounded): one that cannot
        be read (its API server silent, its keyring entry locked) is named, and keeps the
        profiles last read from it. The board waited for each cluster in turn, and one
        keyring error failed it."""
        clusters = [c for c in self._registry.clusters() if has_kube_api(c)]
        answers = await gather_all(*(self._cluster_thresholds(c.name, within_s) for c in clusters))
        found: dict[tuple[str, str], Threshold] = {}
        failed: list[str] = []
        for cluster, (read, failure) in zip(clusters, answers, strict=True):
            thresholds = read
            if failure is not None:
                thresholds = self._last_thresholds.get(cluster.name)
                failed.append(f"{failure}; its last profiles used" if thresholds else failure)
            else:
                self._last_thresholds[cluster.name] = thresholds or {}
            for node, threshold in (thresholds or {}).items():
                found[cluster.name, node] = threshold
        self._last_thresholds = {
            c.name: self._last_thresholds[c.name]
            for c in clusters
            if c.name in self._last_thresholds
        }  # a removed cluster's are forgotten
        return found, failed

    async def _cluster_thresholds(
        self, name: str, within_s: float | None
    ) -> tuple[dict[str, Threshold] | None, str | None]:
        try:
            async with asyncio.timeout(within_s):
                configs = await self.objects(name, PTPCONFIGS)
                if not configs:
                    return {}, None
                nodes = await self.objects(name, NODES)
            return thresholds_of(configs, nodes), None
        except TimeoutError:
            return None, f"{name}: PtpConfig profiles not read within {within_s:g} s"
        except AppError as exc:
            return None, f"{name}: PtpConfig profiles unreadable ({exc})"

    async def gpu_source(self, name: str) -> str:
        """Where this cluster's GPU readings come from: "dcgm" when its Prometheus has DCGM
        exporter series from the last 10 minutes, else "nvidia-smi" when it has a Kubernetes
        API to exec through, else "none"."""
        cluster = self._registry.get(name)
        if cluster.endpoint(EndpointKind.PROMETHEUS) is not None:
            with contextlib.suppress(CollectorError):
                prom = await self._pool.prometheus(cluster)
                if await prom.series([DCGM_PROBE], start=time.time() - 600):
                    return "dcgm"
        return "nvidia-smi" if has_kube_api(cluster) else "none"

    def follow(self, name: str) -> tuple[EventTimeline, WatchState]:
        """The cluster's events timeline, fed by a watch from now on (idempotent)."""
        if name not in self._followed:
            timeline, state, stop = EventTimeline(), WatchState(), asyncio.Event()
            self._followed[name] = (timeline, state, stop)

            async def watch() -> None:
                """Follow until stopped, through the client the pool hands out now; a failure
                to open the client (the cluster down, its credential refused), or any other
                error, is noted and tried again, so the timeline never stays frozen with
                nothing said (a cancel still ends it). A cluster removed is no longer
                followed, and its timeline says so."""
                failures = 0
                while not stop.is_set():
                    try:
                        client = await self._pool.kube(self._registry.get(name))
                        if await self._follow_current(name, client, timeline, state, stop):
                            failures = 0  # replaced: followed through the new one at once
                            continue
                        return
                    except ClusterNotFoundError as exc:  # removed (the CLI, another window)
                        state.failed(str(exc))
                        if name in self._followed and self._followed[name][2] is stop:
                            del self._followed[name]  # a later follow starts afresh
                        return
                    except (CollectorError, AppError) as exc:
                        state.failed(str(exc))
                    except Exception as exc:  # a bug: logged, said, tried again (it ended the
                        # task for good, the timeline frozen and still shown as live)
                        log.exception("events watch of %s failed", name)
                        state.failed(redact(f"{type(exc).__name__}: {exc}"))
                    delay = FOLLOW_RETRY_S[min(failures, len(FOLLOW_RETRY_S) - 1)]
                    failures += 1
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):  # not wait_for: it can lose a cancel
                            await stop.wait()

            self._supervisor.spawn(watch(), name=f"events-{name}")
        timeline, state, _ = self._followed[name]
        return timeline, state

    async def _follow_current(
        self,
        name: str,
        client: KubeClient,
        timeline: EventTimeline,
        state: WatchState,
        stop: asyncio.Event,
    ) -> bool:
        """Feed ``timeline`` through ``client`` until stopped (False), or until the pool hands
        out another client for the cluster (True): its credential re-imported, its URL or CA
        edited. The pool is asked every CLIENT_CHECK_S (the same client is a dictionary
        look-up); the watch of ``client`` is ended either way."""
        following = asyncio.ensure_future(follow_events(client, timeline, state=state, stop=stop))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while True:
                await asyncio.wait(
                    {following, stopped},
                    timeout=CLIENT_CHECK_S,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if following.done():
                    following.result()  # it ends when stopped, or on an error: raised here
                    return False
                if stop.is_set():
                    return False
                if await self._pool.kube(self._registry.get(name)) is not client:
                    return True
        finally:
            following.cancel()
            stopped.cancel()
            await asyncio.wait({following, stopped})

    def unfollow(self, name: str | None = None) -> None:
        """Stop the watch of one cluster (all of them with no name)."""
        for key in [name] if name else list(self._followed):
            entry = self._followed.pop(key, None)
            if entry is not None:
                entry[2].set()
