// How to start a program under each runtime, for the cross-runtime tests.
import assert from "node:assert/strict";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Child, startChild } from "./_helpers.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The three runtimes doorway supports. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
export type RuntimeId = typeof RUNTIMES[number];

/** Deno's permissions besides --allow-net, as the README says: `read` for certificate files, `write` too for Unix sockets. */
export type DenoAllow = ("read" | "write")[];

/**
 * The command that runs `file` (relative to the repository root) under
 * `runtime`, as the README tells users to run it; Deno also gets `allow`.
 */
export function runtimeCommand(
  runtime: RuntimeId,
  file: string,
  args: string[] = [],
  allow: DenoAllow = [],
): [string, string[]] {
  switch (runtime) {
    case "deno":
      return [
        `${ROOT}node_modules/.bin/deno`,
        ["run", "--allow-net", ...allow.map((name) => `--allow-${name}`), file, ...args],
      ];
    case "bun":
      return [`${ROOT}node_modules/.bin/bun`, [file, ...args]];
    case "node":
      return ["node", ["--import", "tsx", file, ...args]];
  }
}

/** Starts `file` (relative to the repository root) under `runtime`, as a user would; Deno also gets `allow`. */
export function startUnder(runtime: RuntimeId, file: string, args: string[] = [], allow: DenoAllow = []): Child {
  const [command, commandArgs] = runtimeCommand(runtime, file, args, allow);
  const child = startChild(command, commandArgs, { cwd: ROOT });
  let ended = false;
  child.exited.then(() => (ended = true));
  // Signalled by pid: when Deno runs the tests, ChildProcess.kill() reports the signal it sent as how the child
  // ended even if the child handled it and exited 0, and sends no second signal.
  child.kill = (signal = "SIGTERM") => {
    if (ended || child.pid === undefined) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  return child;
}

/**
 * Starts an example server on 127.0.0.1, port 0, and waits for the two lines
 * every example server prints: where it listens, then the textbook's ready line.
 */
export async function startExampleServer(
  runtime: RuntimeId,
  file: string,
  args: string[] = [],
): Promise<{ child: Child; port: number }> {
  const child = startUnder(runtime, file, ["--hostname", "127.0.0.1", "--port", "0", ...args]);
  const listening = await child.nextLine();
  const match = /^Listening on 127\.0\.0\.1:(\d+)$/.exec(listening);
  assert.ok(match, `${runtime} server said: ${listening} ${child.stderr()}`);
  assert.equal(await child.nextLine(), "The server is ready to receive");
  return { child, port: Number(match[1]) };
}

/**
 * The textbook check across runtimes: `serverFile` runs under
 * `serverRuntime`, the client `clientFile` under each runtime in turn sends a
 * sentence and must print the server's uppercase reply; SIGTERM then stops
 * the server cleanly, with nothing on stderr.
 */
export async function checkTextbookPairs(
  serverRuntime: RuntimeId,
  files: { server: string; client: string },
): Promise<void> {
  const { child: server, port } = await startExampleServer(serverRuntime, files.server);
  try {
    for (const clientRuntime of RUNTIMES) {
      const sentence = `hello from ${clientRuntime} to ${serverRuntime}, café`;
      const client = startUnder(clientRuntime, files.client, ["--port", String(port)]);
      client.write(sentence + "\n");
      client.endInput();
      assert.equal(await client.nextLine(), "Input lowercase sentence: ");
      assert.equal(await client.nextLine(), `From Server: ${sentence.toUpperCase()}`);
      assert.equal(await client.exited, 0, client.stderr());
    }
  } finally {
    server.kill("SIGTERM");
  }
  assert.equal(await server.exited, 0, server.stderr());
  assert.equal(server.stderr(), "");
}

/**
 * The runtime running this code: Deno and Bun announce themselves through
 * their globals, and Node is what is left. The cross-runtime conformance
 * tests and the field tests start their servers under it, so that each
 * runtime's run covers that runtime's servers.
 */
export const CURRENT_RUNTIME: RuntimeId = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** The command that runs `file` under the runtime running this code, as the README tells users to run it. */
export function currentRuntimeCommand(file: string, args: string[] = []): [string, string[]] {
  return runtimeCommand(CURRENT_RUNTIME, file, args);
}
