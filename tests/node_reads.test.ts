// The Node adapter reads every socket into one shared buffer through Node's
// `onread` path, which a server's sockets get through fields internal to
// Node. Where those are missing it reads through the socket's stream: this
// hides the handle's useUserBuffer() from the adapter to take that path on
// Node. Node only: Deno and Bun have adapters of their own.
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, test } from "node:test";
import { connect, serveLines } from "../mod.ts";
import { runtimeName } from "../runtime/runtime.ts";

type Emit = typeof net.Server.prototype.emit;

// Runs `body` with every socket accepted meanwhile stripped of useUserBuffer
// before any listener sees it; returns how many were.
async function withoutUserBuffer(body: () => Promise<void>): Promise<number> {
  const original: Emit = net.Server.prototype.emit;
  let stripped = 0;
  net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === "connection") {
      const handle = (args[0] as { _handle?: Record<string, unknown> })._handle;
      if (handle !== undefined && typeof handle.useUserBuffer === "function") {
        handle.useUserBuffer = undefined;
        stripped++;
      }
    }
    return original.call(this, event, ...args);
  } as Emit;
  try {
    await body();
  } finally {
    net.Server.prototype.emit = original;
  }
  return stripped;
}

describe("Node adapter reads", { skip: runtimeName() !== "node" }, () => {
  test("without useUserBuffer, an accepted socket is read through its stream: pump, then read()", async () => {
    const stripped = await withoutUserBuffer(async () => {
      await using server = await serveLines({ hostname: "127.0.0.1" }, (line) => line.toUpperCase());
      await using a = await connect({ port: server.addr.port });
      await using b = await connect({ port: server.addr.port });
      await a.write("one\ntw");
      assert.equal(await a.readLine(), "ONE");
      await b.write("zzzzzzzzzz\n");
      assert.equal(await b.readLine(), "ZZZZZZZZZZ");
      await a.write("o\n");
      assert.equal(await a.readLine(), "TWO");
      // An unterminated last line is answered by the pulled loop after the pump.
      await a.write("last");
      await a.closeWrite();
      assert.equal(await a.readLine(), "LAST");
      assert.equal(await a.readLine(), null);
    });
    assert.equal(stripped, 2);
  });
});
