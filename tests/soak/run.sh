#!/usr/bin/env bash
# Soak test (issue 15, item 9; not in CI): 1,000 targets against loopback gateways whose
# fault rotates every minute; RSS, open files and threads of the daemon sampled every minute.
# Flat curves mean no leak: memory, sockets and tasks stay bounded whatever the gateways do.
#
#   tests/soak/run.sh                     # an hour, 1,000 targets (the issue's soak)
#   SOAK_SECONDS=300 SOAK_SAMPLE_SECONDS=15 SOAK_ROTATE_SECONDS=20 tests/soak/run.sh
#
# Writes tests/soak/out/samples.csv (elapsed_s,rss_kib,open_files,threads,probes_total,
# internal_errors) and prints it. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TOTAL=${SOAK_SECONDS:-3600}
SAMPLE=${SOAK_SAMPLE_SECONDS:-60}
TARGETS=${SOAK_TARGETS:-1000}
GATEWAYS=${SOAK_GATEWAYS:-8}
OUT=tests/soak/out
mkdir -p "$OUT"
cargo build --release --locked --quiet
BIN=target/release/payprobe

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

base=$((20000 + RANDOM % 20000))
for i in $(seq 0 $((GATEWAYS - 1))); do
  # Staggered starts so the gateways are in different faults at any moment.
  SOAK_ROTATE_SECONDS=${SOAK_ROTATE_SECONDS:-60} python3 tests/soak/faults.py $((base + i)) &
  pids+=($!)
  sleep 0.3
done

cfg="$OUT/soak.toml"
{
  echo '[server]'
  echo 'listen = "127.0.0.1:0"'
  echo 'max_concurrency = 256'
  echo '[defaults]'
  echo 'interval = "15s"'
  echo 'timeout = "5s"'
  for n in $(seq 1 "$TARGETS"); do
    port=$((base + n % GATEWAYS))
    echo '[[targets]]'
    echo "name = \"soak-$n\""
    echo "url = \"http://127.0.0.1:$port/v1/status\""
    echo 'checks = ["http", "api_version"]'
  done
} > "$cfg"

"$BIN" --log-format json run --config "$cfg" 2> "$OUT/daemon.log" &
daemon=$!
pids+=("$daemon")
addr=""
for _ in $(seq 1 100); do
  addr=$(grep -o '"addr":"[^"]*"' "$OUT/daemon.log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$addr" ] && break
  sleep 0.2
done
[ -n "$addr" ] || { echo "daemon did not start"; cat "$OUT/daemon.log"; exit 1; }

echo "elapsed_s,rss_kib,open_files,threads,probes_total,internal_errors" > "$OUT/samples.csv"
start=$(date +%s)
while :; do
  now=$(date +%s); el=$((now - start))
  kill -0 "$daemon" || { echo "the daemon died"; exit 1; }
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$daemon/status")
  fds=$(ls "/proc/$daemon/fd" | wc -l)
  threads=$(ls "/proc/$daemon/task" | wc -l)
  m=$(curl -s --max-time 5 "http://$addr/metrics" || true)
  probes=$(echo "$m" | awk '/^payprobe_probes_total\{/ {s += $NF} END {print s + 0}')
  internal=$(echo "$m" | awk '/^payprobe_internal_errors_total\{/ {s += $NF} END {print s + 0}')
  echo "$el,$rss,$fds,$threads,$probes,$internal" | tee -a "$OUT/samples.csv"
  [ "$el" -ge "$SECONDS_TOTAL" ] && break
  sleep "$SAMPLE"
done
