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
import { parseArgs } from "node:util";
import { formatAddress, serveDatagrams, uppercase } from "../mod.ts";

const { values } = parseArgs({
  options: {
    hostname: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: "12000" },
    loss: { type: "string", default: "0.3" },
    seed: { type: "string" },
  },
});

const loss = Number(values.loss);
if (!(loss >= 0 && loss <= 1)) {
  console.error(`--loss must be from 0 to 1, not ${values.loss}`);
  process.exit(1);
}
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) {
  console.error(`--seed must be an integer, not ${values.seed}`);
  process.exit(1);
}

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
const server = await serveDatagrams({
  hostname: values.hostname,
  port: Number(values.port),
  signal: controller.signal,
  onError: (err) => console.error(err instanceof Error ? err.message : String(err)),
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
process.exit(0);
