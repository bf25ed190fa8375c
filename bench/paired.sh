#!/bin/bash
# Two servers side by side, for a ratio near 1 that needs more rounds than the
# full run gives it. Both servers stay up; each round is one load generator run
# that loads them in interleaved slices of 50 ms (A B A B ..., 1 s each), as
# run.ts does, the order reversed every other round (with two servers, the
# same as run.ts's changing cyclic orders). Prints each round's
# figures and ratio A/B, then the median of the ratios and the ratio of the
# means.
#
#   bench/paired.sh "SERVER A COMMAND" "SERVER B COMMAND" ROUNDS LOADGEN ARGS...
#   bench/paired.sh "node --import tsx bench/servers/doorway_lines.ts 0" \
#     "node --import tsx bench/servers/node_lines.ts 0" 12 rr --conns 1 --depth 1
#
# The new core against the old one (the tree that run.ts extracts from git):
#   mkdir -p bench/out/base-9a6b9e5 && git archive 9a6b9e5 | tar -x -C bench/out/base-9a6b9e5
#   bench/paired.sh "node --import tsx bench/servers/doorway_lines.ts 0" \
#     "node --import tsx bench/out/base-9a6b9e5/bench/servers/doorway_lines.ts 0" 12 rr --conns 1 --depth 1
#
# Each command must print the port first. Run `npm run bench -- --quick` once
# first (it compiles bench/out/loadgen). Modes: rr, cps, udp.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 rounds=$3
shift 3
out=$(mktemp -d)
trap 'kill $pa $pb 2>/dev/null; rm -rf "$out"' EXIT
$a >"$out/a" 2>/dev/null &
pa=$!
$b >"$out/b" 2>/dev/null &
pb=$!
for _ in $(seq 100); do
  [ -s "$out/a" ] && [ -s "$out/b" ] && break
  sleep 0.1
done
porta=$(head -1 "$out/a")
portb=$(head -1 "$out/b")
# Requests (or connections) per second of each server of one run, in the
# order of the ports given; a failed run (a wrong reply) stops the script.
rates() {
  local result
  result=$(bench/out/loadgen "${@:2}" --port "$1" --warmup 0.5 --duration 2 | tail -1)
  if ! grep -q '"servers"' <<<"$result"; then
    echo "paired.sh: the load generator failed: $result" >&2
    exit 1
  fi
  grep -Eo '"(rps|cps)":[0-9.]*' <<<"$result" | cut -d: -f2 | tr '\n' ' '
}
# Warm-up for both.
rates "$porta,$portb" "$@" >/dev/null
for i in $(seq "$rounds"); do
  if ((i % 2)); then
    res=$(rates "$porta,$portb" "$@")
    read -r ra rb <<<"$res"
  else
    res=$(rates "$portb,$porta" "$@")
    read -r rb ra <<<"$res"
  fi
  echo "$ra $rb"
done | awk '{ r[NR] = $1 / $2; sa += $1; sb += $2; printf "%8.0f %8.0f %.3f\n", $1, $2, $1 / $2 }
  END {
    for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "median A/B %.3f over %d rounds, range %.3f-%.3f; means %.0f / %.0f = %.3f\n", m, NR, r[1], r[NR], sa / NR, sb / NR, sa / sb
  }'
