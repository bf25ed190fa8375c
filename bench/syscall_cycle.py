#!/usr/bin/env python3
"""Where one request's round trip goes, read from the system calls of two servers.

    python3 bench/syscall_cycle.py "SERVER A COMMAND" "SERVER B COMMAND" LOADGEN ARGS...
    python3 bench/syscall_cycle.py "node_modules/.bin/deno run --allow-net bench/servers/doorway_lines.ts 0" \\
      "node_modules/.bin/deno run --allow-net bench/servers/deno_raw.ts 0" rr --conns 1 --depth 1

Both servers stay up and are loaded in interleaved slices as by
bench/paired.sh (8 s, no warm-up of the load generator's own), while `perf
record -e raw_syscalls:sys_enter,raw_syscalls:sys_exit` records every system
call of each for 4 s, starting 2 s in. Tracepoints cost far less than strace
and keep the kernel's timestamps, so the phases of a request can be timed to
the tenth of a microsecond on the server's busiest thread:

- wake->recv: from epoll reporting the socket readable to the read;
- recv: the read itself (recvfrom, or read on Node);
- recv->send: the server's own work from the request's bytes to its reply's
  write: on one connection with one request in flight, the only part of the
  round trip the server's code lengthens;
- send: the write, which on loopback also carries the packet to the load
  generator's socket and wakes it;
- send->epoll: what the server does after the write before it waits again;
- epoll: the wait itself, until the next request is there.

Then, per request (one cycle from one write to the next, gaps over 1 ms, the
other server's slices, left out): the time in each system call and the time
between them ("user", which also holds preemption). Calls per request show a
server that reads until EAGAIN (Node's libuv, Deno's node:net) apart from one
that waits on epoll after every short read (Deno's native API).

With SCHED=1 in the environment it also records the scheduler on every CPU
for 2 s (`perf record -a -e sched:sched_waking,sched:sched_switch`) and
reports, for the wake-ups between each server and the load generator, how
many put the woken process on the waker's own CPU (`sched_waking` fires in
the waker's context, on its CPU, and names the target CPU) and how long the
woken process then waited to run, and how often each server stopped running
because it waited (S) or was preempted (R).

Needs perf; root, or kernel.perf_event_paranoid at -1 for the tracepoints'
raw data (and at most 0 for SCHED=1, which records every CPU); x86-64 (the
system call numbers); and bench/out/loadgen (`npm run bench -- --quick`
builds it). Commands must print their port first. Not part of `npm run
bench`; bench/PROFILES.md, item 43.
"""

import collections
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# x86-64 system call numbers.
RECVFROM, SENDTO, EPOLL_WAIT = 45, 44, 232
READ, WRITE, WRITEV, EPOLL_PWAIT, EPOLL_PWAIT2, FUTEX = 0, 1, 20, 281, 441, 202
NAMES = {RECVFROM: "recv", SENDTO: "send", EPOLL_WAIT: "epoll", FUTEX: "futex"}
EVENT = re.compile(r"\s*(\d+)\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit): NR (\d+)(?: = (-?\d+))?")


def start(command):
    child = subprocess.Popen(
        "exec " + command, shell=True, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    return child, int(child.stdout.readline())


def events(data_path):
    """The busiest thread's system calls: (time in µs, "enter"/"exit", number, result)."""
    script = subprocess.run(
        ["perf", "script", "-i", data_path, "-F", "tid,time,event,trace", "--ns"],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = []
    for line in script.splitlines():
        m = EVENT.match(line)
        if m:
            rows.append((int(m[1]), float(m[2]) * 1e6, m[3], int(m[4]), None if m[5] is None else int(m[5])))
    if not rows:
        return []
    main = collections.Counter(r[0] for r in rows).most_common(1)[0][0]
    rows = [r[1:] for r in rows if r[0] == main]
    # Node's libuv reads and writes a socket with read() and write(); Bun and
    # Node wait with epoll_pwait2 or epoll_pwait: named as the others are.
    if not any(r[2] == SENDTO for r in rows):
        rows = [(t, k, {READ: RECVFROM, WRITE: SENDTO, WRITEV: SENDTO}.get(n, n), v) for t, k, n, v in rows]
    return [(t, k, EPOLL_WAIT if n in (EPOLL_PWAIT, EPOLL_PWAIT2) else n, v) for t, k, n, v in rows]


def phases(rows):
    found = collections.defaultdict(list)
    pairs = {
        ("exit", EPOLL_WAIT, "enter", RECVFROM): "wake->recv",
        ("enter", RECVFROM, "exit", RECVFROM): "recv",
        ("exit", RECVFROM, "enter", SENDTO): "recv->send",
        ("enter", SENDTO, "exit", SENDTO): "send",
        ("exit", SENDTO, "enter", EPOLL_WAIT): "send->epoll",
        ("enter", EPOLL_WAIT, "exit", EPOLL_WAIT): "epoll",
    }
    for (t, k, n, _), (t2, k2, n2, _) in zip(rows, rows[1:]):
        name = pairs.get((k, n, k2, n2))
        # A wait over 1 ms is the other server's slice.
        if name is not None and not (name == "epoll" and t2 - t >= 1000):
            found[name].append(t2 - t)
    return found


def per_request(rows):
    sends = [i for i, r in enumerate(rows) if r[1] == "enter" and r[2] == SENDTO]
    totals = collections.defaultdict(float)
    cycles = 0
    for a, b in zip(sends, sends[1:]):
        if rows[b][0] - rows[a][0] >= 1000:
            continue
        cycles += 1
        for (t, k, n, _), (t2, k2, n2, v2) in zip(rows[a:b], rows[a + 1:b + 1]):
            if k == "enter" and k2 == "exit":
                name = NAMES.get(n, f"#{n}")
                if n == RECVFROM and v2 is not None and v2 < 0:
                    name = "recv EAGAIN"
                totals["in " + name] += t2 - t
            else:
                totals["user"] += t2 - t
    return cycles, totals


# The comm may hold spaces ("V8 DefaultWorke"): the tid, then the CPU in brackets, end it.
SCHED_EVENT = re.compile(r"\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+): (.*)")


def sched_report(data_path, pids, loadgen_pid):
    """Wake-ups between the servers (pids, named A and B) and the load generator."""
    script = subprocess.run(
        ["perf", "script", "-i", data_path, "-F", "comm,tid,cpu,time,event,trace", "--ns"],
        capture_output=True, text=True, check=True,
    ).stdout
    names = {str(pid): "AB"[i] for i, pid in enumerate(pids)}
    loadgen = str(loadgen_pid)
    woken = {}
    waits = collections.defaultdict(list)
    same_cpu = collections.Counter()
    stops = collections.Counter()
    for line in script.splitlines():
        m = SCHED_EVENT.match(line)
        if not m:
            continue
        waker, cpu, t, kind, rest = m[2], int(m[3]), float(m[4]) * 1e6, m[5], m[6]
        if kind == "sched_waking":
            pid = re.search(r" pid=(\d+)", rest)[1]
            target = int(re.search(r"target_cpu=(\d+)", rest)[1])
            woken[pid] = (t, target, waker, cpu)
        elif kind == "sched_switch":
            prev = re.search(r"prev_pid=(\d+)", rest)[1]
            # A task that stops running has no wake-up pending any more.
            woken.pop(prev, None)
            if prev in names:
                state = re.search(r"prev_state=(\S+)", rest)[1]
                stops[(names[prev], "R" if state.startswith("R") else state)] += 1
            pid = re.search(r"next_pid=(\d+)", rest)[1]
            if pid not in woken:
                continue
            t0, target, by, by_cpu = woken.pop(pid)
            if pid == loadgen and by in names:
                key = f"load generator woken by {names[by]}"
            elif pid in names and by == loadgen:
                key = f"{names[pid]} woken by the load generator"
            elif pid in names:
                key = f"{names[pid]} woken by anything else"
            else:
                continue
            waits[key].append(t - t0)
            same_cpu[key] += target == by_cpu
    print("== scheduler, 2 s of both servers' slices")
    for key in sorted(waits):
        values = sorted(waits[key])
        print(f"   {key:34} n={len(values):6}  on the waker's CPU {same_cpu[key] / len(values):6.1%}"
              f"  wait to run: median {statistics.median(values):6.2f} µs  mean {statistics.mean(values):6.2f}")
    for name in "AB":
        print(f"   {name} stopped running: waiting {stops[(name, 'S')]}, preempted {stops[(name, 'R')]}")


def record(args, out_path):
    return subprocess.Popen(
        ["perf", "record", "-q", *args, "-o", out_path, "--", "sleep", "4" if "-p" in args else "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    if platform.machine() != "x86_64":
        sys.exit("syscall_cycle.py: the system call numbers are x86-64's")
    commands, args = sys.argv[1:3], sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="syscall_cycle_")
    children, load, recorders, sched = [], None, [], None
    try:
        for command in commands:
            children.append(start(command))
        ports = ",".join(str(port) for _, port in children)
        load = subprocess.Popen(
            [f"{ROOT}/bench/out/loadgen", *args, "--port", ports, "--warmup", "0", "--duration", "8"],
            stdout=subprocess.PIPE, text=True,
        )
        time.sleep(2)
        if os.environ.get("SCHED") == "1":
            sched = record(["-a", "-e", "sched:sched_waking,sched:sched_switch"], f"{tmp}/sched.data")
        recorders = [
            record(["-e", "raw_syscalls:sys_enter,raw_syscalls:sys_exit", "-p", str(child.pid)], f"{tmp}/{i}.data")
            for i, (child, _) in enumerate(children)
        ]
        for r in recorders + ([sched] if sched else []):
            _, err = r.communicate()
            if r.returncode != 0:
                sys.exit(f"syscall_cycle.py: perf record failed: {err.strip()}")
        out, _ = load.communicate()
        if load.returncode != 0:
            sys.exit("syscall_cycle.py: the load generator failed")
        servers = json.loads(out.strip().splitlines()[-1])["servers"]
        for i, command in enumerate(commands):
            report(i, command, servers[i], events(f"{tmp}/{i}.data"))
        if sched is not None:
            sched_report(f"{tmp}/sched.data", [child.pid for child, _ in children], load.pid)
    finally:
        for p in [load, sched, *recorders, *(child for child, _ in children)]:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def report(i, command, server, rows):
    sends = sum(1 for r in rows if r[1] == "enter" and r[2] == SENDTO)
    print(f"== {'AB'[i]}: {command}")
    if sends == 0:
        print("   no reply written while traced")
        return
    calls = collections.Counter(NAMES.get(n, f"#{n}") for _, k, n, _ in rows if k == "enter")
    print(f"   whole run: {server.get('rps', 0):,.0f} req/s; traced: {sends} writes")
    print("   calls per request: " + ", ".join(f"{k} {v / sends:.3f}" for k, v in calls.most_common() if v / sends >= 0.01))
    for name, values in phases(rows).items():
        values.sort()
        print(f"   {name:12} n={len(values):6}  median {statistics.median(values):6.2f} µs"
              f"  mean {statistics.mean(values):6.2f}  p90 {values[int(len(values) * 0.9)]:6.2f}")
    cycles, totals = per_request(rows)
    if cycles:
        print(f"   per request, {cycles} cycles under 1 ms: " + ", ".join(
            f"{k} {v / cycles:.2f}" for k, v in sorted(totals.items()) if v / cycles >= 0.01
        ) + f"; total {sum(totals.values()) / cycles:.2f} µs")


if __name__ == "__main__":
    main()
