#!/usr/bin/env bash
# `make test`'s two suites side by side: the tests that need Qt (offscreen) in the background,
# their output kept in a file and shown once they end, and the Qt-free tests (PySide6 blocked)
# in the foreground. The Qt-free suite spends most of its time waiting on its servers (it kept
# 0.7 of one core busy on a 2-core machine), so the UI suite's 5 minutes fit beside it.
# Exit status: the first failing suite's, else 0.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
ui_log=$(mktemp "${TMPDIR:-/tmp}/aiops-test-ui.XXXXXX")
trap 'rm -f "$ui_log"' EXIT

QT_QPA_PLATFORM=offscreen "$BIN/python" -m pytest tests/ui -m "not llm" "$@" > "$ui_log" 2>&1 &
ui_pid=$!
# the UI suite ends with the Qt-free one if this is stopped (Ctrl+C, a CI timeout)
trap 'kill "$ui_pid" 2>/dev/null; rm -f "$ui_log"' EXIT

echo "== Qt-free tests (tests/qtfree, PySide6 blocked); the UI tests run beside them =="
"$BIN/python" tests/run_qtfree.py -m "not llm" "$@"
qtfree_rc=$?

wait "$ui_pid"
ui_rc=$?
echo
echo "== UI tests (tests/ui, offscreen), run beside the Qt-free ones =="
cat "$ui_log"

if [ "$qtfree_rc" != 0 ]; then exit "$qtfree_rc"; fi
exit "$ui_rc"
