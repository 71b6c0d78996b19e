#!/usr/bin/env bash
# Runs packetdrill scripts against TunStack through the shim, each in a network namespace of its
# own that is deleted afterwards, even on failure: a script's backquoted commands (sysctl, ip, tc)
# then change only that namespace. packetdrill itself is not part of this repository; build it
# elsewhere and pass its path (docs/conformance.md).
#
#   tools/packetdrill/run-in-netns.sh PACKETDRILL SCRIPT.pkt... [-- EXTRA PACKETDRILL OPTIONS]
#
# Environment: SHIM (default: libtunstack-packetdrill.so beside the shim assembly, Release),
# SO_FLAGS (--so_flags; default empty, mtu=1520 for a script with --ip_version=ipv6), LOCAL_IP
# (default 192.168.0.1, or fd3d:fa7b:d17d::1 for an IPv6 script: the shim's defaults, which it
# must match),
# TIMEOUT (real seconds a script may run, default 120).
# Prints one line per script, PASS or FAIL with packetdrill's last line (its whole output goes to
# stderr), and exits 1 if any failed.
set -uo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
packetdrill=$(readlink -f "$1")
shift
scripts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  scripts+=("$(readlink -f "$1")")
  shift
done
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shim=${SHIM:-$here/TunStack.PacketdrillShim/bin/Release/net10.0/libtunstack-packetdrill.so}

if [ "$(id -u)" -ne 0 ]; then
  echo "run-in-netns.sh: needs root (ip netns add)" >&2
  exit 2
fi
if [ ! -f "$shim" ]; then
  echo "run-in-netns.sh: no shim at $shim (make -C tools/packetdrill)" >&2
  exit 2
fi

# The scripts' sysctls configure the namespace's kernel TCP, which TunStack never reads; a kernel
# may refuse some in a namespace (net.ipv4.tcp_congestion_control=cubic when cubic is not in the
# allowed list). A sysctl first on PATH runs the real one and lets such a refusal pass.
wrappers=$(mktemp -d)
real_sysctl=$(command -v sysctl)
printf '#!/bin/sh\n%s "$@"\nexit 0\n' "$real_sysctl" > "$wrappers/sysctl"
chmod +x "$wrappers/sysctl"

namespace=
trap '[ -n "$namespace" ] && ip netns del "$namespace" 2>/dev/null; rm -rf "$wrappers"' EXIT
trap 'exit 130' INT TERM

failed=0
for script in "${scripts[@]}"; do
  namespace="tunstack-pd-$$-$RANDOM"
  ip netns add "$namespace" || { echo "run-in-netns.sh: cannot create a namespace" >&2; exit 2; }
  # The scripts' defaults.sh sets a qdisc on tun0 (packetdrill's own device, which the shim
  # does not use): a TUN device of that name in the namespace, with no process behind it.
  ip -n "$namespace" tuntap add dev tun0 mode tun
  ip -n "$namespace" link set lo up
  # The options packetdrill's own run_all.py gives each variant: the script constants (-D) and,
  # for IPv6, an MTU of 1520, so that the MSS is 1460 as over IPv4. An IPv6 script says so in its
  # options; the shim's IPv6 address is then the local one.
  local_ip=${LOCAL_IP:-192.168.0.1}
  so_flags=${SO_FLAGS:-}
  variant=(-D TFO_COOKIE=3021b9d889017eeb -D CODE=host_unreachable -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR)
  if grep -q -- '--ip_version=ipv6' "$script"; then
    local_ip=${LOCAL_IP:-fd3d:fa7b:d17d::1}
    so_flags=${SO_FLAGS:-mtu=1520}
    variant=(--mtu=1520 -D TFO_COOKIE=c1d1e9742a47a9bc -D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR)
  fi
  log=$(mktemp)
  # packetdrill resolves the backquoted helpers relative to the script's directory. The shim is
  # also preloaded, so that code events' getsockopt(TCP_INFO) on a shim descriptor reaches it.
  (cd "$(dirname "$script")" && PATH="$wrappers:$PATH" ip netns exec "$namespace" timeout "${TIMEOUT:-120}" env LD_PRELOAD="$shim" "$packetdrill" \
      --so_filename="$shim" --so_flags="$so_flags" --local_ip="$local_ip" "${variant[@]}" "$@" "$script") >"$log" 2>&1
  status=$?
  ip netns del "$namespace"
  namespace=
  if [ $status -eq 0 ]; then
    echo "PASS $script"
  else
    failed=1
    echo "FAIL $script: $(grep -v '^tunstack-packetdrill' "$log" | tail -n 1)"
    echo "--- $script" >&2
    sed 's/^/    /' "$log" >&2
  fi
  rm -f "$log"
done
exit $failed
