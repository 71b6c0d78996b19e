#!/usr/bin/env bash
# wrk against the same ASP.NET Core endpoint (/hello) served two ways, side by side in one run:
#   1. `tunstack up --serve http`: Kestrel over the user-space stack, reached through its TUN;
#   2. Kestrel on its own socket transport (the kernel's TCP), reached over a veth pair.
# Each runs in namespaces this script creates and removes (also on failure). Needs root and wrk.
# Usage: perf/http-vs-kernel.sh [connections=200] [seconds=10] [runs=3]
# UP_FLAGS adds options to the daemon's command line (for example UP_FLAGS="--busy-poll off").
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-200}
seconds=${2:-10}
runs=${3:-3}
tag=hvk$$
ns_tun=$tag-tun; ns_srv=$tag-srv; ns_cli=$tag-cli
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$ns_tun" "$ns_srv" "$ns_cli"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

dotnet build -c Release tools/tunstack -v q -nologo >/dev/null
dotnet build -c Release perf -v q -nologo >/dev/null
cli=tools/tunstack/bin/Release/net10.0/tunstack.dll
perf=perf/bin/Release/net10.0/TunStack.Perf.dll

wait_for() { for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

# 1. TunStack: the daemon owns a TUN in $ns_tun; wrk runs on the kernel side of it.
ip netns add "$ns_tun"
dotnet "$cli" up --netns "$ns_tun" --serve http --log-level info ${UP_FLAGS:-} > /tmp/$tag-tun.log 2>&1 &
pids+=($!)
wait_for /tmp/$tag-tun.log "ready:"

# 2. Kernel: Kestrel's socket transport in $ns_srv, wrk in $ns_cli, joined by a veth pair.
ip netns add "$ns_srv"; ip netns add "$ns_cli"
ip link add v-srv netns "$ns_srv" type veth peer name v-cli netns "$ns_cli"
ip -n "$ns_srv" addr add 10.88.0.2/24 dev v-srv; ip -n "$ns_srv" link set v-srv up; ip -n "$ns_srv" link set lo up
ip -n "$ns_cli" addr add 10.88.0.1/24 dev v-cli; ip -n "$ns_cli" link set v-cli up
ip netns exec "$ns_srv" dotnet "$perf" kestrel-kernel 10.88.0.2 80 > /tmp/$tag-kern.log 2>&1 &
pids+=($!)
wait_for /tmp/$tag-kern.log "ready:"

run_wrk() { ip netns exec "$1" wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 5s "$2"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
echo "wrk -t 2 -c $connections -d ${seconds}s, /hello, $runs alternating runs"
for r in $(seq 1 "$runs"); do
  t=$(run_wrk "$ns_tun" http://10.77.0.2/hello | tee /tmp/$tag-wrk-tun-$r.txt | rps)
  k=$(run_wrk "$ns_cli" http://10.88.0.2/hello | tee /tmp/$tag-wrk-kern-$r.txt | rps)
  errors=$(grep -h "Socket errors\|Non-2xx" /tmp/$tag-wrk-tun-$r.txt /tmp/$tag-wrk-kern-$r.txt || true)
  echo "run $r: tunstack $t req/s, kernel $k req/s, ratio $(echo "scale=2; $t / $k" | bc)${errors:+; $errors}"
done
