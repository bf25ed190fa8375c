// serve(), serveLines() and LineClient: the same file under Deno, Bun and Node.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { setImmediate } from "node:timers";
import {
  answerLines,
  type Conn,
  connect,
  LineClient,
  listen,
  type Listener,
  serve,
  serveLines,
  SocketError,
  uppercase,
} from "../../mod.ts";
import { CURRENT_RUNTIME, startExampleServer } from "../_runtimes.ts";

/** A promise with its resolve function, for handlers a test holds back. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves once `count` calls of the returned function have been made. */
function counter(count: number): { hit(): void; reached: Promise<void> } {
  let seen = 0;
  const { promise, open } = gate();
  return { hit: () => ++seen === count && open(), reached: promise };
}

async function roundTrip(conn: Conn, line: string): Promise<string | null> {
  await conn.write(line + "\n");
  return conn.readLine();
}

function peakRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
}

describe(`serve on ${CURRENT_RUNTIME}`, () => {
  test("maxConnections: limit + 1 clients, one rejected at once, the rest served", async () => {
    const errors: unknown[] = [];
    const server = await serveLines(
      { hostname: "127.0.0.1", maxConnections: 3, onError: (e) => errors.push(e) },
      uppercase,
    );
    const served = await Promise.all([1, 2, 3].map(() => connect({ port: server.addr.port })));
    for (const [i, conn] of served.entries()) assert.equal(await roundTrip(conn, `client ${i}`), `CLIENT ${i}`);
    assert.equal(server.stats.open, 3);

    // A client turned away sees a clean end of stream, not a reset, on
    // every runtime, even with a request of its own already sent.
    await using extra = await connect({ port: server.addr.port });
    await extra.write("let me in\n");
    assert.equal(await extra.readLine(), null);
    assert.deepEqual({ ...server.stats, bytesIn: 0, bytesOut: 0 }, {
      open: 3,
      accepted: 4,
      rejected: 1,
      bytesIn: 0,
      bytesOut: 0,
    });
    for (const [i, conn] of served.entries()) assert.equal(await roundTrip(conn, `again ${i}`), `AGAIN ${i}`);
    for (const conn of served) conn.close();
    await server.close();
    assert.deepEqual(errors, []);
  });

  test("thousands of concurrent connections need no setting", { timeout: 120_000 }, async () => {
    const server = await serveLines({ hostname: "127.0.0.1" }, uppercase);
    const conns: Conn[] = [];
    try {
      for (let i = 0; i < 2000; i++) conns.push(await connect({ port: server.addr.port }));
      const replies = await Promise.all(conns.map((conn, i) => roundTrip(conn, `conn ${i}`)));
      assert.deepEqual(replies, conns.map((_, i) => `CONN ${i}`));
      assert.equal(server.stats.open, 2000);
      assert.equal(server.stats.rejected, 0);
    } finally {
      for (const conn of conns) conn.close();
      await server.close();
    }
  });

  test("counters add up the bytes both ways", async () => {
    const server = await serveLines({ hostname: "127.0.0.1" }, uppercase);
    const conn = await connect({ port: server.addr.port });
    assert.equal(await roundTrip(conn, "count me"), "COUNT ME");
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    conn.close();
    await server.close();
    assert.deepEqual(server.stats, { open: 0, accepted: 1, rejected: 0, bytesIn: 9, bytesOut: 9 });
  });

  test("a reply larger than a socket's send buffer arrives whole and is counted", async () => {
    // 8 MiB, twice the most Linux lets a send buffer grow to by default: the
    // kernel cannot take it in one write, so the reply waits for a drain.
    const server = await serveLines({ hostname: "127.0.0.1" }, (line) => line.repeat(1 << 20));
    const conn = await connect({ port: server.addr.port });
    await conn.write("abcdefgh\n");
    await conn.closeWrite();
    const buffer = new Uint8Array(65_536);
    let received = 0;
    let wrong = -1;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      for (let i = 0; i < n && wrong < 0; i++) {
        const expected = received + i === 8 << 20 ? 0x0a : 0x61 + ((received + i) & 7);
        if (buffer[i] !== expected) wrong = received + i;
      }
      received += n;
    }
    conn.close();
    await server.close();
    assert.equal(wrong, -1);
    assert.equal(received, (8 << 20) + 1);
    assert.deepEqual(server.stats, { open: 0, accepted: 1, rejected: 0, bytesIn: 9, bytesOut: (8 << 20) + 1 });
  });

  test("idleTimeout closes a connection that sends nothing, and reports no error", async () => {
    const errors: unknown[] = [];
    const server = await serveLines(
      { hostname: "127.0.0.1", idleTimeout: 100, onError: (e) => errors.push(e) },
      uppercase,
    );
    await using conn = await connect({ port: server.addr.port });
    assert.equal(await roundTrip(conn, "then silence"), "THEN SILENCE");
    assert.equal(await conn.readLine(), null);
    await server.close();
    assert.deepEqual(errors, []);
    assert.equal(server.stats.open, 0);
  });

  test("a handler that throws closes its connection only; onError hears of it", async () => {
    const errors: Array<[unknown, Conn | undefined]> = [];
    const server = await serveLines({ hostname: "127.0.0.1", onError: (e, c) => errors.push([e, c]) }, (line) => {
      if (line === "boom") throw new Error("Handler exploded");
      return line.toUpperCase();
    });
    await using bad = await connect({ port: server.addr.port });
    await bad.write("boom\n");
    assert.equal(await bad.readLine(), null);
    await using good = await connect({ port: server.addr.port });
    assert.equal(await roundTrip(good, "fine"), "FINE");
    good.close();
    await server.close();
    assert.equal(errors.length, 1);
    const [err, conn] = errors[0];
    assert.ok(err instanceof Error);
    assert.equal(err.message, "Handler exploded");
    assert.equal(conn?.localAddr.port, server.addr.port);
  });

  test("a failed accept is reported and the server keeps accepting", async () => {
    const real = await listen({ hostname: "127.0.0.1", port: 0 });
    let failures = 1;
    // A listener whose first accept fails as EMFILE would.
    const flaky: Listener = {
      addr: real.addr,
      accept: () =>
        failures-- > 0
          ? Promise.reject(new SocketError("EUNKNOWN", "Cannot accept on 127.0.0.1: too many open files"))
          : real.accept(),
      close: () => real.close(),
      [Symbol.asyncIterator]: () => real[Symbol.asyncIterator](),
      [Symbol.asyncDispose]: () => real[Symbol.asyncDispose](),
    };
    const errors: Array<[unknown, Conn | undefined]> = [];
    const server = await serveLines({ listener: flaky, onError: (e, c) => errors.push([e, c]) }, uppercase);
    await using conn = await connect({ port: server.addr.port });
    assert.equal(await roundTrip(conn, "after the failure"), "AFTER THE FAILURE");
    conn.close();
    await server.close();
    assert.equal(errors.length, 1);
    const [err, failed] = errors[0];
    assert.ok(err instanceof SocketError);
    assert.equal(err.message, "Cannot accept on 127.0.0.1: too many open files");
    assert.equal(failed, undefined);
  });

  test("bad limits fail with EINVAL and leave nothing listening", async () => {
    const probe = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    await assert.rejects(serveLines({ hostname: "127.0.0.1", port, maxConnections: -1 }, uppercase), {
      code: "EINVAL",
      message: "Cannot serve: maxConnections must be a non-negative integer, got -1",
    });
    // The port is free: nothing was bound.
    const again = await listen({ hostname: "127.0.0.1", port });
    again.close();
  });

  test("a synchronous throw in a serve() handler is caught too", async () => {
    const errors: unknown[] = [];
    const server = await serve({ hostname: "127.0.0.1", onError: (e) => errors.push(e) }, () => {
      throw new TypeError("Not even async");
    });
    await using conn = await connect({ port: server.addr.port });
    assert.equal(await conn.readLine(), null);
    await server.close();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TypeError);
  });

  test("an over-long line gets the documented error reply, then the connection closes", async () => {
    await overLongAfterOk(uppercase);
  });

  test("an over-long line behind one an async responder answers: that reply, then the error reply", async () => {
    await overLongAfterOk(async (line) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return line.toUpperCase();
    });
  });

  test("lone lines after the first, each in its own write: CRLF, UTF-8 and an over-long one", async () => {
    // After its first request a connection's line buffer holds nothing, and a
    // chunk that is one whole line is decoded whole and answered alone.
    const server = await serveLines({ hostname: "127.0.0.1", maxLineBytes: 8 }, uppercase);
    await using conn = await connect({ port: server.addr.port });
    await conn.write("ok\n");
    assert.equal(await conn.readLine(), "OK");
    await conn.write("héllo\r\n");
    assert.equal(await conn.readLine(), "HÉLLO");
    await conn.write("\n");
    assert.equal(await conn.readLine(), "");
    await conn.write("12345678\n");
    assert.equal(await conn.readLine(), "12345678");
    await conn.write("123456789\n");
    assert.equal(await conn.readLine(), "ERROR line too long (over 8 bytes)");
    assert.equal(await conn.readLine(), null);
    await server.close();
  });

  test("100 MB with no newline: the server refuses it and its memory stays bounded", { timeout: 120_000 }, async () => {
    const { child: server, port } = await startExampleServer(CURRENT_RUNTIME, "examples/tcp_server.ts", [
      "--max-line-bytes",
      "65536",
    ]);
    try {
      const pid = Number(server.pid);
      await using warm = await connect({ port });
      assert.equal(await roundTrip(warm, "warm up"), "WARM UP");
      const before = peakRssKiB(pid);

      const flood = await connect({ port });
      const chunk = new Uint8Array(1024 * 1024).fill(0x61);
      let sent = 0;
      let refusal: SocketError | undefined;
      for (; sent < 100 && refusal === undefined; sent++) {
        await flood.write(chunk).catch((err) => (refusal = err));
      }
      // The server refuses once a line passes 64 KiB: our writes then fail
      // (it closed) long before 100 MB, or all went out and it discarded them.
      const reply = await flood.readLine().catch((err: SocketError) => err.code);
      flood.close();
      assert.ok(
        refusal !== undefined || reply === "ERROR line too long (over 65536 bytes)",
        `sent ${sent} MiB, reply ${reply}`,
      );
      if (refusal !== undefined) assert.ok(["EPIPE", "ECONNRESET"].includes(refusal.code), refusal.message);

      const grownMiB = (peakRssKiB(pid) - before) / 1024;
      assert.ok(grownMiB < 16, `the server's peak memory grew by ${grownMiB.toFixed(1)} MiB`);
      assert.equal(await roundTrip(warm, "still serving"), "STILL SERVING");
    } finally {
      server.kill("SIGTERM");
      await server.exited;
    }
  });

  test("graceful shutdown: requests in flight get replies, clients are answered until they end, no new connections", async () => {
    const received = counter(5);
    const release = gate();
    const server = await serveLines({ hostname: "127.0.0.1", gracefulTimeout: 60_000 }, async (line) => {
      if (line.startsWith("request")) {
        received.hit();
        await release.promise;
      }
      return line.toUpperCase();
    });
    const busy = await Promise.all([0, 1, 2, 3, 4].map(() => connect({ port: server.addr.port })));
    await using idle = await connect({ port: server.addr.port });
    assert.equal(await roundTrip(idle, "warm"), "WARM");
    // Each busy client sends a request and we wait until all reached a handler.
    await Promise.all(busy.map((conn, i) => conn.write(`request ${i}\n`)));
    await received.reached;

    const closing = server.close();
    // Never served: refused, or (on Deno, whose listening socket closes a
    // tick later) reset by the kernel, never handed to a handler.
    const late = await connect({ port: server.addr.port }).then(
      (conn) => conn.readLine().then(() => "read", (err) => err.code).finally(() => conn.close()),
      (err) => err.code,
    );
    assert.ok(["ECONNREFUSED", "ECONNRESET"].includes(late), late);
    assert.equal(server.stats.accepted, 6);
    // The idle client is still answered: it may have a request on its way.
    assert.equal(await roundTrip(idle, "still here"), "STILL HERE");
    await idle.closeWrite();
    assert.equal(await idle.readLine(), null);
    release.open();
    for (const [i, conn] of busy.entries()) {
      assert.equal(await conn.readLine(), `REQUEST ${i}`);
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
      conn.close();
    }
    await closing;
    assert.equal(server.stats.open, 0);
  });

  test("graceful shutdown: a request that arrived while the one before was in hand gets its reply", async () => {
    await shutdownWithRequestQueued(false);
  });

  test("graceful shutdown: a request that arrived still gets its reply when the server is slow to look", async () => {
    await shutdownWithRequestQueued(true);
  });

  test("gracefulTimeout: a handler that ignores shutdown is closed by force", async () => {
    const errors: unknown[] = [];
    const started = gate();
    let handlerError: unknown;
    const server = await serve(
      { hostname: "127.0.0.1", gracefulTimeout: 50, onError: (e) => errors.push(e) },
      async (conn) => {
        started.open();
        try {
          await conn.readLine(); // no signal: deaf to the shutdown
        } catch (err) {
          handlerError = err;
          throw err;
        }
      },
    );
    await using conn = await connect({ port: server.addr.port });
    await started.promise;
    await server.close();
    assert.equal(await conn.readLine(), null);
    assert.ok(handlerError instanceof SocketError);
    assert.equal(handlerError.code, "ECLOSED");
    assert.deepEqual(errors, [], "a forced close is no handler fault");
  });

  test("close({ force: true }) does not wait for gracefulTimeout", async () => {
    const started = gate();
    const server = await serve(
      { hostname: "127.0.0.1", gracefulTimeout: 3_600_000, onError: () => {} },
      async (conn) => {
        started.open();
        await conn.readLine();
      },
    );
    await using conn = await connect({ port: server.addr.port });
    await started.promise;
    const graceful = server.close();
    await server.close({ force: true });
    await graceful;
    assert.equal(await conn.readLine(), null);
  });

  test("a signal starts the shutdown; await using closes too", async () => {
    const controller = new AbortController();
    const server = await serveLines({ hostname: "127.0.0.1", signal: controller.signal }, uppercase);
    controller.abort();
    await server.finished;
    await assert.rejects(connect({ port: server.addr.port }), { code: "ECONNREFUSED" });
    let port: number;
    {
      await using disposable = await serveLines({ hostname: "127.0.0.1" }, uppercase);
      port = disposable.addr.port;
    }
    await assert.rejects(connect({ port }), { code: "ECONNREFUSED" });
  });

  test("LineClient pipelines requests and matches replies in order", async () => {
    const release = gate();
    const server = await serveLines({ hostname: "127.0.0.1" }, async (line) => {
      if (line === "first") await release.promise;
      return line.toUpperCase();
    });
    await using client = await LineClient.connect({ port: server.addr.port });
    const replies = ["first", "second", "third"].map((line) => client.request(line));
    assert.equal(client.inFlight, 3);
    release.open();
    assert.deepEqual(await Promise.all(replies), ["FIRST", "SECOND", "THIRD"]);
    const many = Array.from({ length: 1000 }, (_, i) => client.request(`n${i}`));
    assert.deepEqual(await Promise.all(many), Array.from({ length: 1000 }, (_, i) => `N${i}`));
    client.close();
    await server.close();
  });

  test("LineClient: a timed-out request does not steal the next request's reply", async () => {
    const release = gate();
    const server = await serveLines({ hostname: "127.0.0.1" }, async (line) => {
      if (line === "slow") await release.promise;
      return line.toUpperCase();
    });
    await using client = await LineClient.connect({ port: server.addr.port });
    await assert.rejects(client.request("slow", { timeout: 50 }), {
      code: "ETIMEDOUT",
      message: `Cannot request from 127.0.0.1:${server.addr.port}: timed out after 50 ms`,
    });
    const next = client.request("next");
    release.open();
    assert.equal(await next, "NEXT");
    const controller = new AbortController();
    const aborted = client.request("x", { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { code: "EABORTED" });
    assert.equal(await client.request("after"), "AFTER");
    client.close();
    await assert.rejects(client.request("closed"), { code: "ECLOSED" });
    await server.close();
  });

  test("serveLines: replies still on their way when the client's end arrives all reach it, then the end", async () => {
    const server = await serveLines({ hostname: "127.0.0.1" }, uppercase);
    await using conn = await connect({ port: server.addr.port });
    // About 2 MB of replies, more than the socket buffers hold: the server
    // sees the client's end while most of them are still being sent.
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} `.padEnd(100, "x"));
    const sending = conn.write(lines.join("\n") + "\nlast line, no newline").then(() => conn.closeWrite());
    const received: string[] = [];
    for (let line = await conn.readLine(); line !== null; line = await conn.readLine()) received.push(line);
    await sending;
    assert.deepEqual(received, [...lines.map((line) => line.toUpperCase()), "LAST LINE, NO NEWLINE"]);
    await server.close();
    assert.deepEqual({ ...server.stats, bytesIn: 0, bytesOut: 0 }, {
      open: 0,
      accepted: 1,
      rejected: 0,
      bytesIn: 0,
      bytesOut: 0,
    });
    assert.equal(server.stats.bytesIn, 20_000 * 101 + 21);
    assert.equal(server.stats.bytesOut, 20_000 * 101 + 22);
  });

  test("shutdown lets go of every idle connection, whichever closed before", async () => {
    const ended = counter(3);
    const server = await serve({ hostname: "127.0.0.1" }, async (conn, { signal }) => {
      await answerLines(conn, { respond: uppercase, signal });
      if (!signal.aborted) ended.hit();
    });
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => connect({ port: server.addr.port })));
    for (const [i, conn] of clients.entries()) assert.equal(await roundTrip(conn, `c${i}`), `C${i}`);
    // The first, a middle and the last connection served end first.
    for (const i of [0, 2, 5]) {
      await clients[i].closeWrite();
      assert.equal(await clients[i].readLine(), null);
      clients[i].close();
    }
    await ended.reached;
    // The server lets go of a connection once its handler's promise settles.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(server.stats.open, 3);
    await server.close();
    for (const i of [1, 3, 4]) {
      assert.equal(await clients[i].readLine(), null);
      clients[i].close();
    }
    assert.equal(server.stats.open, 0);
  });

  test("serve() on a listener serves a connection accepted before it started", async () => {
    await using listener = await listen({ hostname: "127.0.0.1" });
    await using conn = await connect({ port: listener.addr.port });
    await conn.write("early\n");
    const server = await serveLines({ listener }, uppercase);
    assert.equal(await conn.readLine(), "EARLY");
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    await server.close();
  });

  test("accepted connections report their local address, on a wildcard listener too", async () => {
    for (const hostname of ["127.0.0.1", "0.0.0.0"]) {
      const seen: Conn[] = [];
      const server = await serve({ hostname }, (conn) => {
        seen.push(conn);
      });
      const client = await connect({ hostname: "127.0.0.1", port: server.addr.port });
      assert.equal(await client.readLine(), null);
      client.close();
      await server.close();
      assert.deepEqual(seen[0].localAddr, { transport: "tcp", hostname: "127.0.0.1", port: server.addr.port });
      assert.deepEqual(seen[0].remoteAddr, client.localAddr);
    }
  });
});

// A server with one request in hand and the next one in its receive buffer
// shuts down: the second still gets its reply. With `stall`, the event loop
// is kept busy past the first reply, once the server has begun to look for
// what else arrived: a deadline in time (a zero-delay timer) would then pass
// before the bytes are read.
async function shutdownWithRequestQueued(stall: boolean): Promise<void> {
  const received = gate();
  const release = gate();
  const server = await serveLines({ hostname: "127.0.0.1" }, async (line) => {
    if (line === "first") {
      received.open();
      await release.promise;
    }
    return line.toUpperCase();
  });
  await using conn = await connect({ port: server.addr.port });
  await conn.write("first\n");
  await received.promise;
  // On loopback a write that resolved is in the server's receive buffer.
  await conn.write("second\n");
  const closing = server.close();
  release.open();
  if (stall) {
    setImmediate(() => {
      const until = performance.now() + 5;
      while (performance.now() < until);
    });
  }
  assert.equal(await conn.readLine(), "FIRST");
  assert.equal(await conn.readLine(), "SECOND");
  // Still answered after the shutdown began, until the client ends its stream.
  await conn.write("third\n");
  assert.equal(await conn.readLine(), "THIRD");
  await conn.closeWrite();
  assert.equal(await conn.readLine(), null);
  await closing;
}

// "ok", a line over the limit and one more, in one write: the reply to "ok", then the documented error reply, then
// the end of the connection.
async function overLongAfterOk(respond: (line: string) => string | Promise<string>): Promise<void> {
  const server = await serveLines({ hostname: "127.0.0.1", maxLineBytes: 1000 }, respond);
  await using conn = await connect({ port: server.addr.port });
  await conn.write("ok\n" + "y".repeat(5000) + "\nnever answered\n");
  assert.equal(await conn.readLine(), "OK");
  assert.equal(await conn.readLine(), "ERROR line too long (over 1000 bytes)");
  assert.equal(await conn.readLine(), null);
  await server.close();
}
