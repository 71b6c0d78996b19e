#!/usr/bin/env bash
# Attacks under load: the daemon (`tunstack up --netns`, serving echo, discard and chargen) on a TUN
# in a namespace this script creates, each attack of perf/attacks/attacks.py in turn with the
# legitimate client beside it, and a Markdown table of what each cost (docs/robustness.md).
#   perf/attacks-under-load.sh                     every attack, 4 s each
#   perf/attacks-under-load.sh 2 syn-flood ack-flood
# As root (namespaces, a TUN, raw sockets); needs hping3 and python3-scapy. All traffic stays inside
# the namespace, which is removed at the end, also on failure or Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-4}"
shift || true

if [ "$(id -u)" -ne 0 ]; then
  echo "attacks-under-load: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for the namespace and the TUN; run with sudo)" >&2
  exit 2
fi
for tool in hping3 ip ss; do
  command -v "$tool" >/dev/null || { echo "attacks-under-load: needs $tool (apt-get install hping3 iproute2)" >&2; exit 2; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "attacks-under-load: needs scapy (apt-get install python3-scapy)" >&2; exit 2; }

dotnet build "$root/tools/tunstack" -c Release -nologo -v quiet >/dev/null
netns="tstk-attacks-$$"
control="$(mktemp -u /tmp/tunstack-attacks-XXXXXX.sock)"
log="$(mktemp /tmp/tunstack-attacks-XXXXXX.log)"
dotnet "$root/tools/tunstack/bin/Release/net10.0/tunstack.dll" up --netns "$netns" --serve echo,discard,chargen \
  --control "$control" >"$log" 2>&1 &
daemon=$!
stop() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
  rm -f "$control"
}
trap stop EXIT
for _ in $(seq 100); do
  grep -q 'ready:' "$log" && break
  kill -0 "$daemon" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
grep -q 'ready:' "$log" || { echo "attacks-under-load: the daemon did not get ready" >&2; cat "$log" >&2; exit 1; }

/usr/bin/python3 "$root/perf/attacks/table.py" --netns "$netns" --pid "$daemon" --control "$control" --seconds "$seconds" "$@"
