// Address helpers and TLS option checks are pure: no sockets here.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mapIpv4, unmapIpv4 } from "../../addr.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";
import { clientTlsSpec, serverTlsSpec } from "../../tcp/_tls_spec.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
const place = { action: "connect to", address: "localhost:4433" };

function invalid(message: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof SocketError);
    assert.equal(err.code, "EINVAL");
    assert.equal(err.message, message);
    return true;
  };
}

describe("IPv4-mapped addresses", () => {
  test("unmapIpv4 turns ::ffff:a.b.c.d into a.b.c.d, in either case, and leaves others alone", () => {
    const tcp = (hostname: string) => ({ transport: "tcp" as const, hostname, port: 80 });
    assert.deepEqual(unmapIpv4(tcp("::ffff:127.0.0.1")), tcp("127.0.0.1"));
    assert.deepEqual(unmapIpv4(tcp("::FFFF:10.1.2.3")), tcp("10.1.2.3"));
    for (const hostname of ["::1", "::", "::ffff:1", "::ffff:999.0.0.1", "127.0.0.1", "fe80::1%lo"]) {
      const addr = tcp(hostname);
      assert.equal(unmapIpv4(addr), addr);
    }
    const unix = { transport: "unix" as const, path: "/tmp/x.sock" };
    assert.equal(unmapIpv4(unix), unix);
  });

  test("mapIpv4 maps IPv4 literals only", () => {
    assert.equal(mapIpv4("127.0.0.1"), "::ffff:127.0.0.1");
    assert.equal(mapIpv4("::1"), "::1");
    assert.equal(mapIpv4("localhost"), "localhost");
  });

  test("formatAddress names Unix sockets by path, and an unnamed one as such", () => {
    assert.equal(formatAddress({ path: "/run/app.sock" }), "/run/app.sock");
    assert.equal(formatAddress({ path: "" }), "unnamed Unix socket");
    assert.equal(formatAddress({ hostname: "::1", port: 443 }), "[::1]:443");
  });
});

describe("TLS options", () => {
  test("a client's defaults: verify on, the hostname as server name", () => {
    assert.deepEqual(clientTlsSpec(true, { ...place, hostname: "localhost" }), {
      serverName: "localhost",
      caCerts: undefined,
      verify: true,
      alpnProtocols: undefined,
      cert: undefined,
      key: undefined,
    });
    const spec = clientTlsSpec({ serverName: "db.internal", verify: false, caCerts: [PEM] }, {
      ...place,
      hostname: "10.0.0.1",
    });
    assert.equal(spec.serverName, "db.internal");
    assert.equal(spec.verify, false);
    assert.deepEqual(spec.caCerts, [PEM]);
  });

  test("a client's bad options are EINVAL, naming the option", () => {
    const at = { ...place, hostname: "localhost" };
    assert.throws(
      () => clientTlsSpec({}, { ...place, hostname: undefined }),
      invalid("Cannot connect to localhost:4433: tls.serverName is required when there is no hostname"),
    );
    assert.throws(
      () => clientTlsSpec({ caCerts: ["not a pem"] }, at),
      invalid("Cannot connect to localhost:4433: tls.caCerts must be PEM text"),
    );
    assert.throws(
      () => clientTlsSpec({ cert: PEM }, at),
      invalid("Cannot connect to localhost:4433: tls.key must be PEM text"),
    );
    assert.throws(
      () => clientTlsSpec({ alpnProtocols: [""] }, at),
      invalid("Cannot connect to localhost:4433: tls.alpnProtocols must be an array of non-empty strings"),
    );
  });

  test("a server's options: cert and key required, a handshake timeout of 10 s by default", () => {
    const at = { action: "listen on", address: "0.0.0.0:4433" };
    assert.equal(serverTlsSpec({ cert: PEM, key: KEY }, at).handshakeTimeout, 10_000);
    assert.throws(
      () => serverTlsSpec({ cert: PEM } as never, at),
      invalid("Cannot listen on 0.0.0.0:4433: tls.key must be PEM text"),
    );
    assert.throws(
      () => serverTlsSpec({ cert: PEM, key: KEY, handshakeTimeout: 0 }, at),
      invalid("Cannot listen on 0.0.0.0:4433: tls.handshakeTimeout must be an integer from 1 to 2147483647 ms"),
    );
  });
});
