// The textbook's UDPClient.py, done properly.
// - A datagram may be lost, so waiting for the reply has a limit: request()
//   in udp/request.ts sends, waits --timeout ms, resends --retries times,
//   then fails with a message naming the address (socket_error.ts) instead
//   of hanging as recvfrom() would.
// - Only the server's reply is taken for the reply: datagrams from any other
//   address are dropped (udp/request.ts).
// - The socket is bound to an ephemeral port of the server's address family
//   and closed on the way out, whatever happens: bind() and `await using`
//   in udp/datagram_socket.ts.
//
// Run: deno run --allow-net examples/udp_client.ts [--hostname 127.0.0.1] [--port 12000]
//      bun examples/udp_client.ts
//      node --import tsx examples/udp_client.ts
import process from "node:process";
import { bind, request } from "../mod.ts";
import { integerFlag, MAX_INT, parseFlags, portFlag } from "./_args.ts";
import { readSentence } from "./_prompt.ts";

const USAGE = `Usage: examples/udp_client.ts [options]

The textbook's UDP client: reads a sentence from stdin, sends it to the server as one datagram, prints the reply.

Options:
  --hostname ADDR   the server's IP address (default: 127.0.0.1)
  --port N          the server's port (default: 12000)
  --timeout MS      how long each try waits for the reply (default: 5000)
  --retries N       how many times to resend when a try times out (default: 0)
  -h, --help        show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "12000" },
  timeout: { type: "string", default: "5000" },
  retries: { type: "string", default: "0" },
});
const port = await portFlag(values.port, 1);
const timeout = await integerFlag("timeout", values.timeout, 1, MAX_INT);
const retries = await integerFlag("retries", values.retries, 0, MAX_INT);

try {
  const sentence = await readSentence();
  if (sentence === undefined) process.exit(0);
  const hostname = values.hostname;
  await using socket = await bind({ hostname: hostname.includes(":") ? "::" : "0.0.0.0" });
  const reply = await request(sentence, {
    socket,
    to: { hostname, port },
    timeout,
    retries,
  });
  console.log(`From Server: ${new TextDecoder().decode(reply.data)}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
process.exit(0);
