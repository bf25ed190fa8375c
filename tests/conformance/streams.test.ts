// Conformance suite for `conn.readable` and `conn.writable`: the same file
// runs unchanged under `deno test`, `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { type Conn, connect, listen, type Listener } from "../../mod.ts";
import { pseudoRandomBytes, rejectsWithCode, sha256, startChild, startServer } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";

const LONG = { timeout: 120_000 };
const MiB = 1024 * 1024;
// What conn.writable's documentation promises.
const HIGH_WATER_MARK = 16 * 1024;

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A listener, a client connected to it and the server's side of that connection; closes all three. */
async function connected(): Promise<{ client: Conn; server: Conn } & AsyncDisposable> {
  const listener: Listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([connect({ port: listener.addr.port }), listener.accept()]);
  return {
    client,
    server,
    [Symbol.asyncDispose]() {
      client.close();
      server.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

/** Reads a stream to its end, hashing what arrives. */
async function hashStream(stream: ReadableStream<Uint8Array>): Promise<{ hash: string; length: number }> {
  const hash = createHash("sha256");
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    length += chunk.byteLength;
  }
  return { hash: hash.digest("hex"), length };
}

/** `bytes` as a stream of chunks of pseudo-random sizes, 1 byte to 96 KiB. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  let x = 12345;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      x = (x * 1103515245 + 12345) >>> 0;
      const end = Math.min(bytes.byteLength, at + 1 + (x >>> 8) % (96 * 1024));
      controller.enqueue(bytes.subarray(at, end));
      at = end;
    },
  });
}

describe(`streams on ${CURRENT_RUNTIME}`, () => {
  test("readable: a BYOB read fills the caller's buffer, and what does not fit goes to the next read", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    await client.write("0123456789");
    const reader = server.readable.getReader({ mode: "byob" });
    // A view into the middle of the caller's memory: bytes land there, and
    // the memory comes back (transferred) with them.
    const memory = new ArrayBuffer(8);
    let { value, done } = await reader.read(new Uint8Array(memory, 2, 4));
    assert.equal(done, false);
    assert.ok(value !== undefined);
    assert.equal(memory.byteLength, 0, "the caller's buffer was transferred to the read");
    assert.equal(value.buffer.byteLength, 8);
    assert.equal(value.byteOffset, 2);
    assert.ok(value.byteLength >= 1 && value.byteLength <= 4, String(value.byteLength));
    let text = decode(value);
    while (text.length < 10) {
      ({ value, done } = await reader.read(new Uint8Array(value.buffer, 2, 4)));
      assert.equal(done, false);
      assert.ok(value !== undefined && value.byteLength >= 1 && value.byteLength <= 4);
      text += decode(value);
    }
    assert.equal(text, "0123456789");
    assert.equal(server.bytesRead, 10);
    await client.closeWrite();
    ({ value, done } = await reader.read(new Uint8Array(value.buffer, 2, 4)));
    assert.equal(done, true);
    assert.ok(value !== undefined);
    assert.equal(value.byteLength, 0);
    assert.equal(value.buffer.byteLength, 8, "end of stream gives the buffer back");
  });

  test("readable: 4 MiB through BYOB reads of 1000 bytes arrive intact", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const data = pseudoRandomBytes(4 * MiB, 7);
    const sending = client.write(data).then(() => client.closeWrite());
    const reader = server.readable.getReader({ mode: "byob" });
    const hash = createHash("sha256");
    let length = 0;
    // Runtime chunks are mostly bigger than 1000 bytes: their rest must
    // come first in the next read, each time.
    let buffer = new ArrayBuffer(1000);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      assert.ok(value !== undefined);
      if (done) break;
      assert.ok(value.byteLength >= 1 && value.byteLength <= 1000);
      hash.update(value);
      length += value.byteLength;
      buffer = value.buffer as ArrayBuffer;
    }
    await sending;
    assert.equal(length, data.byteLength);
    assert.equal(hash.digest("hex"), sha256(data));
  });

  test("readable: readLine() then the stream then readLine(): no byte lost or repeated", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    // One write: readLine() most likely reads all of it ahead.
    await client.write("header\nbody-0123456789\nlast line\nend");
    await client.closeWrite();
    assert.equal(await server.readLine(), "header");
    const byob = server.readable.getReader({ mode: "byob" });
    const { value, done } = await byob.read(new Uint8Array(5));
    assert.equal(done, false);
    assert.ok(value !== undefined && value.byteLength >= 1 && value.byteLength <= 5);
    byob.releaseLock();
    assert.equal(decode(value) + await server.readLine(), "body-0123456789");
    // A default reader now: whole chunks, still in order.
    let rest = "";
    for await (const chunk of server.readable) {
      assert.equal(Object.getPrototypeOf(chunk), Uint8Array.prototype);
      rest += decode(chunk);
    }
    assert.equal(rest, "last line\nend");
    assert.equal(await server.readLine(), null);
  });

  test("readable: pulled, not pushed: nothing is read from the socket until the stream is read", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const reader = server.readable.getReader();
    await client.write("one\n");
    // A stream that read ahead would make this read fail (a read pending) or miss its line.
    assert.equal(await server.readLine(), "one");
    await client.write("two\n");
    let text = "";
    while (text.length < 4) {
      const { value } = await reader.read();
      assert.ok(value !== undefined);
      text += decode(value);
    }
    assert.equal(text, "two\n");
    await client.write("three\n");
    assert.equal(await server.readLine(), "three");
    assert.equal(server.bytesRead, 14);
  });

  test("pipeTo: an echo server piping readable to writable returns 8 MiB intact", LONG, async () => {
    const server = await startServer({}, (conn) => conn.readable.pipeTo(conn.writable));
    await using conn = await connect({ port: server.port });
    const data = pseudoRandomBytes(8 * MiB, 3);
    const [, echoed] = await Promise.all([chunked(data).pipeTo(conn.writable), hashStream(conn.readable)]);
    assert.equal(echoed.length, data.byteLength);
    assert.equal(echoed.hash, sha256(data));
    assert.equal(conn.bytesWritten, data.byteLength);
    assert.equal(conn.bytesRead, data.byteLength);
    await server.close();
    assert.deepEqual(server.errors, []);
  });

  test("pipeThrough: a TextDecoderStream joins UTF-8 characters split across writes", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const reader = client.readable.pipeThrough(new TextDecoderStream()).getReader();
    // "aé😀\n", cut inside "é" and inside "😀"; each part is read before the next is sent.
    await server.write(Uint8Array.of(0x61, 0xc3));
    assert.deepEqual(await reader.read(), { value: "a", done: false });
    await server.write(Uint8Array.of(0xa9, 0xf0, 0x9f));
    assert.deepEqual(await reader.read(), { value: "é", done: false });
    await server.write(Uint8Array.of(0x98, 0x80, 0x0a));
    assert.deepEqual(await reader.read(), { value: "😀\n", done: false });
    await server.closeWrite();
    assert.deepEqual(await reader.read(), { value: undefined, done: true });
  });

  test("pipeTo: a TextEncoderStream writes text, and closing half-closes", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const text = "héllo wörld 😀\n".repeat(1000);
    await ReadableStream.from([text.slice(0, 7), text.slice(7)])
      .pipeThrough(new TextEncoderStream())
      .pipeTo(client.writable);
    let received = "";
    for await (const part of server.readable.pipeThrough(new TextDecoderStream())) received += part;
    assert.equal(received, text);
    // Only the write side closed: a reply still comes back.
    await server.write("reply\n");
    assert.equal(await client.readLine(), "reply");
  });

  test("writable: backpressure: a peer that does not read holds writer.ready until it reads", LONG, async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const writer = client.writable.getWriter();
    assert.equal(writer.desiredSize, HIGH_WATER_MARK);
    // Far more than loopback socket buffers hold while the peer does not read.
    const data = pseudoRandomBytes(32 * MiB, 5);
    const writes: Promise<void>[] = [];
    for (let at = 0; at < data.byteLength; at += MiB) writes.push(writer.write(data.subarray(at, at + MiB)));
    assert.equal(writer.desiredSize, HIGH_WATER_MARK - data.byteLength);
    let readyAt = -1;
    const ready = writer.ready.then(() => (readyAt = server.bytesRead));
    // A round trip the other way: I/O that a writer not held back by the
    // peer would have finished by.
    await server.write("x");
    assert.equal(await client.read(new Uint8Array(1)), 1);
    assert.equal(readyAt, -1, "ready resolved before the peer read anything");
    assert.ok(writer.desiredSize! <= 0);
    assert.equal(server.bytesRead, 0);
    const received = hashStream(server.readable);
    await ready;
    assert.ok(readyAt > 0, `ready resolved after the peer read ${readyAt} bytes`);
    await Promise.all(writes);
    assert.equal(writer.desiredSize, HIGH_WATER_MARK);
    await writer.close();
    assert.deepEqual(await received, { hash: sha256(data), length: data.byteLength });
    assert.equal(client.bytesWritten, data.byteLength);
  });

  test("writable: close() half-closes; abort() closes the connection", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const writer = client.writable.getWriter();
    await writer.write(encode("last\n"));
    await writer.close();
    assert.equal(await server.readLine(), "last");
    assert.equal(await server.readLine(), null);
    await server.write("still reading\n");
    assert.equal(await client.readLine(), "still reading");

    const writer2 = server.writable.getWriter();
    await writer2.write(encode("bye\n"));
    await writer2.abort(new Error("gave up"));
    await rejectsWithCode(server.write("x"), "ECLOSED");
    await rejectsWithCode(server.readLine(), "ECLOSED");
    assert.equal(await client.readLine(), "bye");
    assert.equal(await client.readLine(), null);
  });

  test("readable: cancel() while a read waits ends the stream only; the bytes go to the next readLine()", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const stream = server.readable;
    const reader = stream.getReader();
    const waiting = reader.read();
    // Some I/O the other way, after which the stream waits on the runtime:
    // another read is refused meanwhile.
    await server.write("ping\n");
    assert.equal(await client.readLine(), "ping");
    await rejectsWithCode(
      server.readLine(),
      "EINVAL",
      /^Cannot read from 127\.0\.0\.1:\d+: a read is already pending$/,
    );
    await reader.cancel(new Error("not interested"));
    assert.deepEqual(await waiting, { value: undefined, done: true });
    // The runtime read the stream was waiting on is the next read's.
    await client.write("after cancel\n");
    assert.equal(await server.readLine(), "after cancel");
    // Both directions stay open.
    await server.write("still open\n");
    assert.equal(await client.readLine(), "still open");
    await client.write("more\n");
    assert.equal(await server.readLine(), "more");
    // The same stream, and it stays closed: it reads nothing more.
    assert.equal(server.readable, stream);
    reader.releaseLock();
    const again = stream.getReader();
    assert.deepEqual(await again.read(), { value: undefined, done: true });
    await client.write("last\n");
    await client.closeWrite();
    assert.equal(await server.readLine(), "last");
    assert.equal(await server.readLine(), null);
    assert.equal(server.bytesRead, 13 + 5 + 5);
  });

  test("readable: cancel() after a partial read, or by leaving for await, keeps the bytes not read", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    await client.write("one\ntwo\nthree\nfour\n");
    await client.closeWrite();
    assert.equal(await server.readLine(), "one");
    const reader = server.readable.getReader({ mode: "byob" });
    const { value } = await reader.read(new Uint8Array(2));
    assert.ok(value !== undefined && value.byteLength >= 1 && value.byteLength <= 2);
    await reader.cancel();
    assert.equal(decode(value) + await server.readLine(), "two");
    assert.equal(await server.readLine(), "three");
    assert.equal(await server.readLine(), "four");
    assert.equal(await server.readLine(), null);

    await using other = await connected();
    await other.client.write("first chunk");
    let first = "";
    for await (const chunk of other.server.readable) {
      first = decode(chunk);
      break;
    }
    await other.client.write(" and the rest\n");
    await other.client.closeWrite();
    assert.equal(first + await other.server.readLine(), "first chunk and the rest");
    assert.equal(await other.server.readLine(), null);
  });

  test("readable: a peer that resets errors it with ECONNRESET", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    // Connects, waits for a line, then resets (SO_LINGER 0) instead of closing.
    const script = `
import socket, struct
s = socket.create_connection(("127.0.0.1", ${listener.addr.port}))
s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`;
    const peer = startChild("python3", ["-c", script]);
    await using conn = await listener.accept();
    const reader = conn.readable.getReader();
    const reading = reader.read();
    await conn.write("reset now\n");
    const message = /^Cannot read from 127\.0\.0\.1:\d+: connection reset by peer$/;
    const err = await rejectsWithCode(reading, "ECONNRESET", message);
    assert.equal(await reader.closed.catch((reason) => reason), err);
    assert.equal(await peer.exited, 0, peer.stderr());
  });

  test("readable: end of stream closes it, not the connection; close() errors it with ECLOSED", async () => {
    await using pair = await connected();
    const { client, server } = pair;
    const reader = server.readable.getReader({ mode: "byob" });
    const reading = reader.read(new Uint8Array(16));
    await client.closeWrite();
    const { value, done } = await reading;
    assert.equal(done, true);
    assert.ok(value !== undefined && value.byteLength === 0 && value.buffer.byteLength === 16);
    await reader.closed;
    await server.write("after end\n");
    assert.equal(await client.readLine(), "after end");

    const waiting = client.readable.getReader();
    const pending = waiting.read();
    client.close();
    const err = await rejectsWithCode(pending, "ECLOSED");
    assert.equal(await waiting.closed.catch((reason) => reason), err);
  });
});
