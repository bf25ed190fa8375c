// The textbook's UDP pinger client: --count pings, one at a time, each
// waiting up to --timeout ms, then a summary like ping's.
// - Send and wait with a limit: request() in udp/request.ts, with no resend
//   (a lost ping is reported, not retried).
// - A late reply to an earlier ping is not taken for this one's: request's
//   `accept` checks the sequence number, and datagrams from other addresses
//   are dropped (udp/request.ts).
// - Errors name the address and carry a stable code (socket_error.ts):
//   ETIMEDOUT is a lost ping, anything else ends the run.
//
// Run: deno run --allow-net examples/udp_ping.ts [--hostname 127.0.0.1] [--port 12000] [--count 10] [--timeout 1000]
//      bun examples/udp_ping.ts
//      node --import tsx examples/udp_ping.ts
import process from "node:process";
import { bind, request, SocketError } from "../mod.ts";
import { integerFlag, MAX_INT, parseFlags, portFlag } from "./_args.ts";

const USAGE = `Usage: examples/udp_ping.ts [options]

The textbook's UDP pinger: sends --count pings, one at a time, and prints a line for each, then a summary.
Exits 0 when any reply came, 1 when none did.

Options:
  --hostname ADDR   the server's IP address (default: 127.0.0.1)
  --port N          the server's port (default: 12000)
  --count N         how many pings (default: 10)
  --timeout MS      how long each ping waits for its reply (default: 1000)
  -h, --help        show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "12000" },
  count: { type: "string", default: "10" },
  timeout: { type: "string", default: "1000" },
});
const count = await integerFlag("count", values.count, 1, MAX_INT);
const timeout = await integerFlag("timeout", values.timeout, 1, MAX_INT);

const hostname = values.hostname;
const to = { hostname, port: await portFlag(values.port, 1) };
const decoder = new TextDecoder();
const rtts: number[] = [];

try {
  await using socket = await bind({ hostname: hostname.includes(":") ? "::" : "0.0.0.0" });
  for (let seq = 1; seq <= count; seq++) {
    const sentAt = performance.now();
    try {
      const reply = await request(`Ping ${seq} ${Date.now()}`, {
        socket,
        to,
        timeout,
        retries: 0,
        accept: (reply) => decoder.decode(reply.data).split(" ")[1] === String(seq),
      });
      const rtt = performance.now() - sentAt;
      rtts.push(rtt);
      console.log(`Reply from ${reply.remote.hostname}: seq=${seq} time=${rtt.toFixed(2)} ms`);
    } catch (err) {
      if (!(err instanceof SocketError && err.code === "ETIMEDOUT")) throw err;
      console.log(`Request timed out: seq=${seq}`);
    }
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}

const received = rtts.length;
const lossPercent = Math.round(((count - received) / count) * 1000) / 10;
console.log(`--- ${hostname} ping statistics ---`);
console.log(`${count} packets transmitted, ${received} received, ${lossPercent}% packet loss`);
if (received > 0) {
  const min = Math.min(...rtts);
  const max = Math.max(...rtts);
  const avg = rtts.reduce((sum, rtt) => sum + rtt, 0) / received;
  console.log(`rtt min/avg/max = ${min.toFixed(2)}/${avg.toFixed(2)}/${max.toFixed(2)} ms`);
}
// Like ping: failure when no reply came at all.
process.exit(received > 0 ? 0 : 1);
