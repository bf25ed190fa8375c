// The textbook's UDPPingerServer.py: answers pings, uppercased, and drops a
// share of them to play a lossy network.
// - The server loop, which no datagram can stop: serveDatagrams() in
//   udp/serve_datagrams.ts; a handler returning undefined sends no reply.
// - The reply is the ping uppercased: protocol/uppercase.ts.
// - --loss is the share of pings dropped (default 0.3, the textbook's 30%);
//   --seed makes the drops repeatable, for tests, with a seeded generator
//   instead of Math.random().
// - Ctrl-C / SIGTERM stop it cleanly: an AbortSignal closes the socket.
//
// Run: deno run --allow-net examples/udp_ping_server.ts [--port 12000] [--loss 0.3] [--seed 42]
//      bun examples/udp_ping_server.ts
//      node --import tsx examples/udp_ping_server.ts
import process from "node:process";
import { formatAddress, serveDatagrams, uppercase } from "../mod.ts";
import { ErrorLog } from "../_error_log.ts";
import { integerFlag, numberFlag, parseFlags, portFlag } from "./_args.ts";

const USAGE = `Usage: examples/udp_ping_server.ts [options]

The textbook's UDP pinger server: answers each ping uppercased, and drops a share of them to play a lossy network.
Ctrl-C or SIGTERM stops it.

Options:
  --hostname ADDR   the address to listen on (default: 0.0.0.0)
  --port N          the port, 0 for any free one (default: 12000)
  --loss P          the share of pings dropped, from 0 to 1 (default: 0.3)
  --seed N          make the drops repeatable: the same seed drops the same pings (default: random)
  -h, --help        show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "0.0.0.0" },
  port: { type: "string", default: "12000" },
  loss: { type: "string", default: "0.3" },
  seed: { type: "string" },
});
const port = await portFlag(values.port, 0);
const loss = await numberFlag("loss", values.loss, 0, 1);
const seed = values.seed === undefined ? undefined : await integerFlag("seed", values.seed, 0, 2 ** 32 - 1);

// mulberry32: a tiny generator whose sequence depends only on its seed, the
// same on every runtime, so a test knows which pings will be dropped.
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seed === undefined ? Math.random : seeded(seed);
const controller = new AbortController();
const decoder = new TextDecoder();
const errors = new ErrorLog((line) => console.error(line));
const server = await serveDatagrams({
  hostname: values.hostname,
  port,
  signal: controller.signal,
  // A peer can make every datagram fail (a reply too large to send): at most a line a second.
  onError: (err) => errors.report(err),
}, (data) => {
  // One draw per ping, dropped or not, so the drops follow the seed exactly.
  if (random() < loss) return undefined;
  return uppercase(decoder.decode(data));
}).catch((err) => {
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
