#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a fresh Debian machine,
# and fails loudly when something cannot be had: under CI a missing
# dependency is a failure, never a skipped test.
set -euo pipefail

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
  echo "deps: Go $need_go or newer is required (https://go.dev/dl/); it is not on PATH" >&2
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -1)" != "$need_go" ]; then
  echo "deps: Go $need_go or newer is required, found $have" >&2
  exit 1
fi

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: $* missing; run: sudo apt-get install -y $*" >&2
    exit 1
  fi
  echo "deps: installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# MariaDB for the CDC tests and the demo: the tests start a private server
# with its own datadir, so only the binaries are needed.
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  apt_install mariadb-server
fi

# Module downloads for both modules, so tests fail on a broken proxy here
# with a clear message rather than halfway through.
go mod download
(cd e2e && go mod download)
