// Shared test fixtures. They use only doorway's public API and what every
// runtime has built in, so the suites run unchanged on Deno, Bun and Node.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { answerLines, type Conn, listen, type Listener, type ListenOptions, SocketError, uppercase } from "../mod.ts";

/** A running uppercase server for a test, and what its handlers threw. */
export interface TestServer {
  listener: Listener;
  port: number;
  errors: unknown[];
  /** Connections the handlers have finished with. */
  done: number;
  close(): Promise<void>;
}

/**
 * Starts a server that runs `handler` for each connection, concurrently,
 * recording what handlers throw. The default handler answers lines uppercased.
 */
export async function startServer(
  options: ListenOptions = {},
  handler: (conn: Conn) => Promise<void> = (conn) => answerLines(conn, uppercase),
): Promise<TestServer> {
  const listener = await listen({ hostname: "127.0.0.1", port: 0, ...options });
  const running = new Set<Promise<void>>();
  const server: TestServer = {
    listener,
    port: listener.addr.port,
    errors: [],
    done: 0,
    async close() {
      listener.close();
      await loop;
      await Promise.all(running);
    },
  };
  const loop = (async () => {
    for await (const conn of listener) {
      const task = handler(conn)
        .catch((err) => {
          server.errors.push(err);
        })
        .finally(() => {
          conn.close();
          server.done++;
          running.delete(task);
        });
      running.add(task);
    }
  })();
  return server;
}

/** Deterministic pseudo-random bytes: fast, and different at every offset. */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, length >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) bytes[i] = i & 0xff;
  return bytes;
}

/** The SHA-256 of some bytes, as hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Reads a connection to end of stream, hashing what arrives. */
export async function hashToEnd(conn: Conn): Promise<{ hash: string; length: number }> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(256 * 1024);
  let length = 0;
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    hash.update(buffer.subarray(0, n));
    length += n;
  }
  return { hash: hash.digest("hex"), length };
}

/** A process run for a test, with its output lines as they come. */
export interface Child {
  /** The process id. */
  pid: number | undefined;
  /** Resolves with the next line the child prints on stdout. */
  nextLine(): Promise<string>;
  /** Everything the child printed on stderr so far. */
  stderr(): string;
  write(text: string): void;
  endInput(): void;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code (or the signal's name) when the child ends. */
  exited: Promise<number | string>;
}

/** How a child ended: its exit code (or signal), its stdout lines and its stderr. */
export interface Finished {
  code: number | string;
  stdout: string[];
  stderr: string;
}

/** Reads a started child to its end. */
export async function finish(child: Child): Promise<Finished> {
  const stdout: string[] = [];
  for (let line = await child.nextLine(); !line.startsWith("<exited"); line = await child.nextLine()) {
    stdout.push(line);
  }
  return { code: await child.exited, stdout, stderr: child.stderr() };
}

/** Starts a process whose stdout is read line by line. */
export function startChild(command: string, args: string[], options: { cwd?: string } = {}): Child {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let err = "";
  let ended = false;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => (err += text));
  // A child that exits before reading its input (a usage error) breaks the
  // pipe under a write still in flight: its output and exit code tell the
  // test what happened, and the EPIPE would otherwise fail the whole file.
  child.stdin.on("error", () => {});
  const rl = createInterface({ input: child.stdout });
  rl.on("line", (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("close", (code, signal) => {
      ended = true;
      for (const waiter of waiting.splice(0)) waiter(`<exited: ${err.trim()}>`);
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    pid: child.pid,
    nextLine() {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.resolve(`<exited: ${err.trim()}>`);
      return new Promise((resolve) => waiting.push(resolve));
    },
    stderr: () => err,
    write: (text) => child.stdin.write(text),
    endInput: () => child.stdin.end(),
    kill: (signal = "SIGTERM") => child.kill(signal),
    exited,
  };
}

/**
 * A TCP port that completes no new handshakes: a listener with backlog 0 that
 * never accepts, in a python3 child, so connects to it hang once its one queue
 * slot is taken. The only portable way to make a connect time out on loopback.
 */
export async function startBlackhole(): Promise<{ port: number; stop(): Promise<void> }> {
  const script = [
    "import socket, sys",
    "s = socket.socket()",
    "s.bind(('127.0.0.1', 0))",
    "s.listen(0)",
    "print(s.getsockname()[1], flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const child = startChild("python3", ["-c", script]);
  const port = Number(await child.nextLine());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`blackhole did not start: ${child.stderr()}`);
  return {
    port,
    async stop() {
      child.endInput();
      await child.exited;
    },
  };
}

/** Asserts that `promise` rejects with a SocketError of `code` (and message). */
export async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<SocketError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SocketError, `expected a SocketError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** `parts` one after another, in one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Runs a python3 peer that, `rounds` times, connects to `port` on
 * 127.0.0.1, sends `send` (possibly nothing) and resets the connection
 * (SO_LINGER 0), then once more connects, sends `last` and prints the reply
 * line; resolves with that line. What port scans and health checks do.
 */
export async function resetPeer(
  port: number,
  options: { rounds: number; send: string; last: string },
): Promise<string> {
  const script = `
import socket, struct, sys
for _ in range(${options.rounds}):
    s = socket.create_connection(("127.0.0.1", ${port}))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(${JSON.stringify(options.send)}.encode())
    s.close()
s = socket.create_connection(("127.0.0.1", ${port}))
s.settimeout(10)
s.sendall(${JSON.stringify(options.last)}.encode())
reply = b""
while not reply.endswith(b"\\n"):
    chunk = s.recv(100)
    if not chunk:
        break
    reply += chunk
print(reply.decode().strip(), flush=True)
`;
  const child = startChild("python3", ["-c", script]);
  const line = await child.nextLine();
  assert.equal(await child.exited, 0, child.stderr());
  return line;
}

/**
 * Resets `count` connections to the uppercase server at `port` (a reply is read first, so the server is waiting
 * for the next line), then sends "done" and returns the reply. Run against --max-connections 1, each connection
 * is served only once the one before it has ended, after its error was reported: the reply to "done" means every
 * reset has been through the server's error reporting. A connection turned away is tried again.
 */
export async function resetConnections(port: number, count: number): Promise<string> {
  const script = `
import socket, struct, sys
def served(line, reset):
    while True:
        s = socket.create_connection(("127.0.0.1", ${port}))
        reply = b""
        try:
            s.sendall(line)
            while not reply.endswith(b"\\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
        if reply.endswith(b"\\n"):
            if reset:
                # Linger on, for no time: close() sends a reset.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            return reply.decode().strip()
        s.close()
for _ in range(${count}):
    served(b"hello\\n", True)
print(served(b"done\\n", False), flush=True)
`;
  const child = startChild("python3", ["-c", script]);
  const line = await child.nextLine();
  assert.equal(await child.exited, 0, child.stderr());
  return line;
}

/** Sums the "Rejected N connections" lines of a server's stderr; fails on any other line. */
export function rejectionsLogged(stderr: string): number {
  let sum = 0;
  for (const line of stderr.split("\n").filter((line) => line !== "")) {
    const match = /^Rejected (\d+) (connections?): max-connections 1 reached$/.exec(line);
    assert.ok(match, `unexpected line on stderr: ${line}`);
    assert.equal(match[2], match[1] === "1" ? "connection" : "connections", line);
    sum += Number(match[1]);
  }
  return sum;
}
