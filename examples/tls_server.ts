// The textbook's TCPServer.py over TLS, done properly: examples/tcp_server.ts with a certificate.
// - The same server (serveLines() in tcp/serve_lines.ts, limits, graceful shutdown), with listen()'s `tls`:
//   the certificate chain and its key, PEM, read from --cert and --key before anything is bound.
// - A connection reaches the handler only once its handshake is done; a client that fails it (one that does not
//   trust the certificate, or speaks plaintext) is logged on stderr, at most a line a second, and the server
//   goes on (tcp/listen.ts).
// - Flags are checked before anything is bound: a mistake is one line and exit 2 (examples/_args.ts); a file
//   that cannot be read is one line naming it and exit 1.
//
// Run: deno run --allow-net --allow-read examples/tls_server.ts --cert cert.pem --key key.pem [--port 12443]
//      bun examples/tls_server.ts --cert cert.pem --key key.pem
//      node --import tsx examples/tls_server.ts --cert cert.pem --key key.pem
// A certificate for localhost to try it with (the client trusts it with --ca cert.pem). CA:FALSE, because Deno
// refuses a server certificate that says it is a CA, as openssl's self-signed ones do by default:
//      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
//        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
//        -keyout key.pem -out cert.pem
import process from "node:process";
import { formatAddress, serveLines, SocketError, uppercase } from "../mod.ts";
import { ErrorLog } from "../_error_log.ts";
import { reportRejections } from "../_rejection_log.ts";
import { integerFlag, MAX_INT, parseFlags, pemFileFlag, portFlag, usageError } from "./_args.ts";

const USAGE = `Usage: examples/tls_server.ts [options]

The textbook's TCP server over TLS: answers each line a client sends with the line uppercased, many clients at
once. Ctrl-C or SIGTERM stops it gracefully; a second one closes every connection now.

Options:
  --cert FILE              the certificate chain (PEM), the server's own first (required)
  --key FILE               its private key (PEM) (required)
  --hostname ADDR          the address to listen on (default: 0.0.0.0)
  --port N                 the port, 0 for any free one (default: 12443)
  --max-connections N      connections served at once; more get an end of stream at once (default: 16384)
  --max-line-bytes N       the longest line accepted (default: 65536)
  --idle-timeout MS        close a connection after this long with no traffic; 0 never (default: 0)
  --graceful-timeout MS    on shutdown, how long connections get to finish (default: 10000)
  -h, --help               show this help

Deno needs --allow-read to read the files.`;

const values = await parseFlags(USAGE, {
  cert: { type: "string" },
  key: { type: "string" },
  hostname: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "12443" },
  "max-connections": { type: "string", default: "16384" },
  "max-line-bytes": { type: "string", default: "65536" },
  "idle-timeout": { type: "string", default: "0" },
  "graceful-timeout": { type: "string", default: "10000" },
});

if (values.cert === undefined || values.key === undefined) {
  const missing = [values.cert === undefined && "--cert FILE", values.key === undefined && "--key FILE"];
  await usageError(`Missing ${missing.filter((flag) => flag !== false).join(" and ")}; see --help`);
}
const maxConnections = await integerFlag("max-connections", values["max-connections"], 1, MAX_INT);
const port = await portFlag(values.port, 0);
const maxLineBytes = await integerFlag("max-line-bytes", values["max-line-bytes"], 1, MAX_INT);
const idleTimeout = await integerFlag("idle-timeout", values["idle-timeout"], 0, MAX_INT);
const gracefulTimeout = await integerFlag("graceful-timeout", values["graceful-timeout"], 0, MAX_INT);
// Read once every flag is known good: a mistake in one is never hidden behind a slow file.
const tls = { cert: await pemFileFlag("cert", values.cert!), key: await pemFileFlag("key", values.key!) };

const errors = new ErrorLog((line) => console.error(line));
const server = await serveLines({
  hostname: values.hostname,
  port,
  tls,
  maxConnections,
  maxLineBytes,
  idleTimeout,
  gracefulTimeout,
  onError,
}, uppercase).catch((err) => {
  console.error(err.message);
  process.exit(1);
});

// A peer that resets, or goes away before its reply is written, is part of
// serving, not worth a line each; anything else is, failed handshakes too.
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
