// Running out of file descriptors: the server program runs under this runtime with `ulimit -n` set 20 above
// what it uses when idle, and more clients connect than it has descriptors left. Accepting then fails
// (EMFILE) for as long as they stay; once they close, the server must not have exited, must serve a new
// client, and must be back to its idle descriptors.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import net from "node:net";
import { describe, it } from "node:test";
import {
  CURRENT_RUNTIME,
  delay,
  fdCount,
  LOOPBACK,
  type ProgramName,
  steadyFdCount,
  tcpExchange,
  TEST_TIMEOUT,
  waitForFds,
  withDeadline,
  withProgram,
} from "./_field.ts";

const HEADROOM = 20;

/** The descriptor limit for `name`: 20 above its idle count, and above the highest descriptor it holds. */
async function limitFor(name: ProgramName): Promise<{ limit: number; idle: number }> {
  return await withProgram({ name, args: LOOPBACK }, async ({ proc, host, port }) => {
    assert.equal(await tcpExchange(host, port, "hello\n"), "HELLO\n", proc.describe());
    const idle = await steadyFdCount(proc.pid);
    // A limit caps descriptor numbers, not their count: one inherited high above the rest counts up to it.
    const highest = Math.max(...readdirSync(`/proc/${proc.pid}/fd`).map(Number));
    return { limit: Math.max(idle, highest + 1) + HEADROOM, idle };
  });
}

/** Connects `count` clients that send nothing; resolves once the kernel has completed every handshake. */
async function connectIdle(host: string, port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const connected: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host, port });
    // The server may close or reset them while it is out of descriptors: no matter here.
    socket.on("error", () => {});
    sockets.push(socket);
    connected.push(new Promise((resolve) => socket.once("connect", () => resolve())));
  }
  try {
    await withDeadline(Promise.all(connected), 10_000, `${count} connections to complete`);
  } catch (err) {
    for (const socket of sockets) socket.destroy();
    throw err;
  }
  return sockets;
}

describe(`descriptor exhaustion under ${CURRENT_RUNTIME}`, () => {
  const programs: ProgramName[] = ["examples/tcp_server.ts", "cli.ts tcp-server"];
  for (const name of programs) {
    it(`${name}: out of descriptors, then serving again once clients leave`, TEST_TIMEOUT, async () => {
      const { limit } = await limitFor(name);
      const wrap = (command: string, args: string[]): [string, string[]] => [
        "bash",
        ["-c", `ulimit -n ${limit} && exec "$@"`, "bash", command, ...args],
      ];
      await withProgram({ name, args: LOOPBACK, wrap }, async ({ proc, host, port }) => {
        let clients: net.Socket[] = [];
        try {
          assert.equal(await tcpExchange(host, port, "hello\n"), "HELLO\n", proc.describe());
          const idle = await steadyFdCount(proc.pid);
          clients = await connectIdle(host, port, limit - idle + HEADROOM);
          // Exhausted: the server has taken all the descriptors it can (Node's libuv keeps one in reserve).
          const deadline = performance.now() + 10_000;
          while (fdCount(proc.pid) < limit - 2) {
            assert.ok(performance.now() < deadline, `only ${fdCount(proc.pid)} of ${limit} descriptors used`);
            await delay(20);
          }
          for (const client of clients) client.destroy();
          clients = [];
          assert.equal(await tcpExchange(host, port, "after\n", 15_000), "AFTER\n", proc.describe());
          await waitForFds(proc.pid, idle, 10_000, `after the clients left\n${proc.describe()}`);
          assert.equal(proc.status(), undefined, proc.describe());
          assert.doesNotMatch(proc.stderr(), /^\s+at /m, proc.describe());
        } finally {
          for (const client of clients) client.destroy();
        }
      });
    });
  }
});
