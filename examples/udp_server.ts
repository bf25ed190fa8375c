// The textbook's UDPServer.py, done properly.
// - One socket answers every client, datagram by datagram: serveDatagrams()
//   in udp/serve_datagrams.ts, over bind() in udp/datagram_socket.ts.
// - Nothing a client sends stops it: a handler error, or a reply to a client
//   that has gone (ICMP port unreachable), is reported and the loop goes on
//   (udp/serve_datagrams.ts; the adapters in runtime/ keep the socket alive).
// - A flood cannot exhaust memory: datagrams waiting for the handler sit in a
//   bounded queue, and past it are dropped as UDP allows (runtime/node.ts,
//   runtime/bun.ts; Deno leaves them in the kernel).
// - The uppercase service itself: protocol/uppercase.ts.
// - Ctrl-C / SIGTERM stop it cleanly: an AbortSignal closes the socket.
//
// Run: deno run --allow-net examples/udp_server.ts [--hostname 0.0.0.0] [--port 12000]
//      bun examples/udp_server.ts
//      node --import tsx examples/udp_server.ts
import process from "node:process";
import { formatAddress, serveDatagrams, uppercase } from "../mod.ts";
import { ErrorLog } from "../_error_log.ts";
import { parseFlags, portFlag } from "./_args.ts";

const USAGE = `Usage: examples/udp_server.ts [options]

The textbook's UDP server: answers each datagram with its text uppercased. Ctrl-C or SIGTERM stops it.

Options:
  --hostname ADDR   the address to listen on (default: 0.0.0.0)
  --port N          the port, 0 for any free one (default: 12000)
  -h, --help        show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "12000" },
});
const port = await portFlag(values.port, 0);

const controller = new AbortController();
const decoder = new TextDecoder();
const errors = new ErrorLog((line) => console.error(line));
const server = await serveDatagrams({
  hostname: values.hostname,
  port,
  signal: controller.signal,
  // A peer can make every datagram fail (a reply too large to send): at most a line a second.
  onError: (err) => errors.report(err),
}, (data) => uppercase(decoder.decode(data))).catch((err) => {
  console.error(err.message);
  process.exit(1);
});

const stop = () => controller.abort();
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

console.log(`Listening on ${formatAddress(server.addr)}`);
console.log("The server is ready to receive");
await server.finished;
errors.flush();
process.exit(0);
