// An experiment, not a contender: the least a line server written with
// strings can do on Deno. It decodes each read, splits it into lines,
// uppercases each, and answers the whole read with one write. There is no
// limit on a line, so it is not a server to use. It shows what the string
// work costs against the raw byte server.
// Usage: batched_lines_deno.ts PORT (0: any).
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const text = pending + decoder.decode(buffer.subarray(0, n), { stream: true });
      const last = text.lastIndexOf("\n");
      if (last < 0) {
        pending = text;
        continue;
      }
      pending = text.slice(last + 1);
      const lines = text.slice(0, last).split("\n");
      let reply = "";
      for (let i = 0; i < lines.length; i++) reply += lines[i].toUpperCase() + "\n";
      await conn.write(encoder.encode(reply));
    }
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
