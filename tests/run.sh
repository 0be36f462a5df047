#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the tests use when they are
# missing: `prometheus` (Prometheus itself and promtool), `prometheus-alertmanager` (amtool,
# for the compose stack's config, and a real Alertmanager for the alert tests), `dnsmasq-base` (a real DNS server), `nftables` and
# `iproute2` (namespaces and packet loss for the network tests), `systemd` (systemd-analyze:
# the unit's exposure score and syscall groups), `strace` (the syscalls payprobe makes,
# against the unit's SystemCallFilter=), `python3-yaml` (reads the compose, Kubernetes and
# Grafana provisioning YAML), `python3-cryptography` (tests/it/signed_gateway.py and demo_client.py: Alipay and
# WeChat Pay signatures checked and made by an implementation other than payprobe's), `openssl`
# (`openssl s_server` requiring a client certificate, tests/it/auth_forms), and `chromium` and `fonts-wqy-microhei` (the status page rendered
# in a real browser, Chinese included).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v strace >/dev/null 2>&1 || need+=(strace)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 || need+=(python3-cryptography)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# `tests/run.sh --install-only`: the packages above and nothing else (.ci/run needs them
# before the Debian package test).
[ "${1:-}" = "--install-only" ] && exit 0

exec cargo test --locked "$@"
