// The textbook's TCPClient.py, done properly.
// - connect() with a timeout, and errors that name the address
//   (tcp/connect.ts, socket_error.ts): no stack trace for a refused port.
// - The reply is read as a line, however many segments it arrives in
//   (Conn.readLine in tcp/conn.ts over protocol/line_decoder.ts), and
//   waited for --timeout ms at most: a silent server is no hang.
// - Flags are checked before the prompt: a mistake is one line and exit 2 (examples/_args.ts).
//
// Run: deno run --allow-net examples/tcp_client.ts [--hostname 127.0.0.1] [--port 12000] [--timeout 5000]
//      bun examples/tcp_client.ts
//      node --import tsx examples/tcp_client.ts
import process from "node:process";
import { connect } from "../mod.ts";
import { integerFlag, MAX_INT, parseFlags, portFlag } from "./_args.ts";
import { readSentence } from "./_prompt.ts";

const USAGE = `Usage: examples/tcp_client.ts [options]

The textbook's TCP client: reads a sentence from stdin, sends it to the server, prints the reply.

Options:
  --hostname HOST   the server's name or address (default: 127.0.0.1)
  --port N          the server's port (default: 12000)
  --timeout MS      give up connecting, or waiting for the reply, after this long (default: 5000)
  -h, --help        show this help`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "12000" },
  timeout: { type: "string", default: "5000" },
});
const hostname = values.hostname;
const port = await portFlag(values.port, 1);
const timeout = await integerFlag("timeout", values.timeout, 1, MAX_INT);

try {
  const sentence = await readSentence();
  if (sentence === undefined) process.exit(0);
  await using conn = await connect({ hostname, port, timeout });
  await conn.write(sentence + "\n");
  const reply = await conn.readLine({ timeout });
  if (reply === null) {
    throw new Error(`Cannot read from ${hostname}:${port}: server closed the connection`);
  }
  console.log(`From Server: ${reply}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
process.exit(0);
