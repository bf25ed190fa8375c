// An experiment, not a contender: the least a Deno.listen server can hold per
// idle connection, with a pending read on a 512-byte buffer (doorway's idle
// read size) and nothing else. Usage: deno_idle_floor.ts PORT (0: any).
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0) });
console.log(listener.addr.port);

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(512);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const bytes = buffer.subarray(0, n);
      for (let i = 0; i < n; i++) if (bytes[i] >= 97 && bytes[i] <= 122) bytes[i] -= 32;
      for (let written = 0; written < n;) written += await conn.write(bytes.subarray(written));
    }
  } catch {
    // The peer went away.
  } finally {
    conn.close();
  }
}

for await (const conn of listener) handle(conn);
