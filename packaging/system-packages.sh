#!/usr/bin/env bash
# Debian packages: `system-packages.sh run` those the app needs (`make run`), `... test` those
# and what the tests and the developer targets need too (`make test`, `make package`, ...). As
# root, installs the missing ones; elsewhere, prints the command to run. `--list` after the
# group prints its packages and installs nothing.
# `make run` never installs the test servers: as root, their postinst starts network daemons
# (Prometheus, Alertmanager, VictoriaMetrics, nginx on port 80) on a person's machine.
set -euo pipefail
runtime=(
  python3-venv                         # `make run`'s venv on Debian's python3
  dbus gnome-keyring                   # the OS keyring (Secret Service) for credentials
  xvfb xauth                           # X11 window: Xvfb where there is no display
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0  # Qt's xcb
  libxcb-render-util0 libxcb-shape0    # plugin: as the .deb's (briefcase.toml) runtime requires
  libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core    # Qt runtime
)
test_only=(
  dbus-x11                             # the tests' private Secret Service
  poppler-utils                        # pdftotext/pdftoppm for report tests
  g++                                  # builds llama-cpp-python once for the LLM tests
  python3-dev gcc                      # `make package`: briefcase on Debian's python3, its stub
  appstream                            # appstreamcli validates the package's AppStream file
  prometheus prometheus-alertmanager victoria-metrics nginx-light openssl  # real servers in tests
)
case "${1:-test}" in
  run) packages=("${runtime[@]}") ;;
  test) packages=("${runtime[@]}" "${test_only[@]}") ;;
  *) echo "usage: $0 run|test [--list]" >&2; exit 2 ;;
esac
if [ "${2:-}" = "--list" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages: ${missing[*]}"
  echo "Install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
  exit 1
fi
