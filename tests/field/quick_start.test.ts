// The README's quick start exactly as written: `npm start` (the uppercase server on port 12000, always under
// Node, whichever runtime runs this file), the textbook client `node --import tsx examples/tcp_client.ts`
// typing a sentence, then stopping the server as a terminal's signal would (to npm's whole process group:
// npm may not pass a signal on) and checking that nothing is left running or listening. Then the one-liner
// table's commands for the runtime running this file, each server with its default hostname and --port 0.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CURRENT_RUNTIME,
  delay,
  groupAlive,
  killHard,
  type Proc,
  runToEnd,
  spawnProc,
  spawnUnderRuntime,
  START_MS,
  tcpListening,
  TEST_TIMEOUT,
} from "./_field.ts";

const QUICK_START_PORT = 12000;
// "Listening on 0.0.0.0:12000", "Listening on [::]:4000": the host, then the port after the last colon.
const LISTENING = /^Listening on (\S+):(\d+)$/m;

/** Runs a client program with `input` on stdin to its end; it must exit 0 with nothing on stderr. */
async function runClient(client: Proc, input: string, server: Proc): Promise<string> {
  client.write(input);
  client.endInput();
  try {
    const result = await runToEnd(client, 15_000);
    assert.equal(result.status, 0, client.describe());
    assert.equal(result.stderr, "", client.describe());
    return result.stdout;
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : err}\nThe server:\n${server.describe()}`);
  }
}

/** Polls until `check()` holds, failing with `what` after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    assert.ok(performance.now() < deadline, what());
    await delay(20);
  }
}

describe(`the README's quick start, run from ${CURRENT_RUNTIME}`, () => {
  it("npm start, then the textbook client; SIGTERM leaves nothing running or listening", TEST_TIMEOUT, async () => {
    assert.equal(
      await tcpListening("127.0.0.1", QUICK_START_PORT),
      false,
      `port ${QUICK_START_PORT} is taken by another program: the quick start's npm start needs it; stop that program`,
    );
    const server = spawnProc("npm", ["start"], { group: true });
    try {
      const match = await server.waitFor("stdout", LISTENING, START_MS);
      assert.equal(match[2], String(QUICK_START_PORT), server.describe());
      const client = spawnProc("node", ["--import", "tsx", "examples/tcp_client.ts"]);
      assert.equal(
        await runClient(client, "hello\n", server),
        "Input lowercase sentence: \nFrom Server: HELLO\n",
        server.describe(),
      );
      server.kill("SIGTERM");
      await server.waitExit(15_000);
      await eventually(() => groupAlive(server.pid).length === 0, 10_000, () => {
        return `still running after SIGTERM: ${groupAlive(server.pid).join(", ")}\n${server.describe()}`;
      });
      assert.equal(await tcpListening("127.0.0.1", QUICK_START_PORT), false, "something still listens on 12000");
      assert.doesNotMatch(server.stderr(), /^\s+at /m, server.describe());
    } finally {
      server.kill("SIGKILL");
      await server.exited;
    }
  });
});

describe(`the README's one-liners under ${CURRENT_RUNTIME}`, () => {
  /** Starts a server example with `args`, and resolves with it and its port. */
  async function startExample(file: string, args: string[]): Promise<{ proc: Proc; port: string }> {
    const proc = spawnUnderRuntime(file, args);
    try {
      const match = await proc.waitFor("stdout", LISTENING, START_MS);
      assert.equal(match[1], "0.0.0.0", `${file} listens on 0.0.0.0 by default\n${proc.describe()}`);
      return { proc, port: match[2] };
    } catch (err) {
      await killHard(proc);
      throw err;
    }
  }

  /** Stops a server example with SIGTERM: it must exit 0 with nothing on stderr. */
  async function stop(proc: Proc): Promise<void> {
    proc.kill("SIGTERM");
    assert.equal(await proc.waitExit(10_000), 0, proc.describe());
    assert.equal(proc.stderr(), "", proc.describe());
  }

  it("TCP server, TCP client", TEST_TIMEOUT, async () => {
    const { proc, port } = await startExample("examples/tcp_server.ts", ["--port", "0"]);
    try {
      const client = spawnUnderRuntime("examples/tcp_client.ts", ["--port", port]);
      const out = await runClient(client, "hello, café\n", proc);
      assert.equal(out, "Input lowercase sentence: \nFrom Server: HELLO, CAFÉ\n", proc.describe());
      await stop(proc);
    } finally {
      await killHard(proc);
    }
  });

  it("UDP server, UDP client", TEST_TIMEOUT, async () => {
    const { proc, port } = await startExample("examples/udp_server.ts", ["--port", "0"]);
    try {
      const client = spawnUnderRuntime("examples/udp_client.ts", ["--port", port]);
      const out = await runClient(client, "hello, café\n", proc);
      assert.equal(out, "Input lowercase sentence: \nFrom Server: HELLO, CAFÉ\n", proc.describe());
      await stop(proc);
    } finally {
      await killHard(proc);
    }
  });

  it("UDP pinger server, UDP pinger (--count 10, no loss)", TEST_TIMEOUT, async () => {
    // No loss, rather than the table's 30%: every line of the pinger's output is then known.
    const { proc, port } = await startExample("examples/udp_ping_server.ts", ["--port", "0", "--loss", "0"]);
    try {
      const client = spawnUnderRuntime("examples/udp_ping.ts", ["--count", "10", "--port", port]);
      const lines = (await runClient(client, "", proc)).split("\n");
      for (let seq = 1; seq <= 10; seq++) {
        assert.match(lines[seq - 1], new RegExp(`^Reply from 127\\.0\\.0\\.1: seq=${seq} time=\\d+\\.\\d\\d ms$`));
      }
      assert.deepEqual(lines.slice(10, 12), [
        "--- 127.0.0.1 ping statistics ---",
        "10 packets transmitted, 10 received, 0% packet loss",
      ]);
      assert.match(lines[12], /^rtt min\/avg\/max = \d+\.\d\d\/\d+\.\d\d\/\d+\.\d\d ms$/);
      assert.deepEqual(lines.slice(13), [""]);
      await stop(proc);
    } finally {
      await killHard(proc);
    }
  });
});
