#!/usr/bin/env bash
# Benchmarks an earlier revision and the working tree side by side in one run: builds REV in a
# temporary worktree, then alternates BenchmarkDotNet runs of the two (ROUNDS times each, so that
# the machine's drift falls on both), and prints every round and the means.
# Usage: perf/compare-revisions.sh REV [rounds=4] [filter='*TcpBenchmarks*']
# (The working tree must build; run nothing else on the machine meanwhile.)
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: perf/compare-revisions.sh REV [rounds] [filter]}
rounds=${2:-4}
filter=${3:-'*TcpBenchmarks*'}
before=$(mktemp -d /tmp/tunstack-rev.XXXXXX)
out=$(mktemp -d /tmp/tunstack-compare.XXXXXX)
cleanup() { git worktree remove --force "$before" >/dev/null 2>&1 || rm -rf "$before"; }
trap cleanup EXIT
git worktree add --detach "$before" "$rev" >/dev/null
dotnet build "$before/perf" -c Release -nologo -v quiet >/dev/null
dotnet build perf -c Release -nologo -v quiet >/dev/null
for round in $(seq 1 "$rounds"); do
  for side in before after; do
    dir=$PWD; [ "$side" = before ] && dir=$before
    (cd "$dir" && dotnet perf/bin/Release/net10.0/TunStack.Perf.dll --filter "$filter" --launchCount 3 --warmupCount 5 --iterationCount 20 \
      --artifacts "$out/$side-$round" >"$out/$side-$round.log" 2>&1)
    grep -E '^\| [A-Z]' "$out/$side-$round.log" | grep -v '^| Method' | sed "s/^/$side round $round /"
  done
done | tee "$out/rounds.txt"
echo "means (µs or ns as BenchmarkDotNet printed them):"
awk '{side=$1; name=$5; v=$7; sum[side" "name]+=v; n[side" "name]++} END {for (k in sum) printf "  %-40s %10.3f\n", k, sum[k]/n[k]}' "$out/rounds.txt" | sort -k2,2 -k1,1
echo "reports: $out"
