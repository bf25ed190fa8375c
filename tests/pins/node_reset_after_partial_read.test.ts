// Pins the Node entry of runtime/UNDOCUMENTED.md: libuv can report a reset that follows a partial read as end of
// stream, and NodeConn brings the pending ECONNRESET out with an empty write. If a Node release changes that, this
// fails. It runs under every runtime, as the behaviour it asserts is doorway's everywhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import { listen } from "../../mod.ts";
import { startChild } from "../_helpers.ts";

test("a peer that resets after part of a line is ECONNRESET, never a clean end of stream (30 rounds)", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  // Each round: part of a line, then a reset once the server has said hello.
  const script = `
import socket, struct
for _ in range(30):
    s = socket.create_connection(("127.0.0.1", ${listener.addr.port}))
    s.sendall(b"partial")
    s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
`;
  const peer = startChild("python3", ["-c", script]);
  const results: string[] = [];
  for (let round = 0; round < 30; round++) {
    const conn = await listener.accept();
    await conn.write("hello\n");
    results.push(await conn.readLine().then((line) => `line ${line}`, (err) => err.code));
    conn.close();
  }
  assert.equal(await peer.exited, 0, peer.stderr());
  assert.deepEqual(new Set(results), new Set(["ECONNRESET"]));
});
