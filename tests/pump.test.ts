// Push mode (`RuntimeConn.pumpTo`, which serveLines answers through): the
// state machine against a scripted socket, where every step is exact, then
// each runtime's adapter on real loopback sockets. Runs unchanged under
// `deno test`, `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { answerLines, connect, listen, serveLines, SocketError, uppercase } from "../mod.ts";
import { Pump, type PumpSocket, runPump } from "../runtime/_pump.ts";
import { currentRuntime, runtimeName } from "../runtime/runtime.ts";
import type { PumpHandler, RuntimeConn } from "../runtime/types.ts";
import { TcpConn } from "../tcp/_tcp_conn.ts";
import { concat, readChunks, rejectsWithCode, runtimePair, startServer } from "./_helpers.ts";

const text = new TextEncoder();
const bytes = (s: string) => text.encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** A PumpSocket whose writes finish when the test says so. */
class ScriptedSocket implements PumpSocket {
  queue: Uint8Array[] = [];
  sent: string[] = [];
  ended = false;
  idles = 0;
  takesAll = true;
  sendReply(reply: string | Uint8Array): boolean {
    this.sent.push(typeof reply === "string" ? reply : str(reply));
    return this.takesAll;
  }
  nextQueued(): Uint8Array | undefined {
    return this.queue.shift();
  }
  idle(): void {
    this.idles++;
  }
  adopt(): void {}
  /** What the adapter does with a chunk from the runtime. */
  deliver(pump: Pump, chunk: string): void {
    if (!pump.offer(bytes(chunk))) this.queue.push(bytes(chunk));
  }
}

const upper: PumpHandler = { onData: (chunk) => bytes(str(chunk).toUpperCase()) };

/** A pump on `conn` that answers one line with `reply(line)`, then stops. */
function pumpOneLine(conn: TcpConn, reply: (line: string) => string): Promise<boolean> | undefined {
  return conn.pump({
    answer() {
      const line = conn.bufferedLine();
      if (line === undefined) return "";
      conn.stopPump();
      return reply(line);
    },
  });
}

async function settledState(promise: Promise<unknown>): Promise<string> {
  let state = "pending";
  promise.then((v) => (state = `resolved ${v}`), (e) => (state = `rejected ${e}`));
  // A settled promise's reaction was queued before this await's. (A race
  // against a resolved marker cannot tell: the `then` adds a turn, so the
  // marker always won, whatever the state.) Not for a promise resolved with
  // another promise, which settles turns later; pumps settle with booleans.
  await Promise.resolve();
  return state;
}

describe("Pump", () => {
  test("answers each chunk as it comes and waits for more", async () => {
    const socket = new ScriptedSocket();
    const pump = new Pump(socket, upper);
    pump.start();
    assert.equal(socket.idles, 1);
    socket.deliver(pump, "ab");
    socket.deliver(pump, "c");
    assert.deepEqual(socket.sent, ["AB", "C"]);
    assert.equal(socket.idles, 3);
    socket.ended = true;
    pump.ended();
    assert.equal(await pump.done, true);
  });

  test("chunks read ahead before the start are answered first, in order", async () => {
    const socket = new ScriptedSocket();
    socket.queue.push(bytes("x"), bytes("y"));
    const pump = new Pump(socket, upper);
    pump.start();
    socket.deliver(pump, "z");
    assert.deepEqual(socket.sent, ["X", "Y", "Z"]);
    pump.stop();
    assert.equal(await pump.done, false);
  });

  test("a reply the kernel has not taken holds back later chunks until it is written", () => {
    const socket = new ScriptedSocket();
    const pump = new Pump(socket, upper);
    pump.start();
    socket.takesAll = false;
    socket.deliver(pump, "one");
    socket.takesAll = true;
    socket.deliver(pump, "two");
    socket.deliver(pump, "three");
    assert.deepEqual(socket.sent, ["ONE"]);
    assert.equal(socket.queue.length, 2);
    pump.written();
    assert.deepEqual(socket.sent, ["ONE", "TWO", "THREE"]);
    assert.equal(socket.queue.length, 0);
    // A late report of a write that had finished at once changes nothing.
    pump.written();
    assert.deepEqual(socket.sent, ["ONE", "TWO", "THREE"]);
  });

  test("a promised reply holds back later chunks; a write report meanwhile does not release them", async () => {
    const socket = new ScriptedSocket();
    let release!: (reply: Uint8Array) => void;
    const pump = new Pump(socket, {
      onData(chunk) {
        if (str(chunk) === "slow") return new Promise((resolve) => (release = resolve));
        return upper.onData(chunk);
      },
    });
    pump.start();
    socket.deliver(pump, "slow");
    socket.deliver(pump, "fast");
    pump.written();
    assert.deepEqual(socket.sent, []);
    release(bytes("SLOW"));
    await Promise.resolve();
    assert.deepEqual(socket.sent, ["SLOW", "FAST"]);
  });

  test("stop() while a reply waits: the pump ends after it, and queued chunks stay for read()", async () => {
    const socket = new ScriptedSocket();
    const pump = new Pump(socket, upper);
    pump.start();
    socket.takesAll = false;
    socket.deliver(pump, "a");
    socket.deliver(pump, "b");
    pump.stop();
    assert.equal(await settledState(pump.done), "pending");
    pump.written();
    assert.equal(await pump.done, false);
    assert.deepEqual(socket.sent, ["A"]);
    assert.deepEqual(socket.queue.map(str), ["b"]);
    assert.equal(pump.offer(bytes("c")), false);
  });

  test("end of stream while a reply waits resolves true once it is written", async () => {
    const socket = new ScriptedSocket();
    const pump = new Pump(socket, upper);
    pump.start();
    socket.takesAll = false;
    socket.deliver(pump, "last");
    socket.ended = true;
    pump.ended();
    assert.equal(await settledState(pump.done), "pending");
    pump.written();
    assert.equal(await pump.done, true);
  });

  test("a handler that throws, or a failed write, rejects the pump with that error", async () => {
    const socket = new ScriptedSocket();
    const thrown = new Error("Handler exploded");
    const pump = new Pump(socket, {
      onData() {
        throw thrown;
      },
    });
    pump.start();
    socket.deliver(pump, "x");
    await assert.rejects(pump.done, thrown);
    const other = new Pump(new ScriptedSocket(), upper);
    other.start();
    other.fail(new SocketError("ECONNRESET", "Cannot write to 127.0.0.1:1: connection reset by peer"));
    await rejectsWithCode(other.done, "ECONNRESET");
  });
});

/** Reads from `conn` until `length` bytes have come, and no more. */
async function readExactly(conn: RuntimeConn, length: number): Promise<string> {
  const chunks = await readChunks(conn, length);
  assert.equal(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0), length);
  return chunks.map(str).join("");
}

describe(`push mode on ${runtimeName()}`, () => {
  test("pumpTo() answers what arrives and resolves true at end of stream; read() then gives null", async () => {
    const { server, client, close } = await runtimePair();
    try {
      const pumped = runPump(server, upper);
      await client.write(bytes("abc"));
      assert.equal(await readExactly(client, 3), "ABC");
      await client.write(bytes("déf"));
      assert.equal(await readExactly(client, 4), "DÉF");
      await client.closeWrite();
      assert.equal(await pumped, true);
      assert.equal(await server.read(), null);
    } finally {
      close();
    }
  });

  test("a text reply goes out as UTF-8, a lone surrogate as U+FFFD", async () => {
    const { server, client, close } = await runtimePair();
    try {
      const pumped = runPump(server, { onData: (chunk) => str(chunk).toUpperCase() + "\ud800" });
      await client.write(bytes("añb€c😀d"));
      // 13 bytes of uppercase and 3 of U+FFFD.
      assert.equal(await readExactly(client, 16), "AÑB€C😀D\ufffd");
      server.stopPump();
      assert.equal(await pumped, false);
    } finally {
      close();
    }
  });

  test("a text reply the kernel takes in parts arrives whole, in order, counted as its UTF-8 bytes", async () => {
    const { server, client, close } = await runtimePair();
    try {
      // 18 MiB of UTF-8, more than loopback buffers hold, in 2- and 4-byte
      // characters: what is left after a partial write may start mid-character.
      const unit = "é😀";
      const count = 3 * 1024 * 1024;
      let firstAnswered!: () => void;
      const first = new Promise<void>((resolve) => (firstAnswered = resolve));
      const pumped = runPump(server, {
        onData(chunk) {
          if (str(chunk) !== "1") return str(chunk);
          firstAnswered();
          return unit.repeat(count);
        },
      });
      await client.write(bytes("1"));
      await first;
      await client.write(bytes("2"));
      const got = concat(await readChunks(client, count * 6 + 1));
      assert.equal(got.byteLength, count * 6 + 1);
      assert.ok(str(got) === unit.repeat(count) + "2", "the reply arrived changed");
      assert.equal(server.repliedBytes, count * 6 + 1);
      server.stopPump();
      assert.equal(await pumped, false);
    } finally {
      close();
    }
  });

  test("stopPump() while waiting resolves false; later bytes go to read(), byte for byte", async () => {
    const { server, client, close } = await runtimePair();
    try {
      const pumped = runPump(server, upper);
      await client.write(bytes("x"));
      assert.equal(await readExactly(client, 1), "X");
      server.stopPump();
      assert.equal(await pumped, false);
      await client.write(bytes("later"));
      assert.equal(await readExactly(server, 5), "later");
      // And a second pump takes over where the reads left off.
      const again = runPump(server, upper);
      await client.write(bytes("more"));
      assert.equal(await readExactly(client, 4), "MORE");
      server.stopPump();
      assert.equal(await again, false);
    } finally {
      close();
    }
  });

  test("stopPump() from the handler sends that chunk's reply first", async () => {
    const { server, client, close } = await runtimePair();
    try {
      const pumped = runPump(server, {
        onData(chunk) {
          server.stopPump();
          return upper.onData(chunk);
        },
      });
      await client.write(bytes("q"));
      assert.equal(await pumped, false);
      assert.equal(await readExactly(client, 1), "Q");
      await client.write(bytes("rest"));
      assert.equal(await readExactly(server, 4), "rest");
    } finally {
      close();
    }
  });

  test("a promised reply goes out before the replies to what arrived meanwhile", async () => {
    const { server, client, close } = await runtimePair();
    try {
      let called!: () => void;
      const firstCall = new Promise<void>((resolve) => (called = resolve));
      let release!: (reply: Uint8Array) => void;
      let calls = 0;
      const pumped = runPump(server, {
        onData(chunk) {
          if (calls++ > 0) return upper.onData(chunk);
          called();
          return new Promise((resolve) => (release = resolve));
        },
      });
      await client.write(bytes("a"));
      await firstCall;
      await client.write(bytes("b"));
      release(bytes("first;"));
      assert.equal(await readExactly(client, 7), "first;B");
      server.stopPump();
      assert.equal(await pumped, false);
    } finally {
      close();
    }
  });

  test("a handler that throws rejects the pump; close() rejects a running one with ECLOSED", async () => {
    const first = await runtimePair();
    try {
      const thrown = new Error("Handler exploded");
      const pumped = runPump(first.server, {
        onData() {
          throw thrown;
        },
      });
      await first.client.write(bytes("x"));
      await assert.rejects(pumped, thrown);
    } finally {
      first.close();
    }
    const second = await runtimePair();
    try {
      const pumped = runPump(second.server, upper);
      await second.client.write(bytes("y"));
      assert.equal(await readExactly(second.client, 1), "Y");
      second.server.close();
      await rejectsWithCode(pumped, "ECLOSED");
    } finally {
      second.close();
    }
  });

  test("a read while a pump runs fails with EINVAL", async () => {
    const { server, close } = await runtimePair();
    try {
      const pumped = runPump(server, upper);
      await rejectsWithCode(server.read(), "EINVAL");
      server.stopPump();
      assert.equal(await pumped, false);
    } finally {
      close();
    }
  });

  test("backpressure: while the peer does not read a 32 MiB reply, nothing more is answered", async () => {
    const { server, client, close } = await runtimePair();
    const probe = await startServer();
    const other = await connect({ hostname: "127.0.0.1", port: probe.port });
    try {
      const big = new Uint8Array(32 * 1024 * 1024).fill(0x2e);
      const answered: string[] = [];
      let firstAnswered!: () => void;
      const first = new Promise<void>((resolve) => (firstAnswered = resolve));
      const pumped = runPump(server, {
        onData(chunk) {
          answered.push(str(chunk));
          if (answered.length === 1) {
            firstAnswered();
            return big;
          }
          return upper.onData(chunk);
        },
      });
      await client.write(bytes("1"));
      await first;
      await client.write(bytes("2"));
      // Round trips on another connection let the event loop run many turns.
      // Kernel buffers hold a few MiB at most: had the pump gone on, it would
      // have answered "2" by now with the big reply buffered in memory.
      for (let i = 0; i < 20; i++) {
        await other.write(`probe ${i}\n`);
        assert.equal(await other.readLine(), `PROBE ${i}`);
      }
      assert.deepEqual(answered, ["1"], "the pump answered while its reply was not yet taken");
      let got = 0;
      let tail = "";
      while (got < big.byteLength + 1) {
        const chunk = await client.read();
        assert.ok(chunk !== null);
        got += chunk.byteLength;
        tail = (tail + str(chunk.subarray(Math.max(0, chunk.byteLength - 2)))).slice(-2);
      }
      assert.equal(got, big.byteLength + 1);
      assert.equal(tail, ".2".toUpperCase());
      assert.deepEqual(answered, ["1", "2"]);
      server.stopPump();
      assert.equal(await pumped, false);
    } finally {
      close();
      other.close();
      await probe.close();
    }
  });

  test("serveLines: a line split between reads stays whole, with sync and promised replies", async () => {
    // Deno's pump reads into one buffer again and again: the partial line
    // must be copied out of it before the next read overwrites it.
    await using server = await serveLines(
      { hostname: "127.0.0.1" },
      (line) => line.startsWith("later") ? Promise.resolve(line.toUpperCase()) : line.toUpperCase(),
    );
    await using conn = await connect({ port: server.addr.port });
    await conn.write("one\ntw");
    assert.equal(await conn.readLine(), "ONE");
    // Each next chunk is at least as long as the one before, so it
    // overwrites where the partial line was in a reused buffer.
    await conn.write("o\nsix\n");
    assert.deepEqual([await conn.readLine(), await conn.readLine()], ["TWO", "SIX"]);
    await conn.write("later three\nfi");
    assert.equal(await conn.readLine(), "LATER THREE");
    await conn.write("ve\nlater eight\nseven\n");
    assert.deepEqual([await conn.readLine(), await conn.readLine(), await conn.readLine()], [
      "FIVE",
      "LATER EIGHT",
      "SEVEN",
    ]);
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
  });

  test("serveLines: a partial line waiting behind a promised reply survives other connections' reads", async () => {
    // Node's adapter reads every socket into one buffer: the partial line
    // must be copied out of it before the promise settles, not after.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let called!: () => void;
    const waiting = new Promise<void>((resolve) => (called = resolve));
    await using server = await serveLines({ hostname: "127.0.0.1" }, (line) => {
      if (line !== "first") return line.toUpperCase();
      called();
      return gate.then(() => "FIRST");
    });
    await using a = await connect({ port: server.addr.port });
    await using b = await connect({ port: server.addr.port });
    await a.write("first\nsec");
    await waiting;
    await b.write("zzzzzzzzzzzzzzzzzzzz\n");
    assert.equal(await b.readLine(), "ZZZZZZZZZZZZZZZZZZZZ");
    release();
    assert.equal(await a.readLine(), "FIRST");
    await a.write("ond\n");
    assert.equal(await a.readLine(), "SECOND");
  });

  test("TcpConn.pump: an ended pump's signal reaches neither a later read's race nor a later pump", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    const stale = [new AbortController(), new AbortController()];
    // Round trips on a second connection: the runtime polls many times meanwhile.
    await using other = await connect({ port: listener.addr.port });
    await using otherServer = await listener.accept();
    async function roundTrips(): Promise<void> {
      for (let i = 0; i < 3; i++) {
        await other.write(new TextEncoder().encode("x"));
        assert.equal(await otherServer.read(new Uint8Array(1)), 1);
      }
    }
    const ended = conn.pump({ answer: () => "" }, stale[0].signal);
    conn.stopPump();
    assert.equal(await ended, false);
    // A read racing a signal of its own.
    const buffer = new Uint8Array(8);
    let settled = false;
    const reading = conn.read(buffer, { signal: new AbortController().signal });
    reading.then(() => settled = true, () => settled = true);
    stale[0].abort();
    await roundTrips();
    assert.equal(settled, false);
    await client.write(new TextEncoder().encode("abc"));
    assert.equal(await reading, 3);
    // A pump with a signal, then one without: the first's signal is stale.
    const second = conn.pump({ answer: () => "" }, stale[1].signal);
    conn.stopPump();
    assert.equal(await second, false);
    const third = conn.pump({
      answer() {
        const line = conn.bufferedLine();
        return line === undefined ? "" : line.toUpperCase() + "\n";
      },
    });
    stale[1].abort();
    await roundTrips();
    await client.write(new TextEncoder().encode("still pumping\n"));
    assert.equal(await client.readLine(), "STILL PUMPING");
    conn.stopPump();
    assert.equal(await third, false);
    conn.close();
  });

  for (const reader of ["readLine", "read"] as const) {
    test(`TcpConn.pump: a one-line chunk the answerer leaves stays buffered, byte for byte (${reader})`, async () => {
      await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
      await using client = await connect({ port: listener.addr.port });
      const conn = await listener.accept();
      assert.ok(conn instanceof TcpConn);
      let calls = 0;
      let buffered = -1;
      const pumped = conn.pump({
        answer() {
          // The first chunk is answered, so the line buffer holds nothing for the second.
          if (calls++ === 0) return conn.bufferedLine()!.toUpperCase() + "\n";
          buffered = conn.bufferedBytes;
          conn.stopPump();
          return "";
        },
      });
      await client.write("one\n");
      assert.equal(await client.readLine(), "ONE");
      await client.write("twö\r\n");
      assert.equal(await pumped, false);
      assert.equal(buffered, 6);
      assert.equal(conn.bufferedBytes, 6);
      if (reader === "readLine") {
        assert.equal(await conn.readLine(), "twö");
      } else {
        const bytes = new Uint8Array(16);
        const n = await conn.read(bytes);
        assert.deepEqual([...bytes.subarray(0, n ?? 0)], [...new TextEncoder().encode("twö\r\n")]);
      }
      assert.equal(conn.bufferedBytes, 0);
      conn.close();
    });
  }

  test("answerLines on a TcpConn: a later call does not rethrow an earlier one's failure", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    const failing = answerLines(conn, (line) => {
      if (line === "boom") throw new Error("boom");
      return line;
    });
    await client.write("boom\n");
    await assert.rejects(failing, { message: "boom" });
    // Stopped before it starts: nothing to answer, and nothing failed.
    const stopped = new AbortController();
    stopped.abort();
    await answerLines(conn, { respond: uppercase, signal: stopped.signal });
    assert.equal(await client.readLine(), null);
    conn.close();
  });

  test("TcpConn: a frame read after a pump that left nothing buffered keeps the line behind it", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    const pumped = pumpOneLine(conn, (line) => line.toUpperCase() + "\n");
    await client.write("one\n");
    assert.equal(await pumped, false);
    assert.equal(await client.readLine(), "ONE");
    // One write: the frame and the line arrive together, into the frame decoder.
    await client.write(concat([new Uint8Array([0, 0, 0, 2, 0x68, 0x69]), bytes("after\n")]));
    await client.closeWrite();
    assert.deepEqual(await conn.readFrame(), bytes("hi"));
    assert.equal(await conn.readLine(), "after");
    assert.equal(await conn.readLine(), null);
    conn.close();
  });

  test("TcpConn: an answerer that closes the connection then gets ECLOSED from bufferedLine()", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    const codes: string[] = [];
    const pumped = conn.pump({
      answer() {
        // The first line leaves the line buffer empty; the second, one chunk,
        // is then answered without it.
        if (conn.bytesRead === 4) return conn.bufferedLine() === undefined ? "" : "first\n";
        conn.close();
        for (let i = 0; i < 2; i++) {
          try {
            codes.push(`line ${conn.bufferedLine()}`);
          } catch (err) {
            codes.push(err instanceof SocketError ? err.code : String(err));
          }
        }
        return "";
      },
    });
    assert.ok(pumped !== undefined);
    await client.write("one\n");
    assert.equal(await client.readLine(), "first");
    await client.write("two\n");
    await rejectsWithCode(pumped, "ECLOSED");
    assert.deepEqual(codes, ["ECLOSED", "ECLOSED"]);
  });

  test("TcpConn.pump: a reply after closeWrite() fails the pump with EPIPE and is not counted", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    let closing: Promise<void> | undefined;
    const pumped = conn.pump({
      answer() {
        if (conn.bufferedLine() === undefined) return "";
        closing = conn.closeWrite();
        return "BYE\n";
      },
    });
    assert.ok(pumped !== undefined);
    await client.write("one\n");
    await rejectsWithCode(pumped, "EPIPE");
    await closing;
    assert.equal(conn.bytesWritten, 0);
    assert.equal(await client.readLine(), null);
    conn.close();
  });

  test("TcpConn.bytesWritten: write()'s bytes and a pump's text replies are each counted once", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    assert.equal(await conn.write("hé\n"), 4);
    const pumped = pumpOneLine(conn, (line) => line + "😀\n");
    await client.write("x\n");
    assert.equal(await pumped, false);
    assert.equal(await client.readLine(), "hé");
    assert.equal(await client.readLine(), "x😀");
    assert.equal(conn.bytesWritten, 4 + 6);
    assert.equal(await conn.write(new Uint8Array([0x6f, 0x6b, 0x0a])), 3);
    assert.equal(conn.bytesWritten, 13);
    assert.equal(await client.readLine(), "ok");
    conn.close();
  });

  test("TcpConn.pump: text replies count as UTF-8 bytes; bytes left after a stop come back as plain Uint8Arrays", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect({ port: listener.addr.port });
    const conn = await listener.accept();
    assert.ok(conn instanceof TcpConn);
    const pumped = pumpOneLine(conn, (line) => line.toUpperCase() + "é😀\n");
    await client.write("one\nrest");
    assert.equal(await pumped, false);
    assert.equal(await client.readLine(), "ONEé😀");
    assert.equal(conn.bytesWritten, 10);
    const reader = conn.readable.getReader();
    let rest = "";
    while (rest.length < 4) {
      const { value } = await reader.read();
      assert.ok(value !== undefined);
      assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
      rest += str(value);
    }
    assert.equal(rest, "rest");
    reader.releaseLock();
    conn.close();
  });

  test("serveLines: a long reply goes out whole and counts as its UTF-8 bytes", async () => {
    // Long replies are encoded by doorway, short ones by the runtime: both are counted.
    await using server = await serveLines(
      { hostname: "127.0.0.1" },
      (line) => line === "long" ? "é😀".repeat(500) : "ok",
    );
    await using conn = await connect({ port: server.addr.port });
    await conn.write("long\nshort\n");
    assert.equal(await conn.readLine(), "é😀".repeat(500));
    assert.equal(await conn.readLine(), "ok");
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    await server.close();
    assert.equal(server.stats.bytesOut, 500 * 6 + 1 + 3);
  });

  test("serveLines: async and throwing responders on real sockets keep the documented replies", async () => {
    const errors: unknown[] = [];
    await using server = await serveLines(
      { hostname: "127.0.0.1", onError: (e) => errors.push(e) },
      (line) => {
        if (line === "boom") throw new Error("Responder exploded");
        if (line.startsWith("later")) return Promise.resolve(line.toUpperCase());
        return line.toUpperCase();
      },
    );
    await using conn = await connect({ port: server.addr.port });
    await conn.write("a\nlater b\nc\n");
    assert.deepEqual([await conn.readLine(), await conn.readLine(), await conn.readLine()], ["A", "LATER B", "C"]);
    await conn.write("d\nboom\n");
    assert.equal(await conn.readLine(), "D");
    assert.equal(await conn.readLine(), null);
    await server.close();
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, "Responder exploded");
  });
});

// Bun's sockets stubbed: what no real socket does on cue. Bun.listen is
// replaced for the test, so the adapter wraps a scripted socket.
interface ScriptedBunHandlers {
  open(socket: unknown): void;
  data(socket: unknown, chunk: Uint8Array): void;
  drain(socket: unknown): void;
  end(socket: unknown): void;
  close(socket: unknown, error?: Error): void;
}

async function withScriptedBun(
  write: (handlers: ScriptedBunHandlers, socket: object, data: string | Uint8Array) => number,
  body: (conn: RuntimeConn, handlers: ScriptedBunHandlers, socket: object) => Promise<void>,
): Promise<void> {
  const bun = (globalThis as unknown as { Bun: { listen: unknown } }).Bun;
  const original = bun.listen;
  let handlers!: ScriptedBunHandlers;
  bun.listen = (options: { hostname: string; socket: ScriptedBunHandlers }) => {
    handlers = options.socket;
    return { hostname: options.hostname, port: 4000, stop() {} };
  };
  try {
    const runtime = await currentRuntime();
    const socket = {
      data: undefined,
      localAddress: "127.0.0.1",
      localPort: 4000,
      remoteAddress: "127.0.0.1",
      remotePort: 5000,
      write: (data: string | Uint8Array) => write(handlers, socket, data),
      shutdown() {},
      end() {},
      pause() {},
      resume() {},
      setNoDelay: () => true,
    };
    const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 });
    let conn: RuntimeConn | null = null;
    try {
      handlers.open(socket);
      conn = await listener.accept();
      assert.ok(conn !== null);
      await body(conn, handlers, socket);
    } finally {
      listener.close();
      conn?.close();
    }
  } finally {
    bun.listen = original;
  }
}

// A scripted write that takes all of `data`: notes it as text, returns its length in bytes.
function takeAll(written: string[], data: string | Uint8Array): number {
  const taken = typeof data === "string" ? text.encode(data) : data;
  written.push(str(taken));
  return taken.byteLength;
}

describe("push mode on Bun, scripted", { skip: runtimeName() !== "bun", timeout: 20_000 }, () => {
  test("a socket Bun closes while a reply is written fails the pump with EPIPE", async () => {
    await withScriptedBun((handlers, socket) => {
      handlers.close(socket);
      return 0;
    }, async (conn, handlers, socket) => {
      const pumped = runPump(conn, upper);
      handlers.data(socket, bytes("x"));
      await rejectsWithCode(pumped, "EPIPE");
    });
  });

  test("the peer's FIN while a reply is written whole ends the pump after the write", async () => {
    const written: string[] = [];
    await withScriptedBun((handlers, socket, data) => {
      handlers.end(socket);
      return takeAll(written, data);
    }, async (conn, handlers, socket) => {
      const pumped = runPump(conn, upper);
      handlers.data(socket, bytes("xyz"));
      assert.equal(await settledState(pumped), "resolved true");
      assert.deepEqual(written, ["XYZ"]);
      assert.equal(conn.repliedBytes, 3);
    });
  });

  test("the peer's FIN while a reply is written in parts ends the pump once the rest is out", async () => {
    let takes = 0;
    const written: string[] = [];
    await withScriptedBun((handlers, socket, data) => {
      // The first write takes one byte and hears the FIN; the next takes none.
      if (takes++ === 0) {
        handlers.end(socket);
        return takeAll(written, (typeof data === "string" ? text.encode(data) : data).subarray(0, 1));
      }
      if (takes === 2) return 0;
      return takeAll(written, data);
    }, async (conn, handlers, socket) => {
      const pumped = runPump(conn, upper);
      handlers.data(socket, bytes("xyz"));
      assert.equal(await settledState(pumped), "pending");
      handlers.drain(socket);
      assert.equal(await pumped, true);
      assert.deepEqual(written, ["X", "YZ"]);
      assert.equal(conn.repliedBytes, 3);
    });
  });
});
