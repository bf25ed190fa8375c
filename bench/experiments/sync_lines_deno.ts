// An experiment, not a contender: doorway's LineDecoder and the uppercase
// responder over a bare Deno.listen loop that reuses one 64 KiB buffer, with
// no layers between. What answering lines costs on Deno once doorway's Conn
// API is taken away. Usage: sync_lines_deno.ts PORT (0: any).
import { LineDecoder, uppercase } from "../../mod.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);
const encoder = new TextEncoder();

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new LineDecoder();
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      // The decoder may keep what it is given: hand it a copy.
      decoder.push(buffer.slice(0, n));
      let reply = "";
      for (let line = decoder.next(); line !== undefined; line = decoder.next()) reply += uppercase(line) + "\n";
      const bytes = encoder.encode(reply);
      for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
    }
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
