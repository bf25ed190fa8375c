// `npm run bench`: doorway against what a competent user writes by hand, on
// Deno, Bun and Node, with a C load generator. Writes bench/RESULTS.md and
// bench/ratios.svg from this run only; raw logs go to bench/out/.
//
//   node --import tsx bench/run.ts            the full run (about 20 minutes)
//   node --import tsx bench/run.ts --quick    a subset for CI (about 2.5 minutes)
//   node --import tsx bench/run.ts --only 'deno|c-raw' --scenario 'rr-32'
//                                              a filtered run, for profiling;
//                                              it writes bench/out/ only
//
// Every server is its own process on 127.0.0.1. For each scenario the servers
// of one runtime are started together, warmed up, and measured together,
// round after round: one load generator run per round loads them one at a
// time in slices of 50 ms (bulk: in turns of a second), so that the machine's
// drift falls on doorway and the servers it is compared with alike, and the
// per-round ratios that report.ts takes the median of hold still. Idle memory
// starts each server fresh. Every reply is checked by the load generator; a
// wrong or missing one fails the run.
//
// In the request/reply and UDP scenarios the old core (plan.ts, BASE_COMMIT),
// extracted from git into bench/out/base-COMMIT/, runs its own doorway
// servers in the same rounds, as `*-doorway-base`; without git history it is
// left out, with a message.
//
// The TLS scenarios need OpenSSL: its headers and libraries for the load
// generator (libssl-dev), and the openssl command, which makes a fresh
// self-signed certificate in bench/out/tls/ for each run. Without them they
// are left out, with a message. Unix sockets are made in a temporary
// directory, removed at exit.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderResults, renderSvg, renderTargetSummary } from "./report.ts";
import {
  BASE_COMMIT,
  type Catalog,
  type Measurement,
  type RunInfo,
  type Scenario,
  SCENARIOS,
  type ServerDef,
  SERVERS,
  serves,
  type Timing,
} from "./plan.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = `${ROOT}bench/`;
const OUT = `${BENCH}out/`;
const LOADGEN = `${OUT}loadgen`;
const C_RAW = `${OUT}c_raw`;
const TLS_DIR = `${OUT}tls/`;
const CERT = `${TLS_DIR}cert.pem`;
const KEY = `${TLS_DIR}key.pem`;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    scenario: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
  },
});
const quick = args.quick ?? false;
// A run that is not the standard one writes bench/out/ only, not RESULTS.md.
const filtered = args.only !== undefined || args.scenario !== undefined || args.rounds !== undefined ||
  args.duration !== undefined;

// ---- processes: every one started is stopped, whatever happens ---------------

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  children.clear();
}

// Unix sockets live here rather than in bench/out/, whose path may be longer
// than a socket's address allows (108 bytes).
let socketDir: string | undefined;
function socketPath(def: ServerDef): string {
  socketDir ??= mkdtempSync(`${tmpdir()}/doorway-bench-`);
  return `${socketDir}/${def.id}.sock`;
}

process.on("exit", () => {
  killAll();
  if (socketDir !== undefined) rmSync(socketDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

const logLines: string[] = [];
function log(line: string): void {
  logLines.push(line);
  console.log(line);
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface RunningServer {
  def: ServerDef;
  child: ChildProcess;
  /** For the load generator: a port, or unix:PATH. */
  target: string;
  stderr: string[];
  exited: Promise<number | null>;
}

function serverCommand(def: ServerDef): [string, string[]] {
  const deno = `${ROOT}node_modules/.bin/deno`;
  const bun = `${ROOT}node_modules/.bin/bun`;
  const file = def.file.startsWith("/") ? def.file : `${BENCH}servers/${def.file}`;
  const address = def.proto === "unix" ? [socketPath(def)] : def.proto === "tls" ? ["0", CERT, KEY] : ["0"];
  switch (def.runtime) {
    case "deno":
      return [deno, ["run", "--allow-net", ...(def.denoFlags ?? []), file, ...address]];
    case "bun":
      return [bun, [file, ...address]];
    case "node":
      return ["node", ["--import", "tsx", file, ...address]];
    case "python":
      return ["python3", [file, ...address]];
    case "c":
      return [C_RAW, def.proto === "udp" ? ["--udp", "0"] : ["0"]];
  }
}

async function startServer(def: ServerDef): Promise<RunningServer> {
  const [command, argv] = serverCommand(def);
  const child = track(spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  const stderr: string[] = [];
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    if (stderr.length < 200) stderr.push(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const target = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${def.id}: no port printed within 20 s`)), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const port = Number(line.trim());
      if (def.proto === "unix") {
        const path = socketPath(def);
        if (line.trim() === path) resolve(`unix:${path}`);
        else reject(new Error(`${def.id}: expected ${path}, got ${JSON.stringify(line)}`));
      } else if (Number.isInteger(port) && port > 0) {
        resolve(String(port));
      } else {
        reject(new Error(`${def.id}: expected a port, got ${JSON.stringify(line)}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${def.id}: exited with ${code} before listening: ${stderr.join("")}`));
    });
  });
  return { def, child, target, stderr, exited };
}

async function stopServer(server: RunningServer): Promise<void> {
  assertAlive(server);
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 3000);
  await server.exited;
  clearTimeout(timer);
}

// For a measurement that failed before stopServer(): nothing is left running.
async function killIfRunning(server: RunningServer): Promise<void> {
  if (!children.has(server.child)) return;
  server.child.kill("SIGKILL");
  await server.exited;
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

// ---- the load generator ---------------------------------------------------

interface LoadgenResult {
  [key: string]: number | string | boolean | undefined;
  error?: string;
}

// `targets`: one server, or several measured in interleaved slices (rr, cps
// and udp; see loadgen.c), with `timing.duration` seconds for each.
function loadgenArgs(s: Scenario, targets: string[], timing: Timing): string[] {
  const n = targets.length;
  const common = [
    ...(s.proto === "tls" ? ["--tls"] : []),
    "--port",
    targets.join(","),
    "--warmup",
    String(timing.warmup * n),
    "--duration",
    String(timing.duration * n),
  ];
  switch (s.kind) {
    case "rr":
      return ["rr", ...common, "--conns", String(s.conns), "--depth", String(s.depth)];
    case "bulk":
      return ["bulk", ...common, "--line", String(s.line)];
    case "cps":
      return ["cps", ...common, "--conns", String(s.conns)];
    case "udp":
      return ["udp", ...common, "--conns", String(s.conns)];
    case "idle":
      return ["idle", "--port", targets[0], "--conns", String(s.conns)];
  }
}

function spawnLoadgen(argv: string[]): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const child = track(spawn(LOADGEN, argv, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] }));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextResult(lines: AsyncIterableIterator<string>, what: string): Promise<LoadgenResult> {
  const { value, done } = await lines.next();
  if (done) throw new Error(`${what}: the load generator printed nothing`);
  const result = JSON.parse(value) as LoadgenResult;
  if (result.error !== undefined) throw new Error(`${what}: ${result.error}`);
  return result;
}

// The server's CPU time so far, user and system, in seconds.
function cpuTimes(pid: number): [number, number] {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = 100; // USER_HZ on Linux
  return [Number(fields[11]) / ticks, Number(fields[12]) / ticks];
}

// CPU time every CPU spent busy so far, in seconds, from /proc/stat.
function machineBusy(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  // user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

// What the load generator reports of one server it loaded.
type ServerResult = Record<string, number>;

// Runs the load generator to its result: one entry per server, in the order
// of `pids`, each with that process's CPU time over the measured window
// (`server_user_s`, `server_sys_s`), and how much CPU everything else on the
// machine used meanwhile (`foreign_load`, in CPUs).
async function runLoadgen(argv: string[], what: string, pids: number[] = []): Promise<ServerResult[]> {
  const { child, lines } = spawnLoadgen(argv);
  child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let result = await nextResult(lines, what);
  let cpu: { user: number; sys: number }[] = [];
  let foreign: number | undefined;
  if (result.phase === "measure") {
    const started = performance.now();
    const before = pids.map(cpuTimes);
    const busyBefore = machineBusy();
    const loadgenBefore = cpuTimes(child.pid!);
    result = await nextResult(lines, what);
    if (pids.length > 0) {
      cpu = pids.map((pid, i) => {
        const after = cpuTimes(pid);
        return { user: after[0] - before[i][0], sys: after[1] - before[i][1] };
      });
      const loadgenAfter = cpuTimes(child.pid!);
      let ours = loadgenAfter[0] + loadgenAfter[1] - loadgenBefore[0] - loadgenBefore[1];
      for (const c of cpu) ours += c.user + c.sys;
      const seconds = (performance.now() - started) / 1000;
      foreign = Math.max(0, (machineBusy() - busyBefore - ours) / seconds);
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${what}: the load generator exited with ${code}`);
  const { servers, ...common } = result as LoadgenResult & { servers?: ServerResult[] };
  const each = servers ?? [{}];
  return each.map((server, i) => {
    const merged: ServerResult = {};
    for (const [key, value] of Object.entries({ ...common, ...server })) {
      if (typeof value === "number") merged[key] = value;
    }
    if (cpu[i] !== undefined) {
      merged.server_user_s = cpu[i].user;
      merged.server_sys_s = cpu[i].sys;
    }
    if (foreign !== undefined) merged.foreign_load = foreign;
    return merged;
  });
}

// ---- one measurement --------------------------------------------------------

// Other work on the machine, in CPUs, past which a measurement is taken again
// (at most MAX_ATTEMPTS times in all; the least disturbed attempt is kept).
const MAX_FOREIGN_LOAD = 0.25;
const MAX_ATTEMPTS = 3;

// Takes a round again while other work disturbed it. `what` names it in the log.
async function measure(what: string, once: () => Promise<Measurement[]>): Promise<Measurement[]> {
  let best: Measurement[] | undefined;
  const load = (ms: Measurement[]) => Math.max(0, ...ms.map((m) => m.foreign_load ?? 0));
  for (let attempt = 1;; attempt++) {
    const ms = await once();
    if (best === undefined || load(ms) < load(best)) best = ms;
    if (load(ms) <= MAX_FOREIGN_LOAD || attempt >= MAX_ATTEMPTS) {
      // How many were made, whichever was kept.
      for (const m of best) m.attempts = attempt;
      return best;
    }
    log(`${what.padEnd(37)} again: other work used ${load(ms).toFixed(2)} CPUs meanwhile`);
  }
}

function assertAlive(server: RunningServer): void {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(`${server.def.id} died during the measurement: ${server.stderr.join("").slice(0, 2000)}`);
  }
}

// Memory per idle connection, on a server started for this measurement alone,
// so that no earlier load has grown its heap.
async function measureIdle(s: Scenario, def: ServerDef): Promise<Measurement> {
  const what = `${s.id} ${def.id}`;
  const server = await startServer(def);
  try {
    // Warm up (one short burst of round trips), let it settle, then the
    // baseline; open the idle connections; let them settle; measure.
    await runLoadgen(
      ["rr", "--port", server.target, "--conns", "32", "--warmup", "0", "--duration", "0.3"],
      what,
    );
    await sleep(700);
    const before = rssKiB(server.child.pid!);
    const { child, lines } = spawnLoadgen(loadgenArgs(s, [server.target], s.timing));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const ready = await nextResult(lines, what);
    await sleep(1000);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssKiB(server.child.pid!));
      await sleep(100);
    }
    const after = median(samples);
    child.stdin!.end("done\n");
    await nextResult(lines, what);
    if ((await exited) !== 0) throw new Error(`${what}: the load generator failed`);
    await stopServer(server);
    return {
      scenario: s.id,
      server: def.id,
      value: ((after - before) * 1024) / s.conns,
      rss_before_kib: before,
      rss_after_kib: after,
      open_seconds: Number(ready.seconds),
    };
  } finally {
    await killIfRunning(server);
  }
}

// One round of `servers`, up and warm: in interleaved slices of one load
// generator run, or (`bulk`, one connection streaming) in turns.
async function measureRound(s: Scenario, servers: RunningServer[], timing: Timing): Promise<Measurement[]> {
  const batches = s.kind === "bulk" ? servers.map((server) => [server]) : [servers];
  const measured: Measurement[] = [];
  for (const batch of batches) {
    const what = `${s.id} ${batch.map((server) => server.def.id).join(", ")}`;
    const argv = loadgenArgs(s, batch.map((server) => server.target), timing);
    const results = await runLoadgen(argv, what, batch.map((server) => server.child.pid!));
    batch.forEach((server, i) => {
      assertAlive(server);
      const result = results[i];
      const extra: Record<string, number> = {};
      for (const key of ["p50_us", "p99_us", "loadgen_cpu", "foreign_load"]) {
        if (result[key] !== undefined) extra[key] = result[key];
      }
      // Server CPU per request (or per MB in bulk), user and system, in µs.
      const units = result.requests ?? result.connections ?? result.bytes / 1e6;
      if (result.server_user_s !== undefined && units > 0) {
        extra.server_user_us = (result.server_user_s * 1e6) / units;
        extra.server_sys_us = (result.server_sys_s * 1e6) / units;
      }
      extra.rss_kib = rssKiB(server.child.pid!);
      measured.push({ scenario: s.id, server: server.def.id, value: result[s.metric], ...extra });
    });
  }
  return measured;
}

// The servers of a scenario in groups that are up at the same time: one per
// runtime, since every ratio compares servers of one runtime. Python's and
// the C server, compared across runtimes and only at large margins, share
// one: a server loaded alone idles between its slices (nobody else's run),
// and at one connection this VM then wakes it slowly, which put the C server
// below the servers it is the ceiling for (docs/performance.md, "How the
// bench measures").
function groups(servers: ServerDef[]): ServerDef[][] {
  const byRuntime = new Map<string, ServerDef[]>();
  for (const def of servers) {
    const key = def.runtime === "python" || def.runtime === "c" ? "reference" : def.runtime;
    const group = byRuntime.get(key) ?? [];
    group.push(def);
    byRuntime.set(key, group);
  }
  return [...byRuntime.values()];
}

// The order of a round's slices. The load generator goes round the servers
// in a cycle, so a server's slice follows the same server all round long, and
// at one connection which one it follows moves its rate by several per cent
// (with the old A B C D / D C B A, doorway followed the raw byte server in
// every other round and the obvious server never did; docs/performance.md,
// "How the bench measures").
// Each round therefore takes the cyclic order whose predecessors the rounds
// before it have used least: with four servers, six rounds give each server
// each of the others as its predecessor exactly twice; with more, no pair is
// used more than once more than another. The server that opens the round
// goes round too.
function cycleOrder<T>(servers: T[], round: number): T[] {
  const n = servers.length;
  const cycles = permutations([...Array(n).keys()].slice(1)).map((p) => [0, ...p]);
  const followed = new Map<number, number>(); // a * n + b: rounds in which b followed a
  const times = (cycle: number[], i: number) => followed.get(cycle.at(i - 1)! * n + cycle[i]) ?? 0;
  let cycle = cycles[0];
  for (let r = 0; r <= round; r++) {
    let least = Infinity;
    for (const c of cycles) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += times(c, i);
      if (sum < least) [least, cycle] = [sum, c];
    }
    for (let i = 0; i < n; i++) followed.set(cycle.at(i - 1)! * n + cycle[i], times(cycle, i) + 1);
  }
  const k = cycle.indexOf(round % n);
  return [...cycle.slice(k), ...cycle.slice(0, k)].map((i) => servers[i]);
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

// Starts a group, warms every server up with the scenario's own load (not
// measured), then measures them together for `rounds` rounds, in the order
// of cycleOrder().
async function measureGroup(
  s: Scenario,
  group: ServerDef[],
  timing: Timing,
  rounds: number,
  record: (m: Measurement) => void,
): Promise<void> {
  const running: RunningServer[] = [];
  try {
    for (const def of group) running.push(await startServer(def));
    for (const server of running) {
      const settle = { ...timing, warmup: 0, duration: timing.settle };
      await runLoadgen(loadgenArgs(s, [server.target], settle), `${s.id} ${server.def.id} (warm-up)`);
      assertAlive(server);
    }
    for (let round = 0; round < rounds; round++) {
      const order = cycleOrder(running, round);
      const what = `${s.id} ${group[0].runtime} round ${round + 1}`;
      for (const m of await measure(what, () => measureRound(s, order, timing))) {
        m.round = round;
        record(m);
      }
    }
    for (const server of running) await stopServer(server);
  } finally {
    for (const server of running) await killIfRunning(server);
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---- the old core ------------------------------------------------------------

// The tree at BASE_COMMIT, extracted once into bench/out/ and reused, so that
// its own doorway servers run next to today's. Returns why it cannot be had
// (no git, a shallow clone), or undefined. It imports nothing from
// node_modules: Node finds tsx from the working directory, the repository.
function prepareBase(): string | undefined {
  const dir = `${OUT}base-${BASE_COMMIT}`;
  if (existsSync(`${dir}/mod.ts`)) return undefined;
  // Into a scratch directory first, so that an interrupted extraction is not reused.
  const scratch = `${dir}.partial`;
  try {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const tar = execFileSync("git", ["archive", BASE_COMMIT], {
      cwd: ROOT,
      maxBuffer: 1 << 30,
      stdio: ["ignore", "pipe", "pipe"],
    });
    execFileSync("tar", ["-x", "-C", scratch], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
    renameSync(scratch, dir);
    return undefined;
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (err instanceof Error ? err.message : String(err));
  }
}

// ---- TLS ---------------------------------------------------------------------

// Why the TLS scenarios cannot run here, or undefined: the load generator
// links OpenSSL (its headers and libraries: libssl-dev on Debian and Ubuntu,
// openssl-devel on Fedora), and the certificate is made with the openssl
// command. Tried on a program of three lines, so that a missing header gives
// this message rather than the load generator's compile errors.
function tlsMissing(): string | undefined {
  const probe = "#include <openssl/ssl.h>\nint main(void) { return SSL_CTX_new(TLS_client_method()) == 0; }\n";
  try {
    execFileSync("cc", ["-x", "c", "-", "-o", `${OUT}tls_probe`, "-lssl", "-lcrypto"], {
      input: probe,
      stdio: ["pipe", "ignore", "pipe"],
    });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split("\n")[0];
    return "the load generator needs OpenSSL's headers and libraries (libssl-dev on Debian and Ubuntu, " +
      `openssl-devel on Fedora): ${stderr || (err instanceof Error ? err.message : String(err))}`;
  } finally {
    rmSync(`${OUT}tls_probe`, { force: true });
  }
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
  } catch {
    return "the openssl command, which makes the servers' certificate, is not installed";
  }
  return undefined;
}

// A self-signed EC certificate for localhost, made afresh for each run (the
// load generator does not verify it; the handshake is not measured).
function makeCertificate(): void {
  rmSync(TLS_DIR, { recursive: true, force: true });
  mkdirSync(TLS_DIR, { recursive: true });
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    KEY,
    "-out",
    CERT,
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: ["ignore", "ignore", "pipe"] });
}

// ---- the run ---------------------------------------------------------------

function version(command: string, argv: string[]): string {
  try {
    return execFileSync(command, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n")[0];
  } catch {
    return "unknown";
  }
}

// Unreadable files (no cpuidle, no haltpoll module) leave their part out.
function idlePolicy(): string {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const driver = read("/sys/devices/system/cpu/cpuidle/current_driver");
  const pollNs = read("/sys/module/haltpoll/parameters/guest_halt_poll_ns");
  if (driver === undefined) return "unknown";
  return pollNs === undefined ? `cpuidle ${driver}` : `cpuidle ${driver}, guest_halt_poll_ns ${pollNs}`;
}

function runInfo(mode: string, started: Date): RunInfo {
  const osRelease = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return {
    mode,
    started: started.toISOString(),
    seconds: 0,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: `Linux ${osRelease}`,
    idle: idlePolicy(),
    versions: {
      deno: version(`${ROOT}node_modules/.bin/deno`, ["--version"]),
      bun: version(`${ROOT}node_modules/.bin/bun`, ["--version"]),
      node: version("node", ["--version"]),
      python: version("python3", ["--version"]),
      cc: version("cc", ["--version"]),
    },
    load: readFileSync("/proc/loadavg", "utf8").trim(),
  };
}

async function main(): Promise<void> {
  const started = new Date();
  mkdirSync(OUT, { recursive: true });
  const noTls = tlsMissing();
  const tlsFlags = noTls === undefined ? ["-lssl", "-lcrypto"] : ["-DLOADGEN_NO_TLS"];
  execFileSync("cc", ["-O2", "-Wall", "-o", LOADGEN, `${BENCH}loadgen.c`, ...tlsFlags], { stdio: "inherit" });
  execFileSync("cc", ["-O2", "-Wall", "-o", C_RAW, `${BENCH}servers/c_raw.c`], { stdio: "inherit" });

  const mode = quick ? "quick" : "full";
  const only = args.only === undefined ? undefined : new RegExp(args.only);
  const onlyScenario = args.scenario === undefined ? undefined : new RegExp(args.scenario);
  let scenarios = SCENARIOS.filter((s) => (quick ? s.quick : s.full) && (!onlyScenario || onlyScenario.test(s.id)));
  const tlsScenarios = scenarios.filter((s) => s.proto === "tls");
  let tlsLeftOut: string | undefined;
  if (tlsScenarios.length > 0 && noTls !== undefined) {
    tlsLeftOut = `the TLS scenarios (${tlsScenarios.map((s) => s.id).join(", ")}) are left out: ${noTls}`;
    if (tlsScenarios.length === scenarios.length) throw new Error(tlsLeftOut);
    scenarios = scenarios.filter((s) => s.proto !== "tls");
  } else if (tlsScenarios.length > 0) {
    makeCertificate();
  }
  // Six rounds, so that the median of the per-round ratios stands even when
  // two rounds of a pair are disturbed (on this shared 2-vCPU machine one
  // disturbed round in two or three is common), and six because a group of
  // four has six cyclic orders (cycleOrder()), and with two or three servers
  // each opens as often as the others. (With the old core's servers, Deno's and
  // Bun's TCP groups have five: cycleOrder() then spreads the predecessors as
  // evenly as six rounds allow.)
  const rounds = Number(args.rounds ?? (quick ? 1 : 6));
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(`--rounds: expected a positive integer, got ${args.rounds}`);
  }
  const info = runInfo(mode, started);
  log(`doorway bench, ${mode} mode, ${rounds} round(s); load ${info.load}`);
  if (tlsLeftOut !== undefined) log(tlsLeftOut);
  let servers = SERVERS.filter((d) => !only || only.test(d.id));
  if (servers.some((d) => d.kind === "base")) {
    const missing = prepareBase();
    if (missing !== undefined) {
      log(`the old core (${BASE_COMMIT}) is not available, so it is not measured: ${missing}`);
      servers = servers.filter((d) => d.kind !== "base");
    }
  }

  const measurements: Measurement[] = [];
  const record = (s: Scenario) => (m: Measurement) => {
    measurements.push(m);
    log(
      `${s.id.padEnd(14)} ${m.server.padEnd(22)} ${format(s, m.value).padStart(12)} ${s.unit}` +
        (m.round !== undefined && rounds > 1 ? `  round ${m.round + 1}` : "") +
        (m.p99_us !== undefined ? `  p50 ${m.p50_us} µs  p99 ${m.p99_us} µs` : "") +
        (m.loadgen_cpu !== undefined ? `  loadgen cpu ${(m.loadgen_cpu * 100).toFixed(0)}%` : "") +
        (m.foreign_load !== undefined ? `  other ${m.foreign_load.toFixed(2)} cpu` : "") +
        (m.server_user_us !== undefined
          ? `  server cpu ${m.server_user_us.toFixed(2)} + ${m.server_sys_us!.toFixed(2)} µs`
          : ""),
    );
  };
  for (const s of scenarios) {
    const selected = servers.filter((d) => serves(s, d));
    const timing = quick ? s.quickTiming : s.timing;
    if (args.duration !== undefined) timing.duration = Number(args.duration);
    if (s.kind === "idle") {
      for (const def of selected) {
        const [m] = await measure(`${s.id} ${def.id}`, async () => [await measureIdle(s, def)]);
        m.round = 0;
        record(s)(m);
      }
      continue;
    }
    for (const group of groups(selected)) await measureGroup(s, group, timing, rounds, record(s));
  }
  info.seconds = Math.round((Date.now() - started.getTime()) / 1000);
  info.loadAfter = readFileSync("/proc/loadavg", "utf8").trim();
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const catalog: Catalog = { info, scenarios, servers: SERVERS, measurements };
  writeFileSync(`${OUT}results-${mode}-${stamp}.json`, JSON.stringify(catalog, null, 2));
  if (filtered) {
    log(`filtered run: ${OUT}results-${mode}-${stamp}.json (RESULTS.md left alone)`);
  } else {
    const target = quick ? `${OUT}RESULTS-quick.md` : `${BENCH}RESULTS.md`;
    writeFileSync(target, renderResults(catalog));
    if (!quick) writeFileSync(`${BENCH}ratios.svg`, renderSvg(catalog));
    // Both are checked by `deno fmt --check` (npm test): format them as written.
    if (!quick) {
      execFileSync(`${ROOT}node_modules/.bin/deno`, ["fmt", "--quiet", target, `${BENCH}ratios.svg`], {
        cwd: ROOT,
        stdio: "inherit",
      });
    }
    log(`wrote ${target.replace(ROOT, "")}${quick ? "" : " and bench/ratios.svg"} in ${info.seconds} s`);
  }
  // Last, so that a run ends on what it decided.
  for (const line of renderTargetSummary(catalog)) log(line);
  if (tlsLeftOut !== undefined) log(tlsLeftOut);
  writeFileSync(`${OUT}run-${mode}-${stamp}.log`, logLines.join("\n") + "\n");
}

function format(s: Scenario, value: number): string {
  return s.kind === "idle" ? value.toFixed(0) : value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

main().then(() => {
  killAll();
  process.exit(0);
}, (err) => {
  killAll();
  console.error(`bench FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
