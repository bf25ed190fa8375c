// The STARTTLS conformance suite: a plaintext exchange, then TLS over the same socket, with doorway as the client
// (against Python's ssl module), as the server (against a Python client) and on both ends. The protocol: "before"
// is answered "BEFORE", "STARTTLS" is answered "OK STARTTLS" and TLS starts, then lines are answered uppercased.
// This one file runs unchanged under `deno test`, `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Conn, connect, listen, SocketError, startTls } from "../../mod.ts";
import { testCerts } from "../_certs.ts";
import { rejectsWithCode } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";
import { runPythonClient, startPythonServer } from "../_tls_peers.ts";

const certs = testCerts();
// Deno can start TLS as the client only, and tells neither the protocol version nor the peer's certificate.
const DENO = CURRENT_RUNTIME === "deno";
const PROTOCOL = DENO ? undefined : "TLSv1.3";
const SERVER_TLS = { cert: certs.server.cert, key: certs.server.key };
const TRUST = { caCerts: [certs.ca.cert] };

/** The client's plaintext half: a round trip, then STARTTLS, agreed to. */
async function plaintextHalf(conn: Conn): Promise<void> {
  await conn.write("before\n");
  assert.equal(await conn.readLine(), "BEFORE");
  await conn.write("STARTTLS\n");
  assert.equal(await conn.readLine(), "OK STARTTLS");
}

/**
 * The server's side of the protocol over a doorway connection: plaintext lines until STARTTLS, then TLS with
 * `startTls()`, then lines uppercased until the client ends. Resolves with how the upgrade went.
 */
async function serveStartTls(conn: Conn): Promise<{ upgraded?: Conn; error?: unknown }> {
  for (let line = await conn.readLine(); line !== null; line = await conn.readLine()) {
    if (line !== "STARTTLS") {
      await conn.write(line.toUpperCase() + "\n");
      continue;
    }
    await conn.write("OK STARTTLS\n");
    let upgraded: Conn;
    try {
      upgraded = await startTls(conn, { server: SERVER_TLS });
    } catch (error) {
      return { error };
    }
    for (let line = await upgraded.readLine(); line !== null; line = await upgraded.readLine()) {
      await upgraded.write(line.toUpperCase() + "\n");
    }
    upgraded.close();
    return { upgraded };
  }
  return {};
}

describe(`starttls on ${CURRENT_RUNTIME}`, () => {
  test("client side, against a Python server: plaintext before, TLS after, on the same socket", async () => {
    const peer = await startPythonServer({ mode: "starttls", cert: certs.server });
    try {
      const plain = await connect({ port: peer.port });
      assert.equal(await peer.nextLine(), "plain");
      await plaintextHalf(plain);
      assert.equal(plain.tls, undefined);
      // The name verified defaults to the host connected to: 127.0.0.1, one of the certificate's names.
      await using conn = await startTls(plain, TRUST);
      assert.equal(conn.tls?.protocol, PROTOCOL);
      assert.deepEqual(conn.tls?.peerCertificate, DENO ? undefined : certs.server.der);
      assert.deepEqual(conn.remoteAddr, plain.remoteAddr);
      await conn.write("after, café\n");
      assert.equal(await conn.readLine(), "AFTER, CAFÉ");
      assert.equal(await peer.nextLine(), "tls TLSv1.3 - -");
      // The plaintext connection is closed for use.
      await rejectsWithCode(plain.write("x\n"), "ECLOSED");
      await rejectsWithCode(plain.readLine(), "ECLOSED");
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("client side: serverName and timeout given, against a Python server", async () => {
    const peer = await startPythonServer({ mode: "starttls", cert: certs.server });
    try {
      await using plain = await connect({ port: peer.port });
      await plaintextHalf(plain);
      await using conn = await startTls(plain, { ...TRUST, serverName: "localhost", timeout: 10_000 });
      await conn.write("named\n");
      assert.equal(await conn.readLine(), "NAMED");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("client side: plaintext still unread when TLS would start: EPROTO, and the connection goes on", async () => {
    // The server sends "OK STARTTLS\nEXTRA plaintext\n" in one write, then stays in plaintext.
    const peer = await startPythonServer({ mode: "starttls-extra", cert: certs.server });
    try {
      await using conn = await connect({ port: peer.port });
      await conn.write("STARTTLS\n");
      assert.equal(await conn.readLine(), "OK STARTTLS");
      await rejectsWithCode(startTls(conn, TRUST), "EPROTO");
      assert.equal(conn.tls, undefined);
      // Nothing was lost, and the connection still works both ways in plaintext.
      assert.equal(await conn.readLine(), "EXTRA plaintext");
      await conn.write("still plain\n");
      assert.equal(await conn.readLine(), "STILL PLAIN");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("client side: an untrusted certificate after STARTTLS: ECERTUNTRUSTED", async () => {
    const peer = await startPythonServer({ mode: "starttls", cert: certs.selfSigned });
    try {
      await using plain = await connect({ port: peer.port });
      await plaintextHalf(plain);
      await rejectsWithCode(startTls(plain, TRUST), "ECERTUNTRUSTED");
    } finally {
      assert.equal(await peer.stop(), 0);
    }
  });

  test("server side, with a Python client (Deno: EUNSUPPORTED)", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const serving = listener.accept().then(async (conn) => {
      try {
        return await serveStartTls(conn);
      } finally {
        conn.close();
      }
    });
    const client = await runPythonClient({
      port: listener.addr.port,
      starttls: true,
      ca: certs.ca,
      send: ["after", "ß"],
    });
    const { upgraded, error } = await serving;
    if (DENO) {
      assert.equal(error instanceof SocketError && error.code, "EUNSUPPORTED", String(error));
      assert.equal(client.code, 1);
      return;
    }
    assert.equal(error, undefined);
    assert.equal(upgraded?.tls?.protocol, "TLSv1.3");
    assert.deepEqual(client.lines, ["tls TLSv1.3 - localhost", "reply AFTER", "reply SS"]);
    assert.equal(client.code, 0, client.stderr);
  });

  test("doorway on both ends of STARTTLS (Deno: EUNSUPPORTED on the server's side)", async () => {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const serving = listener.accept().then(async (conn) => {
      try {
        return await serveStartTls(conn);
      } finally {
        conn.close();
      }
    });
    const plain = await connect({ hostname: "localhost", port: listener.addr.port });
    await plaintextHalf(plain);
    if (DENO) {
      const { error } = await serving;
      assert.equal(error instanceof SocketError && error.code, "EUNSUPPORTED", String(error));
      // The server gave up and closed: the client's handshake fails.
      await assert.rejects(startTls(plain, TRUST), SocketError);
      plain.close();
      return;
    }
    await using conn = await startTls(plain, TRUST);
    assert.equal(conn.tls?.protocol, "TLSv1.3");
    await conn.write("both ends\n");
    assert.equal(await conn.readLine(), "BOTH ENDS");
    await conn.closeWrite();
    assert.equal(await conn.readLine(), null);
    const { upgraded, error } = await serving;
    assert.equal(error, undefined);
    assert.equal(upgraded?.tls?.protocol, "TLSv1.3");
  });
});
