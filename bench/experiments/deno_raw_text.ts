// An experiment, not a contender: bench/servers/deno_raw.ts answering each
// chunk that is one line with doorway's own text path (soleLine(), the
// uppercase service, encodeUtf8()) instead of uppercasing bytes in place.
// Against deno_raw.ts it prices the text alone; against doorway_lines.ts,
// doorway's layers around it (bench/PROFILES.md, item 43).
// Usage: deno run --allow-net deno_raw_text.ts PORT (0: any).
import { soleLine } from "../../protocol/_sole_line.ts";
import { uppercase } from "../../protocol/uppercase.ts";
import { encodeUtf8 } from "../../runtime/_utf8.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const line = soleLine(buffer.subarray(0, n), 8192);
      // One line per read holds only at one request in flight: use --depth 1.
      if (line === undefined) throw new Error("deno_raw_text.ts: a read that is not one line (--depth 1 only)");
      const bytes = encodeUtf8(uppercase(line) + "\n");
      for (let written = 0; written < bytes.byteLength;) written += await conn.write(bytes.subarray(written));
    }
  } catch (err) {
    // The peer going away is expected; anything else is not.
    if (!(err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe)) console.error(err);
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
