#!/usr/bin/env python3
"""Where two Bun servers spend their time per request, down to JSC's JIT code.

    python3 bench/jit_profile.py "SERVER A COMMAND" "SERVER B COMMAND" ROUNDS LOADGEN ARGS...
    python3 bench/jit_profile.py "node_modules/.bin/bun bench/servers/doorway_lines.ts 0" \\
      "node_modules/.bin/bun bench/servers/bun_lines.ts 0" 6 rr --conns 256 --depth 1

Both servers run with BUN_JSC_dumpDisassembly=true, which prints every piece
of code JSC compiles, with its address range, to stderr. They are loaded in
interleaved slices as by bench/paired.sh while `perf record -e cpu-clock -F
4000 -g` samples them (no PMU on this VM: a sample is 250 us of CPU). The
samples are then counted per request:

- by where they fall: the kernel, bun.exe, JIT code, libc;
- in the kernel, by the system call (or fault, or interrupt) they are under;
- in JIT code, by the JavaScript function whose code holds them, and, for
  the structure checks that JSC emits before reading an object's fields,
  by the class of the object. A structure check is the first read of an
  object in a function, so a check that costs tens of nanoseconds a request
  is an object that is not in the cache when the request comes.

With JIT_NODES=N in the environment it also lists the N IR nodes (a line
of Air or DFG IR, in its function) that took the most time.

Needs perf, root or kernel.perf_event_paranoid <= 1 for kernel frames, and
bench/out/loadgen (`npm run bench -- --quick` builds it). Commands must print
their port first. Not part of `npm run bench`; bench/PROFILES.md, item 38.
"""

import bisect
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

NS_PER_SAMPLE = 250_000  # perf at 4 kHz
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(command, err_path):
    env = dict(os.environ, BUN_JSC_dumpDisassembly="true")
    child = subprocess.Popen(
        "exec " + command, shell=True, cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=open(err_path, "w"),
    )
    return child, int(child.stdout.readline())


def load(ports, args):
    result = subprocess.run(
        [f"{ROOT}/bench/out/loadgen", *args, "--port", ports, "--warmup", "0", "--duration", "2"],
        capture_output=True, text=True, check=True,
    )
    servers = json.loads(result.stdout.strip().splitlines()[-1])["servers"]
    return [s.get("requests", s.get("connections", 0)) for s in servers]


# ---- JIT code: address ranges from the disassembly dump -------------------

RANGE = re.compile(r"range 0x([0-9a-f]+)\.\.\.0x([0-9a-f]+)")
THUNK = re.compile(r"\[0x([0-9a-f]+), 0x([0-9a-f]+)\)")
STRUCTURE_CHECK = re.compile(r"Branch32\(3,SameAsRep\)\d+, NotEqual, \([^)]*\), \$(\d+)")


def code_ranges(dump):
    """(start, end, function, IR line) for every range of compiled code."""
    ranges = []
    function = None
    context = ""
    for line in dump.splitlines():
        if line.startswith("Generated "):
            m = re.match(r"Generated (.*?) code for (.*?)(?::\[|$)", line)
            tier = m.group(1).replace(" JIT", "") if m else "?"
            name = re.sub(r"#[A-Za-z0-9]{6}$", "", m.group(2) if m else "?")
            function = f"{tier} {name}"[:70]
            m = THUNK.search(line)
            if m:
                ranges.append((int(m.group(1), 16), int(m.group(2), 16), function, "thunk"))
            continue
        if function is None:
            continue
        m = RANGE.search(line)
        if m:
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            if hi > lo:
                ranges.append((lo, hi, function, context))
        elif line.strip() and not line.lstrip().startswith(("asm", "Code at")):
            context = line.strip()[:120]
    ranges.sort()
    return ranges


def structure_names(dump):
    """Structure ID -> class name and its first fields."""
    names = {}
    for m in re.finditer(r"/(\d+), (\w+), \([^)]*\)(\{[^}]{0,50})?", dump):
        names.setdefault(m.group(1), m.group(2) + (m.group(3) or ""))
    return names


# ---- samples -----------------------------------------------------------------


def read_samples(data):
    """pid -> list of (leaf address, leaf dso, [(symbol, is kernel)] leaf first)."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "pid,ip,sym,dso"], capture_output=True, text=True)
    samples = collections.defaultdict(list)
    pid = None
    frames = []

    def flush():
        if pid is not None and frames:
            samples[pid].append(frames[:])

    for line in out.stdout.splitlines():
        if not line.strip():
            continue
        # A sample's first line is its pid alone, right-aligned: a pid shorter
        # than perf's column starts with spaces, as the frames below it do.
        header = re.match(r"\s*(\d+)(?:/\d+)?\s*$", line)
        if header:
            flush()
            pid = int(header.group(1))
            frames = []
            continue
        m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            frames.append((int(m.group(1), 16), re.sub(r"\+0x[0-9a-f]+$", "", m.group(2)), m.group(3)))
    flush()
    return samples


def place(dso):
    if dso.startswith("/tmp/perf-") or dso.startswith("[JIT]"):
        return "JIT code"
    if "kernel" in dso:
        return "kernel"
    return os.path.basename(dso)


def kernel_entry(frames):
    for _, symbol, _ in reversed(frames):
        if re.match(r"(__x64_sys_\w+|asm_exc_\w+|asm_sysvec_\w+|asm_common_interrupt)$", symbol):
            return symbol
    return "other kernel"


def report(title, pid, requests, samples, dump):
    per = NS_PER_SAMPLE / requests
    mine = samples.get(pid, [])
    print(f"\n== {title} (pid {pid}): {requests} requests, {len(mine) * per:.0f} ns of CPU a request")
    by_place = collections.Counter(place(f[0][2]) for f in mine)
    for name, n in by_place.most_common():
        print(f"   {n * per:8.1f}  {name}")
    print("   kernel, by system call:")
    by_call = collections.Counter(kernel_entry(f) for f in mine if place(f[0][2]) == "kernel")
    for name, n in by_call.most_common(6):
        print(f"   {n * per:8.1f}  {name}")
    ranges = code_ranges(dump)
    starts = [r[0] for r in ranges]
    by_function = collections.Counter()
    by_class = collections.Counter()
    by_node = collections.Counter()
    names = structure_names(dump)
    for frames in mine:
        address, _, dso = frames[0]
        if place(dso) != "JIT code":
            continue
        i = bisect.bisect_right(starts, address) - 1
        if i < 0 or address >= ranges[i][1]:
            by_function["(not in the dump)"] += 1
            continue
        by_function[ranges[i][2]] += 1
        by_node[(ranges[i][2], ranges[i][3])] += 1
        m = STRUCTURE_CHECK.search(ranges[i][3])
        if m:
            by_class[names.get(m.group(1), m.group(1))] += 1
    print("   JIT code, by function:")
    for name, n in by_function.most_common(8):
        print(f"   {n * per:8.1f}  {name}")
    print("   JIT code, structure checks by the class of the object checked:")
    for name, n in by_class.most_common(8):
        print(f"   {n * per:8.1f}  {name}")
    if os.environ.get("JIT_NODES"):
        print("   JIT code, by IR node:")
        for (function, node), n in by_node.most_common(int(os.environ["JIT_NODES"])):
            print(f"   {n * per:8.1f}  {function[:24]:24}  {node[:100]}")


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    a, b, rounds, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    work = tempfile.mkdtemp()
    servers = [start(a, f"{work}/a.err"), start(b, f"{work}/b.err")]
    perf = None
    try:
        ports = [str(port) for _, port in servers]
        for _ in range(2):  # warm-up: every function compiled before the samples
            load(",".join(ports), args)
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-g", "-o", f"{work}/perf.data",
             "-p", ",".join(str(child.pid) for child, _ in servers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        totals = [0, 0]
        for i in range(rounds):
            order = [0, 1] if i % 2 == 0 else [1, 0]
            counts = load(",".join(ports[j] for j in order), args)
            for j, n in zip(order, counts):
                totals[j] += n
        perf.send_signal(2)
        perf.wait()
        samples = read_samples(f"{work}/perf.data")
        for j, title in ((0, "A: " + a), (1, "B: " + b)):
            dump = open(f"{work}/{'ab'[j]}.err", errors="replace").read()
            report(title, servers[j][0].pid, totals[j], samples, dump)
    finally:
        for child, _ in servers:
            child.kill()
        if perf is not None and perf.poll() is None:
            perf.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
