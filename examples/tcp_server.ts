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
// - The log stays readable under load: peers that reset are not logged, and
//   connections refused at --max-connections are summed up once a second.
// - Flags are checked before anything is bound: a mistake is one line and exit 2 (examples/_args.ts).
//
// Run: deno run --allow-net examples/tcp_server.ts [--hostname 0.0.0.0] [--port 12000]
//      bun examples/tcp_server.ts
//      node --import tsx examples/tcp_server.ts
import process from "node:process";
import { formatAddress, serveLines, SocketError, uppercase } from "../mod.ts";
import { ErrorLog } from "../_error_log.ts";
import { reportRejections } from "../_rejection_log.ts";
import { integerFlag, MAX_INT, parseFlags, portFlag } from "./_args.ts";

const USAGE = `Usage: examples/tcp_server.ts [options]

The textbook's TCP server: answers each line a client sends with the line uppercased, many clients at once.
Ctrl-C or SIGTERM stops it gracefully; a second one closes every connection now.

Options:
  --hostname ADDR          the address to listen on (default: 0.0.0.0)
  --port N                 the port, 0 for any free one (default: 12000)
  --max-connections N      connections served at once; more get an end of stream at once (default: 16384)
  --max-line-bytes N       the longest line accepted (default: 65536)
  --idle-timeout MS        close a connection after this long with no traffic; 0 never (default: 0)
  --graceful-timeout MS    on shutdown, how long connections get to finish (default: 10000)
  -h, --help               show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "12000" },
  "max-connections": { type: "string", default: "16384" },
  "max-line-bytes": { type: "string", default: "65536" },
  "idle-timeout": { type: "string", default: "0" },
  "graceful-timeout": { type: "string", default: "10000" },
});

const maxConnections = await integerFlag("max-connections", values["max-connections"], 1, MAX_INT);
const errors = new ErrorLog((line) => console.error(line));
const server = await serveLines({
  hostname: values.hostname,
  port: await portFlag(values.port, 0),
  maxConnections,
  maxLineBytes: await integerFlag("max-line-bytes", values["max-line-bytes"], 1, MAX_INT),
  idleTimeout: await integerFlag("idle-timeout", values["idle-timeout"], 0, MAX_INT),
  gracefulTimeout: await integerFlag("graceful-timeout", values["graceful-timeout"], 0, MAX_INT),
  onError,
}, uppercase).catch((err) => {
  console.error(err.message);
  process.exit(1);
});

// A peer that resets, or goes away before its reply is written, is part of
// serving, not worth a line each; anything else is.
function onError(err: unknown): void {
  if (err instanceof SocketError && (err.code === "ECONNRESET" || err.code === "EPIPE")) return;
  errors.report(err);
}

// Connections turned away at --max-connections: the server counts them, and
// a flood of them is summed up at most once a second, and once more on exit.
const stopReporting = reportRejections(server, { maxConnections, write: (line) => console.error(line) });

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

console.log(`Listening on ${formatAddress(server.addr)}`);
console.log("The server is ready to receive");
await server.finished;
stopReporting();
errors.flush();
process.exit(0);
