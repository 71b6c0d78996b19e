#!/usr/bin/env bash
# One-byte request/response against a server on a TUN with the server and the client pinned to
# CPUs (taskset), to see how CPU placement moves the round trip: the same CPU, two CPUs, or
# wherever the scheduler puts them. The server is TunStack's daemon, or any command given as
# SERVER (for example the anchor kit's lwIP server), which must serve echo on port 7 of
# 10.77.0.2 on tun0. Needs tcpbench from the anchor kit (TCPBENCH). Everything runs in a
# namespace this script creates and removes, also on failure.
# Usage (root): perf/pinned-rr.sh [PLACEMENTS="0,0 0,1 0-1,0-1"] [SECONDS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
placements=${1:-"0,0 0,1 0-1,0-1"}
secs=${2:-2}
tcpbench=${TCPBENCH:-/tmp/anchors-build/tcpbench}
[ -x "$tcpbench" ] || { echo "pinned-rr: no tcpbench at $tcpbench (build the anchor kit's harness; set TCPBENCH)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "pinned-rr: needs root (ip netns add, a TUN; run with sudo)" >&2; exit 2; }
dll=tools/tunstack/bin/Release/net10.0/tunstack.dll
[ -f "$dll" ] || dotnet build tools/tunstack -c Release -nologo -v quiet >/dev/null
server=${SERVER:-"dotnet $dll up --tun tun0 --address 10.77.0.2/24 --mtu 1500 --serve echo --log-level warn"}
ns=tstk-pinned-$$
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
for placement in $placements; do
  server_cpus=${placement%,*}
  client_cpus=${placement#*,}
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" tuntap add dev tun0 mode tun
  ip -n "$ns" addr add 10.77.0.1/24 dev tun0
  ip -n "$ns" link set tun0 mtu 1500 up
  # shellcheck disable=SC2086
  ip netns exec "$ns" taskset -c "$server_cpus" $server >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    ip netns exec "$ns" timeout 2 "$tcpbench" rr 10.77.0.2 7 1 1 1 >/dev/null 2>&1 && break
    sleep 0.1
  done
  result=$(ip netns exec "$ns" taskset -c "$client_cpus" "$tcpbench" rr 10.77.0.2 7 50000 1 "$secs")
  echo "server CPUs $server_cpus, client CPUs $client_cpus: $(grep -o 'rr_p50_us=[0-9.]* rr_p99_us=[0-9.]*' <<<"$result")"
  cleanup
  pid=
done
