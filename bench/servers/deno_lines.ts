// The obvious Deno.listen line server: a 64 KiB read buffer per connection;
// read, split lines, uppercase, one write per line. Usage: deno_lines.ts PORT.
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        await conn.write(encoder.encode(line.toUpperCase() + "\n"));
      }
    }
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
