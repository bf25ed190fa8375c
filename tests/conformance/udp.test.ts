// The UDP conformance suite: this one file runs unchanged under
// `deno test` (with and without --unstable-net), `bun test` and
// `node --import tsx --test`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bind,
  type DatagramHandler,
  type DatagramServer,
  type DatagramSocket,
  request,
  serveDatagrams,
  SocketError,
} from "../../udp/mod.ts";
import { pseudoRandomBytes, rejectsWithCode } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";

const LONG = { timeout: 120_000 };
const text = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

/** A datagram server for a test, recording what its handler threw. */
async function startServer(
  handler: DatagramHandler = (data) => text.decode(data).toUpperCase(),
  hostname = "127.0.0.1",
): Promise<DatagramServer & { errors: unknown[] }> {
  const errors: unknown[] = [];
  const server = await serveDatagrams({ hostname, port: 0, onError: (err) => errors.push(err) }, handler);
  return Object.assign(server, { errors });
}

/** A promise with its resolver, for handlers that wait on the test. */
function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(hostname = "127.0.0.1"): Promise<number> {
  const socket = await bind({ hostname });
  const { port } = socket.addr;
  socket.close();
  return port;
}

describe(`udp on ${CURRENT_RUNTIME}`, () => {
  test("round trip: a datagram goes out and comes back uppercased", async () => {
    const server = await startServer();
    await using socket = await bind({ hostname: "127.0.0.1" });
    assert.deepEqual(socket.addr, { transport: "udp", hostname: "127.0.0.1", port: socket.addr.port });
    assert.ok(socket.addr.port > 0);
    assert.equal(await socket.send("hello, café", server.addr), 12);
    const reply = await socket.receive({ timeout: 10_000 });
    assert.deepEqual(reply.data, bytes("HELLO, CAFÉ"));
    assert.equal(reply.data.constructor, Uint8Array);
    assert.deepEqual(reply.remote, { transport: "udp", hostname: "127.0.0.1", port: server.addr.port });
    await socket.send(Uint8Array.of(0x61, 0x00, 0x62), server.addr);
    assert.deepEqual((await socket.receive({ timeout: 10_000 })).data, Uint8Array.of(0x41, 0x00, 0x42));
    await server[Symbol.asyncDispose]();
    assert.deepEqual(server.errors, []);
  });

  test("an empty datagram is a datagram", async () => {
    await using socket = await bind({ hostname: "127.0.0.1" });
    assert.equal(await socket.send(new Uint8Array(0), socket.addr), 0);
    const { data, remote } = await socket.receive({ timeout: 10_000 });
    assert.equal(data.byteLength, 0);
    assert.equal(remote.port, socket.addr.port);
  });

  test("a 60,000-byte datagram arrives whole, both ways", async () => {
    const payload = pseudoRandomBytes(60_000, 3);
    const server = await startServer((data) => data);
    await using socket = await bind({ hostname: "127.0.0.1" });
    assert.equal(await socket.send(payload, server.addr), 60_000);
    const echo = await socket.receive({ timeout: 10_000 });
    assert.equal(echo.data.byteLength, 60_000);
    assert.deepEqual(echo.data, payload);
    await server[Symbol.asyncDispose]();
  });

  test("the largest datagram of each family arrives whole; one byte more is EMSGSIZE", async () => {
    for (const [hostname, max] of [["127.0.0.1", 65_507], ["::1", 65_527]] as const) {
      await using socket = await bind({ hostname });
      const payload = pseudoRandomBytes(max, 5);
      assert.equal(await socket.send(payload, socket.addr), max);
      assert.deepEqual((await socket.receive({ timeout: 10_000 })).data, payload);
      const where = hostname === "::1" ? `[::1]:${socket.addr.port}` : `127.0.0.1:${socket.addr.port}`;
      const err = await rejectsWithCode(socket.send(new Uint8Array(max + 1), socket.addr), "EMSGSIZE");
      assert.equal(
        err.message,
        `Cannot send to ${where}: message too long (${max + 1} bytes; one datagram holds at most ${max})`,
      );
    }
  });

  test("an oversized send fails with EMSGSIZE, sends nothing, and the socket carries on", async () => {
    await using socket = await bind({ hostname: "127.0.0.1" });
    const port = socket.addr.port;
    const err = await rejectsWithCode(socket.send(new Uint8Array(100_000), socket.addr), "EMSGSIZE");
    assert.equal(
      err.message,
      `Cannot send to 127.0.0.1:${port}: message too long (100000 bytes; one datagram holds at most 65507)`,
    );
    await rejectsWithCode(socket.send("x".repeat(70_000), socket.addr), "EMSGSIZE");
    await socket.send("after", socket.addr);
    // Nothing of the oversized sends arrived: the next datagram is this one.
    assert.equal(text.decode((await socket.receive({ timeout: 10_000 })).data), "after");
  });

  test("receive timeout: ETIMEDOUT, and a datagram that lands later is not lost", async () => {
    await using socket = await bind({ hostname: "127.0.0.1" });
    const err = await rejectsWithCode(socket.receive({ timeout: 200 }), "ETIMEDOUT");
    assert.equal(err.message, `Cannot receive on 127.0.0.1:${socket.addr.port}: timed out after 200 ms`);
    await socket.send("late", socket.addr);
    assert.equal(text.decode((await socket.receive()).data), "late");
  });

  test("receive signal: EABORTED, before and during the wait", async () => {
    await using socket = await bind({ hostname: "127.0.0.1" });
    await rejectsWithCode(
      socket.receive({ signal: AbortSignal.abort() }),
      "EABORTED",
      /^Cannot receive on 127\.0\.0\.1:\d+: aborted$/,
    );
    const controller = new AbortController();
    const pending = socket.receive({ signal: controller.signal });
    controller.abort();
    await rejectsWithCode(pending, "EABORTED", /^Cannot receive on 127\.0\.0\.1:\d+: aborted$/);
    await socket.send("next", socket.addr);
    assert.equal(text.decode((await socket.receive({ timeout: 10_000 })).data), "next");
  });

  test("request retries through a server that ignores the first two tries", async () => {
    let seen = 0;
    const server = await startServer((data) => (++seen <= 2 ? undefined : `reply to ${text.decode(data)} #${seen}`));
    await using socket = await bind({ hostname: "127.0.0.1" });
    const reply = await request("question", { socket, to: server.addr, timeout: 400, retries: 2 });
    assert.equal(text.decode(reply.data), "reply to question #3");
    assert.deepEqual(reply.remote, server.addr);
    assert.equal(seen, 3);
    await server[Symbol.asyncDispose]();
  });

  test("request fails with ETIMEDOUT after the last try", async () => {
    let seen = 0;
    const allSeen = deferred();
    const server = await startServer(() => {
      if (++seen === 3) allSeen.resolve();
    });
    await using socket = await bind({ hostname: "127.0.0.1" });
    const err = await rejectsWithCode(
      request("anyone?", { socket, to: server.addr, timeout: 100, retries: 2 }),
      "ETIMEDOUT",
    );
    assert.equal(err.message, `Cannot request from 127.0.0.1:${server.addr.port}: timed out after 3 tries of 100 ms`);
    await allSeen.promise;
    assert.equal(seen, 3);
    const once = await rejectsWithCode(
      request("x", { socket, to: server.addr, timeout: 100, retries: 0 }),
      "ETIMEDOUT",
    );
    assert.equal(once.message, `Cannot request from 127.0.0.1:${server.addr.port}: timed out after 100 ms`);
    await server[Symbol.asyncDispose]();
  });

  test("request signal: EABORTED, before and while waiting for the reply", async () => {
    const asked = deferred();
    const server = await startServer(() => asked.resolve());
    await using socket = await bind({ hostname: "127.0.0.1" });
    const where = `127.0.0.1:${server.addr.port}`;
    const before = await rejectsWithCode(
      request("x", { socket, to: server.addr, signal: AbortSignal.abort() }),
      "EABORTED",
    );
    assert.equal(before.message, `Cannot request from ${where}: aborted`);
    const controller = new AbortController();
    const pending = request("y", { socket, to: server.addr, signal: controller.signal });
    await asked.promise;
    controller.abort();
    const during = await rejectsWithCode(pending, "EABORTED");
    assert.equal(during.message, `Cannot request from ${where}: aborted`);
    await server[Symbol.asyncDispose]();
  });

  test("request ignores datagrams from any other address", async () => {
    await using impostor = await bind({ hostname: "127.0.0.1" });
    let seen = 0;
    const server = await startServer(async (_data, remote) => {
      // The first try goes unanswered, but an impostor answers in its place.
      if (++seen === 1) return void (await impostor.send("impostor", remote));
      return "real";
    });
    await using socket = await bind({ hostname: "127.0.0.1" });
    const reply = await request("who?", { socket, to: server.addr, timeout: 400, retries: 3 });
    assert.equal(text.decode(reply.data), "real");
    assert.equal(reply.remote.port, server.addr.port);
    assert.equal(seen, 2);
    await server[Symbol.asyncDispose]();
  });

  test("request's accept() skips a late reply from the right address", async () => {
    const server = await bind({ hostname: "127.0.0.1" });
    const serving = (async () => {
      for await (const { data, remote } of server) {
        await server.send("stale", remote);
        await server.send(`fresh ${text.decode(data)}`, remote);
      }
    })();
    await using socket = await bind({ hostname: "127.0.0.1" });
    const reply = await request("7", {
      socket,
      to: server.addr,
      accept: (reply) => text.decode(reply.data).startsWith("fresh "),
    });
    assert.equal(text.decode(reply.data), "fresh 7");
    server.close();
    await serving;
  });

  test("10,000 datagrams in a burst: some may drop, the socket survives", LONG, async () => {
    await using receiver = await bind({ hostname: "127.0.0.1" });
    await using sender = await bind({ hostname: "127.0.0.1" });
    await using prober = await bind({ hostname: "127.0.0.1" });
    const seqs = new Set<number>();
    const counting = (async () => {
      for await (const { data, remote } of receiver) {
        if (data.byteLength === 4) seqs.add(new DataView(data.buffer, data.byteOffset).getUint32(0));
        else if (text.decode(data) === "still there?") await receiver.send("yes", remote);
      }
    })();
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => {
      const datagram = new Uint8Array(4);
      new DataView(datagram.buffer).setUint32(0, i);
      return sender.send(datagram, receiver.addr);
    }));
    // The question may itself be dropped while the queue is full: request resends.
    for (const socket of [prober, sender]) {
      const answer = await request("still there?", { socket, to: receiver.addr, timeout: 200, retries: 50 });
      assert.equal(text.decode(answer.data), "yes");
    }
    receiver.close();
    await counting;
    assert.ok(seqs.size > 0, "no datagram of the burst arrived");
    assert.ok(seqs.size + receiver.dropped <= 10_000, `${seqs.size} received, ${receiver.dropped} dropped`);
    for (const seq of seqs) assert.ok(seq < 10_000, `bad datagram ${seq}`);
  });

  test("IPv6: bind, send and receive on ::1", async () => {
    const server = await startServer(undefined, "::1");
    assert.equal(server.addr.hostname, "::1");
    await using socket = await bind({ hostname: "::1" });
    assert.equal(socket.addr.hostname, "::1");
    const reply = await request("over ipv6", { socket, to: { hostname: "::1", port: server.addr.port } });
    assert.equal(text.decode(reply.data), "OVER IPV6");
    assert.deepEqual(reply.remote, { transport: "udp", hostname: "::1", port: server.addr.port });
    // The same address written longhand is the same address.
    const again = await request("longhand", { socket, to: { hostname: "0:0:0:0:0:0:0:1", port: server.addr.port } });
    assert.equal(text.decode(again.data), "LONGHAND");
    await server[Symbol.asyncDispose]();
  });

  test("sending to a closed port leaves the socket working", async () => {
    const server = await startServer();
    await using socket = await bind({ hostname: "127.0.0.1" });
    const port = await closedPort();
    for (let i = 0; i < 3; i++) {
      // The ICMP port unreachable this draws must not fail the next send.
      await socket.send("nobody home", { hostname: "127.0.0.1", port });
      await socket.send(`still here ${i}`, server.addr);
      const reply = await socket.receive({ timeout: 10_000 });
      assert.equal(text.decode(reply.data), `STILL HERE ${i}`);
    }
    await server[Symbol.asyncDispose]();
    assert.deepEqual(server.errors, []);
  });

  test("the server stays up: a handler that throws, a bad datagram, a reply too big, a client gone", async () => {
    const gone = deferred();
    const strict = new TextDecoder("utf-8", { fatal: true });
    const server = await startServer(async (data) => {
      const line = strict.decode(data);
      if (line === "throw") throw new Error("boom");
      if (line === "silent") return undefined;
      if (line === "huge") return new Uint8Array(70_000);
      // Replies only once the client has closed: the kernel answers the
      // reply with ICMP port unreachable.
      if (line === "gone") await gone.promise;
      return line.toUpperCase();
    });
    await using client = await bind({ hostname: "127.0.0.1" });
    const leaver = await bind({ hostname: "127.0.0.1" });
    // Handled in arrival order, and none of these draws a reply.
    for (const datagram of ["throw", "silent", "huge", Uint8Array.of(0xff, 0xfe)]) {
      await client.send(datagram, server.addr);
    }
    await leaver.send("gone", server.addr);
    leaver.close();
    gone.resolve();
    assert.equal(text.decode((await request("hello", { socket: client, to: server.addr })).data), "HELLO");
    assert.equal(text.decode((await request("again", { socket: client, to: server.addr })).data), "AGAIN");
    await server[Symbol.asyncDispose]();
    assert.equal(server.errors.length, 3, String(server.errors));
    assert.equal((server.errors[0] as Error).message, "boom");
    const tooBig = server.errors[1];
    assert.ok(tooBig instanceof SocketError);
    assert.equal(tooBig.code, "EMSGSIZE");
    assert.ok(server.errors[2] instanceof TypeError, String(server.errors[2]));
  });

  test("the server's replies: text of any length exact, too long or not bytes reported, in order", async () => {
    const server = await startServer((data) => {
      const line = text.decode(data);
      if (line === "long") return "é".repeat(30_000);
      if (line === "too long") return "é".repeat(40_000);
      if (line === "number") return 42 as unknown as string;
      if (line === "bytes") return Uint8Array.of(0, 1, 2);
      return line.toUpperCase();
    });
    await using client = await bind({ hostname: "127.0.0.1" });
    const ask = async (line: string) => (await request(line, { socket: client, to: server.addr })).data;
    // Replies of every size in turn: none shows through another.
    assert.deepEqual(await ask("long"), bytes("é".repeat(30_000)));
    assert.deepEqual(await ask("short"), bytes("SHORT"));
    assert.deepEqual(await ask(""), new Uint8Array(0));
    assert.deepEqual(await ask("bytes"), Uint8Array.of(0, 1, 2));
    assert.deepEqual(await ask("café"), bytes("CAFÉ"));
    // No reply for these two; the next datagram is answered.
    await client.send("too long", server.addr);
    await client.send("number", server.addr);
    assert.deepEqual(await ask("after"), bytes("AFTER"));
    await server[Symbol.asyncDispose]();
    assert.equal(server.errors.length, 2, String(server.errors));
    const [tooLong, notBytes] = server.errors;
    assert.ok(tooLong instanceof SocketError);
    assert.equal(tooLong.code, "EMSGSIZE");
    assert.equal(
      tooLong.message,
      `Cannot send to 127.0.0.1:${client.addr.port}: message too long (80000 bytes; one datagram holds at most 65507)`,
    );
    assert.ok(notBytes instanceof TypeError);
    assert.equal(notBytes.message, "A datagram handler must return a Uint8Array, a string or undefined, not number");
  });

  test("an onError that throws stops the server: finished rejects with what it threw", async () => {
    for (
      const handler of [() => {
        throw new Error("boom");
      }, () => Promise.reject(new Error("boom"))]
    ) {
      const seen: string[] = [];
      const server = await serveDatagrams({
        hostname: "127.0.0.1",
        port: 0,
        onError: (err) => {
          seen.push((err as Error).message);
          throw new Error("onError failed");
        },
      }, handler);
      const stopped = server.finished.then(() => "resolved", (err) => (err as Error).message);
      await using client = await bind({ hostname: "127.0.0.1" });
      await client.send("x", server.addr);
      assert.equal(await stopped, "onError failed");
      assert.deepEqual(seen, ["boom"]);
    }
  });

  test("the server stops on its signal, its last handler done", async () => {
    const controller = new AbortController();
    const inHandler = deferred();
    const release = deferred();
    let handled = 0;
    const server = await serveDatagrams({ hostname: "127.0.0.1", port: 0, signal: controller.signal }, async () => {
      inHandler.resolve();
      await release.promise;
      handled++;
      return "ok";
    });
    await using socket = await bind({ hostname: "127.0.0.1" });
    await socket.send("x", server.addr);
    await inHandler.promise;
    controller.abort();
    let finished = false;
    const stopped = server.finished.then(() => (finished = true));
    // The handler in hand is waited for, not abandoned.
    await Promise.resolve();
    assert.equal(finished, false);
    release.resolve();
    await stopped;
    assert.equal(handled, 1);
    server.close();
    await server[Symbol.asyncDispose]();
  });

  test("use after close fails with ECLOSED; close ends a pending receive", async () => {
    const socket = await bind({ hostname: "127.0.0.1" });
    const port = socket.addr.port;
    const pending = socket.receive();
    socket.close();
    await rejectsWithCode(
      pending,
      "ECLOSED",
      new RegExp(`^Cannot receive on 127\\.0\\.0\\.1:${port}: socket is closed$`),
    );
    await rejectsWithCode(socket.receive(), "ECLOSED");
    await rejectsWithCode(
      socket.send("late", { hostname: "127.0.0.1", port: 9 }),
      "ECLOSED",
      /^Cannot send to 127\.0\.0\.1:9: socket is closed$/,
    );
    socket.close();
    const controller = new AbortController();
    const other = await bind({ hostname: "127.0.0.1", signal: controller.signal });
    controller.abort();
    await rejectsWithCode(other.receive(), "ECLOSED");
  });

  test("async iteration yields every datagram and ends on close", async () => {
    const socket = await bind({ hostname: "127.0.0.1" });
    const two = deferred();
    const received: string[] = [];
    const iterated = (async () => {
      for await (const { data } of socket) {
        received.push(text.decode(data));
        if (received.length === 2) two.resolve();
      }
    })();
    await socket.send("one", socket.addr);
    await socket.send("two", socket.addr);
    await two.promise;
    socket.close();
    await iterated;
    assert.deepEqual(received, ["one", "two"]);

    // Closed while the iteration waits for a datagram that never comes.
    const idle = await bind({ hostname: "127.0.0.1" });
    let count = 0;
    const waiting = (async () => {
      for await (const _ of idle) count++;
    })();
    idle.close();
    await waiting;
    assert.equal(count, 0);
  });

  test("address in use, unknown names and bad arguments have the same codes and messages everywhere", async () => {
    await using socket: DatagramSocket = await bind({ hostname: "127.0.0.1" });
    const port = socket.addr.port;
    await rejectsWithCode(
      bind({ hostname: "127.0.0.1", port }),
      "EADDRINUSE",
      new RegExp(`^Cannot bind 127\\.0\\.0\\.1:${port}: address already in use$`),
    );
    await rejectsWithCode(bind({ hostname: "127.0.0.1", port: 70_000 }), "EINVAL", /port must be an integer/);
    await rejectsWithCode(
      bind({ hostname: "nosuch.invalid" }),
      "ENOTFOUND",
      /^Cannot bind nosuch\.invalid:0: host not found$/,
    );
    await rejectsWithCode(socket.send("x", { hostname: "127.0.0.1", port: 0 }), "EINVAL", /port must be from 1/);
    await rejectsWithCode(
      socket.send("x", { hostname: "nosuch.invalid", port: 9 }),
      "ENOTFOUND",
      /^Cannot send to nosuch\.invalid:9: host not found$/,
    );
    await rejectsWithCode(
      socket.send("x", { hostname: "::1", port: 9 }),
      "EINVAL",
      /^Cannot send to \[::1\]:9: an IPv4 socket cannot send to an IPv6 address$/,
    );
    await rejectsWithCode(socket.receive({ timeout: -1 }), "EINVAL", /timeout must be from 0/);
    const pending = socket.receive();
    await rejectsWithCode(socket.receive(), "EINVAL", /a receive is already pending/);
    socket.close();
    await rejectsWithCode(pending, "ECLOSED");
  });
});
