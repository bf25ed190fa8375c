#!/bin/bash
# Young-generation collections per 10,000 requests of a Node server under
# load: a count, not a time, so it settles allocation differences of a few
# percent that throughput on this VM cannot (PROFILES.md, fifth round).
#
#   bench/gc_per_request.sh bench/servers/doorway_lines.ts rr --conns 32 --depth 1
#   bench/gc_per_request.sh bench/servers/doorway_lines.ts cps --conns 32
#     (per 10,000 connections)
#
# Run `npm run bench -- --quick` once first (it compiles bench/out/loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."
server=$1
shift
log=$(mktemp)
node --trace-gc --import tsx "$server" 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -qx '[0-9]*' "$log" && break
  sleep 0.1
done
port=$(grep -x '[0-9]*' "$log" | head -1)
bench/out/loadgen "$@" --port "$port" --duration 1 >/dev/null
before=$(grep -c Scavenge "$log")
# Requests per second, or connections per second in `cps` mode.
rps=$(bench/out/loadgen "$@" --port "$port" --duration 4 | grep -Eo '"(rps|cps)":[0-9.]*' | cut -d: -f2)
after=$(grep -c Scavenge "$log")
awk -v n=$((after - before)) -v rps="$rps" 'BEGIN { printf "%.0f req/s, %.3f scavenges per 10k requests\n", rps, n * 10000 / (rps * 4) }'
