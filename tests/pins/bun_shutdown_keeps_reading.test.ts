// Pins the Bun entry of runtime/UNDOCUMENTED.md: Bun's socket.shutdown() with no argument sends FIN and keeps
// reading, which BunConn's closeWrite() relies on. If a Bun release changes that, this fails. It runs under every
// runtime, as the behaviour it asserts is doorway's everywhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "../../mod.ts";
import { startServer } from "../_helpers.ts";

test("half-close: the server reads to end of stream, then replies", async () => {
  const server = await startServer({}, async (conn) => {
    const lines: string[] = [];
    for await (const line of conn.lines()) lines.push(line);
    await conn.write(`got ${lines.length}: ${lines.join(",")}\n`);
    await conn.closeWrite();
  });
  await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write("a\nb\nc\n");
  await conn.closeWrite();
  assert.equal(await conn.readLine(), "got 3: a,b,c");
  assert.equal(await conn.readLine(), null);
  conn.close();
  await server.close();
  assert.deepEqual(server.errors, []);
});
