// The textbook pair across runtimes: the example server under the runtime
// running this file, the example client under each runtime against it. Each
// runtime's run covers the pairs whose server it runs, so the three runs
// together cover all nine, and each run has the same tests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect } from "../../mod.ts";
import { type Child, rejectionsLogged, resetConnections } from "../_helpers.ts";
import { checkTextbookPairs, CURRENT_RUNTIME, startExampleServer, startUnder } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };

/** Sends SIGTERM and returns what the server wrote on stderr, once it has exited cleanly. */
async function stopAndReadStderr(server: Child): Promise<string[]> {
  server.kill("SIGTERM");
  assert.equal(await server.exited, 0, server.stderr());
  return server.stderr().split("\n").filter((line) => line !== "");
}

const runtime = CURRENT_RUNTIME;

describe(`tcp examples, ${runtime} server, clients under each runtime`, () => {
  test(
    `${runtime} server with deno, bun and node clients; stops on SIGTERM`,
    SLOW,
    () => checkTextbookPairs(runtime, { server: "examples/tcp_server.ts", client: "examples/tcp_client.ts" }),
  );

  test(`${runtime} server: SIGTERM waits for a request in hand, a second SIGTERM forces`, SLOW, async () => {
    const lineBytes = 32 * 1024 * 1024;
    const { child: server, port } = await startExampleServer(runtime, "examples/tcp_server.ts", [
      "--graceful-timeout",
      "3600000",
      "--max-line-bytes",
      String(lineBytes),
    ]);
    const conn = await connect({ port });
    try {
      // One 32 MiB request: its 32 MiB reply cannot fit in loopback's
      // kernel buffers, so once its first byte arrives and we stop reading,
      // the handler is blocked mid-request for as long as we like.
      const sending = conn.write("x".repeat(lineBytes) + "\n");
      assert.equal(await conn.read(new Uint8Array(1)), 1);
      await sending;
      server.kill("SIGTERM");
      assert.equal(await server.nextLine(), "Shutting down: finishing 1 connection(s); Ctrl-C again to force");
      // Without the second signal this would wait the hour of --graceful-timeout.
      server.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      conn.close();
      server.kill("SIGKILL");
    }
  });

  test(`${runtime} server: peers that reset are not logged`, SLOW, async () => {
    const { child: server, port } = await startExampleServer(runtime, "examples/tcp_server.ts", [
      "--max-connections",
      "1",
    ]);
    try {
      assert.equal(await resetConnections(port, 5), "DONE");
      // Only the retries turned away may be logged, counted.
      rejectionsLogged((await stopAndReadStderr(server)).join("\n"));
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime} server: connections over --max-connections are counted on stderr`, SLOW, async () => {
    const started = performance.now();
    const { child: server, port } = await startExampleServer(runtime, "examples/tcp_server.ts", [
      "--max-connections",
      "1",
    ]);
    const turnedAway = 10;
    try {
      const held = await connect({ port });
      await held.write("hold\n");
      assert.equal(await held.readLine(), "HOLD");
      for (let i = 0; i < turnedAway; i++) {
        await using conn = await connect({ port });
        // Closed at once, unread: the server has counted it by now.
        assert.equal(await conn.read(new Uint8Array(1)), null);
      }
      held.close();
      const lines = await stopAndReadStderr(server);
      assert.equal(rejectionsLogged(lines.join("\n")), turnedAway, lines.join("\n"));
      // At most one line a second, and one more on the way out.
      assert.ok(lines.length <= Math.floor((performance.now() - started) / 1000) + 1, lines.join("\n"));
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`the ${runtime} client says why when nothing listens, and exits 1`, { timeout: 30_000 }, async () => {
    const client = startUnder(runtime, "examples/tcp_client.ts", ["--port", "9"]);
    client.write("anything\n");
    client.endInput();
    assert.equal(await client.exited, 1);
    assert.equal(client.stderr(), "Cannot connect to 127.0.0.1:9: connection refused\n");
  });
});
