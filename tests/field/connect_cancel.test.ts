// Connect attempts given up on, against a port that never completes a handshake: each must be torn down at once,
// its descriptor released and nothing left to keep the process alive. On Bun, Bun.connect() cannot be cancelled
// (it left both behind for as long as the kernel kept trying, over two minutes), so an attempt with a timeout or a
// signal goes through Bun's node:net, which can. Also: a name that does not resolve is ENOTFOUND for listen() and
// connect() alike, on every runtime.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import process from "node:process";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { type Conn, connect, listen, SocketError } from "../../mod.ts";
import { runtimeName } from "../../runtime/select.ts";
import { rejectsWithCode, startBlackhole, startChild, startServer } from "../_helpers.ts";
import { ROOT } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };
const HAS_PROC_FDS = existsSync("/proc/self/fd");

function openDescriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

// Polls (every 20 ms, a polling interval, not a wait for an event) until `done` holds or `ms` have passed.
async function pollUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

// Fills the blackhole's one queue slot, so that further handshakes hang: connects until one times out.
async function fill(port: number): Promise<Conn[]> {
  const held: Conn[] = [];
  for (let i = 0; i < 8; i++) {
    try {
      held.push(await connect({ hostname: "127.0.0.1", port, timeout: 300 }));
    } catch (err) {
      assert.ok(err instanceof SocketError && err.code === "ETIMEDOUT", String(err));
      return held;
    }
  }
  assert.fail("no connect timed out: the blackhole accepts");
}

// `count` attempts given up on in each way connect() offers, all at once; each must fail with its own code.
async function giveUp(port: number, count: number): Promise<void> {
  const attempts: Promise<SocketError>[] = [];
  for (let i = 0; i < count; i++) {
    const controller = new AbortController();
    switch (i % 4) {
      case 0:
      case 1:
        attempts.push(rejectsWithCode(connect({ port, timeout: i % 4 === 0 ? 100 : 0 }), "ETIMEDOUT"));
        break;
      case 2:
        // Aborted while the name is looked up (a name only here: localhost may also be ::1, which refuses).
        attempts.push(rejectsWithCode(connect({ hostname: "localhost", port, signal: controller.signal }), "EABORTED"));
        controller.abort();
        break;
      case 3:
        // Aborted while the handshake hangs.
        attempts.push(rejectsWithCode(connect({ port, signal: controller.signal }), "EABORTED"));
        setTimeout(() => controller.abort(), 50);
        break;
    }
  }
  await Promise.all(attempts);
}

// The command that runs `source` as a module under the runtime running this suite.
function evalCommand(source: string): [string, string[]] {
  switch (runtimeName()) {
    case "deno":
      return [process.execPath, ["eval", source]];
    case "bun":
      return [process.execPath, ["-e", source]];
    case "node":
      return [process.execPath, ["--import", "tsx", "--input-type=module", "-e", source]];
  }
}

describe(`connect attempts given up on, on ${runtimeName()}`, () => {
  test("100 attempts given up on leave no descriptor behind", { ...SLOW, skip: !HAS_PROC_FDS }, async () => {
    const blackhole = await startBlackhole();
    let held: Conn[] = [];
    try {
      held = await fill(blackhole.port);
      // The runtime's own descriptors made on first use (Deno makes one) are not the attempts'.
      const initial = openDescriptors();
      await giveUp(blackhole.port, 8);
      await pollUntil(() => openDescriptors() <= initial, 2_000);
      const before = openDescriptors();
      await giveUp(blackhole.port, 100);
      // Bun's attempts stayed open until the kernel gave up: 100 more descriptors for over two minutes.
      const released = await pollUntil(() => openDescriptors() <= before, 5_000);
      assert.ok(released, `${openDescriptors() - before} descriptors left behind by 100 attempts`);
    } finally {
      for (const conn of held) conn.close();
      await blackhole.stop();
    }
  });

  test("a process whose connects timed out exits at once", SLOW, async () => {
    const blackhole = await startBlackhole();
    let held: Conn[] = [];
    try {
      held = await fill(blackhole.port);
      const mod = pathToFileURL(`${ROOT}mod.ts`).href;
      const source = [
        `import { connect } from ${JSON.stringify(mod)};`,
        "const codes = [];",
        "for (let i = 0; i < 3; i++) {",
        `  try { (await connect({ hostname: "127.0.0.1", port: ${blackhole.port}, timeout: 50 })).close(); }`,
        "  catch (err) { codes.push(err.code); }",
        "}",
        "console.log(codes.join(' '));",
      ].join("\n");
      const [command, args] = evalCommand(source);
      const child = startChild(command, args, { cwd: ROOT });
      try {
        assert.equal(await child.nextLine(), "ETIMEDOUT ETIMEDOUT ETIMEDOUT", child.stderr());
        // Nothing is left to run: a pending attempt kept Bun's process alive for over two minutes.
        let code: number | string | undefined;
        child.exited.then((c) => (code = c));
        assert.ok(await pollUntil(() => code !== undefined, 10_000), "still running 10 s after its last connect");
        assert.equal(code, 0, child.stderr());
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    } finally {
      for (const conn of held) conn.close();
      await blackhole.stop();
    }
  });

  test("a connection made with a timeout or a signal works as any other", async () => {
    const server = await startServer();
    for (const withSignal of [false, true]) {
      const controller = new AbortController();
      const options = withSignal ? { signal: controller.signal } : { timeout: 5_000 };
      await using conn = await connect({ hostname: "127.0.0.1", port: server.port, ...options });
      assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: server.port });
      assert.equal(conn.localAddr.hostname, "127.0.0.1");
      // The signal was for the attempt: it no longer concerns the connection.
      controller.abort();
      await conn.write("café\n");
      assert.equal(await conn.readLine(), "CAFÉ");
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
    }
    await server.close();
    assert.deepEqual(server.errors, []);
  });
});

describe(`a name that does not resolve, on ${runtimeName()}`, () => {
  test("listen() and connect() fail with ENOTFOUND, naming the address", async () => {
    const host = "nonexistent.invalid";
    await rejectsWithCode(
      listen({ hostname: host, port: 0 }),
      "ENOTFOUND",
      /^Cannot listen on nonexistent\.invalid:0: host not found$/,
    );
    for (const options of [{}, { timeout: 5_000 }]) {
      await rejectsWithCode(
        connect({ hostname: host, port: 80, ...options }),
        "ENOTFOUND",
        /^Cannot connect to nonexistent\.invalid:80: host not found$/,
      );
    }
  });
});
