// The Unix domain socket conformance suite: listen and connect by path, addresses, what happens to the socket
// file (stale, taken, a regular file, removed on close), Python peers on both ends, and TLS over a Unix socket.
// Each test works in a temporary directory of its own. This one file runs unchanged under `deno test`,
// `bun test` and `node --import tsx --test`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect, listen, serveLines, uppercase } from "../../mod.ts";
import { testCerts } from "../_certs.ts";
import { rejectsWithCode } from "../_helpers.ts";
import { CURRENT_RUNTIME } from "../_runtimes.ts";
import { errorLog, runPythonClient, startPythonServer } from "../_tls_peers.ts";

// Deno's TLS API cannot run over a Unix socket.
const DENO = CURRENT_RUNTIME === "deno";

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "doorway-unix-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether `path` is a socket file. */
function isSocket(path: string): boolean {
  return existsSync(path) && lstatSync(path).isSocket();
}

describe(`unix sockets on ${CURRENT_RUNTIME}`, () => {
  test("the textbook uppercase protocol over a Unix socket", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "upper.sock");
      const log = errorLog();
      await using server = await serveLines({ path, onError: log.onError }, uppercase);
      assert.deepEqual(server.addr, { transport: "unix", path });
      await using conn = await connect({ path });
      assert.equal(await conn.write("hello, unix\n"), 12);
      assert.equal(await conn.readLine(), "HELLO, UNIX");
      await conn.write("café ß\n");
      assert.equal(await conn.readLine(), "CAFÉ SS");
      await conn.closeWrite();
      assert.equal(await conn.readLine(), null);
      conn.close();
      await server.close();
      assert.deepEqual(log.pending, []);
    }));

  test("half-close: the server reads to the end, then replies", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "half.sock");
      await using listener = await listen({ path });
      const accepting = listener.accept();
      await using client = await connect({ path });
      await using served = await accepting;
      await client.write("last words\n");
      await client.closeWrite();
      assert.equal(await served.readLine(), "last words");
      assert.equal(await served.readLine(), null);
      await served.write("heard you\n");
      await served.closeWrite();
      assert.equal(await client.readLine(), "heard you");
      assert.equal(await client.readLine(), null);
    }));

  test("addresses: the listener and both ends report UnixAddr", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "addr.sock");
      await using listener = await listen({ path });
      assert.deepEqual(listener.addr, { transport: "unix", path });
      const accepting = listener.accept();
      await using client = await connect({ path });
      await using served = await accepting;
      assert.deepEqual(client.remoteAddr, { transport: "unix", path });
      assert.deepEqual(served.localAddr, { transport: "unix", path });
      // The client's socket has no name.
      assert.deepEqual(client.localAddr, { transport: "unix", path: "" });
      assert.deepEqual(served.remoteAddr, { transport: "unix", path: "" });
      assert.equal(client.tls, undefined);
    }));

  test("a stale socket file, left by a server that is gone, is replaced", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "stale.sock");
      // A socket bound, never listened on, and left behind by its process.
      execFileSync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]);
      assert.ok(isSocket(path));
      await using server = await serveLines({ path }, uppercase);
      await using conn = await connect({ path });
      await conn.write("fresh\n");
      assert.equal(await conn.readLine(), "FRESH");
      conn.close();
      await server.close();
    }));

  test("a path a server listens on: EADDRINUSE, and that server goes on", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "taken.sock");
      await using server = await serveLines({ path }, uppercase);
      const err = await rejectsWithCode(listen({ path }), "EADDRINUSE");
      assert.equal(err.message, `Cannot listen on ${path}: address already in use`);
      assert.ok(isSocket(path));
      await using conn = await connect({ path });
      await conn.write("still mine\n");
      assert.equal(await conn.readLine(), "STILL MINE");
      conn.close();
      await server.close();
    }));

  test("a regular file at the path: EADDRINUSE, and the file is left untouched", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "precious.txt");
      writeFileSync(path, "keep me\n");
      const err = await rejectsWithCode(listen({ path }), "EADDRINUSE");
      assert.equal(err.message, `Cannot listen on ${path}: address already in use`);
      assert.equal(readFileSync(path, "utf8"), "keep me\n");
    }));

  test("the socket file is removed on close", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "gone.sock");
      const listener = await listen({ path });
      assert.ok(isSocket(path));
      await listener[Symbol.asyncDispose]();
      assert.equal(existsSync(path), false);
      // And through a server's close.
      await using server = await serveLines({ path }, uppercase);
      assert.ok(isSocket(path));
      await server.close();
      assert.equal(existsSync(path), false);
      await rejectsWithCode(connect({ path }), "ENOENT");
    }));

  test("a write to a peer that has closed fails with EPIPE: it is never reported as sent", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "gone.sock");
      // The peer closes its socket outright once the client has spoken, so
      // the kernel refuses the client's next write at once.
      const peer = await startPythonServer({ unix: path, mode: "close-after-line" });
      try {
        await using conn = await connect({ path });
        await conn.write("hello\n");
        assert.equal(await conn.readLine(), null);
        const err = await rejectsWithCode(conn.write("after the close\n"), "EPIPE");
        assert.equal(err.message, `Cannot write to ${path}: connection closed by peer`);
        assert.equal(conn.bytesWritten, 6);
      } finally {
        assert.equal(await peer.stop(), 0);
      }
    }));

  test("connecting to a missing path: ENOENT", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "nobody.sock");
      const err = await rejectsWithCode(connect({ path }), "ENOENT");
      assert.equal(err.message, `Cannot connect to ${path}: no such socket file`);
    }));

  test("a Python client to a doorway server", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "doorway.sock");
      await using server = await serveLines({ path }, uppercase);
      const result = await runPythonClient({ unix: path, send: ["hello from python", "ß"] });
      assert.deepEqual(result.lines, ["reply HELLO FROM PYTHON", "reply SS"]);
      assert.equal(result.code, 0, result.stderr);
      await server.close();
    }));

  test("a doorway client to a Python server", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "python.sock");
      const peer = await startPythonServer({ unix: path });
      try {
        await using conn = await connect({ path });
        assert.equal(await peer.nextLine(), "plain");
        await conn.write("hello from doorway\n");
        assert.equal(await conn.readLine(), "HELLO FROM DOORWAY");
        assert.deepEqual(conn.remoteAddr, { transport: "unix", path });
      } finally {
        assert.equal(await peer.stop(), 0);
      }
    }));

  test("TLS over a Unix socket, doorway on both ends (Deno: EUNSUPPORTED)", () =>
    inTempDir(async (dir) => {
      const certs = testCerts();
      const path = join(dir, "tls.sock");
      const tls = { cert: certs.server.cert, key: certs.server.key };
      if (DENO) {
        await rejectsWithCode(listen({ path, tls }), "EUNSUPPORTED");
        return;
      }
      const log = errorLog();
      await using server = await serveLines({ path, tls, onError: log.onError }, uppercase);
      await using conn = await connect({ path, tls: { caCerts: [certs.ca.cert], serverName: "localhost" } });
      assert.equal(conn.tls?.protocol, "TLSv1.3");
      await conn.write("secret\n");
      assert.equal(await conn.readLine(), "SECRET");
      conn.close();
      await server.close();
      assert.deepEqual(log.pending, []);
    }));

  test("TLS over a Unix socket, to a Python server (Deno: EUNSUPPORTED)", () =>
    inTempDir(async (dir) => {
      const certs = testCerts();
      const path = join(dir, "python_tls.sock");
      const peer = await startPythonServer({ unix: path, tls: true, cert: certs.server });
      try {
        const options = { path, tls: { caCerts: [certs.ca.cert], serverName: "localhost" } };
        if (DENO) {
          await rejectsWithCode(connect(options), "EUNSUPPORTED");
          return;
        }
        await using conn = await connect(options);
        await conn.write("over tls\n");
        assert.equal(await conn.readLine(), "OVER TLS");
        assert.equal(await peer.nextLine(), "tls TLSv1.3 - -");
      } finally {
        assert.equal(await peer.stop(), 0);
      }
    }));
});
