// The textbook pair across runtimes: the example server under each runtime,
// the example client under each runtime against it (9 pairs). Spawning 12
// processes is slow, so this matrix runs once, under Node.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RUNTIMES, startExampleServer, startUnder, UNDER_NODE } from "./_runtimes.ts";

describe("tcp examples across runtimes", { skip: !UNDER_NODE && "runs once, under Node" }, () => {
  for (const serverRuntime of RUNTIMES) {
    test(`${serverRuntime} server with deno, bun and node clients; stops on SIGTERM`, { timeout: 60_000 }, async () => {
      const { child: server, port } = await startExampleServer(serverRuntime, "examples/tcp_server.ts");
      try {
        for (const clientRuntime of RUNTIMES) {
          const sentence = `hello from ${clientRuntime} to ${serverRuntime}, café`;
          const client = startUnder(clientRuntime, "examples/tcp_client.ts", ["--port", String(port)]);
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
    });
  }

  test("the client says why when nothing listens, and exits 1", { timeout: 30_000 }, async () => {
    for (const runtime of RUNTIMES) {
      const client = startUnder(runtime, "examples/tcp_client.ts", ["--port", "9"]);
      client.write("anything\n");
      client.endInput();
      assert.equal(await client.exited, 1);
      assert.equal(client.stderr(), "Cannot connect to 127.0.0.1:9: connection refused\n");
    }
  });
});
