#!/bin/bash
# The same pair of servers with the guest's halt polling off and on, in
# alternating phases, to tell a server's cost from the cost of an idle vCPU
# halting. Under the haltpoll cpuidle governor an idle vCPU polls for up to
# guest_halt_poll_ns before it halts; this machine boots with 0, so every
# idle halts at once (and a guest's halt normally exits to the hypervisor).
# Needs root and the haltpoll governor; the setting found is put back on
# exit.
#
#   bench/halt_poll.sh PHASES ROUNDS "SERVER A COMMAND" "SERVER B COMMAND" LOADGEN ARGS...
#   bench/halt_poll.sh 4 16 "node_modules/.bin/deno run --allow-net bench/servers/doorway_lines.ts 0" \
#     "node_modules/.bin/deno run --allow-net bench/servers/node_lines.ts 0" rr --conns 1 --depth 1
#
# PHASES alternate off, on, off, ...; each is one bench/paired.sh run of
# ROUNDS rounds. "Off" is 0, whatever the machine booted with. POLL_NS caps
# the polling of the "on" phases (default 200000, the kernel's own default;
# the governor adapts the poll time below the cap).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 5 ]; then
  echo "usage: bench/halt_poll.sh PHASES ROUNDS \"SERVER A\" \"SERVER B\" LOADGEN ARGS..." >&2
  exit 2
fi
param=/sys/module/haltpoll/parameters/guest_halt_poll_ns
governor=$(cat /sys/devices/system/cpu/cpuidle/current_governor 2>/dev/null || true)
# Under another governor the write succeeds and changes nothing.
if [ "$governor" != haltpoll ] || [ ! -w "$param" ]; then
  echo "halt_poll.sh: needs root and the haltpoll cpuidle governor (governor: ${governor:-none})" >&2
  exit 2
fi
phases=$1 rounds=$2 a=$3 b=$4
shift 4
found=$(cat "$param")
trap 'echo "$found" >"$param"' EXIT
for i in $(seq 0 $((phases - 1))); do
  if [ $((i % 2)) -eq 0 ]; then ns=0; else ns=${POLL_NS:-200000}; fi
  echo "$ns" >"$param"
  echo "== guest_halt_poll_ns $ns: A/B"
  bench/paired.sh "$a" "$b" "$rounds" "$@" | tail -1
done
