// The Deno.listen line server a competent user writes: TCP_NODELAY on, a
// 64 KiB read buffer per connection, every line answered, and the replies to
// all the complete lines of a read sent in one write (written in full: a
// write may take fewer bytes than it is given). Usage: deno_lines.ts PORT.
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
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
