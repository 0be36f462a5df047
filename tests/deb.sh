#!/usr/bin/env bash
# Builds the Debian package with `cargo deb`, installs it with dpkg, checks the installed config
# and unit, and removes it (dpkg -r, then --purge) checking that nothing of it is left.
# Needs root. Outside CI it skips, saying why, when not root or when cargo-deb is missing;
# in CI (CI=true, as .ci/run sets up) it installs cargo-deb and must run.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "tests/deb.sh: FAIL: $*" >&2
    exit 1
  fi
  echo "tests/deb.sh: SKIPPED: $*" >&2
  exit 0
}
fail() { echo "tests/deb.sh: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
if ! cargo deb --version >/dev/null 2>&1; then
  [ "${CI:-}" = "true" ] || skip "cargo-deb is not installed (cargo install cargo-deb --locked)"
  cargo install cargo-deb --locked
fi
if dpkg -s payprobe >/dev/null 2>&1; then
  skip "a payprobe package is already installed on this machine; not touching it"
fi
command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze missing (tests/run.sh installs systemd)"

cargo deb --locked
deb=$(ls -t target/debian/payprobe_*.deb | head -n 1)
echo "tests/deb.sh: $deb"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/payprobe ./etc/payprobe/payprobe.toml ./usr/share/doc/payprobe/README.md \
         ./usr/share/doc/payprobe/profiles.md ./usr/share/doc/payprobe/prometheus/payprobe-rules.yml \
         ./usr/share/doc/payprobe/dashboards/payprobe-overview.json; do
  grep -qx "$f" <<<"$contents" || fail "$deb has no $f"
done
unit=$(grep -E '^\./(usr/)?lib/systemd/system/payprobe\.service$' <<<"$contents" | sed 's#^\.##') \
  || fail "$deb has no systemd unit"
ctrl=$(mktemp -d)
dpkg-deb -e "$deb" "$ctrl"
grep -qx /etc/payprobe/payprobe.toml "$ctrl/conffiles" || fail "/etc/payprobe/payprobe.toml is not a conffile"
rm -rf "$ctrl"

cleanup() { dpkg --purge payprobe >/dev/null 2>&1 || true; }
trap cleanup EXIT

dpkg -i "$deb"
files=$(dpkg -L payprobe)
/usr/bin/payprobe --version
/usr/bin/payprobe check-config /etc/payprobe/payprobe.toml
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
[ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
score=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || fail "installed unit exposure $score > 2.0"

dpkg -r payprobe
[ ! -e /usr/bin/payprobe ] || fail "dpkg -r left /usr/bin/payprobe"
[ ! -e "$unit" ] || fail "dpkg -r left $unit"
[ -e /etc/payprobe/payprobe.toml ] || fail "dpkg -r removed the conffile (it should keep it)"
dpkg --purge payprobe
trap - EXIT
dpkg -s payprobe >/dev/null 2>&1 && fail "payprobe still known to dpkg after --purge"
left=()
while read -r f; do
  case "$f" in /.|/etc|/usr|/usr/bin|/usr/share|/usr/share/doc|/lib|/lib/systemd|/lib/systemd/system|/usr/lib|/usr/lib/systemd|/usr/lib/systemd/system) continue ;; esac
  [ -e "$f" ] && left+=("$f")
done <<<"$files"
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
[ ! -e /etc/payprobe ] || fail "left after purge: /etc/payprobe"
[ ! -e /var/lib/payprobe ] || fail "left after purge: /var/lib/payprobe"
echo "tests/deb.sh: OK (installed, check-config, verify, exposure $score, removed, purged)"
