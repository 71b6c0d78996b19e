#!/usr/bin/env bash
# Runs every TunStack test. Installs the Debian packages the tests use when they are missing
# (as root; otherwise it says what is missing and those tests skip, or fail under CI=true).
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
need setpriv util-linux
need hping3 hping3
need curl curl
need wrk wrk
need nft nftables
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

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
dotnet build Stack.sln -c Release -nologo -v quiet
status=0
dotnet test Stack.sln -c Release --no-build -nologo --logger "trx;LogFilePrefix=tunstack" --results-directory "$results" || status=$?

# One summary line over every test assembly: "N passed, N failed, N skipped".
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error"))
    skipped += int(c.get("total")) - int(c.get("executed"))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
