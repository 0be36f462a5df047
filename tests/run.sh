#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the tests use when they are
# missing: `prometheus` (the real promtool), `dnsmasq-base` (a real DNS server), `nftables`
# and `iproute2` (namespaces and packet loss for the network tests), `prometheus-alertmanager`
# (a real Alertmanager receives payprobe's alerts and routes them by its own webhook).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

exec cargo test --locked "$@"
