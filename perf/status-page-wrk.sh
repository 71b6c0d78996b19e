#!/usr/bin/env bash
# The daemon's status page under load while it holds N idle connections: wrk -c200 on /hello (a
# fixed line), / (the status page) and /api/stats in turn, twice each, from the kernel side of the
# TUN. Besides requests/s, each run reports the TUN packets per request each way (the stack's
# LinkSent/LinkReceived, through the control socket) and the daemon's CPU time per request
# (/proc/PID/stat), which stay comparable when other work shares the machine and requests/s do not. The idle connections come from kernel clients to the echo service (several source
# addresses, one process each). Everything runs in a namespace this script creates and removes,
# also on failure.
# Usage (root): perf/status-page-wrk.sh [CONNECTIONS=100000] [SECONDS=5] [PROCESSES=6]
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-100000}
secs=${2:-5}
procs=${3:-6}
ns=tstk-status-$$
dll=tools/tunstack/bin/Release/net10.0/tunstack.dll
[ -f "$dll" ] || dotnet build tools/tunstack -c Release -nologo -v quiet >/dev/null
command -v wrk >/dev/null || { echo "missing wrk (apt-get install wrk)" >&2; exit 1; }
log=$(mktemp /tmp/tunstack-status.XXXXXX)
ready=$(mktemp -d /tmp/tunstack-status-ready.XXXXXX)
control=$log.sock
daemon=
pids=()
cleanup() {
  touch "$ready/go"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$ready" "$log" "$control"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
dotnet "$dll" up --netns "$ns" --serve echo,http --control "$control" --log-level warn >"$log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do ip -n "$ns" -4 addr show dev tunstack0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.2; done
for _ in $(seq 1 100); do ip netns exec "$ns" timeout 1 bash -c 'exec 3<>/dev/tcp/10.77.0.2/7' 2>/dev/null && break; sleep 0.2; done
for i in $(seq 1 "$procs"); do ip -n "$ns" addr add "10.77.0.$((10 + i))/24" dev tunstack0; done
per=$(( (total + procs - 1) / procs ))
for i in $(seq 1 "$procs"); do
  ip netns exec "$ns" /usr/bin/python3 perf/idle-connections.py "10.77.0.$((10 + i))" "$per" "$ready" &
  pids+=($!)
done
while [ "$(ls "$ready" | wc -l)" -lt "$procs" ]; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a client process failed before opening its connections" >&2; exit 1; }; done
  sleep 0.5
done
echo "idle connections open: $((per * procs)); wrk -t2 -c200 -d${secs}s, each path twice in turn"
# The stack's packet counters, and the daemon's CPU time in clock ticks (utime + stime).
packets() { dotnet "$dll" stats -z --name "$control" | awk '$1 == "LinkSent" {s = $2} $1 == "LinkReceived" {r = $2} END {print s, r}'; }
ticks() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
hz=$(getconf CLK_TCK)
printf '%-12s %12s %12s %12s %16s %12s\n' path "requests/s" "latency avg" "bytes/req" "packets out/in" "CPU us/req"
for round in 1 2; do
  for path in /hello / /api/stats; do
    read -r sent0 received0 < <(packets)
    cpu0=$(ticks)
    out=$(ip netns exec "$ns" wrk -t2 -c200 -d"${secs}s" --timeout 5s "http://10.77.0.2$path")
    cpu1=$(ticks)
    read -r sent1 received1 < <(packets)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    lat=$(awk '/Latency/ {print $2; exit}' <<<"$out")
    reqs=$(grep -oE '[0-9]+ requests in' <<<"$out" | cut -d' ' -f1)
    bytes=$(grep -oE 'requests in [^,]+, [0-9.]+[KMG]?B read' <<<"$out" | awk '{print $4}')
    errors=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' | tr '\n' ';' || true)
    packets_per=$(awk -v s=$((sent1 - sent0)) -v r=$((received1 - received0)) -v n="$reqs" 'BEGIN {printf "%.2f/%.2f", s / n, r / n}')
    cpu=$(awk -v t=$((cpu1 - cpu0)) -v n="$reqs" -v hz="$hz" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}')
    printf '%-12s %12s %12s %12s %16s %12s %s\n' "$path" "$rps" "$lat" "$bytes/$reqs" "$packets_per" "$cpu" "$errors"
  done
done
size=$(ip netns exec "$ns" curl -s -o /dev/null -w '%{size_download}' http://10.77.0.2/)
echo "status page: $size bytes; its head: $(ip netns exec "$ns" curl -s http://10.77.0.2/ | grep -oE 'TCP connections: [0-9]+ \([0-9]+ in TIME-WAIT\)')"
