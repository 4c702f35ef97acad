#!/usr/bin/env bash
# Debian packages the app and its tests need. As root, installs the missing ones; elsewhere,
# prints the command to run.
set -euo pipefail
packages=(
  dbus dbus-x11 gnome-keyring          # the OS keyring (Secret Service) for credentials
  xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0  # X11 window
  libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core    # Qt runtime
  poppler-utils                        # pdftotext/pdftoppm for report tests
  g++                                  # builds llama-cpp-python once for the LLM tests
  python3-venv python3-dev gcc         # `make package`: briefcase on Debian's python3, its stub
  prometheus prometheus-alertmanager victoria-metrics nginx-light openssl  # real servers in tests
)
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
