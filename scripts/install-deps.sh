#!/usr/bin/env bash
# Installs everything walflow needs to build, test and run its demo, from Debian 12's
# packages only. Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpq-dev libyaml-cpp-dev libfmt-dev
  googletest libgtest-dev libgmock-dev nlohmann-json3-dev
  librdkafka-dev kcat
  postgresql-15 postgresql-client-15
  procps util-linux
)

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

# The Debian package starts a cluster on 5432 on install; walflow never uses it, and
# tests and the demo start their own servers on free ports.
echo "install-deps: ok"
