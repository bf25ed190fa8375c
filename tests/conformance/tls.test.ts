// The TLS conformance suite: doorway against itself and against peers it did not write (openssl s_server and
// s_client, Python's ssl module), with certificates made at test time. This one file runs unchanged under
// `deno test`, `bun test` and `node --import tsx --test`; where a runtime cannot do something, its test asserts
// the EUNSUPPORTED rejection instead, so that every runtime runs the same tests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Conn,
  connect,
  type ConnectOptions,
  listen,
  serve,
  serveLines,
  SocketError,
  uppercase,
} from "../../mod.ts";
import { testCerts } from "../_certs.ts";
import { rejectsWithCode } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";
import {
  codeOf,
  errorLog,
  explain,
  runPythonClient,
  startOpensslClient,
  startOpensslServer,
  startPythonClient,
  startPythonServer,
} from "../_tls_peers.ts";

const certs = testCerts();
// Deno's TLS API tells neither the protocol version nor the peer's certificate, cannot ask a client for its
// certificate, and cannot turn verification off for one connection.
const DENO = CURRENT_RUNTIME === "deno";
const PROTOCOL = DENO ? undefined : "TLSv1.3";
const SERVER_TLS = { cert: certs.server.cert, key: certs.server.key };
const TRUST = { caCerts: [certs.ca.cert] };
const CLIENT_CERT = { cert: certs.client.cert, key: certs.client.key };

/**
 * A doorway uppercase server over TLS on 127.0.0.1, with its port and its failed handshakes kept. `await using`
 * closes it however the test ends.
 */
async function startTlsServer(tls: Partial<typeof SERVER_TLS> & Record<string, unknown> = {}) {
  const log = errorLog();
  const server = await serveLines(
    { hostname: "127.0.0.1", port: 0, tls: { ...SERVER_TLS, ...tls }, onError: log.onError },
    uppercase,
  );
  return Object.assign(server, { log, port: server.addr.port });
}

/**
 * Connects and makes one round trip, expecting a failure: at connect, or, for a refusal a TLS 1.3 server sends
 * after the client's handshake is done (of its certificate), at the first read. Returns that failure.
 */
async function refusal(options: ConnectOptions): Promise<SocketError> {
  let conn: Conn | undefined;
  let reply: string | null;
  try {
    conn = await connect(options);
    await conn.write("hello\n");
    reply = await conn.readLine();
  } catch (err) {
    assert.ok(err instanceof SocketError, `expected a SocketError, got ${err}`);
    return err;
  } finally {
    conn?.close();
  }
  assert.fail(`expected a refusal, got ${JSON.stringify(reply)}`);
}

/**
 * Asserts a connect failure's message: `Cannot connect to ADDRESS: REASON`, where a runtime may add what it knows
 * in parentheses (Deno: `TLS handshake failed (connection closed by peer)`).
 */
function assertReason(err: SocketError, address: string, reason: string): void {
  const expected = `Cannot connect to ${address}: ${reason}`;
  if (err.message !== expected) assert.ok(err.message.startsWith(`${expected} (`), `${err.message} is not ${expected}`);
}

describe(`tls on ${CURRENT_RUNTIME}`, () => {
  test("doorway on both ends: the textbook uppercase protocol over TLS", async () => {
    await using server = await startTlsServer();
    const { log, port } = server;
    const conn = await connect({ hostname: "localhost", port, tls: TRUST });
    assert.equal(await conn.write("hello, tls\n"), 11);
    assert.equal(await conn.readLine(), "HELLO, TLS");
    await conn.write("café ß\r\n");
    assert.equal(await conn.readLine(), "CAFÉ SS");
    assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port });
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    conn.close();
    await server.close();
    assert.deepEqual(log.pending, []);
  });

  test("an IP address is verified against the certificate's IP names, 127.0.0.1 and ::1", async () => {
    await using server = await startTlsServer();
    const { log, port } = server;
    // No hostname: 127.0.0.1, which is also the name verified.
    await using v4 = await connect({ port, tls: TRUST });
    await v4.write("by ip\n");
    assert.equal(await v4.readLine(), "BY IP");
    v4.close();
    await server.close();
    await using six = await serveLines({ hostname: "::1", port: 0, tls: SERVER_TLS, onError: log.onError }, uppercase);
    await using v6 = await connect({ hostname: "::1", port: six.addr.port, tls: TRUST });
    await v6.write("by ipv6\n");
    assert.equal(await v6.readLine(), "BY IPV6");
    v6.close();
    await six.close();
    assert.deepEqual(log.pending, []);
  });

  test("conn.tls: the protocol, the ALPN protocol agreed and the peer's certificate, on both ends", async () => {
    const log = errorLog();
    await using listener = await listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { ...SERVER_TLS, alpnProtocols: ["h2", "doorway/1"] },
      onError: log.onError,
    });
    const accepting = listener.accept();
    await using client = await connect({
      hostname: "localhost",
      port: listener.addr.port,
      tls: { ...TRUST, alpnProtocols: ["doorway/1", "http/1.1"] },
    });
    await using conn = await accepting;
    assert.deepEqual(client.tls, {
      protocol: PROTOCOL,
      alpnProtocol: "doorway/1",
      peerCertificate: DENO ? undefined : certs.server.der,
    });
    // The client sent no certificate.
    assert.deepEqual(conn.tls, { protocol: PROTOCOL, alpnProtocol: "doorway/1", peerCertificate: undefined });
    await client.write("over tls\n");
    assert.equal(await conn.readLine(), "over tls");
    // And a plaintext connection has none.
    await using plainListener = await listen({ hostname: "127.0.0.1", port: 0 });
    await using plain = await connect({ port: plainListener.addr.port });
    await using plainServed = await plainListener.accept();
    assert.equal(plain.tls, undefined);
    assert.equal(plainServed.tls, undefined);
    assert.deepEqual(log.pending, []);
  });

  test("no ALPN protocol in common: ETLSHANDSHAKE for the client, and onError hears it", async () => {
    await using server = await startTlsServer({ alpnProtocols: ["h2"] });
    const { log, port } = server;
    const err = await rejectsWithCode(
      connect({ hostname: "localhost", port, tls: { ...TRUST, alpnProtocols: ["doorway/1"] } }),
      "ETLSHANDSHAKE",
    );
    assertReason(err, `localhost:${port}`, "TLS handshake failed");
    const reported = await log.next();
    assert.equal(codeOf(reported), "ETLSHANDSHAKE", explain(reported));
    await server.close();
  });

  test("doorway client to openssl s_server: lines answered, ALPN agreed", async () => {
    const peer = await startOpensslServer({ cert: certs.server, alpn: ["h2", "doorway/1"] });
    try {
      await using conn = await connect({
        hostname: "localhost",
        port: peer.port,
        tls: { ...TRUST, alpnProtocols: ["doorway/1"] },
      });
      assert.equal(conn.tls?.alpnProtocol, "doorway/1");
      assert.equal(conn.tls?.protocol, PROTOCOL);
      assert.deepEqual(conn.tls?.peerCertificate, DENO ? undefined : certs.server.der);
      // s_server -rev answers each line reversed.
      await conn.write("hello, openssl\n");
      assert.equal(await conn.readLine(), "lssnepo ,olleh");
    } finally {
      await peer.stop();
    }
  });

  test("doorway client to openssl s_server with no ALPN protocol in common: ETLSHANDSHAKE", async () => {
    const peer = await startOpensslServer({ cert: certs.server, alpn: ["h2"] });
    try {
      const err = await rejectsWithCode(
        connect({ hostname: "localhost", port: peer.port, tls: { ...TRUST, alpnProtocols: ["doorway/1"] } }),
        "ETLSHANDSHAKE",
      );
      assertReason(err, `localhost:${peer.port}`, "TLS handshake failed");
    } finally {
      await peer.stop();
    }
  });

  test("doorway client to a Python ssl server", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.server });
    try {
      await using conn = await connect({ hostname: "localhost", port: peer.port, tls: TRUST });
      await conn.write("hello from doorway, café\n");
      assert.equal(await conn.readLine(), "HELLO FROM DOORWAY, CAFÉ");
      assert.equal(await peer.nextLine(), "tls TLSv1.3 - -");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("openssl s_client to a doorway server", async () => {
    await using server = await startTlsServer({ alpnProtocols: ["doorway/1"] });
    const { log, port } = server;
    const client = startOpensslClient({ port, ca: certs.ca, alpn: ["doorway/1"] });
    try {
      client.write("hello from openssl\n");
      assert.equal(await client.nextLine(), "HELLO FROM OPENSSL", client.stderr());
    } finally {
      client.endInput();
    }
    assert.equal(await client.exited, 0, client.stderr());
    await server.close();
    assert.deepEqual(log.pending, []);
  });

  test("a Python ssl client to a doorway server", async () => {
    await using server = await startTlsServer({ alpnProtocols: ["doorway/1"] });
    const { log, port } = server;
    const result = await runPythonClient({
      port,
      tls: true,
      ca: certs.ca,
      alpn: ["doorway/1"],
      send: ["hello from python", "ß"],
    });
    assert.deepEqual(result.lines, ["tls TLSv1.3 doorway/1 localhost", "reply HELLO FROM PYTHON", "reply SS"]);
    assert.equal(result.code, 0, result.stderr);
    await server.close();
    assert.deepEqual(log.pending, []);
  });

  test("mutual TLS, doorway on both ends: the server sees the client's certificate", async () => {
    const options = { hostname: "127.0.0.1", port: 0, tls: { ...SERVER_TLS, clientCaCerts: [certs.ca.cert] } };
    if (DENO) {
      await rejectsWithCode(listen(options), "EUNSUPPORTED");
      return;
    }
    await using listener = await listen(options);
    const accepting = listener.accept();
    await using client = await connect({
      hostname: "localhost",
      port: listener.addr.port,
      tls: { ...TRUST, ...CLIENT_CERT },
    });
    await using conn = await accepting;
    assert.deepEqual(conn.tls?.peerCertificate, certs.client.der);
    assert.deepEqual(client.tls?.peerCertificate, certs.server.der);
    await client.write("mutual\n");
    assert.equal(await conn.readLine(), "mutual");
  });

  test("mutual TLS: a Python server that requires a client certificate sees doorway's", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.server, clientCa: certs.ca });
    try {
      await using conn = await connect({ hostname: "localhost", port: peer.port, tls: { ...TRUST, ...CLIENT_CERT } });
      await conn.write("with my certificate\n");
      assert.equal(await conn.readLine(), "WITH MY CERTIFICATE");
      assert.equal(await peer.nextLine(), "tls TLSv1.3 - doorway test client");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("mutual TLS: no client certificate for a Python server that requires one: ETLSHANDSHAKE", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.server, clientCa: certs.ca });
    try {
      const err = await refusal({ hostname: "localhost", port: peer.port, tls: TRUST });
      assert.equal(err.code, "ETLSHANDSHAKE", err.message);
      assert.equal(await peer.nextLine(), "handshake-error PEER_DID_NOT_RETURN_A_CERTIFICATE");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("mutual TLS: a doorway server refuses a client with no certificate, onError hears it, and goes on", async () => {
    const log = errorLog();
    const options = {
      hostname: "127.0.0.1",
      port: 0,
      tls: { ...SERVER_TLS, clientCaCerts: [certs.ca.cert] },
      onError: log.onError,
    };
    if (DENO) {
      await rejectsWithCode(listen(options), "EUNSUPPORTED");
      return;
    }
    await using listener = await listen(options);
    const port = listener.addr.port;
    const accepting = listener.accept();
    const err = await refusal({ hostname: "localhost", port, tls: TRUST });
    assert.equal(err.code, "ETLSHANDSHAKE", err.message);
    const reported = await log.next();
    assert.equal(codeOf(reported), "ETLSHANDSHAKE", explain(reported));
    // The refused client never reached accept(): the next connection is a good one.
    await using good = await connect({ hostname: "localhost", port, tls: { ...TRUST, ...CLIENT_CERT } });
    await using conn = await accepting;
    await good.write("good client\n");
    assert.equal(await conn.readLine(), "good client");
    assert.deepEqual(log.pending, []);
  });

  test("a self-signed server certificate: ECERTUNTRUSTED", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.selfSigned });
    try {
      const err = await rejectsWithCode(
        connect({ hostname: "localhost", port: peer.port, tls: TRUST }),
        "ECERTUNTRUSTED",
      );
      assertReason(err, `localhost:${peer.port}`, "certificate not trusted");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("a certificate from a CA the client does not trust: ECERTUNTRUSTED", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.server });
    try {
      const err = await rejectsWithCode(
        connect({ hostname: "localhost", port: peer.port, tls: { caCerts: [certs.otherCa.cert] } }),
        "ECERTUNTRUSTED",
      );
      assertReason(err, `localhost:${peer.port}`, "certificate not trusted");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("tls: true trusts the default roots only: a private CA's certificate is ECERTUNTRUSTED", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.server });
    try {
      await rejectsWithCode(connect({ hostname: "localhost", port: peer.port, tls: true }), "ECERTUNTRUSTED");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("a certificate for another name: ECERTNAME", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.otherName });
    try {
      const err = await rejectsWithCode(connect({ hostname: "localhost", port: peer.port, tls: TRUST }), "ECERTNAME");
      assertReason(err, `localhost:${peer.port}`, "certificate not valid for this name");
      // The name asked for is what counts: other.example is fine.
      await using conn = await connect({
        hostname: "localhost",
        port: peer.port,
        tls: { ...TRUST, serverName: "other.example" },
      });
      await conn.write("other\n");
      assert.equal(await conn.readLine(), "OTHER");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("an expired certificate: ECERTEXPIRED", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.expired });
    try {
      const err = await rejectsWithCode(
        connect({ hostname: "localhost", port: peer.port, tls: TRUST }),
        "ECERTEXPIRED",
      );
      assertReason(err, `localhost:${peer.port}`, "certificate expired or not yet valid");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("a plaintext server that answers the ClientHello with a line: ENOTTLS", async () => {
    const peer = await startPythonServer({ mode: "plaintext-reply" });
    try {
      const err = await rejectsWithCode(connect({ hostname: "localhost", port: peer.port, tls: TRUST }), "ENOTTLS");
      assertReason(err, `localhost:${peer.port}`, "peer does not speak TLS");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("a server that closes during the handshake: ETLSHANDSHAKE", async () => {
    const peer = await startPythonServer({ mode: "close-in-handshake" });
    try {
      const err = await rejectsWithCode(
        connect({ hostname: "localhost", port: peer.port, tls: TRUST }),
        "ETLSHANDSHAKE",
      );
      assertReason(err, `localhost:${peer.port}`, "TLS handshake failed");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("a connect timeout covers the handshake: ETIMEDOUT when the server never answers", async () => {
    // A plaintext listener that accepts and never reads: the ClientHello goes unanswered.
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const accepting = listener.accept();
    const err = await rejectsWithCode(
      connect({ hostname: "localhost", port, tls: TRUST, timeout: 300 }),
      "ETIMEDOUT",
    );
    assert.equal(err.message, `Cannot connect to localhost:${port}: timed out after 300 ms`);
    (await accepting).close();
  });

  test("a plaintext client to a TLS listener: onError hears ENOTTLS or ETLSHANDSHAKE, accept() never", async () => {
    const log = errorLog();
    await using listener = await listen({ hostname: "127.0.0.1", port: 0, tls: SERVER_TLS, onError: log.onError });
    const port = listener.addr.port;
    const accepting = listener.accept();
    await using plain = await connect({ port });
    await plain.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const err = await log.next();
    assert.ok(["ENOTTLS", "ETLSHANDSHAKE"].includes(codeOf(err)), explain(err));
    plain.close();
    // A good client on the same listener is the first one accepted.
    await using good = await connect({ hostname: "localhost", port, tls: TRUST });
    await using conn = await accepting;
    assert.equal(conn.tls?.protocol, PROTOCOL);
    await good.write("still served\n");
    assert.equal(await conn.readLine(), "still served");
    assert.deepEqual(log.pending, []);
  });

  test("a stalled handshake does not hold up another client", async () => {
    await using server = await startTlsServer();
    const { port } = server;
    // Connected, and silent: its handshake never starts.
    const stalled = await connect({ port });
    try {
      await using good = await connect({ hostname: "localhost", port, tls: TRUST });
      await good.write("not held up\n");
      assert.equal(await good.readLine(), "NOT HELD UP");
    } finally {
      stalled.close();
    }
    // What the stalled client's departure is reported as, if at all, is not asserted: it is no TLS fault.
    await server.close();
  });

  test("handshakeTimeout: a silent client is dropped, and onError hears ETIMEDOUT", async () => {
    await using server = await startTlsServer({ handshakeTimeout: 200 });
    const { log, port } = server;
    await using silent = await connect({ port });
    const err = await log.next();
    assert.equal(codeOf(err), "ETIMEDOUT", explain(err));
    // The server closed the socket. Deno keeps a TLS socket whose handshake it gave up open until the peer sends
    // something (README, runtime table): the client's next byte brings the close out.
    if (DENO) {
      // The handshake it gave up on still answers: a fatal decode_error alert, then the close.
      await silent.write("x");
      assert.equal(await silent.readLine({ timeout: 10_000 }), "\x15\x03\x03\x00\x02\x02\x32");
    }
    assert.equal(await silent.readLine({ timeout: 10_000 }), null);
    await server.close();
    assert.deepEqual(log.pending, []);
  });

  test("a client that resets right after its handshake: the connection ends, no read waits for ever", async () => {
    // How it ended: the handler's read, or a handshake the reset cut short (the server's session tickets, which
    // follow the client's Finished, cannot go out).
    let settle!: (how: string) => void;
    const settled = new Promise<string>((resolve) => settle = resolve);
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: SERVER_TLS,
      onError: (err) => settle(`handshake ${codeOf(err)}`),
    }, async (conn) => {
      try {
        settle(await conn.readLine({ timeout: 10_000 }) ?? "end of stream");
      } catch (err) {
        settle(codeOf(err));
      }
    });
    const result = await runPythonClient({ port: server.addr.port, tls: true, ca: certs.ca, reset: true });
    assert.equal(result.code, 0, result.stderr);
    const how = await settled;
    // Never ETIMEDOUT. Node's TLS socket may report the reset as an end of stream, with nothing after it
    // (runtime/node/conn.ts).
    const expected = [
      "ECONNRESET",
      "handshake ETLSHANDSHAKE",
      ...(CURRENT_RUNTIME === "node" ? ["end of stream"] : []),
    ];
    assert.ok(expected.includes(how), how);
    await server.close();
    assert.equal(server.stats.open, 0);
  });

  test("closing a TLS listener closes a handshake under way, long before handshakeTimeout", async () => {
    await using server = await startTlsServer({ handshakeTimeout: 60_000 });
    const client = startPythonClient({ port: server.port, stallHandshake: true });
    // The server answered the ClientHello: the handshake is under way, waiting for the client's Finished.
    assert.equal(await client.nextLine(), "server answered", client.stderr());
    await server.close();
    // Deno keeps the socket of a handshake it gave up until the client sends something (README, runtime table).
    if (DENO) client.write("poke\n");
    assert.equal(await client.nextLine(), "closed", client.stderr());
    client.endInput();
    assert.equal(await client.exited, 0, client.stderr());
  });

  test("closing a TLS connection lets its socket go, though the peer never answers the close_notify", async () => {
    // 1 MiB and a line: more than the kernel takes at once, so the close comes after a write that had to wait.
    const reply = ("x".repeat(1023) + "\n").repeat(1024) + "bye\n";
    await using server = await serve({ hostname: "127.0.0.1", port: 0, tls: SERVER_TLS }, async (conn) => {
      await conn.write(reply);
      conn.close();
    });
    const result = await runPythonClient({ port: server.addr.port, ca: certs.ca, silentClose: true });
    // Every byte, then the server's FIN: it did not keep the socket for a close_notify of the peer's. Deno sends its
    // own close_notify first; Node and Bun close with none.
    assert.deepEqual(result.lines, [
      "read 1048580 bytes, the last line bye",
      DENO ? "fin" : "fin without close_notify",
    ]);
    assert.equal(result.code, 0, result.stderr);
    await server.close();
  });

  test("verify: false accepts a self-signed certificate for any name (Deno: EUNSUPPORTED)", async () => {
    const peer = await startPythonServer({ tls: true, cert: certs.selfSigned });
    try {
      const options = { hostname: "127.0.0.1", port: peer.port, tls: { verify: false, serverName: "other.example" } };
      if (DENO) {
        await rejectsWithCode(connect(options), "EUNSUPPORTED");
        return;
      }
      await using conn = await connect(options);
      await conn.write("unverified\n");
      assert.equal(await conn.readLine(), "UNVERIFIED");
      assert.deepEqual(conn.tls?.peerCertificate, certs.selfSigned.der);
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });
});
