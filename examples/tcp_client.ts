// The textbook's TCPClient.py, done properly.
// - connect() with a timeout, and errors that name the address
//   (tcp/connect.ts, socket_error.ts): no stack trace for a refused port.
// - The reply is read as a line, however many segments it arrives in
//   (Conn.readLine in tcp/conn.ts over protocol/line_decoder.ts).
//
// Run: deno run --allow-net examples/tcp_client.ts [--hostname 127.0.0.1] [--port 12000]
//      bun examples/tcp_client.ts
//      node --import tsx examples/tcp_client.ts
import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "../mod.ts";
import { readSentence } from "./_prompt.ts";

const { values } = parseArgs({
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "12000" },
    timeout: { type: "string", default: "5000" },
  },
});

try {
  const sentence = await readSentence();
  if (sentence === undefined) process.exit(0);
  await using conn = await connect({
    hostname: values.hostname,
    port: Number(values.port),
    timeout: Number(values.timeout),
  });
  await conn.write(sentence + "\n");
  const reply = await conn.readLine();
  if (reply === null) {
    throw new Error(`Cannot read from ${values.hostname}:${values.port}: server closed the connection`);
  }
  console.log(`From Server: ${reply}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
process.exit(0);
