#!/bin/bash
# Two servers side by side, measured in turns one second apart, for a ratio
# near 1 that needs more rounds than the full run gives it: on this shared VM
# throughput drifts by ±15% over tens of seconds. Both servers stay up; each
# round measures them in turn (A then B, then B then A), and the median of the
# per-round ratios A/B is printed with the ratio of the means, as run.ts does
# for every scenario with five rounds.
#
#   bench/paired.sh "SERVER A COMMAND" "SERVER B COMMAND" ROUNDS LOADGEN ARGS...
#   bench/paired.sh "node --import tsx bench/servers/doorway_lines.ts 0" \
#     "node --import tsx bench/servers/node_lines.ts 0" 12 rr --conns 1 --depth 1
#
# Each command must print the port first. Run `npm run bench -- --quick` once
# first (it compiles bench/out/loadgen).
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
# Requests per second, or connections per second in `cps` mode.
rps() { bench/out/loadgen "${@:2}" --port "$1" --duration 1 | grep -Eo '"(rps|cps)":[0-9.]*' | cut -d: -f2; }
# Warm-up for both.
rps "$porta" "$@" >/dev/null
rps "$portb" "$@" >/dev/null
for i in $(seq "$rounds"); do
  if ((i % 2)); then
    ra=$(rps "$porta" "$@")
    rb=$(rps "$portb" "$@")
  else
    rb=$(rps "$portb" "$@")
    ra=$(rps "$porta" "$@")
  fi
  echo "$ra $rb"
done | awk '{ r[NR] = $1 / $2; sa += $1; sb += $2; printf "%8.0f %8.0f %.3f\n", $1, $2, $1 / $2 }
  END {
    for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "median A/B %.3f over %d rounds; means %.0f / %.0f = %.3f\n", m, NR, sa / NR, sb / NR, sa / sb
  }'
