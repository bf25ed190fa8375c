// Pins the Bun entry of runtime/UNDOCUMENTED.md on TLS to an IP address: Bun's `serverName: ""` sends no SNI
// (RFC 6066 allows no IP literal there) and still checks the certificate against the address connected to. It runs
// under every runtime, as the behaviour it asserts is doorway's everywhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, SocketError } from "../../mod.ts";
import { type CertPair, testCerts } from "../_certs.ts";
import { startChild } from "../_helpers.ts";

// Accepts one TLS connection, says which SNI name it got ("SNI None" for none), and sends "ok".
const SERVER = `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.sni_callback = lambda sock, name, c: print("SNI", name, flush=True)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
try:
    t = ctx.wrap_socket(c, server_side=True)
    t.sendall(b"ok\\n")
    t.close()
except Exception as e:
    print("failed", type(e).__name__, flush=True)
`;

async function pythonServer(pair: CertPair) {
  const child = startChild("python3", ["-c", SERVER, pair.certPath, pair.keyPath]);
  const port = Number(await child.nextLine());
  return { child, port };
}

test("TLS to an IP address: no SNI, and the certificate checked against the address", async () => {
  const certs = testCerts();
  const good = await pythonServer(certs.server);
  try {
    const tls = { caCerts: [certs.ca.cert] };
    await using conn = await connect({ hostname: "127.0.0.1", port: good.port, tls });
    assert.equal(await good.child.nextLine(), "SNI None");
    assert.equal(await conn.readLine(), "ok");
  } finally {
    good.child.kill();
    await good.child.exited;
  }
  // A certificate for a name only: refused for the address.
  const other = await pythonServer(certs.otherName);
  try {
    await assert.rejects(
      connect({ hostname: "127.0.0.1", port: other.port, tls: { caCerts: [certs.ca.cert] } }),
      (err) => err instanceof SocketError && err.code === "ECERTNAME",
    );
  } finally {
    other.child.kill();
    await other.child.exited;
  }
});
