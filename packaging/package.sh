#!/usr/bin/env bash
# `make package`: the Debian package (.deb in dist/) built with briefcase's Linux system target
# from briefcase.toml, offline but for the package registries: briefcase runs from a venv of
# Debian's own python3 (a system package runs on it), and its app template is the one kept in
# packaging/briefcase-template (briefcase would fetch it from GitHub). The man page is written
# from the command line's help (packaging/manpage.py). DEB_COMPRESSOR=gzip makes a quicker,
# bigger package (the install test's); the default is dpkg's xz.
set -euo pipefail
cd "$(dirname "$0")/.."
BVENV=.cache/briefcase-venv
SYSTEM_PYTHON=${SYSTEM_PYTHON:-/usr/bin/python3}
if [ ! -x "$BVENV/bin/briefcase" ]; then
  "$SYSTEM_PYTHON" -m venv "$BVENV"
  "$BVENV/bin/pip" install --quiet --disable-pip-version-check -c requirements/constraints.txt \
    "briefcase==0.4.7"
fi
# the app's requires (ranges in briefcase.toml) are installed into the bundle at the versions
# CI tests, not at whatever the registry holds that day
export PIP_CONSTRAINT="$PWD/requirements/constraints.txt"
template="$PWD/packaging/briefcase-template"
rm -rf build/aiops-desktop
"$BVENV/bin/briefcase" create linux system --no-input -C "template=\"$template\""
bundle=$(ls -d build/aiops-desktop/*/*/ | head -1)
COLUMNS=80 "${VENV:-.venv}/bin/python" packaging/manpage.py > "$bundle/aiops-desktop.1"
# the README the man page names (`briefcase build` adds copyright and changelog.gz beside it)
tree=$(ls -d "$bundle"/aiops-desktop-*/ | head -1)
mkdir -p "$tree/usr/share/doc/aiops-desktop"
cp README.md "$tree/usr/share/doc/aiops-desktop/"
"$BVENV/bin/briefcase" build linux system --no-input
if command -v appstreamcli >/dev/null; then  # `make test` installs it (appstream)
  appstreamcli validate --no-net "$bundle"/aiops-desktop-*/usr/share/metainfo/*.metainfo.xml
fi
DPKG_DEB_COMPRESSOR_TYPE=${DEB_COMPRESSOR:-xz} \
  "$BVENV/bin/briefcase" package linux system --no-input
rm -rf build/aiops-desktop  # the staging tree: the package is in dist/
ls -la dist/*.deb
