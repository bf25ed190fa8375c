// The TCP conformance suite: this one file runs unchanged under
// `deno test`, `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Conn, connect, listen, SocketError } from "../../mod.ts";
import {
  concat,
  hashToEnd,
  pseudoRandomBytes,
  rejectsWithCode,
  resetPeer,
  sha256,
  startBlackhole,
  startChild,
  startServer,
} from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";

const LONG = { timeout: 120_000 };

describe(`tcp on ${CURRENT_RUNTIME}`, () => {
  test("round trip: a line goes out and comes back uppercased", async () => {
    const server = await startServer();
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    assert.equal(await conn.write("hello, world\n"), 13);
    assert.equal(await conn.readLine(), "HELLO, WORLD");
    await conn.write("café ß\r\n");
    assert.equal(await conn.readLine(), "CAFÉ SS");
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    await server.close();
    assert.deepEqual(server.errors, []);
  });

  test("addresses: port 0 gives an ephemeral port, and both ends report theirs", async () => {
    const server = await startServer();
    assert.ok(server.port > 0);
    assert.deepEqual(server.listener.addr, { transport: "tcp", hostname: "127.0.0.1", port: server.port });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: server.port });
    assert.equal(conn.localAddr.hostname, "127.0.0.1");
    assert.ok(conn.localAddr.port > 0);
    conn.close();
    await server.close();
  });

  test("IPv6: listen and connect on ::1", async () => {
    const server = await startServer({ hostname: "::1" });
    assert.equal(server.listener.addr.hostname, "::1");
    await using conn = await connect({ hostname: "::1", port: server.port });
    assert.equal(conn.remoteAddr.hostname, "::1");
    await conn.write("over ipv6\n");
    assert.equal(await conn.readLine(), "OVER IPV6");
    conn.close();
    await server.close();
  });

  test("localhost resolves as the runtime resolves it", async () => {
    // Listen on whichever address the runtime picks for localhost, then
    // connect by name: the two must agree.
    const server = await startServer({ hostname: "localhost" });
    assert.ok(["127.0.0.1", "::1"].includes(server.listener.addr.hostname), server.listener.addr.hostname);
    await using conn = await connect({ hostname: server.listener.addr.hostname, port: server.port });
    await conn.write("local\n");
    assert.equal(await conn.readLine(), "LOCAL");
    conn.close();
    await server.close();
  });

  test("100 concurrent clients each pipelining 100 lines", LONG, async () => {
    const server = await startServer();
    const clients = Array.from({ length: 100 }, async (_, c) => {
      await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
      let request = "";
      for (let i = 0; i < 100; i++) request += `client ${c} line ${i}\n`;
      const sent = conn.write(request);
      for (let i = 0; i < 100; i++) assert.equal(await conn.readLine(), `CLIENT ${c} LINE ${i}`);
      await sent;
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
    });
    await Promise.all(clients);
    await server.close();
    assert.equal(server.done, 100);
    assert.deepEqual(server.errors, []);
  });

  test("a line written one byte at a time, multi-byte characters split", async () => {
    const server = await startServer();
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const bytes = new TextEncoder().encode("añb€c😀d\r\n");
    for (const byte of bytes) await conn.write(Uint8Array.of(byte));
    assert.equal(await conn.readLine(), "AÑB€C😀D");
    conn.close();
    await server.close();
  });

  test("text is sent as its UTF-8 bytes, at every length and with any character anywhere", async () => {
    // Lengths around those where runtimes and doorway change how they
    // encode, with a non-ASCII character first, inside or last, and lone
    // surrogates (sent as U+FFFD).
    const texts: string[] = [];
    for (const length of [1, 2, 11, 12, 15, 16, 17, 31, 32, 33, 48, 64, 341, 342, 1023, 1024, 1025]) {
      const ascii = "x".repeat(length);
      texts.push(ascii);
      for (const odd of ["é", "€", "😀", "\ud800", "\udc00"]) {
        texts.push(
          odd + ascii.slice(odd.length),
          ascii.slice(0, length >> 1) + odd + ascii.slice((length >> 1) + odd.length),
        );
        texts.push(ascii.slice(odd.length) + odd);
      }
    }
    const encoder = new TextEncoder();
    // Each on its own: a lone surrogate at the end of one and another at the
    // start of the next are two characters, not a pair.
    const expected = concat(texts.map((text) => encoder.encode(text)));
    const sent = async (conn: Conn) => {
      for (const text of texts) {
        assert.equal(await conn.write(text), encoder.encode(text).byteLength, JSON.stringify(text));
      }
      await conn.closeWrite();
    };
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using accepted = await listener.accept();
    // Both directions at once: the client's writes and the server's.
    const [, , atServer, atClient] = await Promise.all([
      sent(client),
      sent(accepted),
      hashToEnd(accepted),
      hashToEnd(client),
    ]);
    const whole = { hash: sha256(expected), length: expected.byteLength };
    assert.deepEqual(atServer, whole);
    assert.deepEqual(atClient, whole);
  });

  test("64 MiB in one write from client to server arrives intact", LONG, async () => {
    const payload = pseudoRandomBytes(64 * 1024 * 1024, 7);
    const server = await startServer({}, async (conn) => {
      const { hash, length } = await hashToEnd(conn);
      await conn.write(`${length} ${hash}\n`);
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    assert.equal(await conn.write(payload), payload.byteLength);
    await conn.closeWrite();
    assert.equal(await conn.readLine(), `${payload.byteLength} ${sha256(payload)}`);
    conn.close();
    await server.close();
    assert.deepEqual(server.errors, []);
  });

  test("64 MiB in one write from server to client arrives intact", LONG, async () => {
    const payload = pseudoRandomBytes(64 * 1024 * 1024, 11);
    const server = await startServer({}, async (conn) => {
      await conn.write(payload);
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const { hash, length } = await hashToEnd(conn);
    assert.equal(length, payload.byteLength);
    assert.equal(hash, sha256(payload));
    conn.close();
    await server.close();
    assert.deepEqual(server.errors, []);
  });

  test("backpressure: a 64 MiB write to a peer that is not reading stays pending until it reads", LONG, async () => {
    const payload = pseudoRandomBytes(64 * 1024 * 1024, 5);
    let startReading!: () => void;
    const reading = new Promise<void>((resolve) => (startReading = resolve));
    let peerRead = -1;
    const server = await startServer({}, async (conn) => {
      await reading;
      const { hash, length } = await hashToEnd(conn);
      peerRead = length;
      await conn.write(`${length} ${hash}\n`);
    });
    const conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const probe = await startServer();
    const other = await connect({ hostname: "127.0.0.1", port: probe.port });
    try {
      let settled = false;
      const writing = conn.write(payload).then(() => (settled = true));
      // Round trips on another connection let the event loop run many turns.
      // Kernel buffers hold a few MiB at most: a write that resolved now would
      // have been buffered in memory, not taken by the peer.
      for (let i = 0; i < 20; i++) {
        await other.write(`probe ${i}\n`);
        assert.equal(await other.readLine(), `PROBE ${i}`);
      }
      assert.equal(settled, false, "write() resolved while the peer had read nothing");
      assert.equal(peerRead, -1);
      startReading();
      await writing;
      await conn.closeWrite();
      assert.equal(await conn.readLine(), `${payload.byteLength} ${sha256(payload)}`);
    } finally {
      // Even when an assertion failed: release the handler and close all.
      startReading();
      other.close();
      conn.close();
      await probe.close();
      await server.close();
    }
    assert.deepEqual(server.errors, []);
  });

  test("a write after closeWrite() fails with EPIPE and the read side still works", async () => {
    const server = await startServer({}, async (conn) => {
      assert.equal(await conn.readLine(), "last");
      assert.equal(await conn.readLine(), null);
      await conn.write("reply\n");
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write("last\n");
    await conn.closeWrite();
    await rejectsWithCode(
      conn.write("too late\n"),
      "EPIPE",
      new RegExp(`^Cannot write to 127\\.0\\.0\\.1:${server.port}: write side is closed$`),
    );
    assert.equal(await conn.readLine(), "reply");
    conn.close();
    await server.close();
    assert.deepEqual(server.errors, []);
  });

  test("a write cut short by close() rejects; it never reports bytes as sent", LONG, async () => {
    const server = await startServer({}, async (conn) => {
      await conn.readLine(); // never comes: the client only writes bulk
    });
    const conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const writing = conn.write(pseudoRandomBytes(32 * 1024 * 1024));
    // Once the first write is pending (kernel buffers full), close under it.
    const probe = await connect({ hostname: "127.0.0.1", port: server.port });
    probe.close();
    conn.close();
    await rejectsWithCode(writing, "ECLOSED");
    assert.equal(conn.bytesWritten, 0);
    await server.close();
  });

  test("a read's signal: a read gives up at once when it fires, and no byte that arrived is lost", async () => {
    const controller = new AbortController();
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = await listener.accept();
    const buffer = new Uint8Array(16);
    const reading = conn.read(buffer, { signal: controller.signal });
    await client.write(new TextEncoder().encode("abc"));
    controller.abort();
    // Whether the runtime delivered the bytes before the signal fired is the
    // runtime's business: either the read has them, or the next one does.
    let got = await reading.then(
      (n) => new TextDecoder().decode(buffer.subarray(0, n!)),
      (err) => {
        assert.equal(err.code, "EABORTED");
        assert.match(err.message, /^Cannot read from 127\.0\.0\.1:\d+: aborted$/);
        return "";
      },
    );
    // A read with the fired signal gives up without waiting, even with bytes on their way.
    await rejectsWithCode(
      conn.read(buffer, { signal: controller.signal }),
      "EABORTED",
      /^Cannot read from 127\.0\.0\.1:\d+: aborted$/,
    );
    await client.write(new TextEncoder().encode("def"));
    while (got.length < 6) {
      const n = await conn.read(buffer);
      got += new TextDecoder().decode(buffer.subarray(0, n!));
    }
    assert.equal(got, "abcdef");
  });

  test("connections reset before they are accepted are skipped: accept() and iteration go on", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    // The python peer resets 20 connections, then waits for a reply to its last.
    const replied = resetPeer(listener.addr.port, { rounds: 20, send: "", last: "after resets\n" });
    let accepted = 0;
    for await (const conn of listener) {
      accepted++;
      // Some resets may still be accepted (Deno hands over what the kernel
      // queued); those read a reset or an end, never a line.
      const line = await conn.readLine().catch((err) => err.code);
      if (line === "after resets") {
        await conn.write("AFTER RESETS\n");
        conn.close();
        break;
      }
      assert.ok(line === null || line === "ECONNRESET", String(line));
      conn.close();
    }
    assert.equal(await replied, "AFTER RESETS");
    assert.ok(accepted >= 1 && accepted <= 21, String(accepted));
  });

  test("end of stream reaches a read while a write waits on a peer that stopped reading", async () => {
    // The peer takes a small receive buffer, half-closes and never reads: a large write stays pending.
    const script = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
held = []
for _ in range(2):
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.shutdown(socket.SHUT_WR)
    held.append(c)
sys.stdin.read()
`;
    const peer = startChild("python3", ["-c", script]);
    try {
      const port = Number(await peer.nextLine());
      // With a timeout, Bun connects through its node:net.
      for (const options of [{}, { timeout: 5000 }]) {
        await using conn = await connect({ hostname: "127.0.0.1", port, ...options });
        const writing = conn.write(new Uint8Array(32 << 20)).catch((err) => err.code);
        assert.equal(await conn.read(new Uint8Array(16), { timeout: 5000 }), null);
        conn.close();
        assert.equal(await writing, "ECLOSED");
      }
    } finally {
      peer.endInput();
      await peer.exited;
    }
  });

  test("a read's timeout: ETIMEDOUT once the call has waited that long in all; later bytes go to the next read", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = await listener.accept();
    const started = performance.now();
    await rejectsWithCode(
      conn.readLine({ timeout: 200 }),
      "ETIMEDOUT",
      /^Cannot read from 127\.0\.0\.1:\d+: timed out after 200 ms$/,
    );
    assert.ok(performance.now() - started >= 190);
    // A line trickling in gets no more time than the whole call's.
    await client.write("par");
    await rejectsWithCode(conn.readLine({ timeout: 100 }), "ETIMEDOUT", /timed out after 100 ms$/);
    await client.write("tial\n");
    assert.equal(await conn.readLine({ timeout: 5000 }), "partial");
    // The other reads take it too; bad values are refused.
    await rejectsWithCode(conn.read(new Uint8Array(4), { timeout: 50 }), "ETIMEDOUT", /timed out after 50 ms$/);
    await rejectsWithCode(conn.readLines({ timeout: 50 }), "ETIMEDOUT", /timed out after 50 ms$/);
    await rejectsWithCode(conn.readFrame({ timeout: 50 }), "ETIMEDOUT", /timed out after 50 ms$/);
    await rejectsWithCode(conn.lines({ timeout: 50 }).next(), "ETIMEDOUT", /timed out after 50 ms$/);
    await rejectsWithCode(conn.readLine({ timeout: -1 }), "EINVAL", /timeout must be from 0 to 2147483647 ms$/);
    await client.write("last\n");
    assert.equal(await conn.readLine({ timeout: 5000 }), "last");
  });

  test("a second read while one races a signal fails with EINVAL; the first still gets the bytes", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = await listener.accept();
    const buffer = new Uint8Array(16);
    const reading = conn.read(buffer, { signal: new AbortController().signal });
    for (const signal of [undefined, new AbortController().signal]) {
      await rejectsWithCode(
        conn.read(new Uint8Array(16), { signal }),
        "EINVAL",
        /^Cannot read from 127\.0\.0\.1:\d+: a read is already pending$/,
      );
    }
    await client.write(new TextEncoder().encode("abc"));
    assert.equal(await reading, 3);
    assert.equal(new TextDecoder().decode(buffer.subarray(0, 3)), "abc");
  });

  test("read() into a small buffer after readLine() keeps every byte in order", async () => {
    const server = await startServer({}, async (conn) => {
      await conn.write("header\nbody-bytes");
      await conn.closeWrite();
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    assert.equal(await conn.readLine(), "header");
    const buffer = new Uint8Array(4);
    let rest = "";
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      rest += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.equal(rest, "body-bytes");
    conn.close();
    await server.close();
  });

  test("readable and writable Web Streams; closing writable half-closes", async () => {
    const server = await startServer();
    const conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const input = new Blob(["stream one\n", "stream two\n"]).stream() as ReadableStream<Uint8Array>;
    const piped = input.pipeTo(conn.writable);
    let text = "";
    for await (const chunk of conn.readable) text += new TextDecoder().decode(chunk);
    await piped;
    assert.equal(text, "STREAM ONE\nSTREAM TWO\n");
    conn.close();
    await server.close();
  });

  test("frames: readFrame/writeFrame round trip with each prefix size, mixed with a line", async () => {
    for (const prefixBytes of [1, 2, 4] as const) {
      const frames = { prefixBytes };
      const server = await startServer({ frames }, async (conn) => {
        assert.equal(await conn.readLine(), "hello frames");
        for (let frame = await conn.readFrame(); frame !== null; frame = await conn.readFrame()) {
          await conn.writeFrame(frame.slice().reverse());
        }
        await conn.closeWrite();
      });
      await using conn = await connect({ hostname: "127.0.0.1", port: server.port, frames });
      const payloads = [Uint8Array.of(), Uint8Array.of(1, 2, 3), pseudoRandomBytes(prefixBytes === 1 ? 255 : 5000)];
      // A line, then frames, all in one write: the server must split them right.
      await conn.write("hello frames\n");
      for (const payload of payloads) await conn.writeFrame(payload);
      await conn.closeWrite();
      for (const payload of payloads) assert.deepEqual(await conn.readFrame(), payload.slice().reverse());
      assert.equal(await conn.readFrame(), null);
      conn.close();
      await server.close();
      assert.deepEqual(server.errors, []);
    }
  });

  test("frames: over maxFrameBytes is EFRAMETOOLONG; a stream cut inside a frame is EPROTO", async () => {
    const frames = { prefixBytes: 2 as const, maxFrameBytes: 100 };
    const server = await startServer({ frames }, async (conn) => {
      await conn.readFrame();
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(Uint8Array.of(0, 101));
    await server.close();
    assert.equal(server.errors.length, 1);
    const err = server.errors[0];
    assert.ok(err instanceof SocketError);
    assert.equal(err.code, "EFRAMETOOLONG");
    assert.match(err.message, /^Cannot read frame from 127\.0\.0\.1:\d+: 101 bytes is over the limit of 100$/);

    const cut = await startServer({ frames }, async (conn) => {
      await conn.readFrame();
    });
    await using sender = await connect({ hostname: "127.0.0.1", port: cut.port, frames });
    await sender.write(Uint8Array.of(0, 10, 1, 2, 3));
    await sender.closeWrite();
    await cut.close();
    const cutErr = cut.errors[0];
    assert.ok(cutErr instanceof SocketError);
    assert.equal(cutErr.code, "EPROTO");
    assert.match(cutErr.message, /^Cannot read frame from 127\.0\.0\.1:\d+: stream ended inside a frame$/);
    await assert.rejects(sender.writeFrame(new Uint8Array(101)), {
      code: "EFRAMETOOLONG",
      message: "Cannot encode frame: 101 bytes is over the limit of 100",
    });
  });

  test("connection refused has the same code and message everywhere", async () => {
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    await rejectsWithCode(
      connect({ hostname: "127.0.0.1", port }),
      "ECONNREFUSED",
      new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: connection refused$`),
    );
  });

  test("address in use has the same code and message everywhere", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    await rejectsWithCode(
      listen({ hostname: "127.0.0.1", port }),
      "EADDRINUSE",
      new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: address already in use$`),
    );
  });

  test("bad arguments fail with EINVAL before touching the network", async () => {
    await rejectsWithCode(connect({ hostname: "127.0.0.1", port: 70000 }), "EINVAL", /port must be an integer/);
    await rejectsWithCode(listen({ hostname: "127.0.0.1", port: -1 }), "EINVAL", /port must be an integer/);
    await rejectsWithCode(
      connect({ hostname: "127.0.0.1", port: 0 }),
      "EINVAL",
      /^Cannot connect to 127\.0\.0\.1:0: port must be from 1 to 65535$/,
    );
    // Checked before any socket opens: a bad limit leaks nothing.
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await rejectsWithCode(
      connect({ port: listener.addr.port, maxLineBytes: 0 }),
      "EINVAL",
      /^Cannot connect to 127\.0\.0\.1:\d+: maxLineBytes must be a positive integer, got 0$/,
    );
    await rejectsWithCode(
      listen({ hostname: "127.0.0.1", port: listener.addr.port, frames: { prefixBytes: 1, maxFrameBytes: 256 } }),
      "EINVAL",
      /^Cannot listen on 127\.0\.0\.1:\d+: maxFrameBytes must be/,
    );
  });

  test("connect timeout and signal against a server that never answers", async () => {
    const blackhole = await startBlackhole();
    const held: Conn[] = [];
    try {
      // The backlog-0 listener queues one handshake; after that SYNs are dropped.
      let timedOut: SocketError | undefined;
      for (let i = 0; i < 8 && timedOut === undefined; i++) {
        try {
          held.push(await connect({ hostname: "127.0.0.1", port: blackhole.port, timeout: 300 }));
        } catch (err) {
          assert.ok(err instanceof SocketError);
          timedOut = err;
        }
      }
      assert.ok(timedOut, "no connect timed out");
      assert.equal(timedOut.code, "ETIMEDOUT");
      assert.equal(timedOut.message, `Cannot connect to 127.0.0.1:${blackhole.port}: timed out after 300 ms`);

      const controller = new AbortController();
      const pending = connect({ hostname: "127.0.0.1", port: blackhole.port, signal: controller.signal });
      controller.abort();
      await rejectsWithCode(pending, "EABORTED", /^Cannot connect to 127\.0\.0\.1:\d+: aborted$/);
      await rejectsWithCode(
        connect({ hostname: "127.0.0.1", port: blackhole.port, signal: AbortSignal.abort() }),
        "EABORTED",
      );
    } finally {
      for (const conn of held) conn.close();
      await blackhole.stop();
    }
  });

  test("a client that resets mid-stream does not stop the server serving others", async () => {
    const bulk = pseudoRandomBytes(1024 * 1024);
    let handlers = 0;
    const server = await startServer({}, async (conn) => {
      handlers++;
      const line = await conn.readLine();
      if (line !== "bulk") return void (await conn.write(`${line?.toUpperCase()}\n`));
      // Kernel buffers on loopback hold megabytes: write until the reset
      // reaches us, with a bound so a bug fails the test instead of hanging it.
      for (let i = 0; i < 1024; i++) await conn.write(bulk);
      assert.fail("1 GiB written to a peer that had gone");
    });
    const victim = await connect({ hostname: "127.0.0.1", port: server.port });
    await victim.write("bulk\n");
    // Closing with unread bytes in the receive buffer makes the kernel send
    // RST instead of FIN: a reset mid-stream.
    assert.equal(await victim.read(new Uint8Array(1)), 1);
    victim.close();
    await using other = await connect({ hostname: "127.0.0.1", port: server.port });
    await other.write("still here\n");
    assert.equal(await other.readLine(), "STILL HERE");
    other.close();
    await server.close();
    assert.equal(handlers, 2);
    assert.equal(server.errors.length, 1);
    const err = server.errors[0];
    assert.ok(err instanceof SocketError);
    assert.ok(["ECONNRESET", "EPIPE"].includes(err.code), err.message);
    assert.match(err.message, /^Cannot (write to|read from) 127\.0\.0\.1:\d+: connection (reset|closed) by peer$/);
  });

  test("a line over maxLineBytes fails with ELINETOOLONG, without waiting for a newline", async () => {
    const server = await startServer({ maxLineBytes: 1024 }, async (conn) => {
      assert.equal(await conn.readLine(), "short");
      await conn.readLine();
    });
    await using conn = await connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write("short\n" + "x".repeat(4096));
    // No newline ever comes: the server must give up on its own.
    await server.close();
    conn.close();
    assert.equal(server.errors.length, 1);
    const err = server.errors[0];
    assert.ok(err instanceof SocketError);
    assert.equal(err.code, "ELINETOOLONG");
    assert.match(err.message, /^Cannot read line from 127\.0\.0\.1:\d+: longer than 1024 bytes$/);
  });

  test("use after close fails with ECLOSED; close ends a pending read", async () => {
    const server = await startServer();
    const conn = await connect({ hostname: "127.0.0.1", port: server.port });
    const pending = conn.readLine();
    conn.close();
    await rejectsWithCode(pending, "ECLOSED", /^Cannot read from 127\.0\.0\.1:\d+: socket is closed$/);
    await rejectsWithCode(conn.write("late\n"), "ECLOSED", /^Cannot write to 127\.0\.0\.1:\d+: socket is closed$/);
    await rejectsWithCode(conn.read(new Uint8Array(8)), "ECLOSED");
    conn.close();
    await server.close();
  });

  test("closing a listener ends a pending accept() and the iteration", async () => {
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const pending = listener.accept();
    listener.close();
    await rejectsWithCode(pending, "ECLOSED", /^Cannot accept on 127\.0\.0\.1:\d+: socket is closed$/);
    const other = await listen({ hostname: "127.0.0.1", port: 0 });
    const iterated = (async () => {
      let count = 0;
      for await (const conn of other) {
        count++;
        conn.close();
      }
      return count;
    })();
    const client = await connect({ hostname: "127.0.0.1", port: other.addr.port });
    assert.equal(await client.readLine(), null);
    client.close();
    const controller = new AbortController();
    const third = await listen({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
    other.close();
    assert.equal(await iterated, 1);
    controller.abort();
    await rejectsWithCode(third.accept(), "ECLOSED");
    await rejectsWithCode(connect({ hostname: "127.0.0.1", port: third.addr.port }), "ECONNREFUSED");
  });
});
