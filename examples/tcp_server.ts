// The textbook's TCPServer.py, done properly.
// - Many clients at once, each sending any number of lines: one task per
//   connection over the listener's async iterator (tcp/listen.ts).
// - A line is whatever ends in \n or \r\n, however TCP cuts the bytes:
//   protocol/line_decoder.ts, bounded by maxLineBytes.
// - Pipelined lines get their replies in one write: tcp/answer_lines.ts.
// - The uppercase service itself: protocol/uppercase.ts.
// - Ctrl-C / SIGTERM close the listener and every connection, then exit.
//
// Run: deno run --allow-net examples/tcp_server.ts [--hostname 0.0.0.0] [--port 12000]
//      bun examples/tcp_server.ts
//      node --import tsx examples/tcp_server.ts
import process from "node:process";
import { parseArgs } from "node:util";
import { answerLines, type Conn, listen, uppercase } from "../mod.ts";

const { values } = parseArgs({
  options: {
    hostname: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: "12000" },
  },
});

const listener = await listen({ hostname: values.hostname, port: Number(values.port) }).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
const open = new Set<Conn>();

function stop(): void {
  listener.close();
  for (const conn of open) conn.close();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

console.log(`Listening on ${listener.addr.hostname}:${listener.addr.port}`);
console.log("The server is ready to receive");
for await (const conn of listener) {
  open.add(conn);
  answerLines(conn, uppercase)
    .catch((err) => console.error(err.message))
    .finally(() => {
      conn.close();
      open.delete(conn);
    });
}
process.exit(0);
