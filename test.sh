#!/usr/bin/env bash
# Runs every TunStack test. Installs the Debian packages the tests use when they are missing
# (as root; otherwise it says what is missing and those tests skip, or fail under CI=true).
#   ./test.sh                                   build (Release), then run every test
#   ./test.sh --no-build --filter NAME          what follows goes to dotnet test; --no-build skips the build
# While the tests run it prints a line for each test class as its first result comes in, and
# every failure and skip in full; at the end one summary line. The results stay in TestResults/
# (tunstack*.trx, one per test assembly, replaced by the next run; TUNSTACK_TEST_RESULTS names
# another directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# tool -> Debian package, for the tests that use real peers and judges.
packages=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || packages+=("$2"); }
need tshark tshark
need ip iproute2
need ping iputils-ping
need socat socat
need /usr/bin/python3 python3
# The attack tests (perf/attacks) build their packets with scapy.
/usr/bin/python3 -c 'import scapy' >/dev/null 2>&1 || packages+=(python3-scapy)
need setpriv util-linux
need hping3 hping3
need curl curl
need wrk wrk
need nft nftables
need iperf3 iperf3
need nsenter util-linux
need danted dante-server
need gcc gcc
need make make
need systemd-analyze systemd
# tunstack replay reads captures through libpcap, and the tests capture and inject on the TUN with it (SharpPcap loads libpcap.so.0.8).
ldconfig -p 2>/dev/null | grep -q 'libpcap.so.0.8' || packages+=(libpcap0.8)
need chromium chromium
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "test.sh: installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    echo "test.sh: missing ${packages[*]} (sudo apt-get install ${packages[*]}); the tests that need them will skip" >&2
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK is required (dotnet not found)" >&2
  exit 1
fi

# dotnet-counters, for the test that reads the daemon's meter, in a tool path of the repository's own.
if [ ! -x .tools/dotnet-counters ]; then
  echo "test.sh: installing dotnet-counters into .tools"
  dotnet tool install dotnet-counters --version 10.0.750501 --tool-path .tools >/dev/null \
    || echo "test.sh: dotnet-counters could not be installed; the test that uses it will skip (fail under CI=true)" >&2
fi

build=1
arguments=()
for argument in "$@"; do
  if [ "$argument" = --no-build ]; then build=0; else arguments+=("$argument"); fi
done

results="${TUNSTACK_TEST_RESULTS:-$PWD/TestResults}"
mkdir -p "$results"
rm -f "$results"/tunstack*.trx
if [ "$build" -eq 1 ]; then
  echo "test.sh: building (Release)"
  dotnet build Stack.sln -c Release -nologo -v quiet
fi

# The console logger at normal verbosity writes "  Passed NAME [TIME]" for every test; of those,
# only the first of each class becomes a line here. Everything else (the run's own lines,
# failures with their messages, skips, the totals) passes through.
progress() {
  local line name class done=0 result='^  (Passed|Failed|Skipped) ([^ (]+)'
  declare -A seen=()
  while IFS= read -r line; do
    if [[ "$line" =~ $result ]]; then
      done=$((done + 1))
      name="${BASH_REMATCH[2]}"
      class="${name%.*}"
      if [ -z "${seen[$class]:-}" ]; then
        seen[$class]=1
        printf 'test.sh: %5d tests done, %4d s: %s\n' "$done" "$SECONDS" "$class"
      fi
      [ "${BASH_REMATCH[1]}" = Passed ] && continue
    fi
    printf '%s\n' "$line"
  done
}

echo "test.sh: testing; a line per test class as its first result comes in"
status=0
set +e
dotnet test Stack.sln -c Release --no-build -nologo --results-directory "$results" \
  --logger "trx;LogFilePrefix=tunstack" --logger "console;verbosity=normal" ${arguments[@]+"${arguments[@]}"} 2>&1 | progress
status=${PIPESTATUS[0]}
set -e

# One summary line over every test assembly, last and alone on its line: "N passed, N failed, N skipped"
# with nothing before it (CI reads that exact closing line, and a prefix that is not a plain word, such as
# "test.sh:", or anything after the count hides it).
if python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error"))
    skipped += int(c.get("total")) - int(c.get("executed"))
    # The failures again, name and the head of the message, next to the totals: a long log shown
    # only in part (its tail) still says which tests failed and why.
    for r in ET.parse(path).getroot().iterfind("t:Results/t:UnitTestResult", ns):
        if r.get("outcome") in ("Failed", "Error"):
            message = r.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
            print(f"test.sh: FAILED {r.get('testName')} ({r.get('duration')})")
            for text in message.splitlines()[:12]:
                print(f"test.sh:   {text[:300]}")
print(f"test.sh: results in {sys.argv[1]}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if passed == 0 else 0)
PY
then :; else echo "test.sh: no test ran" >&2; status=1; fi
exit $status
