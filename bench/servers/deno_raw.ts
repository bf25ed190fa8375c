// Deno's upper bound: read into a 64 KiB buffer, uppercase the ASCII bytes in
// place, write them back. No line framing, TCP_NODELAY on. Usage: deno_raw.ts PORT.
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      for (let i = 0; i < n; i++) {
        const b = buffer[i];
        if (b >= 97 && b <= 122) buffer[i] = b - 32;
      }
      for (let written = 0; written < n;) written += await conn.write(buffer.subarray(written, n));
    }
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
