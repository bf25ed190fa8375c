// Pins the Node entry of runtime/UNDOCUMENTED.md on TLS listeners: a socket handed to a node:tls server's
// 'connection' event, as runtime/node/tls.ts hands it each accepted socket, emits 'close' once the TLS socket made
// of it has closed, though Node documents no event for such a socket. The listener counts on it to forget a
// handshake that failed after Node forgot the peer's address. It runs under every runtime's node:tls.
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import { testCerts } from "../_certs.ts";

const certs = testCerts();

test("a socket handed to a TLS server closes with the TLS socket made of it, whatever the handshake did", async () => {
  const engine = tls.createServer({ cert: certs.server.cert, key: certs.server.key });
  engine.on("secureConnection", (socket: tls.TLSSocket) => socket.end());
  engine.on("tlsClientError", (_err: Error, socket: tls.TLSSocket) => socket.destroy());
  // The close of each accepted socket, in the order the clients below come; a close that never comes fails the
  // test rather than hanging it.
  const closes: Array<(how: string) => void> = [];
  const closed = [0, 1, 2].map(() => new Promise<string>((resolve) => closes.push(resolve)));
  const within = (close: Promise<string>) =>
    Promise.race([close, new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 10_000).unref())]);
  let accepted = 0;
  const server = net.createServer((socket) => {
    const close = closes[accepted++];
    socket.once("close", () => close("closed"));
    engine.emit("connection", socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  try {
    // A handshake that succeeds; the server then ends the connection.
    const client = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: certs.ca.cert });
    clients.push(client);
    client.on("data", () => {});
    client.on("error", () => {});
    assert.equal(await within(closed[0]), "closed");
    // Plaintext where a ClientHello should be: the handshake fails.
    const plain = net.connect(port, "127.0.0.1", () => plain.write("GET / HTTP/1.0\r\n\r\n"));
    clients.push(plain);
    plain.on("error", () => {});
    assert.equal(await within(closed[1]), "closed");
    // Part of a record, then the client's end: the handshake fails once the peer has gone.
    const gone = net.connect(port, "127.0.0.1", () => gone.end(Uint8Array.of(0x16, 0x03, 0x01)));
    clients.push(gone);
    gone.on("error", () => {});
    assert.equal(await within(closed[2]), "closed");
  } finally {
    for (const client of clients) client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
