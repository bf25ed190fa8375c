// The textbook's TCPServer.py, done properly.
// - Many clients at once, each sending any number of lines, within limits:
//   serve() in tcp/serve.ts (maxConnections, idleTimeout, graceful shutdown).
// - The line protocol in one call: serveLines() in tcp/serve_lines.ts;
//   pipelined lines get their replies in one write (tcp/answer_lines.ts).
// - A line is whatever ends in \n or \r\n, however TCP cuts the bytes:
//   protocol/line_decoder.ts, bounded by --max-line-bytes.
// - The uppercase service itself: protocol/uppercase.ts.
// - Ctrl-C / SIGTERM shut down gracefully (requests in hand get replies);
//   a second Ctrl-C closes every connection at once.
//
// Run: deno run --allow-net examples/tcp_server.ts [--hostname 0.0.0.0] [--port 12000]
//      bun examples/tcp_server.ts
//      node --import tsx examples/tcp_server.ts
import process from "node:process";
import { parseArgs } from "node:util";
import { serveLines, uppercase } from "../mod.ts";

const { values } = parseArgs({
  options: {
    hostname: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: "12000" },
    "max-connections": { type: "string", default: "16384" },
    "max-line-bytes": { type: "string", default: "65536" },
    "idle-timeout": { type: "string", default: "0" },
    "graceful-timeout": { type: "string", default: "10000" },
  },
});

const server = await serveLines({
  hostname: values.hostname,
  port: Number(values.port),
  maxConnections: Number(values["max-connections"]),
  maxLineBytes: Number(values["max-line-bytes"]),
  idleTimeout: Number(values["idle-timeout"]),
  gracefulTimeout: Number(values["graceful-timeout"]),
}, uppercase).catch((err) => {
  console.error(err.message);
  process.exit(1);
});

let stopping = false;
function stop(): void {
  if (!stopping && server.stats.open > 0) {
    console.log(`Shutting down: finishing ${server.stats.open} connection(s); Ctrl-C again to force`);
  }
  server.close({ force: stopping });
  stopping = true;
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

console.log(`Listening on ${server.addr.hostname}:${server.addr.port}`);
console.log("The server is ready to receive");
await server.finished;
process.exit(0);
