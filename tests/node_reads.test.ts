// The Node adapter reads every socket into one shared buffer through Node's
// `onread` path, which a server's sockets get through fields internal to
// Node. Where those are missing it reads through the socket's stream: the
// second test hides the handle's useUserBuffer() from the adapter to take
// that path on Node. Node only: Deno and Bun have adapters of their own.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import { describe, test } from "node:test";
import { connect, serveLines } from "../mod.ts";
import { readChunks, runtimePair } from "./_helpers.ts";
import { runPump } from "../runtime/_pump.ts";
import { runtimeName } from "../runtime/runtime.ts";
import type { RuntimeConn } from "../runtime/types.ts";

const text = new TextEncoder();
const bytes = (s: string) => text.encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

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

// A pump on `conn` that uppercases each chunk and notes whether it was lent
// a Buffer, as Node's stream hands over, or a plain Uint8Array.
function pumpNotingKinds(conn: RuntimeConn): { kinds: boolean[]; pumped: Promise<boolean> } {
  const kinds: boolean[] = [];
  const pumped = runPump(conn, {
    onData(chunk) {
      kinds.push(Buffer.isBuffer(chunk));
      return str(chunk).toUpperCase();
    },
  });
  return { kinds, pumped };
}

describe("Node adapter reads", { skip: runtimeName() !== "node", timeout: 20_000 }, () => {
  test("into the shared buffer: a pump is lent plain Uint8Arrays, read() gets copies that later reads leave alone", async () => {
    const { server, client, close } = await runtimePair();
    try {
      // Through the stream, Node would hand over a Buffer per read.
      const { kinds, pumped } = pumpNotingKinds(server);
      await client.write(bytes("first"));
      const first = await readChunks(client, 5);
      await client.write(bytes("zzzzzzzzzz"));
      const second = await readChunks(client, 10);
      assert.deepEqual(first.map(str), ["FIRST"]);
      assert.deepEqual(second.map(str), ["ZZZZZZZZZZ"]);
      assert.ok(kinds.length >= 2 && kinds.every((isBuffer) => !isBuffer), `Buffers: ${kinds}`);
      server.stopPump();
      assert.equal(await pumped, false);
      // Both ends are read into the one buffer: a chunk read earlier keeps
      // its bytes after later reads, on either side.
      await client.write(bytes("after"));
      const after = await readChunks(server, 5);
      await client.write(bytes("YYYYYYYYYY"));
      await readChunks(server, 10);
      assert.deepEqual(after.map(str).join(""), "after");
    } finally {
      close();
    }
  });

  test("without useUserBuffer, an accepted socket is read through its stream: pump, read(), serveLines", async () => {
    const stripped = await withoutUserBuffer(async () => {
      const { server, client, close } = await runtimePair();
      try {
        const { kinds, pumped } = pumpNotingKinds(server);
        await client.write(bytes("abc"));
        assert.deepEqual((await readChunks(client, 3)).map(str), ["ABC"]);
        assert.deepEqual(kinds, [true]);
        server.stopPump();
        assert.equal(await pumped, false);
        // Bytes after the pump go to read() as plain views, not Buffers.
        await client.write(bytes("later"));
        const later = await readChunks(server, 5);
        assert.equal(later.map(str).join(""), "later");
        assert.ok(later.every((chunk) => !Buffer.isBuffer(chunk)));
      } finally {
        close();
      }
      await using lines = await serveLines({ hostname: "127.0.0.1" }, (line) => line.toUpperCase());
      await using a = await connect({ port: lines.addr.port });
      await a.write("one\ntw");
      assert.equal(await a.readLine(), "ONE");
      await a.write("o\n");
      assert.equal(await a.readLine(), "TWO");
    });
    assert.equal(stripped, 2);
  });
});
