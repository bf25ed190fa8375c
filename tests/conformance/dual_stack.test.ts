// The dual-stack conformance suite: a TCP listener or UDP socket on `::` serves IPv4 peers too (unless
// ipv6Only), and reports them as plain IPv4, never as `::ffff:127.0.0.1`; and connecting to `localhost` reaches a
// server on whichever loopback address the name resolves to. This one file runs unchanged under `deno test`
// (with and without --unstable-net), `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { describe, test } from "node:test";
import { bind, connect, listen, serveLines, SocketError, uppercase } from "../../mod.ts";
import { rejectsWithCode } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";

const text = new TextDecoder();
// Deno cannot choose whether a socket on :: takes IPv4 too.
const DENO = CURRENT_RUNTIME === "deno";

describe(`dual stack on ${CURRENT_RUNTIME}`, () => {
  test("a :: listener serves 127.0.0.1 and ::1 clients", async () => {
    await using server = await serveLines({ hostname: "::", port: 0 }, uppercase);
    const port = server.addr.port;
    assert.deepEqual(server.addr, { transport: "tcp", hostname: "::", port });
    for (const hostname of ["127.0.0.1", "::1"]) {
      await using conn = await connect({ hostname, port });
      assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname, port });
      await conn.write(`hello over ${hostname}\n`);
      assert.equal(await conn.readLine(), `HELLO OVER ${hostname}`);
    }
    await server.close();
  });

  test("an IPv4 client of a :: listener: both ends' addresses are plain IPv4", async () => {
    await using listener = await listen({ hostname: "::", port: 0 });
    const port = listener.addr.port;
    const accepting = listener.accept();
    await using client = await connect({ hostname: "127.0.0.1", port });
    await using served = await accepting;
    assert.deepEqual(served.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: client.localAddr.port });
    assert.deepEqual(served.localAddr, { transport: "tcp", hostname: "127.0.0.1", port });
    assert.deepEqual(client.localAddr.hostname, "127.0.0.1");
    // An IPv6 client is reported as IPv6.
    const accepting6 = listener.accept();
    await using client6 = await connect({ hostname: "::1", port });
    await using served6 = await accepting6;
    assert.deepEqual(served6.remoteAddr, { transport: "tcp", hostname: "::1", port: client6.localAddr.port });
    assert.deepEqual(served6.localAddr, { transport: "tcp", hostname: "::1", port });
  });

  test("ipv6Only: true refuses 127.0.0.1 with ECONNREFUSED and serves ::1; false serves both", async () => {
    if (DENO) {
      // Deno cannot set IPV6_V6ONLY; it takes the OS's setting, which on Linux is dual stack (bindv6only 0).
      await rejectsWithCode(serveLines({ hostname: "::", port: 0, ipv6Only: true }, uppercase), "EUNSUPPORTED");
    } else {
      await using only6 = await serveLines({ hostname: "::", port: 0, ipv6Only: true }, uppercase);
      const port = only6.addr.port;
      const err = await rejectsWithCode(connect({ hostname: "127.0.0.1", port }), "ECONNREFUSED");
      assert.equal(err.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
      await using conn6 = await connect({ hostname: "::1", port });
      await conn6.write("six\n");
      assert.equal(await conn6.readLine(), "SIX");
      conn6.close();
      await only6.close();
    }

    await using both = await serveLines({ hostname: "::", port: 0, ipv6Only: false }, uppercase);
    await using conn4 = await connect({ hostname: "127.0.0.1", port: both.addr.port });
    await conn4.write("four\n");
    assert.equal(await conn4.readLine(), "FOUR");
    conn4.close();
    await both.close();
  });

  test("UDP on :: sends to and receives from 127.0.0.1, reporting plain IPv4", async () => {
    await using dual = await bind({ hostname: "::" });
    await using v4 = await bind({ hostname: "127.0.0.1" });
    assert.deepEqual(dual.addr, { transport: "udp", hostname: "::", port: dual.addr.port });
    assert.equal(await dual.send("to ipv4", { hostname: "127.0.0.1", port: v4.addr.port }), 7);
    const there = await v4.receive({ timeout: 10_000 });
    assert.equal(text.decode(there.data), "to ipv4");
    assert.deepEqual(there.remote, { transport: "udp", hostname: "127.0.0.1", port: dual.addr.port });
    await v4.send("to dual", { hostname: "127.0.0.1", port: dual.addr.port });
    const back = await dual.receive({ timeout: 10_000 });
    assert.equal(text.decode(back.data), "to dual");
    assert.deepEqual(back.remote, { transport: "udp", hostname: "127.0.0.1", port: v4.addr.port });
    // A received datagram's remote is a target the reply reaches.
    await dual.send("reply", back.remote);
    assert.equal(text.decode((await v4.receive({ timeout: 10_000 })).data), "reply");
    // And IPv6 peers still as IPv6.
    await using v6 = await bind({ hostname: "::1" });
    await v6.send("from ipv6", { hostname: "::1", port: dual.addr.port });
    const six = await dual.receive({ timeout: 10_000 });
    assert.equal(text.decode(six.data), "from ipv6");
    assert.deepEqual(six.remote, { transport: "udp", hostname: "::1", port: v6.addr.port });
  });

  test("connect to localhost reaches a server on 127.0.0.1 only", async () => {
    await using server = await serveLines({ hostname: "127.0.0.1", port: 0 }, uppercase);
    await using conn = await connect({ hostname: "localhost", port: server.addr.port });
    assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: server.addr.port });
    await conn.write("v4 localhost\n");
    assert.equal(await conn.readLine(), "V4 LOCALHOST");
    conn.close();
    await server.close();
  });

  test("connect to localhost reaches a server on ::1 only if localhost has an IPv6 address (Bun: always)", async () => {
    // Whether it does is the hosts file's say (many list only 127.0.0.1): the answer is the resolver's. Bun's
    // connect tries ::1 for localhost whatever the hosts file says.
    const addresses = (await lookup("localhost", { all: true })).map((entry) => entry.address);
    await using server = await serveLines({ hostname: "::1", port: 0 }, uppercase);
    const port = server.addr.port;
    try {
      if (addresses.includes("::1") || CURRENT_RUNTIME === "bun") {
        await using conn = await connect({ hostname: "localhost", port });
        assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "::1", port });
        await conn.write("v6 localhost\n");
        assert.equal(await conn.readLine(), "V6 LOCALHOST");
      } else {
        const err = await rejectsWithCode(connect({ hostname: "localhost", port }), "ECONNREFUSED");
        assert.equal(err.message, `Cannot connect to localhost:${port}: connection refused`);
      }
    } finally {
      await server.close();
    }
  });

  test("connect to localhost reaches the same server with a timeout or a signal as without (Bun: not ::1)", async () => {
    await using server = await serveLines({ hostname: "::1", port: 0 }, uppercase);
    const port = server.addr.port;
    const outcome = async (options: { timeout?: number; signal?: AbortSignal }) => {
      try {
        (await connect({ hostname: "localhost", port, ...options })).close();
        return "connected";
      } catch (err) {
        return err instanceof SocketError ? err.code : String(err);
      }
    };
    try {
      const plain = await outcome({});
      // Bun's cancellable connect is node:net's, which follows the hosts file for localhost where Bun.connect()
      // tries ::1 whatever it says (README, runtime table).
      const cancellable = CURRENT_RUNTIME === "bun" && plain === "connected" ? "ECONNREFUSED" : plain;
      const addresses = (await lookup("localhost", { all: true })).map((entry) => entry.address);
      const expected = addresses.includes("::1") ? plain : cancellable;
      assert.equal(await outcome({ timeout: 10_000 }), expected);
      assert.equal(await outcome({ signal: new AbortController().signal }), expected);
    } finally {
      await server.close();
    }
  });
});
