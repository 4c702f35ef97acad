"""Fuzzing every parser of outside input (issue 14): Prometheus and Alertmanager answers
(bytes through the HTTP client's decoding, as a server sends them), Kubernetes objects and
watch lines, kubeconfigs, nvidia-smi CSV, captures (manifests and recorded documents) and the
duration/time arguments. Whatever the input, the only exceptions are the project's own.

Inputs are "near-valid": JSON shaped from each format's own vocabulary, every field at times
of the wrong type, plus raw bytes. CI runs the ``ci`` profile (derandomized, bounded);
``make fuzz`` runs the ``fuzz`` profile (random, thousands of examples per target)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import string
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops_desktop.cli.args import bounded, duration, instant, promql
from aiops_desktop.models.errors import AppError
from collectors.alertmanager import AlertmanagerClient
from collectors.errors import CollectorError
from collectors.http import BackendClient, HttpPolicy
from collectors.prometheus import PrometheusClient

settings.register_profile(
    "ci", max_examples=150, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
settings.register_profile(
    "fuzz", max_examples=4000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
settings.load_profile(__import__("os").environ.get("AIOPS_FUZZ_PROFILE", "ci"))


def near_valid(vocabulary: list[str]) -> st.SearchStrategy[Any]:
    """JSON whose keys and strings come mostly from a format's vocabulary, nested and typed
    at random: a field is as often a list, a number or null as what the format says."""
    words = st.sampled_from(vocabulary)
    scalars = (
        st.none() | st.booleans() | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | words | st.text(max_size=12)
        | st.sampled_from(["1", "NaN", "+Inf", "1e400", "-5", "2026-12-04T06:00:00Z", ""])
    )  # fmt: skip
    return st.recursive(
        scalars,
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(words | st.text(max_size=6), kids, max_size=6)
        ),
        max_leaves=40,
    )


PROM_WORDS = ["status", "success", "error", "data", "resultType", "result", "matrix", "vector",
              "scalar", "string", "metric", "values", "value", "warnings", "__name__", "cluster",
              "errorType", "bad_data"]  # fmt: skip
AM_WORDS = ["fingerprint", "startsAt", "endsAt", "labels", "annotations", "status", "state",
            "active", "suppressed", "unprocessed", "alertname", "severity", "critical",
            "cluster", "generatorURL", "summary"]  # fmt: skip
KUBE_WORDS = ["metadata", "name", "namespace", "labels", "uid", "creationTimestamp", "status",
              "spec", "conditions", "type", "Ready", "True", "False", "reason", "message",
              "capacity", "allocatable", "nvidia.com/gpu", "memory", "cpu", "nodeInfo",
              "kubeletVersion", "unschedulable", "containers", "containerStatuses", "state",
              "waiting", "terminated", "lastState", "restartCount", "ready", "exitCode", "phase",
              "Pending", "Failed", "nodeName", "PodScheduled", "CrashLoopBackOff",
              "involvedObject", "regarding", "kind", "lastTimestamp", "eventTime", "series",
              "count", "note", "firstTimestamp", "object", "ADDED", "MODIFIED", "DELETED",
              "ERROR", "items", "profile", "recommend", "ptpClockThreshold", "maxOffsetThreshold",
              "minOffsetThreshold", "match", "nodeLabel", "nodeName", "priority", "interfaces",
              "syncStatus", "lastSyncError", "numVfs", "pciAddress", "resourceName",
              "networkNamespace", "vlan", "host", "tls", "to", "port", "ports", "rules",
              "apiGroups", "resources", "verbs", "*", "get", "list",
              "node-role.kubernetes.io/master", "app.kubernetes.io/component"]  # fmt: skip

FAST = HttpPolicy(connect_timeout_s=1, read_timeout_s=1, retries=0)


def _client(body: bytes, status: int = 200) -> BackendClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return BackendClient(
        "http://fuzz.invalid", name="fuzz", policy=FAST, transport=httpx.MockTransport(answer)
    )


def _bodies(words: list[str]) -> st.SearchStrategy[bytes]:
    shaped = near_valid(words).map(lambda doc: json.dumps(doc).encode())
    return shaped | st.binary(max_size=200)


async def _ask(client: BackendClient, call: Any) -> None:
    try:
        with contextlib.suppress(CollectorError):
            await call()
    finally:
        await client.aclose()


@given(body=_bodies(PROM_WORDS), status=st.sampled_from([200, 200, 200, 400, 422, 503]))
def test_prometheus_answers(body: bytes, status: int) -> None:
    http = _client(body, status)
    prom = PrometheusClient(http)
    asyncio.run(_ask(http, lambda: prom.query_range("up", 0, 60, 15)))
    http = _client(body, status)
    prom = PrometheusClient(http)
    asyncio.run(_ask(http, lambda: prom.query("up")))


@given(body=_bodies(AM_WORDS) | st.lists(near_valid(AM_WORDS), max_size=3).map(
    lambda items: json.dumps(items).encode()))  # fmt: skip
def test_alertmanager_answers(body: bytes) -> None:
    http = _client(body)
    am = AlertmanagerClient(http)
    asyncio.run(_ask(http, lambda: am.alerts("fuzz-1")))


KUBE_OBJECTS = st.lists(near_valid(KUBE_WORDS), max_size=4)


@given(objects=KUBE_OBJECTS)
def test_kubernetes_inventory_objects(objects: list[Any]) -> None:
    from aiops_desktop.services.kube.inventory import EventTimeline, inventory_of
    from collectors.kubernetes import WatchEvent

    with contextlib.suppress(CollectorError):
        inventory_of("fuzz-1", objects, objects)
    timeline = EventTimeline()
    for kind in ("ADDED", "MODIFIED", "DELETED", "ERROR"):
        for obj in objects:
            with contextlib.suppress(CollectorError):
                timeline.apply(WatchEvent(kind, obj))
    timeline.newest_first()


@given(objects=KUBE_OBJECTS, extra=KUBE_OBJECTS)
def test_kubernetes_discovery_and_cnf_objects(objects: list[Any], extra: list[Any]) -> None:
    from aiops_desktop.services.gpu_cnf.drift import ptp_profile_facts, sriov_policy_facts
    from aiops_desktop.services.gpu_cnf.sriov import network_rows, node_sync_rows
    from aiops_desktop.services.kube.discovery import interpret
    from aiops_desktop.services.kube.session import slim, thresholds_of
    from aiops_desktop.services.kube.validation import NEEDS, allowed_by_rules

    keys = ("nodes", "pods", "namespaces", "routes", "services")
    calls = [
        lambda: interpret(
            "fuzz-1",
            dict(zip(keys, [objects, extra] * 3, strict=False)),
            {"gitVersion": "v1.30.0"},
            [],
            [],
        ),
        lambda: [slim(o, core=c) for o in objects for c in (True, False)],
        lambda: allowed_by_rules(objects, NEEDS[2]),
        lambda: thresholds_of(objects, extra),
        lambda: node_sync_rows(objects),
        lambda: network_rows(objects),
        lambda: ptp_profile_facts("fuzz-1", objects),
        lambda: sriov_policy_facts("fuzz-1", objects),
    ]
    for call in calls:
        with contextlib.suppress(CollectorError):
            call()


@given(line=near_valid(KUBE_WORDS).map(lambda d: json.dumps(d).encode()) | st.binary(max_size=80))
def test_kubernetes_watch_lines(line: bytes) -> None:
    from collectors.kubernetes import _parse_event

    with contextlib.suppress(CollectorError):
        _parse_event(line, "fuzz-1")


KUBECONFIG_WORDS = ["apiVersion", "v1", "kind", "Config", "clusters", "contexts", "users",
                    "name", "cluster", "user", "context", "server", "https://api.k:6443",
                    "http://x", "certificate-authority-data", "certificate-authority",
                    "insecure-skip-tls-verify", "token", "tokenFile", "client-certificate",
                    "client-key", "client-certificate-data", "client-key-data", "exec",
                    "command", "auth-provider", "username", "password", "current-context",
                    "namespace", "/dev/zero", "LS0tLQ=="]  # fmt: skip


@settings(max_examples=100)
@given(doc=near_valid(KUBECONFIG_WORDS), raw=st.text(max_size=120))
def test_kubeconfigs(tmp_path_factory: pytest.TempPathFactory, doc: Any, raw: str) -> None:
    import yaml

    from aiops_desktop.services.clusters.kubeconfig import KubeconfigError, read_contexts

    folder = tmp_path_factory.mktemp("kc")
    for text in (yaml.safe_dump(doc), yaml.safe_dump({"contexts": [doc]}), raw):
        path = folder / "config"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        with contextlib.suppress(KubeconfigError):
            read_contexts(path)


CSV_WORDS = [
    "0",
    "1",
    "NVIDIA H200",
    "GPU-1",
    "00000000:17:00.0",
    "[N/A]",
    "[Not Supported]",
    "[Unknown Error]",
    "550.54",
    "81559",
    "-1",
    "nan",
    "1e400",
    "",
    " ",
    '"',
    "a,b",
]
CSV_CELLS = st.sampled_from(CSV_WORDS) | st.text(max_size=8)


@given(rows=st.lists(st.lists(CSV_CELLS, max_size=24), max_size=4), raw=st.text(max_size=200))
def test_nvidia_smi_csv(rows: list[list[str]], raw: str) -> None:
    from collectors.nvidia_smi import parse_compute_apps, parse_gpus

    for text in (raw, "\n".join(", ".join(r) for r in rows)):
        for parse in (parse_gpus, parse_compute_apps):
            with contextlib.suppress(CollectorError):
                parse(text)


MANIFEST_WORDS = ["format", "aiops-desktop-capture", "format_version", "schema_version",
                  "app_version", "created_at", "clusters", "since", "until", "counts",
                  "2026-12-04T06:00:00Z", "sample", "source"]  # fmt: skip


def _capture(path: Path, manifest: Any, answers: Any, objects: Any) -> None:
    from aiops_desktop.store.capture import MANIFEST_KEY
    from aiops_desktop.store.migrations import migrate

    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        migrate(conn)
        conn.execute(
            "INSERT OR REPLACE INTO app_meta(key, value) VALUES (?, ?), (?, ?), (?, ?)",
            (MANIFEST_KEY, json.dumps(manifest), "recorded_answers", json.dumps(answers),
             "recorded_objects", json.dumps(objects)),
        )  # fmt: skip
        conn.commit()
    finally:
        conn.close()


@settings(max_examples=60)
@given(
    manifest=near_valid(MANIFEST_WORDS) | st.fixed_dictionaries(
        {"format": st.just("aiops-desktop-capture"), "format_version": st.integers(0, 3),
         "schema_version": st.integers(0, 99), "created_at": near_valid(MANIFEST_WORDS),
         "clusters": near_valid(MANIFEST_WORDS)}),
    answers=near_valid(PROM_WORDS),
    objects=near_valid(KUBE_WORDS),
)  # fmt: skip
def test_captures(
    tmp_path_factory: pytest.TempPathFactory, manifest: Any, answers: Any, objects: Any
) -> None:
    from aiops_desktop.services.outputs.recorded import RecordedQueries, recorded_objects
    from aiops_desktop.store.capture_load import load_capture

    folder = tmp_path_factory.mktemp("cap")
    source = folder / "fuzz.aiops"
    _capture(source, manifest, answers, objects)
    with contextlib.suppress(AppError):
        _, documents = load_capture(source, folder / "opened.db")
        RecordedQueries(None, documents.get("recorded_answers"))  # type: ignore[arg-type]
        recorded_objects(documents.get("recorded_objects"))
    for doc in (answers, {"k": answers}, {"k": [answers]}):
        with contextlib.suppress(AppError):
            RecordedQueries(None, doc)  # type: ignore[arg-type]
    with contextlib.suppress(AppError):
        recorded_objects(objects)


@given(text=st.text(alphabet=string.printable, max_size=16) | st.text(max_size=8))
def test_duration_and_time_arguments(text: str) -> None:
    for parse in (duration, instant, bounded(0, 300, "seconds"), promql):
        with contextlib.suppress(argparse.ArgumentTypeError):
            parse(text)
