#!/usr/bin/env bash
# Installs everything walflow needs to build, test and run its demo, from Debian 12's
# packages only. Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpq-dev libyaml-cpp-dev libfmt-dev
  googletest libgtest-dev libgmock-dev nlohmann-json3-dev
  librdkafka-dev kcat
  libcurl4-openssl-dev libssl-dev libzstd-dev libsnappy-dev curl
  libpg-query-dev librocksdb-dev libjemalloc-dev
  postgresql-15 postgresql-client-15
  procps util-linux locales
)
# Node.js runs the test tools of tests/node (an S3 server, an S3 client, DuckDB). A node
# already on PATH is kept, whatever its origin; Debian's (18) is recent enough.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The glibc locales the collation tests use (a column COLLATE "en_US.utf8" orders text as
# the server's C library does; walflow's views use the same locale). Generated from the
# locales package's own definitions, once; a server initialized afterwards lists them in
# pg_collation.
for loc in en_US pl_PL; do
  if ! locale -a 2>/dev/null | grep -qx "$loc.utf8"; then
    echo "install-deps: generating the locale $loc.UTF-8"
    localedef -i "$loc" -c -f UTF-8 "$loc.UTF-8"
  fi
done

# The test tools' npm packages, exactly as tests/node/package-lock.json locks them. Skipped
# while node_modules was installed from the same lock file.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "install-deps: tests/node needs Node.js 18 or later, not $(node --version)" >&2
  exit 1
fi
node_tools="$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../tests/node" && pwd)"
lock_sum=$(sha256sum "$node_tools/package-lock.json" | cut -d' ' -f1)
stamp="$node_tools/node_modules/.walflow-lock-sha256"
if [[ ! -f $stamp || $(<"$stamp") != "$lock_sum" ]]; then
  echo "install-deps: npm ci in tests/node"
  (cd "$node_tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$stamp"
fi

# The Debian package starts a cluster on 5432 on install; walflow never uses it, and
# tests and the demo start their own servers on free ports.
echo "install-deps: ok"
