# Two set-up commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: package package-test llm-test-server llm-test-server-start llm-test-server-ready test-llm bench-llm run test lint typecheck layers pytest test-suites test-qtfree test-ui bench bench-nab bench-nab-cv bench-live bench-logs bench-rca fuzz runtime-packages system-packages sample screenshots clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade -c requirements/constraints.txt pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[test]"
	touch $(STAMP)

# what the app needs (`make run`); system-packages adds what the tests and developer targets
# need (test servers, compilers, briefcase's build tools): `make run` installs none of those
runtime-packages:
	@bash packaging/system-packages.sh run

system-packages:
	@bash packaging/system-packages.sh test

run: runtime-packages $(STAMP)
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found: starting under Xvfb (set DISPLAY to see the window)."; \
	  xvfb-run -a $(BIN)/aiops-desktop; \
	else $(BIN)/aiops-desktop; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python packaging/sync_briefcase.py --check

layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# every test in one run (Qt importable)
pytest: $(STAMP) llm-test-server
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# the real model server of the LLM tests (built once per machine: packaging/llm-test-server.sh)
llm-test-server: $(STAMP)
	@PYTHON=$(PYTHON) VENV=$(VENV) bash packaging/llm-test-server.sh

# `make test` starts that build (minutes, the first time on a machine) before the venv is even
# made, beside it and the other checks (niced), and runs the tests that need it (marked `llm`)
# last
LLM_BUILD := .cache/llm-test-server
llm-test-server-start:
	@mkdir -p .cache && rm -f $(LLM_BUILD).rc
	@( PYTHON=$(PYTHON) nice -n 19 bash packaging/llm-test-server.sh build > $(LLM_BUILD).log 2>&1; \
	   echo $$? > $(LLM_BUILD).rc ) &

llm-test-server-ready: $(STAMP)
	@if [ -f $(LLM_BUILD).log ]; then \
	  while [ ! -f $(LLM_BUILD).rc ]; do sleep 2; done; cat $(LLM_BUILD).log; \
	  rm -f $(LLM_BUILD).log; rc=$$(cat $(LLM_BUILD).rc); rm -f $(LLM_BUILD).rc; \
	  [ "$$rc" = 0 ] || exit $$rc; \
	fi
	@PYTHON=$(PYTHON) VENV=$(VENV) bash packaging/llm-test-server.sh

# `make test`'s two suites side by side (tests/run_suites.sh): the Qt-free one waits on its
# servers most of the time, and the UI one fits beside it
test-suites: $(STAMP)
	BIN=$(BIN) bash tests/run_suites.sh

test-qtfree: $(STAMP)
	$(BIN)/python tests/run_qtfree.py -m "not llm"

# the tests that need Qt; the Qt-free ones have just run without it
test-ui: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/ui -m "not llm"

# the chat, explanations and `llm`/`chat` commands against a real llama.cpp server
test-llm: $(STAMP) llm-test-server-ready
	$(BIN)/python tests/run_qtfree.py -m llm
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/ui -m llm

test: system-packages llm-test-server-start lint layers typecheck test-suites test-llm

# the parsers of outside input, fuzzed at length (CI runs the same tests, bounded)
fuzz: $(STAMP)
	AIOPS_FUZZ_PROFILE=fuzz $(BIN)/python -m pytest tests/qtfree/test_fuzz.py -p no:randomly -q

bench: system-packages $(STAMP)
	$(BIN)/python tests/benchmarks/bench_startup.py
	$(BIN)/python tests/benchmarks/bench_store.py
	$(BIN)/python tests/benchmarks/bench_poll.py
	$(BIN)/python tests/benchmarks/bench_scale.py
	$(BIN)/python tests/benchmarks/bench_parse.py

# RCA on recorded fault-injection cases (../shared/data/rca); RCA_ARGS="--data-dir DIR --out F"
bench-rca: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_rca.py $(RCA_ARGS)

bench-nab: $(STAMP)
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[bench]"
	$(BIN)/python tests/benchmarks/bench_nab.py $(NAB_ARGS)

# The live anomaly path at fleet scale (2,000 series every 15 s) and the NAB corpus time
bench-live: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_live.py $(LIVE_ARGS)

# The Logs page at volume: the live tail at 500..20,000 lines/s and 1,000,000 fetched lines
bench-logs: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python tests/benchmarks/bench_logs.py

# The local model path with the test model: first token, tokens/s, the tool loop, an explanation
bench-llm: $(STAMP) llm-test-server
	$(BIN)/python tests/benchmarks/bench_llm.py $(LLM_ARGS)

# Leave-one-category-group-out cross-validation of the app's detector (about 2 min on 2 cores)
bench-nab-cv: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_nab_cv.py $(NAB_ARGS)

# The sample capture, remade through the real path (fixtures -> Prometheus -> poller -> export)
sample: system-packages $(STAMP)
	$(BIN)/python -m tests.servers.sample_capture resources/samples/sample.aiops

# The Debian package from briefcase.toml (dist/*.deb); offline but for the package registries
package: system-packages $(STAMP)
	VENV=$(VENV) bash packaging/package.sh

# The package installed with apt, run (offscreen, --version, a command), checked, removed (root)
package-test: system-packages $(STAMP)
	DEB_COMPRESSOR=gzip VENV=$(VENV) bash packaging/package.sh
	$(BIN)/python -m pytest tests/package -p no:randomly

screenshots: $(STAMP)
	$(BIN)/aiops-desktop --data-dir "$$(mktemp -d)" --offscreen --screenshot tests/reference/first_run.png --force --size 1280x800

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache bench-results
