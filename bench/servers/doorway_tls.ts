// doorway's uppercase server over TLS: serveLines() with `tls`, as the README
// shows it. Runs unchanged on Deno, Bun and Node.
// Usage: doorway_tls.ts PORT CERT KEY (PEM files).
import { readFileSync } from "node:fs";
import process from "node:process";
import { serveLines, uppercase } from "../../mod.ts";

const [port, cert, key] = process.argv.slice(2);
const server = await serveLines({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") },
}, uppercase);
console.log(server.addr.port);
