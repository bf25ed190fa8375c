// The node:tls line server a competent user writes: node_lines.ts over TLS.
// TCP_NODELAY on, every line answered, and the replies to all the complete
// lines of a chunk sent in one write (one TLS record); reading pauses while
// the kernel holds a reply back. Usage: node_tls.ts PORT CERT KEY (PEM files).
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import process from "node:process";
import tls from "node:tls";

const [port, cert, key] = process.argv.slice(2);
const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.setEncoding("utf8");
  let pending = "";
  socket.on("data", (chunk: string) => {
    const text = pending + chunk;
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      pending = text;
      return;
    }
    pending = text.slice(last + 1);
    const lines = text.slice(0, last).split("\n");
    let reply = "";
    for (let i = 0; i < lines.length; i++) reply += lines[i].toUpperCase() + "\n";
    if (!socket.write(reply)) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  });
  socket.on("error", () => {});
});
// A failed handshake (a client that goes away) is no reason to stop.
server.on("tlsClientError", () => {});
server.listen(Number(port ?? 0), "127.0.0.1", () => {
  console.log((server.address() as AddressInfo).port);
});
