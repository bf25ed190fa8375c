// Shared fixtures of the field suite: real processes and real sockets, driven the way users and hostile peers
// drive them. Servers run as child processes under the runtime running the suite (CURRENT_RUNTIME), clients are
// node:net / node:dgram sockets of this process (independent of doorway) or python3 peers (tests/field/_peer.py)
// that reset connections with SO_LINGER 0. Every wait has a deadline, so a hung server fails a test instead of
// hanging the suite.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { CURRENT_RUNTIME, currentRuntimeCommand, ROOT } from "../_runtimes.ts";

export { CURRENT_RUNTIME, ROOT };

/** Resolves after `ms`, for polling intervals only: never to wait for an event. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection naming `what` (a function: described when it happens) once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no result within ${ms} ms: ${typeof what === "function" ? what() : what}`));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Runs `body`, then `cleanup`. A failure of `body` is the one reported: `cleanup` failing after it (a server
 * that cannot close because it is broken in the same way) would only hide the cause.
 */
export async function withCleanup(body: () => Promise<void>, cleanup: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
  await cleanup();
}

/** How a child process ended: its exit code, or the name of the signal that killed it. */
export type ExitStatus = number | string;

/** A child process whose output is kept, with deadline-bound waits on it. */
export interface Proc {
  readonly pid: number;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Its exit status once it has ended, `undefined` while it runs. */
  status(): ExitStatus | undefined;
  /** Resolves with the exit status when it ends. */
  readonly exited: Promise<ExitStatus>;
  /**
   * Waits until `pattern` matches `stream`'s output after `from` (a character offset); resolves with the
   * match. Fails if the process ends first or `ms` pass.
   */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, ms: number, from?: number): Promise<RegExpExecArray>;
  /** Waits for the exit status, failing if the process still runs after `ms`. */
  waitExit(ms: number): Promise<ExitStatus>;
  write(text: string | Uint8Array): void;
  endInput(): void;
  /** Sends `signal` to the process (or to its whole group, for one started with `group`). */
  kill(signal?: NodeJS.Signals): void;
  /** Both outputs, for assertion messages. */
  describe(): string;
}

/** Options for {@linkcode spawnProc}. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Starts it in a process group of its own, so that `kill()` reaches its children too (npm's). */
  group?: boolean;
}

/** Starts `command` with piped stdio. */
export function spawnProc(command: string, args: string[], options: SpawnOptions = {}): Proc {
  // Plain output, as a program writing to a pipe gives: Deno colours console.log whenever FORCE_COLOR is set,
  // even to 0 (which tests/run_all.mjs sets for the runners).
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.env };
  delete env.FORCE_COLOR;
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.group === true,
  });
  const output = { stdout: "", stderr: "" };
  let status: ExitStatus | undefined;
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const waker of [...wakers]) waker();
  };
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    output.stdout += text;
    wake();
  });
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    output.stderr += text;
    wake();
  });
  // A child that exits before reading its input would otherwise fail the test process with EPIPE.
  child.stdin!.on("error", () => {});
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on("error", (err) => {
      output.stderr += `<spawn failed: ${err.message}>`;
      status = -1;
      wake();
      resolve(-1);
    });
    child.on("close", (code, signal) => {
      status = code ?? signal ?? -1;
      wake();
      resolve(status);
    });
  });
  const pid = child.pid ?? -1;
  const proc: Proc = {
    pid,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    status: () => status,
    exited,
    waitFor(stream, pattern, ms, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(output[stream].slice(from));
          if (match) return finish(() => resolve(match));
          if (status !== undefined) {
            finish(() =>
              reject(new Error(`${command} exited ${status} before printing ${pattern}\n${proc.describe()}`))
            );
          }
        };
        const timer = setTimeout(() => {
          finish(() => reject(new Error(`${command} printed no ${pattern} within ${ms} ms\n${proc.describe()}`)));
        }, ms);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          wakers.delete(check);
          settle();
        };
        wakers.add(check);
        check();
      });
    },
    waitExit(ms) {
      return withDeadline(exited, ms, () => `${command} ${args.join(" ")} to exit\n${proc.describe()}`);
    },
    write(text) {
      child.stdin!.write(text);
    },
    endInput() {
      child.stdin!.end();
    },
    kill(signal = "SIGTERM") {
      if (pid < 0) return;
      // A group may outlive its leader (npm's children): it is signalled while any of it is alive.
      if (options.group ? groupAlive(pid).length === 0 : status !== undefined) return;
      try {
        process.kill(options.group ? -pid : pid, signal);
      } catch {
        // Already gone.
      }
    },
    describe() {
      return `--- stdout of ${command} (pid ${pid})\n${output.stdout}\n--- stderr\n${output.stderr}\n---`;
    },
  };
  return proc;
}

/** Starts `file` (relative to the repository root) under the runtime running this code. */
export function spawnUnderRuntime(file: string, args: string[] = [], options: SpawnOptions = {}): Proc {
  const [command, commandArgs] = currentRuntimeCommand(file, args);
  return spawnProc(command, commandArgs, options);
}

/** Runs a process to its end (killing it after `ms`); resolves with its status and output. */
export async function runToEnd(
  proc: Proc,
  ms: number,
): Promise<{ status: ExitStatus; stdout: string; stderr: string }> {
  try {
    const status = await proc.waitExit(ms);
    return { status, stdout: proc.stdout(), stderr: proc.stderr() };
  } finally {
    proc.kill("SIGKILL");
  }
}

/** How a command run by {@linkcode runCommand} ended: its exit code (or signal name) and its output. */
export interface Finished {
  code: ExitStatus;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` to its end with `input` on stdin (none: stdin ends at once), killing it after `ms`; resolves
 * with its exit code and output.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: SpawnOptions & { input?: string; ms: number },
): Promise<Finished> {
  const proc = spawnProc(command, args, options);
  if (options.input) proc.write(options.input);
  proc.endInput();
  const { status, stdout, stderr } = await runToEnd(proc, options.ms);
  return { code: status, stdout, stderr };
}

/** The server programs, each as a file and the arguments that pick the server. */
export const PROGRAMS = {
  "examples/tcp_server.ts": { file: "examples/tcp_server.ts", args: [], transport: "tcp" },
  "examples/udp_server.ts": { file: "examples/udp_server.ts", args: [], transport: "udp" },
  "cli.ts tcp-server": { file: "cli.ts", args: ["tcp-server"], transport: "tcp" },
  "cli.ts udp-server": { file: "cli.ts", args: ["udp-server"], transport: "udp" },
} as const;
export type ProgramName = keyof typeof PROGRAMS;

/** A server program running as a child process, and where it said it listens. */
export interface ServerProc {
  proc: Proc;
  /** The address it printed, brackets removed (`::1`, not `[::1]`). */
  host: string;
  port: number;
}

/** How long a server program gets to start: Node compiles TypeScript with tsx on the way. */
export const START_MS = 20_000;

// "Listening on 127.0.0.1:4000", "Listening on [::1]:4000", ":::4000", "Listening on tcp [::]:4000 (service: upper)".
const LISTENING = /^Listening on (?:(?:tcp|udp) )?(\S+):(\d+)(?: \(service: \w+\))?$/m;

/**
 * Starts a server program under the runtime running this code with `args` (give it `--port 0`), and waits
 * for its "Listening on HOST:PORT" line. `wrap` can put a command in front (a shell setting a limit): it must
 * exec the runtime, so that the pid is the server's own.
 */
export async function startProgram(
  name: ProgramName,
  args: string[],
  options: { wrap?: (command: string, args: string[]) => [string, string[]] } = {},
): Promise<ServerProc> {
  const program = PROGRAMS[name];
  let [command, commandArgs] = currentRuntimeCommand(program.file, [...program.args, ...args]);
  if (options.wrap) [command, commandArgs] = options.wrap(command, commandArgs);
  const proc = spawnProc(command, commandArgs);
  try {
    const match = await proc.waitFor("stdout", LISTENING, START_MS);
    const host = match[1].replace(/^\[(.*)\]$/, "$1");
    return { proc, host, port: Number(match[2]) };
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
}

/** Server program arguments for a free port of 127.0.0.1. */
export const LOOPBACK: readonly string[] = ["--hostname", "127.0.0.1", "--port", "0"];

/** A server program to start: its name, its arguments and, optionally, a command to put in front. */
export interface ProgramStart {
  name: ProgramName;
  args: readonly string[];
  wrap?: (command: string, args: string[]) => [string, string[]];
}

/** Starts a server program ({@linkcode startProgram}), runs `body` with it, and kills it however `body` ends. */
export async function withProgram<T>(program: ProgramStart, body: (server: ServerProc) => Promise<T>): Promise<T> {
  let server: ServerProc | undefined;
  try {
    server = await startProgram(program.name, [...program.args], program);
    return await body(server);
  } finally {
    await killHard(server?.proc);
  }
}

/** Stops a child for good: for `finally` blocks. */
export async function killHard(proc: Proc | undefined): Promise<void> {
  if (proc === undefined) return;
  proc.kill("SIGCONT");
  proc.kill("SIGKILL");
  await proc.exited;
}

/**
 * One TCP exchange the way `printf 'hello\n' | nc HOST PORT` does it: connects with node:net, sends `request`,
 * half-closes, and resolves with everything received until the server ends the stream. Fails on a reset, a
 * refused connection or after `ms`, with what had arrived.
 */
export function tcpExchange(host: string, port: number, request: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`TCP ${host} port ${port}: no end of stream within ${ms} ms; received ${JSON.stringify(received)}`),
      );
    }, ms);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.end(request));
    socket.on("data", (text: string) => (received += text));
    socket.on("end", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    });
    socket.on("error", (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`TCP ${host} port ${port}: ${err.code ?? err.message} after ${JSON.stringify(received)}`));
    });
  });
}

/** The IP address and family `host` resolves to (itself, for an IP literal). */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = net.isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/**
 * One UDP exchange with node:dgram: sends `request` from a fresh socket of the target's family and resolves
 * with the first reply as text. Fails after `ms`.
 */
export async function udpExchange(host: string, port: number, request: string, ms = 5000): Promise<string> {
  const { address, family } = await resolveHost(host);
  const socket = dgram.createSocket(family === 6 ? "udp6" : "udp4");
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`UDP ${address} port ${port}: no reply within ${ms} ms`)), ms);
      socket.on("message", (msg: Uint8Array) => {
        clearTimeout(timer);
        resolve(new TextDecoder().decode(msg));
      });
      socket.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.send(request, port, address);
    });
  } finally {
    socket.close();
  }
}

/** The open file descriptors of process `pid`, from /proc. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

// What each descriptor `pid` has open points at; one closed since it was
// listed is left out.
function fdLinks(pid: number): string[] {
  const links: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      links.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed since it was listed.
    }
  }
  return links;
}

/**
 * How many sockets `pid` has open: unlike its descriptor count, not moved by
 * the files a runtime opens now and then (Deno's caches).
 */
export function socketCount(pid: number): number {
  return fdLinks(pid).filter((link) => link.startsWith("socket:")).length;
}

/** What the descriptors of `pid` point at, for a failure message. */
export function fdTargets(pid: number): string {
  const counts = new Map<string, number>();
  for (const link of fdLinks(pid)) {
    const target = link.replace(/\d+/g, "N");
    counts.set(target, (counts.get(target) ?? 0) + 1);
  }
  return [...counts].map(([target, n]) => `${n} x ${target}`).join(", ");
}

/**
 * Polls /proc until `pid` has exactly `baseline` descriptors open; fails with what they are after `ms`.
 * Closing a socket is asynchronous in every runtime, so a fixed wait would either be flaky or slow.
 */
export async function waitForFds(pid: number, baseline: number, ms = 5000, what = "descriptors"): Promise<void> {
  const deadline = performance.now() + ms;
  let count = fdCount(pid);
  while (count !== baseline && performance.now() < deadline) {
    await delay(20);
    count = fdCount(pid);
  }
  assert.equal(
    count,
    baseline,
    `${what}: pid ${pid} has ${count} descriptors open, not ${baseline}: ${fdTargets(pid)}`,
  );
}

/**
 * The descriptor count of an idle server: polled until the same count is seen over 200 ms, since a runtime
 * may still be closing a client it just served.
 */
export async function steadyFdCount(pid: number, ms = 5000): Promise<number> {
  const deadline = performance.now() + ms;
  let count = fdCount(pid);
  let since = performance.now();
  while (performance.now() - since < 200 && performance.now() < deadline) {
    await delay(20);
    const now = fdCount(pid);
    if (now !== count) {
      count = now;
      since = performance.now();
    }
  }
  return count;
}

/** The hostile TCP peer: `python3 tests/field/_peer.py HOST PORT MODE COUNT [SEED]`. */
export const PEER = `${ROOT}tests/field/_peer.py`;

/** The stages at which `_peer.py` resets its connections; see that file. */
export type PeerMode = "connect" | "partial" | "pipeline" | "bulk" | "hold" | "mixed";

/** Starts `count` hostile peers, one after the other, against `host:port`. */
export function startPeer(host: string, port: number, mode: PeerMode, count = 1, seed?: number): Proc {
  const args = ["-u", PEER, host, String(port), mode, String(count)];
  if (seed !== undefined) args.push(String(seed));
  return spawnProc("python3", args);
}

/** Runs hostile peers to their end; fails unless the peer script itself succeeded. */
export async function runPeer(
  host: string,
  port: number,
  mode: PeerMode,
  options: { count?: number; seed?: number; ms?: number } = {},
): Promise<void> {
  const peer = startPeer(host, port, mode, options.count ?? 1, options.seed);
  const result = await runToEnd(peer, options.ms ?? 30_000);
  assert.equal(result.status, 0, `peer ${mode} failed\n${peer.describe()}`);
}

/** Whether any process of group `pgid` is still alive (zombies do not count: nobody may reap them here). */
export function groupAlive(pgid: number): number[] {
  const alive: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold spaces: the fields that follow it are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") alive.push(Number(entry));
  }
  return alive;
}

/** Whether something accepts TCP connections at `host:port`. */
export function tcpListening(host: string, port: number, ms = 2000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host} port ${port}: neither accepted nor refused within ${ms} ms`));
    }, ms);
    socket.on("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.on("error", (err: Error & { code?: string }) => {
      clearTimeout(timer);
      // A listener closing with this connection in its accept queue resets it.
      if (err.code === "ECONNREFUSED" || err.code === "ECONNRESET") resolve(false);
      else reject(err);
    });
  });
}

/** The field suite's timeout for one test, generous: each step inside has its own deadline. */
export const TEST_TIMEOUT = { timeout: 60_000 };
