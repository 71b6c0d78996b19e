#!/usr/bin/env bash
# Holds N idle TCP connections from kernel clients through the TUN to the daemon's echo service and
# reports the daemon's resident memory: before, with all open, and after all closed. The kernel
# side uses several source addresses (one client process each, 20,000 descriptors at most per
# process here) so that ports suffice. Everything runs in a namespace this script creates and
# removes, also on failure.
# Usage (root): perf/connections-at-scale.sh [CONNECTIONS=100000] [PROCESSES=6]
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-100000}
procs=${2:-6}
ns=tstk-scale-$$
dll=tools/tunstack/bin/Release/net10.0/tunstack.dll
[ -f "$dll" ] || dotnet build tools/tunstack -c Release -nologo -v quiet >/dev/null
log=$(mktemp /tmp/tunstack-scale.XXXXXX)
daemon=
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
dotnet "$dll" up --netns "$ns" --serve echo --log-level warn >"$log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do ip -n "$ns" -4 addr show dev tunstack0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.2; done
for _ in $(seq 1 100); do ip netns exec "$ns" timeout 1 bash -c 'exec 3<>/dev/tcp/10.77.0.2/7' 2>/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$daemon/status"; }
for i in $(seq 1 "$procs"); do ip -n "$ns" addr add "10.77.0.$((10 + i))/24" dev tunstack0; done
before=$(rss)
per=$(( (total + procs - 1) / procs ))
ready=$(mktemp -d /tmp/tunstack-scale-ready.XXXXXX)
start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$procs"); do
  ip netns exec "$ns" /usr/bin/python3 perf/idle-connections.py "10.77.0.$((10 + i))" "$per" "$ready" &
  pids+=($!)
done
while [ "$(ls "$ready" | wc -l)" -lt "$procs" ]; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a client process failed before opening its connections" >&2; exit 1; }; done
  sleep 0.5
done
opened=$(printf "%.1f" "$(echo "$(date +%s.%N) - $start" | bc)")
sleep 2
during=$(rss)
touch "$ready/go"
for p in "${pids[@]}"; do wait "$p"; done
sleep 5
after=$(rss)
rm -rf "$ready"
echo "connections: $((per * procs)) through the TUN, opened in ${opened} s"
echo "daemon RSS: before $((before >> 20)) MiB, all open $((during >> 20)) MiB ($(( (during - before) / (per * procs) )) bytes per connection), 5 s after all closed $((after >> 20)) MiB"
grep -v '^$' "$log" | tail -3 || true
