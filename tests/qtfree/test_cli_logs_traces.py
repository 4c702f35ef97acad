"""`aiops-desktop logs` and `aiops-desktop traces` as a person runs them, against the Loki/Tempo
stand-in behind TLS: the cluster registered with its LokiStack/TempoStack gateway URLs (the
tenant in the URL) and a bearer token kept in the keyring; lines, JSON, a bounded tail, a
search, a trace as a span tree, and what a bad query or a missing endpoint says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.qtfree.cli_runner import run_cli
from tests.servers.loki_tempo import TOKEN, RunningLokiTempo

pytestmark = pytest.mark.integration
UNTIL = ["--until", "2023-01-29T08:48:00Z", "--since", "5m"]
ERRORS = '{k8s_pod_name="ts-contacts-service-866bd68c97-xcqfx"} |= "ERROR"'


@pytest.fixture
def lab(
    tmp_path: Path, loki_tempo: RunningLokiTempo, secret_service
) -> tuple[Path, dict[str, str]]:  # type: ignore[no-untyped-def]
    env, home = dict(secret_service.env), tmp_path / "home"
    ca = tmp_path / "ca.pem"
    ca.write_text(loki_tempo.ca_pem)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    added = run_cli(home, env, "clusters", "add", "lab",
                    "--loki-url", f"{loki_tempo.gateway_url}/api/logs/v1/application",
                    "--loki-token-file", str(token),
                    "--tempo-url", f"{loki_tempo.gateway_url}/api/traces/v1/dev",
                    "--tempo-token-file", str(token), "--ca-file", str(ca))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert TOKEN not in (home / "aiops-desktop.sqlite3").read_bytes().decode("latin-1")
    return home, env


def test_logs_of_a_faulty_pod_as_text_and_json(lab: tuple[Path, dict[str, str]]) -> None:
    home, env = lab
    text = run_cli(home, env, "logs", "--cluster", "lab", ERRORS, *UNTIL, "--limit", "3")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 3 and all(
        "UTC  ts-contacts-service-866bd68c97-xcqfx  " in x for x in lines
    )
    assert "more lines matched: the first 3 are shown" in text.stderr
    doc = json.loads(run_cli(home, env, "logs", "--cluster", "lab", ERRORS, *UNTIL,
                             "--limit", "2000", "--json").stdout)  # fmt: skip
    assert doc["lines"] and not doc["truncated"]
    assert all("ERROR" in x["line"] for x in doc["lines"])
    assert {x["labels"]["service_name"] for x in doc["lines"]} == {"ts-contacts-service"}
    tail = run_cli(home, env, "logs", "--cluster", "lab", ERRORS, *UNTIL, "--tail",
                   "--limit", "5", timeout=60)  # fmt: skip
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 5, tail.stderr


def test_traces_search_and_one_trace_as_a_tree(lab: tuple[Path, dict[str, str]]) -> None:
    home, env = lab
    found = run_cli(home, env, "traces", "--cluster", "lab", "--service", "ts-contacts-service",
                    "--errors", *UNTIL, "--json")  # fmt: skip
    assert found.returncode == 0, found.stderr
    traces = json.loads(found.stdout)
    assert traces and all(t["root_service"] == "ts-gateway-service" for t in traces)
    tree = run_cli(home, env, "traces", "--cluster", "lab", "--id", traces[0]["trace_id"])
    assert tree.returncode == 0, tree.stderr
    head, *spans = tree.stdout.splitlines()
    assert head.startswith(f"trace {traces[0]['trace_id']}: ") and " error" in head
    assert spans[0].split("ms")[0].strip() == "0.0"  # the root starts the waterfall
    assert any(line.endswith(" ERROR") and "ts-contacts-service" in line for line in spans)


def test_what_a_bad_query_or_a_missing_endpoint_says(
    lab: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, env = lab
    bad = run_cli(home, env, "logs", "--cluster", "lab", '{k8s_pod_name="x"', *UNTIL)
    assert bad.returncode != 0
    assert "refused the query: parse error at line 1, col" in bad.stderr
    bare = run_cli(home, env, "clusters", "add", "bare", "--prometheus-url", "http://127.0.0.1:9")
    assert bare.returncode == 0, bare.stderr
    missing = run_cli(home, env, "traces", "--cluster", "bare")
    assert missing.returncode != 0 and "bare has no Tempo endpoint" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr
