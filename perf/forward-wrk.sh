#!/usr/bin/env bash
# Many concurrent HTTP connections through a forwarder: wrk in an app namespace, nginx in a server
# namespace routed from a host stand-in namespace, the app namespace's network given by slirp4netns
# and by `tunstack forward` in turn (both run in the host stand-in). Reports requests/s, latency and
# wrk's socket errors per row. Every namespace is made here and removed at the end, also on failure.
# Usage (root): perf/forward-wrk.sh [CONNECTIONS=1000] [SECONDS=5]
set -uo pipefail
cd "$(dirname "$0")/.."
conns=${1:-1000}
secs=${2:-5}
dll=$PWD/tools/tunstack/bin/Release/net10.0/tunstack.dll
[ -f "$dll" ] || dotnet build tools/tunstack -c Release -nologo -v quiet >/dev/null
for t in wrk nginx slirp4netns; do command -v $t >/dev/null || { echo "missing $t (apt-get install wrk nginx-light slirp4netns)" >&2; exit 1; }; done
p=fw$$; H=${p}h; S=${p}s; nses=(); pids=()
work=$(mktemp -d /tmp/forward-wrk.XXXXXX)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  for n in "${nses[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkns() { ip netns add "$1" && nses+=("$1") && ip -n "$1" link set lo up; }
mkns $H; mkns $S
ip link add ${p}a netns $H type veth peer name ${p}b netns $S
ip -n $H addr add 192.168.77.1/24 dev ${p}a; ip -n $H link set ${p}a up
ip -n $S addr add 192.168.77.2/24 dev ${p}b; ip -n $S link set ${p}b up
printf 'hello from nginx\n' > "$work/index.html"
cat > "$work/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx.pid; error_log $work/error.log; daemon off;
events { worker_connections 4096; }
http { access_log off; server { listen 192.168.77.2:80 backlog=4096; root $work; } }
CONF
ip netns exec $S nginx -c "$work/nginx.conf" & pids+=($!)
ip netns exec $S sysctl -qw net.core.somaxconn=4096
sleep 0.5
printf '%-12s %10s %12s %12s %s\n' row requests_s latency_avg latency_p99 socket_errors
for row in slirp4netns tunstack; do
  A=${p}x${row:0:1}
  if [ $row = slirp4netns ]; then
    mkns $A
    ip netns exec $A sleep 600 & sp=$!; pids+=($sp); sleep 0.3
    # `ip netns exec` execs: $sp is the process inside A. Never configure our own namespace.
    [ "$(readlink /proc/$sp/ns/net)" != "$(readlink /proc/self/ns/net)" ] || { echo "refusing: target is our own namespace" >&2; exit 1; }
    ip netns exec $H slirp4netns --configure --mtu=1500 $sp tap0 >/dev/null 2>&1 & pids+=($!)
  else
    nses+=($A)
    ip netns exec $H dotnet "$dll" forward --netns $A --log-level warn >"$work/forward.log" 2>&1 & pids+=($!)
  fi
  for _ in $(seq 50); do ip netns exec $A bash -c 'exec 3<>/dev/tcp/192.168.77.2/80' 2>/dev/null && break; sleep 0.2; done
  out=$(ip netns exec $A bash -c "ulimit -n 65536; timeout $((secs + 20)) wrk -t2 -c$conns -d${secs}s --latency http://192.168.77.2/" 2>&1)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  avg=$(awk '/^    Latency/ {print $2; exit}' <<<"$out")
  p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  errs=$(grep -o 'Socket errors:.*' <<<"$out" || echo "Socket errors: none")
  printf '%-12s %10s %12s %12s %s\n' $row "${rps:--}" "${avg:--}" "${p99:--}" "$errs"
done
